"""Benchmark: render a synthetic sequence (default 100 frames, 640x192, "kitti-like", no effects).

    .venv/bin/python bench/synth.py [--frames 100] [--width 640 --height 192] [--jobs 1] [--json out.json]

Prints scene/texture set-up time, per-frame render time (single process, in memory; wall and
CPU time, the latter less sensitive to other load on the machine) and the end-to-end time of
``render_sequence`` (including PNG/NPY writing) with ``--jobs``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.synth import FrameRenderer, SynthOptions, kitti_intrinsics, make_trajectory, render_sequence  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--trajectory", default="kitti-like")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args(argv)

    poses = make_trajectory(args.trajectory, args.frames, seed=0)
    K = kitti_intrinsics(args.width, args.height)
    opts = SynthOptions(width=args.width, height=args.height, seed=0, jobs=args.jobs)
    t0 = time.perf_counter()
    frames = FrameRenderer(poses, K, opts)
    setup = time.perf_counter() - t0
    times = []
    cpu0 = time.process_time()
    for i in range(len(poses)):
        t = time.perf_counter()
        frames.frame(i)
        times.append(time.perf_counter() - t)
    cpu = (time.process_time() - cpu0) / len(poses)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        render_sequence(tmp, poses, K, opts)
        total = time.perf_counter() - t
    result = {
        "benchmark": "synth", "frames": args.frames, "size": f"{args.width}x{args.height}",
        "trajectory": args.trajectory, "primitives": len(frames.renderer.scene),
        "setup_s": round(setup, 3), "render_s_per_frame_mean": round(sum(times) / len(times), 4),
        "render_s_per_frame_max": round(max(times), 4), "render_cpu_s_per_frame": round(cpu, 4),
        "load_average_1min": round(os.getloadavg()[0], 2), "jobs": args.jobs,
        "render_sequence_total_s": round(total, 2),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    for k, v in result.items():
        print(f"{k:>28}: {v}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
