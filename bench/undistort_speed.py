"""Benchmark: lens undistortion of frames (``apps.io.undistort.Undistorter``) per model and frame size.

    .venv/bin/python bench/undistort_speed.py [--repeats 200] [--json out.json]

CPU milliseconds of the process per frame (``time.process_time``: every thread OpenCV uses) for one
``Undistorter.image`` call on a grey frame, and of building the maps once, for the KITTI (1241x376),
720p and EuRoC-like (752x480) sizes and the radtan / equidistant / fov models. The reader undistorts
every frame in the run's decode stage, so this adds to ``stage_ms.decode``.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.io.camera import Intrinsics  # noqa: E402
from apps.io.undistort import Distortion, Undistorter  # noqa: E402

SIZES = {"kitti 1241x376": (1241, 376, 718.0), "720p": (1280, 720, 900.0), "euroc 752x480": (752, 480, 458.0)}
LENSES = {"radtan": Distortion("radtan", (-0.28, 0.074, 0.0002, 0.00002)),
          "equidistant": Distortion("equidistant", (0.05, -0.01, 0.0, 0.0)),
          "fov": Distortion("fov", (0.9,))}


def measure(width: int, height: int, focal: float, lens: Distortion, repeats: int) -> dict:
    k = Intrinsics(focal, focal, (width - 1) / 2.0, (height - 1) / 2.0, width, height)
    t0 = time.process_time()
    und = Undistorter(k, lens)
    build_ms = (time.process_time() - t0) * 1e3
    frame = np.random.default_rng(0).integers(0, 256, (height, width), dtype=np.uint8)
    und.image(frame)  # first call outside the timing
    t0 = time.process_time()
    for _ in range(repeats):
        und.image(frame)
    return {"build_ms": build_ms, "frame_ms": (time.process_time() - t0) * 1e3 / repeats}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    rows = []
    for size, (w, h, f) in SIZES.items():
        for name, lens in LENSES.items():
            r = measure(w, h, f, lens, args.repeats)
            rows.append({"size": size, "model": name, **r})
            print(f"{size:15s} {name:12s} frame {r['frame_ms']:6.2f} CPU ms   maps {r['build_ms']:6.1f} CPU ms")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "machine": platform.processor() or platform.machine(),
                                               "date": time.strftime("%Y-%m-%d")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
