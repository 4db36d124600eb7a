"""Per-sequence metric unit of the network depth, fitted to the camera height (frontend.ground_scale).

    python bench/ground_scale_units.py ../shared/data/kitti/sequences/{00,02,06,07} runs/synth_eval/sequences/00 \
        --model-dir frontend/models/shipped --stride 5 --json runs/ground_units.json

For every ``--stride``-th frame at the processing size (640x192): the frontend's depth (the exported
unit, nominally metres), the ground-plane fit and its factor ``camera_height / plane distance``
(metres per exported unit). On renders with exact depth (``depth_0/``) also the true factor per frame,
median over pixels < 80 m of ``gt / depth``. Prints one row per sequence: frames with a plane, median
and IQR of the ground factor, the true factor where known, and their ratio. Then the road height as the
training term ``loss.camera_height_weight`` measures it (``frontend.losses.depth.road_plane_heights``: a
robust least-squares plane, unknown depth taken as 80 m): its median, the per-frame spread (std of its log)
and the median change of its log from one measured frame to the next.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(path: str, runtime, stride: int, camera_height: float, size=(640, 192)) -> dict:
    from apps.io.sequence import open_sequence
    from frontend.ground_scale import GroundScaleOptions, fit_ground_plane

    seq = open_sequence(path, resize=size, gt=False)
    K = seq.intrinsics.K
    options = GroundScaleOptions(camera_height=camera_height)
    rng = np.random.default_rng(0)
    import torch

    from frontend.losses.depth import road_plane_heights

    K_batch = torch.tensor(K, dtype=torch.float64)[None]
    ground, truth, heights = [], [], []
    has_depth = bool(getattr(seq, "has_depth", False))
    for i in range(0, len(seq), stride):
        out = runtime(seq.image(i))
        fit = fit_ground_plane(out.depth, K, options, rng)
        ground.append(camera_height / fit.distance if fit is not None else np.nan)
        depth = torch.from_numpy(np.where(out.depth > 0, out.depth, 80.0).astype(np.float64))[None, None]
        height, has_road = road_plane_heights(depth, K_batch)
        heights.append(float(height[0]) if bool(has_road[0]) else np.nan)
        if has_depth:
            gt = seq.depth(i)
            ok = (gt > 0) & (gt < 80) & (out.depth > 0)
            truth.append(float(np.median(gt[ok] / out.depth[ok])) if ok.sum() > 100 else np.nan)
    g = np.array(ground)
    row = {"sequence": path, "frames": len(g), "frames_with_plane": int(np.isfinite(g).sum()),
           "ground_factor": float(np.nanmedian(g)) if np.isfinite(g).any() else None,
           "ground_iqr": [float(v) for v in np.nanpercentile(g, [25, 75])] if np.isfinite(g).any() else None,
           # per measured frame (every stride-th): [frame index, factor or None without a plane]
           "per_frame": [[i * stride, float(v) if np.isfinite(v) else None] for i, v in enumerate(g)]}
    log_h = np.log(np.array(heights)[np.isfinite(heights)])
    row["road_height"] = {"frames": int(log_h.size),
                          "median": float(np.exp(np.median(log_h))) if log_h.size else None,
                          "std_log": float(log_h.std()) if log_h.size else None,
                          "median_step_log": float(np.median(np.abs(np.diff(log_h)))) if log_h.size > 1 else None}
    if has_depth:
        t = np.array(truth)
        row["true_factor"] = float(np.nanmedian(t))
        row["ground_over_true"] = row["ground_factor"] / row["true_factor"] if row["ground_factor"] else None
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sequences", nargs="+", help="KITTI sequence folders or renders (sequences/NN)")
    ap.add_argument("--model-dir", default="frontend/models/shipped")
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--camera-height", type=float, default=1.65)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the rows as JSON")
    args = ap.parse_args(argv)
    import torch

    from frontend.inference import FrontendRuntime

    torch.set_num_threads(args.threads)
    runtime = FrontendRuntime(args.model_dir, device="cpu")
    rows = []
    for path in args.sequences:
        row = measure(path, runtime, args.stride, args.camera_height)
        rows.append(row)
        iqr = row["ground_iqr"] or [float("nan")] * 2
        extra = (f"  true {row['true_factor']:.3f}  ground/true {row['ground_over_true']:.3f}"
                 if "true_factor" in row else "")
        print(f"{path}: plane in {row['frames_with_plane']}/{row['frames']} frames, ground factor "
              f"{row['ground_factor'] or float('nan'):.3f} (IQR {iqr[0]:.3f}-{iqr[1]:.3f}){extra}", flush=True)
        rh = {k: (float("nan") if v is None else v) for k, v in row["road_height"].items()}
        print(f"    road height (least squares) in {rh['frames']} frames: median {rh['median']:.3f}, "
              f"std of log {rh['std_log']:.3f}, frame-to-frame change of log {rh['median_step_log']:.3f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
