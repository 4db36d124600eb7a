"""Where frame-to-frame (f2f) odometry loses accuracy: rotation, translation direction or per-frame scale.

    .venv/bin/python bench/f2f_error_split.py [--root ../shared/data/kitti/sequences] [--seqs 00 02]
        [--max-frames 300] [--model-dir frontend/models/shipped] [--json OUT]

Runs the f2f mode's odometry (``apps.pipeline.f2f.FrameToFrameOdometry``: the frontend's keypoints and
depth, mutual-NN matches, PnP-RANSAC on the previous frame's depth-lifted keypoints, constant velocity
when PnP fails) once per sequence and takes every relative pose ``cam_cur_from_cam_prev`` from it. The chained trajectory is then
scored (KITTI t_rel / r_rel after scale-only alignment, ``apps.evaluation``) as estimated, and with one
part of each relative pose replaced by the ground truth's:

* ``gt_scale``: the ground-truth translation length (our rotation and translation direction);
* ``gt_rotation``: the ground-truth rotation (our translation);
* ``gt_translation``: the ground-truth translation (our rotation).

Also per frame: the mean and spread of the rotation error about the camera's x (pitch) / y (yaw) / z
axes in degrees, and the ratio of our translation length to the ground truth's (median, interquartile
range). A variant whose t_rel drops most says what to fix first. One process, no backend; the frontend
runs on one torch thread.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def relative_poses(sequence, frontend, options) -> list[np.ndarray]:
    """cam_cur_from_cam_prev (4, 4) float64 for frames 1..N-1 of ``sequence``, from the f2f mode's own
    odometry (``apps.pipeline.f2f.FrameToFrameOdometry``) run over it."""
    from apps.pipeline.f2f import FrameToFrameOdometry

    odometry = FrameToFrameOdometry(sequence.intrinsics, options)
    for i in range(len(sequence)):
        out = frontend(sequence.image(i))
        odometry.step(out.keypoints, out.descriptors, out.depth)
    poses = odometry.trajectory()
    return [np.linalg.inv(poses[i]) @ poses[i - 1] for i in range(1, len(poses))]


def chain(rels: list[np.ndarray]) -> np.ndarray:
    """(N, 4, 4) world_from_cam from N-1 relative poses cam_cur_from_cam_prev, first frame the identity."""
    poses = [np.eye(4)]
    for rel in rels:
        poses.append(poses[-1] @ np.linalg.inv(rel))
    return np.asarray(poses)


def substituted(rels: list[np.ndarray], gt_rels: list[np.ndarray], part: str) -> list[np.ndarray]:
    """Relative poses with ``part`` ("scale" | "rotation" | "translation") taken from the ground truth."""
    out = []
    for rel, gt in zip(rels, gt_rels):
        x = rel.copy()
        if part == "scale":
            x[:3, 3] *= np.linalg.norm(gt[:3, 3]) / max(np.linalg.norm(rel[:3, 3]), 1e-12)
        elif part == "rotation":
            x[:3, :3] = gt[:3, :3]
        elif part == "translation":
            x[:3, 3] = gt[:3, 3]
        else:
            raise ValueError(f"unknown part {part!r}")
        out.append(x)
    return out


def per_frame_errors(rels: list[np.ndarray], gt_rels: list[np.ndarray]) -> dict[str, float]:
    """Rotation error about the camera axes (deg, mean and std) and translation length ratio (median, IQR)."""
    import cv2

    rot = np.array([cv2.Rodrigues(gt[:3, :3].T @ rel[:3, :3])[0].reshape(3) for rel, gt in zip(rels, gt_rels)])
    rot = np.degrees(rot)
    moving = [np.linalg.norm(gt[:3, 3]) > 0.05 for gt in gt_rels]
    ratio = np.array([np.linalg.norm(rel[:3, 3]) / np.linalg.norm(gt[:3, 3])
                      for rel, gt, m in zip(rels, gt_rels, moving) if m])
    q25, q50, q75 = np.percentile(ratio, [25, 50, 75]) if len(ratio) else (np.nan,) * 3
    out = {f"rot_mean_deg_{a}": float(rot[:, k].mean()) for k, a in enumerate("xyz")}
    out.update({f"rot_std_deg_{a}": float(rot[:, k].std()) for k, a in enumerate("xyz")})
    out.update(scale_ratio_median=float(q50), scale_ratio_iqr=float(q75 - q25))
    return out


def split_sequence(path: Path, model_dir: Path, max_frames: int) -> dict:
    from apps.evaluation.evaluate import evaluate_trajectory
    from apps.io.sequence import open_sequence
    from apps.pipeline.config import RunConfig
    from frontend.inference import FrontendRuntime

    config = RunConfig(mode="f2f")
    sequence = open_sequence(path, resize=(config.width, config.height), max_frames=max_frames)
    if sequence.gt_world_from_cam is None:
        raise ValueError(f"{path}: no ground truth (needed to split the error)")
    frontend = FrontendRuntime(model_dir, top_k=config.top_k, num_threads=1)
    rels = relative_poses(sequence, frontend, config.f2f)
    gt = sequence.gt_world_from_cam
    gt_rels = [np.linalg.inv(gt[i]) @ gt[i - 1] for i in range(1, len(gt))]
    row = {"sequence": path.name, "frames": len(sequence)}
    for name, r in [("estimated", rels), ("gt_scale", substituted(rels, gt_rels, "scale")),
                    ("gt_rotation", substituted(rels, gt_rels, "rotation")),
                    ("gt_translation", substituted(rels, gt_rels, "translation"))]:
        result = evaluate_trajectory(gt, chain(r), align="scale")
        row[name] = {"t_rel": result.t_rel, "r_rel": result.r_rel, "ate_rmse": result.ate_rmse}
    row["per_frame"] = per_frame_errors(rels, gt_rels)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="../shared/data/kitti/sequences")
    parser.add_argument("--seqs", nargs="+", default=["00", "02"])
    parser.add_argument("--max-frames", type=int, default=300)
    parser.add_argument("--model-dir", default=str(REPO / "frontend" / "models" / "shipped"))
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    rows = [split_sequence(Path(args.root) / s, Path(args.model_dir), args.max_frames) for s in args.seqs]
    print("| sequence | estimated t_rel % / r_rel | GT scale | GT rotation | GT translation | "
          "rot. error mean x / y / z deg | translation length ratio median / IQR |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [f"{row[k]['t_rel']:.2f} / {row[k]['r_rel']:.2f}"
                 for k in ("estimated", "gt_scale", "gt_rotation", "gt_translation")]
        pf = row["per_frame"]
        print(f"| {row['sequence']} | " + " | ".join(cells)
              + f" | {pf['rot_mean_deg_x']:+.3f} / {pf['rot_mean_deg_y']:+.3f} / {pf['rot_mean_deg_z']:+.3f}"
              + f" | {pf['scale_ratio_median']:.3f} / {pf['scale_ratio_iqr']:.3f} |")
    if args.json:
        from apps.io.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
