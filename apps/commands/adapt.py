"""``kp3d-vo adapt SEQ_OR_VIDEO --out DIR``: adapt the frontend to the user's own footage, no labels needed.

    kp3d-vo adapt ../shared/data/kitti/sequences/07 --out runs/adapted07
    kp3d-vo adapt drive.mp4 --calib calib.yaml --out models/my_car --iterations 2
    kp3d-vo run drive.mp4 --calib calib.yaml --model-dir models/my_car --output runs/drive

Runs the backend over the sequence (DS-DSO with the frontend of ``--model-dir``, default the shipped
one), fine-tunes the DepthNet on its optimised poses and points (and, with ``--keypoint-steps``, the
KeypointNet on correspondences from those poses and the adapted depth), and writes an exported frontend
(``frontend.json`` + TorchScript files, as ``kp3d-vo export``) plus ``adapt.json`` and the networks in
checkpoint format. See ``frontend.training.adapt``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from apps.commands.camera_args import add_camera_arguments, camera_kwargs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sequence", help="KITTI sequence folder (sequences/NN), image folder or video file")
    p.add_argument("--out", required=True, help="output model folder (use it with kp3d-vo run --model-dir)")
    add_camera_arguments(p)
    p.add_argument("--model-dir", help="frontend folder to start from (default: the shipped models)")
    p.add_argument("--config", help="YAML run config of the backend runs (processing size, backend options)")
    p.add_argument("--iterations", type=int, default=1, metavar="K",
                   help="backend run + fine-tuning rounds (default 1)")
    p.add_argument("--steps", type=int, default=300, metavar="N", help="fine-tuning steps per round (default 300)")
    p.add_argument("--keypoint-steps", type=int, default=0, metavar="N",
                   help="KeypointNet fine-tuning steps per round (default 0: the KeypointNet is copied unchanged)")
    p.add_argument("--first-mode", choices=("dsdso", "dso"), default="dsdso",
                   help="backend of the first round: dsdso with the starting networks (default) or pure dso")
    p.add_argument("--unit", choices=("sequence", "frame"), default="sequence",
                   help="the backend's poses and depths are brought to the network's unit by one factor for the "
                        "whole sequence (default) or by each frame's own (the network then learns the backend's "
                        "shape, not its per-frame unit)")
    p.add_argument("--max-frames", type=int, help="use only the first N frames")
    p.add_argument("--seed", type=int, default=0, help="sample order and augmentation seed (default 0)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    p.add_argument("--keypoint-checkpoint", help="KeypointNet checkpoint of the starting frontend "
                   "(default: found from --model-dir)")
    p.add_argument("--depth-checkpoint", help="DepthNet checkpoint of the starting frontend (default: found "
                   "from --model-dir)")


def run(args: argparse.Namespace) -> int:
    from apps.adapt import backend_runner
    from apps.io.sequence import open_sequence
    from apps.pipeline.config import load_config
    from frontend.training.adapt import AdaptOptions, adapt_frontend
    from frontend.training.adapt_keypoints import KeypointAdaptOptions

    config = load_config(args.config, model_dir=args.model_dir)
    if args.max_frames is not None and args.max_frames < 3:
        raise ValueError(f"--max-frames must be >= 3, got {args.max_frames}")
    seq = open_sequence(args.sequence, gt=False, resize=(config.width, config.height), crop=config.crop,
                        max_frames=args.max_frames, **camera_kwargs(args))
    options = AdaptOptions(iterations=args.iterations, steps=args.steps, first_mode=args.first_mode, seed=args.seed,
                           num_threads=args.threads, keypoint=KeypointAdaptOptions(steps=args.keypoint_steps),
                           per_frame_unit=args.unit == "frame")
    # The backend and the training never see the ground truth; where a sequence folder has one (KITTI's
    # poses/NN.txt, a render's) it measures the DepthNet before and after on points triangulated with it.
    truth = None
    if Path(args.sequence).is_dir():
        truth = open_sequence(args.sequence, resize=(config.width, config.height), crop=config.crop,
                              max_frames=args.max_frames, **camera_kwargs(args)).gt_world_from_cam
    report = adapt_frontend(seq, args.out, config.resolved_model_dir, backend_runner(seq, config), options,
                            keypoint_checkpoint=args.keypoint_checkpoint, depth_checkpoint=args.depth_checkpoint,
                            sequence_label=str(args.sequence), true_world_from_cam=truth)
    for it in report["iterations"]:
        b, a = it["losses_before"], it["losses_after"]
        print(f"round {it['iteration'] + 1}: backend {it['backend']['mode']} {it['backend']['keyframes']} keyframes, "
              f"{it['samples']} frames, {it['sparse_points']} backend depths; photometric {b['photometric']:.4f} -> "
              f"{a['photometric']:.4f}, scale-invariant {b['sparse_si']:.4f} -> {a['sparse_si']:.4f} "
              f"({it['cpu_s']:.0f} CPU s)")
        if "real_depth" in it:
            b, a = report["real_depth_before"], it["real_depth"]
            print(f"  depth on {a['points']} points triangulated with the ground truth: AbsRel {b['abs_rel']:.3f} -> "
                  f"{a['abs_rel']:.3f}, a1 {b['a1']:.3f} -> {a['a1']:.3f}, shape bias {b['shape_bias']:+.3f} -> "
                  f"{a['shape_bias']:+.3f}")
        if "keypoint" in it:
            kb, ka = it["keypoint"]["losses_before"], it["keypoint"]["losses_after"]
            print(f"  KeypointNet: multi-view loss {kb['multiview']:.4f} -> {ka['multiview']:.4f}, "
                  f"match ratio {kb['mv_match_ratio']:.3f} -> {ka['mv_match_ratio']:.3f}")
    print(f"adapted frontend in {args.out} (kp3d-vo run ... --model-dir {args.out})")
    return 0
