"""Benchmark of the C++ DS-DSO backend on a KITTI-layout sequence with ground truth.

    .venv/bin/python bench/backend.py SEQUENCE [--max-frames N] [--width W --height H] [--depth-prior]
                                      [--options backend.yaml] [--json OUT]

Runs ``dso_bridge.Backend`` over the frames (pure DSO mode unless ``--depth-prior`` and the sequence
has depth maps) and prints/writes: ``fps`` (frames per second of the backend's ``track`` calls only;
image loading excluded), ``fps_cpu`` (same with process CPU time), ``peak_rss_mb``, ``frames``,
``poses`` (frames with a finite pose), ``keyframes``, ``lost``, ``t_rel`` [%] / ``r_rel`` [deg/100m]
(KITTI metric after scale-only alignment, NaN when the trajectory is shorter than 100 m),
``ate_rmse`` [m] and the mean per-stage timings.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(sequence: str, max_frames: int | None, width: int | None, height: int | None, depth_prior: bool,
        options_path: str | None) -> dict:
    from apps.evaluation.evaluate import evaluate_trajectory
    from apps.io.sequence import open_sequence
    from dso_bridge import Backend, SystemOptions, load_options

    resize = (width, height) if width and height else None
    seq = open_sequence(sequence, resize=resize, max_frames=max_frames)
    if seq.gt_world_from_cam is None:
        raise ValueError(f"{sequence}: no ground-truth poses found (expected ../../poses/<name>.txt)")
    options = load_options(options_path) if options_path else SystemOptions()
    backend = Backend(seq.intrinsics, options)
    wall = cpu = 0.0
    stages: dict[str, float] = {}
    rss_trace: list[tuple[int, float]] = []
    page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
    for i in range(len(seq)):
        if i % 100 == 0:  # current (not peak) RSS: memory must stay flat once the window is full
            with open("/proc/self/statm") as f:
                rss_trace.append((i, int(f.read().split()[1]) * page_mb))
        image = seq.image(i).astype(np.float32)
        depth = seq.depth(i) if depth_prior else None
        t0, c0 = time.perf_counter(), time.process_time()
        r = backend.track(image, float(seq.timestamps[i]), depth=depth)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        for k, v in r.timings_ms.items():
            stages[k] = stages.get(k, 0.0) + v
    n = len(seq)
    est = backend.trajectory()
    statuses = backend.frame_statuses()
    ev = evaluate_trajectory(seq.gt_world_from_cam, est, align="scale")
    return {
        "sequence": str(sequence), "width": seq.intrinsics.width, "height": seq.intrinsics.height,
        "depth_prior": bool(depth_prior), "frames": n,
        "poses": int(np.isfinite(est).all(axis=(1, 2)).sum()),
        "keyframes": int(len(backend.keyframe_indices())), "lost": statuses.count("LOST"),
        "recovered": statuses.count("RECOVERED"),
        "fps": n / wall, "fps_cpu": n / max(cpu, 1e-9),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_mb_trace": rss_trace,
        "t_rel": ev.t_rel, "r_rel": ev.r_rel, "ate_rmse": ev.ate_rmse,
        "stage_ms_mean": {k: v / n for k, v in stages.items()},
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sequence", help="KITTI-layout sequence folder (.../sequences/NN) with ground truth")
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--width", type=int, default=None, help="resize frames to this width (with --height)")
    ap.add_argument("--height", type=int, default=None)
    ap.add_argument("--depth-prior", action="store_true", help="feed the sequence's depth maps as prior")
    ap.add_argument("--options", default=None, help="YAML file with backend options")
    ap.add_argument("--json", default=None, help="write the results as JSON here (atomically)")
    args = ap.parse_args(argv)
    if (args.width is None) != (args.height is None):
        ap.error("--width and --height go together")
    res = run(args.sequence, args.max_frames, args.width, args.height, args.depth_prior, args.options)
    for k in ("sequence", "width", "height", "frames", "poses", "keyframes", "lost", "recovered", "fps", "fps_cpu",
              "peak_rss_mb", "t_rel", "r_rel", "ate_rmse"):
        v = res[k]
        print(f"{k:>12}: {v:.3f}" if isinstance(v, float) else f"{k:>12}: {v}")
    print("  stage ms/frame: " + ", ".join(f"{k}={v:.1f}" for k, v in res["stage_ms_mean"].items()))
    if args.json:
        from apps.io.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(res, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
