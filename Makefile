# kp3d-vo — two commands do everything on a fresh machine:
#   make demo   install what is missing, build, run the pipeline on the embedded default
#   make test   install what is missing, build, run every test (ctest + pytest)
PYTHON      ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
BUILD_DIR   ?= build
ASAN_DIR    ?= build-asan
TSAN_DIR    ?= build-tsan
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_OUT    ?= demo_output
STAMPS      := .make
# Sanitizer builds: -g1 (line tables: the sanitizers' stack traces keep file:line and function names)
# compiles the Eigen-heavy sources ~25 % faster than -g; `make test-asan SAN_CXXFLAGS="-O1 -g"` for a debugger.
SAN_CXXFLAGS ?= -O1 -g1
PYTEST_ARGS ?=

.PHONY: all demo test test-cpp test-py test-asan test-tsan build sysdeps venv bench clean distclean help

all: build

help:
	@echo "make demo      - install, build, run kp3d-vo on the embedded synthetic default"
	@echo "make test      - install, build, run ctest and pytest"
	@echo "make test-asan - C++ tests under AddressSanitizer + UBSan"
	@echo "make test-tsan - C++ tests under ThreadSanitizer (the mapping thread, the BA's workers)"
	@echo "make bench     - benchmarks (results go to bench/RESULTS.md by hand)"

$(STAMPS):
	@mkdir -p $(STAMPS)

# Debian packages (Eigen, googletest, pybind11, runtime libraries).
$(STAMPS)/sysdeps: .ci/install_sysdeps.sh | $(STAMPS)
	bash .ci/install_sysdeps.sh
	@touch $@
sysdeps: $(STAMPS)/sysdeps

# Virtual environment with the pinned Python dependencies.
$(STAMPS)/venv: requirements.txt | $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -r requirements.txt
	@touch $@
venv: $(STAMPS)/venv

# C++ backend + pybind11 extension (incremental: CMake tracks every header and
# source, so nothing stale is reused), installed editable into the venv.
build: $(STAMPS)/sysdeps $(STAMPS)/venv
	KP3D_BUILD_DIR=$(abspath $(BUILD_DIR)) KP3D_JOBS=$(JOBS) \
	  $(PY) -m pip install -q --no-build-isolation --no-deps -e .

demo: build
	$(VENV)/bin/kp3d-vo demo --output $(DEMO_OUT)

test-cpp: build
	$(VENV)/bin/ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

test-py: build
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

test: test-cpp test-py

# Sanitizer build of the C++ tests only (no Python extension).
test-asan: $(STAMPS)/sysdeps $(STAMPS)/venv
	$(VENV)/bin/cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$(SAN_CXXFLAGS)" \
	  -DKP3D_SANITIZE=ON -DKP3D_BUILD_PYTHON=OFF -DKP3D_BUILD_TESTS=ON \
	  -DCMAKE_MAKE_PROGRAM=$(abspath $(VENV)/bin/ninja)
	$(VENV)/bin/cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(VENV)/bin/ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS)

test-tsan: $(STAMPS)/sysdeps $(STAMPS)/venv
	$(VENV)/bin/cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$(SAN_CXXFLAGS)" \
	  -DKP3D_TSAN=ON -DKP3D_BUILD_PYTHON=OFF -DKP3D_BUILD_TESTS=ON \
	  -DCMAKE_MAKE_PROGRAM=$(abspath $(VENV)/bin/ninja)
	$(VENV)/bin/cmake --build $(TSAN_DIR) -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1 $(VENV)/bin/ctest --test-dir $(TSAN_DIR) --output-on-failure -j $(JOBS)

bench: build
	$(PY) bench/run_all.py

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) dso_bridge/_dso_bridge*.so *.egg-info $(DEMO_OUT)

distclean: clean
	rm -rf $(VENV) $(STAMPS)
