"""Benchmark: the KITTI devkit metric (``kitti_errors``) on a full-length KITTI-like trajectory.

    .venv/bin/python bench/evaluation_speed.py [--frames 4541] [--repeats 3] [--max-s 1.0] [--json out.json]

A wall-clock measurement, so it lives here and not in the test suite (issue 12 #14): the test
suite checks the metric's numbers, this checks that scoring seq 00's 4541 frames stays well under a
second. ``--max-s`` makes the exit status non-zero when the median time exceeds it.
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

from apps.evaluation.kitti_metric import kitti_errors  # noqa: E402
from tests.evaluation_helpers import curvy  # noqa: E402  (the tests' KITTI-like drive)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=4541, help="trajectory length (KITTI 00 has 4541 frames)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-s", type=float, help="fail when the median time exceeds this many seconds")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    gt = curvy(args.frames, seed=3)
    est = gt.copy()
    est[:, :3, 3] *= 1.01
    times, segments = [], 0
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        segments = kitti_errors(gt, est).n_segments
        times.append(time.perf_counter() - t0)
    result = {"frames": args.frames, "segments": segments, "median_s": float(np.median(times)),
              "times_s": times, "machine": platform.processor() or platform.machine(),
              "date": time.strftime("%Y-%m-%d")}
    print(f"kitti_errors on {args.frames} frames ({segments} segments): median {result['median_s']:.3f} s "
          f"over {args.repeats} runs")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.max_s is not None and result["median_s"] > args.max_s:
        print(f"slower than --max-s {args.max_s} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
