"""Benchmark of the C++ DS-DSO backend on KITTI-layout sequences with ground truth.

    .venv/bin/python bench/backend.py SEQUENCE[@N] [SEQUENCE[@N] ...] [--max-frames N]
                                      [--width W --height H] [--depth-prior] [--seeds 0 1 2]
                                      [--options backend.yaml] [--json OUT]

``SEQUENCE@N`` limits that sequence to its first N frames (``--max-frames`` is the default N), e.g. the
per-frame accuracy suite of issue 9 at 640x192:

    bench/backend.py ../shared/data/kitti/sequences/00@300 ../shared/data/kitti/sequences/02@300 \
        ../shared/data/kitti/sequences/07@160 --width 640 --height 192 --seeds 0 1 2

Runs ``dso_bridge.Backend`` over the frames (pure DSO mode unless ``--depth-prior`` and the sequence
has depth maps) once per selector seed and prints/writes: ``fps`` (frames per second of the backend's
``track`` calls only; image loading excluded), ``fps_cpu`` (same with process CPU time), ``cpu_s``,
``peak_rss_mb``, ``frames``, ``poses`` (frames with a finite pose), ``keyframes``, ``lost``, ``t_rel`` [%]
/ ``r_rel`` [deg/100m] (KITTI metric after scale-only alignment, NaN when the trajectory is shorter than
100 m), ``ate_rmse`` [m], the per-frame accuracy of the final ``trajectory()`` and of the poses
``track()`` returned live (``rpe1`` / ``rpe1_live``: translation RMSE over 1 frame after scale-only
alignment [m]; ``d2_median`` / ``d2_max``: median / max norm of the second difference of the aligned
positions [m], GT: ``d2_gt_median``), local scale drift (``scale_drift_*``: ratio of estimated to true
path length over sliding windows of 100 m of true path, after the global scale alignment; 1 = no drift)
and the mean per-stage timings. With several seeds the means over seeds are printed last.
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


def second_difference_norms(world_from_cam: np.ndarray) -> np.ndarray:
    """|p[i+1] - 2 p[i] + p[i-1]| of the camera positions of ``(N, 4, 4)`` poses, ``(N-2,)``."""
    p = np.asarray(world_from_cam, dtype=np.float64)[:, :3, 3]
    if p.shape[0] < 3:
        return np.zeros(0)
    return np.linalg.norm(p[2:] - 2.0 * p[1:-1] + p[:-2], axis=1)


def accuracy(gt: np.ndarray, est: np.ndarray) -> dict:
    """Per-frame accuracy of ``est`` against ``gt`` (both ``(N, 4, 4)``): see the module docs."""
    from apps.evaluation.evaluate import evaluate_trajectory
    from apps.evaluation.scale_drift import scale_drift_ratios

    ev = evaluate_trajectory(gt, est, align="scale")
    d2 = second_difference_norms(ev.est_aligned_world_from_cam)
    drift = scale_drift_ratios(gt, ev.est_aligned_world_from_cam)
    nan = float("nan")
    return {
        "t_rel": ev.t_rel, "r_rel": ev.r_rel, "ate_rmse": ev.ate_rmse, "rpe1": ev.rpe_trans_rmse,
        "rpe1_rot_deg": ev.rpe_rot_rmse, "scale": ev.scale,
        "d2_median": float(np.median(d2)) if d2.size else nan, "d2_max": float(d2.max()) if d2.size else nan,
        "d2_gt_median": float(np.median(second_difference_norms(gt))) if d2.size else nan,
        "scale_drift_min": float(drift.min()) if drift.size else nan,
        "scale_drift_max": float(drift.max()) if drift.size else nan,
        "scale_drift_std": float(drift.std()) if drift.size else nan,
    }


def run(sequence: str, max_frames: int | None, width: int | None, height: int | None, depth_prior: bool,
        options_path: str | None, seed: int | None = None) -> dict:
    from apps.io.sequence import open_sequence
    from dso_bridge import Backend, SystemOptions, load_options

    resize = (width, height) if width and height else None
    seq = open_sequence(sequence, resize=resize, max_frames=max_frames)
    if seq.gt_world_from_cam is None:
        raise ValueError(f"{sequence}: no ground-truth poses found (expected ../../poses/<name>.txt)")
    options = load_options(options_path) if options_path else SystemOptions()
    if seed is not None:
        options.selector.seed = int(seed)
    backend = Backend(seq.intrinsics, options)
    wall = cpu = 0.0
    stages: dict[str, float] = {}
    rss_trace: list[tuple[int, float]] = []
    live: list[np.ndarray] = []
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
        live.append(np.asarray(r.world_from_cam, dtype=np.float64))
        for k, v in r.timings_ms.items():
            stages[k] = stages.get(k, 0.0) + v
    t0, c0 = time.perf_counter(), time.process_time()
    backend.flush()  # the mapping thread's last frames (option mapping_thread; no-op without one)
    wall += time.perf_counter() - t0
    cpu += time.process_time() - c0
    for k, v in backend.mapping_timings().items():  # zeros without a mapping thread
        stages[f"mapping_thread_{k}"] = stages.get(f"mapping_thread_{k}", 0.0) + v
    n = len(seq)
    est = backend.trajectory()
    statuses = backend.frame_statuses()
    gt = np.asarray(seq.gt_world_from_cam, dtype=np.float64)[:n]
    final = accuracy(gt, est)
    live_acc = accuracy(gt, np.stack(live))
    return {
        "sequence": str(sequence), "width": seq.intrinsics.width, "height": seq.intrinsics.height,
        "depth_prior": bool(depth_prior), "seed": seed, "frames": n, "cpu_s": cpu,
        "poses": int(np.isfinite(est).all(axis=(1, 2)).sum()),
        "keyframes": int(len(backend.keyframe_indices())), "lost": statuses.count("LOST"),
        "recovered": statuses.count("RECOVERED"),
        "fps": n / wall, "fps_cpu": n / max(cpu, 1e-9),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_mb_trace": rss_trace,
        **final, **{f"{k}_live": v for k, v in live_acc.items()},
        "stage_ms_mean": {k: v / n for k, v in stages.items()},
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


SUMMARY_KEYS = ("keyframes", "lost", "cpu_s", "fps", "t_rel", "r_rel", "ate_rmse", "rpe1", "rpe1_live", "d2_median",
                "d2_max", "d2_median_live", "d2_max_live", "d2_gt_median", "scale", "scale_drift_min",
                "scale_drift_max", "scale_drift_std")


def parse_sequence_arg(arg: str, max_frames: int | None) -> tuple[str, int | None]:
    """``PATH`` or ``PATH@N`` -> (path, frames)."""
    path, sep, n = arg.rpartition("@")
    if not sep:
        return arg, max_frames
    try:
        frames = int(n)
    except ValueError:
        raise ValueError(f"sequence argument {arg!r}: expected PATH or PATH@N with an integer N") from None
    if frames < 3:
        raise ValueError(f"sequence argument {arg!r}: N must be >= 3")
    return path, frames


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sequence", nargs="+", help="KITTI-layout sequence folder (.../sequences/NN) with ground "
                    "truth, optionally @N for its first N frames")
    ap.add_argument("--max-frames", type=int, default=None, help="frames per sequence without @N")
    ap.add_argument("--width", type=int, default=None, help="resize frames to this width (with --height)")
    ap.add_argument("--height", type=int, default=None)
    ap.add_argument("--depth-prior", action="store_true", help="feed the sequence's depth maps as prior")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="pixel-selector seeds, one run each (default: the options' seed)")
    ap.add_argument("--options", default=None, help="YAML file with backend options")
    ap.add_argument("--json", default=None, help="write the results (list of runs) as JSON here (atomically)")
    args = ap.parse_args(argv)
    if (args.width is None) != (args.height is None):
        ap.error("--width and --height go together")
    try:
        sequences = [parse_sequence_arg(a, args.max_frames) for a in args.sequence]
    except ValueError as e:
        ap.error(str(e))
    results = []
    for path, frames in sequences:
        runs = []
        for seed in args.seeds or [None]:
            res = run(path, frames, args.width, args.height, args.depth_prior, args.options, seed)
            runs.append(res)
            results.append(res)
            print(f"{path} frames={res['frames']} seed={seed}: " +
                  " ".join(f"{k}={res[k]:.3f}" if isinstance(res[k], float) else f"{k}={res[k]}"
                           for k in SUMMARY_KEYS), flush=True)
            print("  stage ms/frame: " + ", ".join(f"{k}={v:.1f}" for k, v in res["stage_ms_mean"].items()))
        if len(runs) > 1:
            print(f"{path} MEAN over {len(runs)} seeds: " +
                  " ".join(f"{k}={np.mean([r[k] for r in runs]):.3f}" for k in SUMMARY_KEYS), flush=True)
    if args.json:
        from apps.io.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
