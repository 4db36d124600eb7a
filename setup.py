"""kp3d-vo: DS-DSO monocular visual odometry (learned keypoints + depth in a DSO-style backend).

The C++ backend (cpp/) and its pybind11 bindings (dso_bridge/) are built through the root
CMakeLists.txt. The CMake build folder is persistent (``KP3D_BUILD_DIR``, default ``build/``)
so rebuilds are incremental, and CMake's own dependency tracking decides what to recompile:
no object is reused unless its sources and headers are unchanged.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str, target: str):
        super().__init__(name, sources=[])
        self.target = target


class CMakeBuild(build_ext):
    def build_extension(self, ext: CMakeExtension) -> None:
        build_dir = Path(os.environ.get("KP3D_BUILD_DIR", ROOT / "build")).resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        jobs = os.environ.get("KP3D_JOBS", str(os.cpu_count() or 2))
        build_type = os.environ.get("KP3D_BUILD_TYPE", "Release")
        cmake = shutil.which("cmake", path=str(Path(sys.executable).parent)) or "cmake"
        configure = [
            cmake, "-S", str(ROOT), "-B", str(build_dir),
            f"-DCMAKE_BUILD_TYPE={build_type}",
            f"-DPython_EXECUTABLE={sys.executable}",
            "-DKP3D_BUILD_PYTHON=ON",
            f"-DKP3D_BUILD_TESTS={os.environ.get('KP3D_BUILD_TESTS', 'ON')}",
        ]
        ninja = shutil.which("ninja", path=str(Path(sys.executable).parent))
        if ninja and not (build_dir / "CMakeCache.txt").exists():
            configure += ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"]
        try:
            import pybind11  # the pinned pip pybind11 wins over Debian's when both exist

            configure.append(f"-Dpybind11_DIR={pybind11.get_cmake_dir()}")
        except ImportError:
            pass
        subprocess.run(configure, check=True)
        subprocess.run([cmake, "--build", str(build_dir), "-j", jobs], check=True)
        built = sorted(build_dir.glob(f"dso_bridge/{ext.target}*.so"))
        if not built:
            raise RuntimeError(f"CMake did not produce {ext.target}*.so under {build_dir}/dso_bridge")
        dest = Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".so.tmp")
        shutil.copyfile(built[-1], tmp)
        os.replace(tmp, dest)  # atomic: a running process never sees a half-written module


setup(
    name="kp3d-vo",
    version="0.1.0",
    description="DS-DSO monocular visual odometry: learned keypoints and depth in a direct sparse backend",
    python_requires=">=3.10",
    packages=find_packages(include=["frontend", "frontend.*", "dso_bridge", "dso_bridge.*", "apps", "apps.*"]),
    package_data={"dso_bridge": ["*.pyi", "py.typed"], "frontend": ["models/*.md", "models/shipped/*.pt", "models/shipped/*.json", "models/shipped/*.md"]},
    ext_modules=[CMakeExtension("dso_bridge._dso_bridge", target="_dso_bridge")],
    cmdclass={"build_ext": CMakeBuild},
    entry_points={"console_scripts": ["kp3d-vo=apps.cli:main"]},
    zip_safe=False,
)
