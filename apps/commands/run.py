"""`kp3d-vo run SEQUENCE --output DIR`: visual odometry on a KITTI sequence, image folder or video."""
from __future__ import annotations

import argparse

from apps.commands.camera_args import add_camera_arguments, camera_kwargs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sequence", help="KITTI sequence folder (sequences/NN), image folder or video file")
    p.add_argument("--output", "-o", required=True, help="output folder (poses, map, summary.json)")
    p.add_argument("--mode", choices=("dsdso", "dso", "f2f"), help="dsdso (default): networks + backend; "
                   "dso: backend alone; f2f: KP3D frame-to-frame baseline")
    p.add_argument("--config", help="YAML run config (see configs/run/)")
    add_camera_arguments(p)
    p.add_argument("--gt", help="ground-truth trajectory (KITTI, TUM or EuRoC CSV); KITTI folders find theirs. "
                   "Time-stamped ones may cover part of the frames (those are scored); EuRoC's body poses "
                   "move to the camera with --calib's T_BS")
    p.add_argument("--max-frames", type=int, help="process only the first N frames")
    p.add_argument("--camera-height", type=float, metavar="M",
                   help="metres from the camera to the road: poses and map in metres once the backend has "
                        "measured the road (dsdso; KITTI folders: 1.65 by default; 0 = the depth prior's unit)")
    p.add_argument("--model-dir", help="TorchScript frontend folder (default: the shipped models)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--realtime", nargs="?", type=float, const=1.0, metavar="SPEED",
                   help="frames arrive as from a live camera, at SPEED x their timestamps' rate (default 1); "
                        "summary.json then reports per-frame latency (arrival to pose)")
    from apps.viewer.cli_args import add_viewer_arguments

    add_viewer_arguments(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


EXIT_NEVER_STARTED = 3  # the run finished but tracking never started (outputs are written all the same)


def run(args: argparse.Namespace) -> int:
    import json
    import logging
    import sys

    from apps.io.sequence import open_sequence
    from apps.pipeline.config import load_config
    from apps.pipeline.outputs import check_output_dir
    from apps.pipeline.runner import run_sequence

    check_output_dir(args.output)  # before anything slow: a bad --output is reported at once
    config = load_config(args.config, mode=args.mode, model_dir=args.model_dir, realtime_speed=args.realtime,
                         camera_height=args.camera_height)
    if args.device is not None and config.mode == "dso":
        logging.getLogger("apps.commands.run").warning(
            "--device %s has no effect with --mode dso: the backend runs on the CPU (the device is for the "
            "networks of dsdso and f2f)", args.device)
    seq = open_sequence(args.sequence, gt=args.gt, resize=(config.width, config.height), crop=config.crop,
                        max_frames=args.max_frames, **camera_kwargs(args))
    from apps.viewer.cli_args import viewer_from_args

    observer = viewer_from_args(args, intrinsics=seq.intrinsics, gt_world_from_cam=seq.gt_world_from_cam)
    result = run_sequence(seq, config, args.output, observer=observer, device=args.device,
                          progress=not args.no_progress)
    s = result.summary
    print(f"{s['frames']} frames, {s['keyframes']} keyframes, {s['fps']:.1f} fps, "
          f"initialising {s['initializing_frames']}, lost {len(s['lost_frames'])}"
          + (f" ({len(s['rotation_rejected_frames'])} for a rotation far from the prediction)"
             if s.get("rotation_rejected_frames") else "") + ", "
          f"skipped {len(s['skipped_frames'])}; outputs in {args.output}")
    if "latency_ms" in s:
        lat = s["latency_ms"]
        print(f"latency (frame arrival to pose) median {lat['p50']:.0f} ms, p90 {lat['p90']:.0f} ms, "
              f"max {lat['max']:.0f} ms")
    ev = s.get("evaluation")
    if ev and "t_rel" in ev:
        def fmt(v):
            return "n/a" if v is None else f"{v:.2f}"
        covered = ev["n_frames"] < s["frames"]
        print(f"t_rel {fmt(ev['t_rel'])} %  r_rel {fmt(ev['r_rel'])} deg/100m  ATE {fmt(ev['ate_rmse'])} m "
              "(scale-only alignment, KITTI devkit metric" +
              (f"; the {ev['n_frames']} frames with ground truth)" if covered else ")") +
              (f"; fitted scale {ev['scale']:.3f}" if ev.get("scale") else ""))
        if ev.get("in_metres"):
            m = ev["in_metres"]
            print(f"in metres as output (no alignment): t_rel {fmt(m['t_rel'])} %  ATE {fmt(m['ate_rmse'])} m")
        if ev.get("local_scale"):
            ls = ev["local_scale"]
            print(f"local scale over {ls['window_m']:.0f} m of path: p5 {ls['p5']:.3f}  median {ls['median']:.3f}  "
                  f"p95 {ls['p95']:.3f}  worst {ls['worst']:.3f} ({ls['n_windows']} windows; 1 = no scale drift)")
    if s["interrupted"]:
        print(json.dumps({"interrupted": True, "frames_written": s["frames"]}))
        return 143 if "SIGTERM" in s.get("signals", []) else 130
    if s["frames"] and not s["tracking_started"]:
        print(f"kp3d-vo run: error: {s['failure']}", file=sys.stderr)
        return EXIT_NEVER_STARTED
    return 0
