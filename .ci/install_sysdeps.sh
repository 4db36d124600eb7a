#!/usr/bin/env bash
# Installs the Debian packages kp3d-vo needs, only those that are missing.
# Used by `make sysdeps` (and so by `make demo` / `make test`).
set -euo pipefail
PKGS=(
  build-essential   # g++ for the C++ backend
  libeigen3-dev     # Eigen 3 (cpp/)
  libgtest-dev      # googletest (cpp/*_test.cc, run by ctest)
  pybind11-dev      # pybind11 CMake config (dso_bridge/)
  libusb-1.0-0      # runtime dependency of open3d-cpu's Python module
  libegl1           # headless (EGL) rendering for the Open3D viewer
  libgl1
  libgl1-mesa-dri   # Mesa's software OpenGL (GLX under Xvfb, EGL offscreen)
  xvfb              # virtual X server: the live-viewer test (tests/test_viewer_xvfb.py)
  imagemagick       # `import -window root`: that test's screenshot
  libgomp1          # OpenMP runtime used by open3d / torch
  python3-venv
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "[sysdeps] installing missing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "[sysdeps] need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
