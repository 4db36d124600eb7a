"""Where frame-to-frame (f2f) odometry loses accuracy: rotation, translation direction or per-frame scale.

    .venv/bin/python bench/f2f_error_split.py [--root ../shared/data/kitti/sequences] [--seqs 00 02]
        [--max-frames 300] [--model-dir frontend/models/shipped] [--json OUT]

Runs the f2f mode's odometry (``apps.pipeline.f2f.FrameToFrameOdometry``: the frontend's keypoints and
depth, mutual-NN matches, PnP-RANSAC on the previous frame's depth-lifted keypoints, constant velocity
when PnP fails) once per sequence and takes every relative pose ``cam_cur_from_cam_prev`` from it. The
chained trajectory is scored by ``kp3d-vo evaluate``'s error split (``apps.evaluation.error_split``: KITTI
t_rel / r_rel after scale-only alignment, as estimated and with the ground truth's rotation, translation,
step length or step direction in place of ours, plus per-frame rotation errors about the camera axes and
the ratio of our step length to the truth's). A variant whose t_rel drops most says what to fix first. One
process, no backend; the frontend runs on one torch thread.
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


def split_sequence(path: Path, model_dir: Path, max_frames: int) -> dict:
    from apps.evaluation.error_split import chain
    from apps.evaluation.evaluate import EvaluateOptions, evaluate_trajectory
    from apps.io.sequence import open_sequence
    from apps.pipeline.config import RunConfig
    from frontend.inference import FrontendRuntime

    config = RunConfig(mode="f2f")
    sequence = open_sequence(path, resize=(config.width, config.height), max_frames=max_frames)
    if sequence.gt_world_from_cam is None:
        raise ValueError(f"{path}: no ground truth (needed to split the error)")
    frontend = FrontendRuntime(model_dir, top_k=config.top_k, num_threads=1)
    rels = relative_poses(sequence, frontend, config.f2f)  # cam_cur_from_cam_prev
    est = chain(np.eye(4), np.linalg.inv(np.asarray(rels)))
    result = evaluate_trajectory(sequence.gt_world_from_cam, est, options=EvaluateOptions(error_split=True))
    return {"sequence": path.name, "frames": len(sequence), **result.error_split}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="../shared/data/kitti/sequences")
    parser.add_argument("--seqs", nargs="+", default=["00", "02"])
    parser.add_argument("--max-frames", type=int, default=300)
    parser.add_argument("--model-dir", default=str(REPO / "frontend" / "models" / "shipped"))
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    rows = [split_sequence(Path(args.root) / s, Path(args.model_dir), args.max_frames) for s in args.seqs]
    print("| sequence | estimated t_rel % / r_rel | GT length | GT direction | GT rotation | GT translation | "
          "rot. error mean x / y / z deg | translation length ratio median / IQR |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [f"{row[k]['t_rel']:.2f} / {row[k]['r_rel']:.2f}"
                 for k in ("estimated", "gt_length", "gt_direction", "gt_rotation", "gt_translation")]
        pf = row["per_frame"]
        print(f"| {row['sequence']} | " + " | ".join(cells)
              + f" | {pf['rot_mean_deg_x']:+.3f} / {pf['rot_mean_deg_y']:+.3f} / {pf['rot_mean_deg_z']:+.3f}"
              + f" | {pf['length_ratio_median']:.3f} / {pf['length_ratio_iqr']:.3f} |")
    if args.json:
        from apps.io.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
