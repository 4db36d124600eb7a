"""``kp3d-vo synth``: render a synthetic KITTI-format sequence with exact depth and poses.

Examples::

    kp3d-vo synth --out runs/synth --trajectory kitti-like --frames 100
    kp3d-vo synth --poses ../shared/data/kitti/poses/00.txt --frames 200 --out runs/synth00
"""
from __future__ import annotations

import argparse
import logging
import time

log = logging.getLogger(__name__)

ROAD_SMOOTHING_DEFAULT_M = 20.0  # --road-smoothing of a --poses render, metres of travel


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--poses", metavar="FILE", help="KITTI pose file (world_from_cam, 12 numbers per line) to follow")
    src.add_argument("--trajectory", metavar="KIND", default=None,
                     help="generated trajectory: straight, turns, kitti-like (default), loop")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output root (gets sequences/NAME and poses/NAME.txt)")
    parser.add_argument("--frames", type=int, default=None, metavar="N",
                        help="number of frames (default: 100 for generated trajectories, all poses for --poses)")
    parser.add_argument("--start", type=int, default=0, metavar="K", help="first pose of --poses to use (default 0)")
    parser.add_argument("--stride", type=int, default=1, metavar="S", help="use every S-th pose of --poses (default 1)")
    parser.add_argument("--road-smoothing", type=float, default=None, metavar="M",
                        help="--poses only: smooth the camera heights over M metres of travel so that the road laid "
                             "under the path is smooth (recorded GPS/INS heights wiggle by centimetres), and level "
                             f"the passes of a street driven twice (they drift apart by metres; default "
                             f"{ROAD_SMOOTHING_DEFAULT_M:g}, "
                             "0 = the file's heights as they are)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="metres per frame of generated trajectories (default 1.0)")
    parser.add_argument("--width", type=int, default=None, help="image width (default 640, or the --calib file's)")
    parser.add_argument("--height", type=int, default=None, help="image height (default 192, or the --calib file's)")
    parser.add_argument("--calib", metavar="FILE", default=None,
                        help="render with this pinhole camera (any calibration format `kp3d-vo run --calib` reads; "
                             "its size, or --width/--height; no lens distortion) instead of KITTI's scaled to the size")
    parser.add_argument("--seed", type=int, default=0, help="scene/texture/noise seed (default 0)")
    parser.add_argument("--noise", type=float, default=0.0, metavar="SIGMA", help="Gaussian noise std, grey levels")
    parser.add_argument("--exposure", type=float, default=0.0, metavar="AMOUNT",
                        help="per-frame exposure drift: std of log gain (bias std = 20 x AMOUNT grey levels)")
    parser.add_argument("--blur", type=float, default=0.0, metavar="AMOUNT",
                        help="motion blur: shutter time as a fraction of the frame interval, 0..1")
    parser.add_argument("--vignette", type=float, default=0.0, metavar="AMOUNT",
                        help="vignetting 1 - AMOUNT * (r/r_corner)^2, 0..1")
    parser.add_argument("--antialias", type=int, default=1, metavar="F",
                        help="supersample intensities F x F (1 = off, up to 4; depth stays per-pixel exact)")
    parser.add_argument("--traffic", type=int, default=0, metavar="N",
                        help="N oncoming cars pass the camera in the left lane (moving objects; default 0)")
    parser.add_argument("--lead-car", action="store_true", help="a car drives ahead in the camera's lane")
    parser.add_argument("--name", default="00", help="sequence name (default 00)")
    parser.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes (default 1)")


def run(args: argparse.Namespace) -> int:
    from apps.synth import (SynthOptions, level_revisits, load_kitti_trajectory, make_trajectory, render_sequence,
                            smooth_road_profile)

    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be >= 1, got {args.frames}")
    if args.poses:
        smoothing_m = ROAD_SMOOTHING_DEFAULT_M if args.road_smoothing is None else args.road_smoothing
        if not smoothing_m >= 0.0:
            raise ValueError(f"--road-smoothing must be >= 0 metres, got {smoothing_m}")
        poses = load_kitti_trajectory(args.poses, n_frames=args.frames, start=args.start, stride=args.stride)
        if smoothing_m > 0.0:
            poses = level_revisits(smooth_road_profile(poses, smoothing_m))
        source = (f"poses {args.poses} (start {args.start}, stride {args.stride}, "
                  + (f"heights smoothed over {smoothing_m:g} m, revisits levelled)" if smoothing_m > 0.0
                     else "heights as recorded)"))
    else:
        if args.start != 0 or args.stride != 1 or args.road_smoothing is not None:
            raise ValueError("--start/--stride/--road-smoothing apply to --poses only")
        kind = args.trajectory or "kitti-like"
        poses = make_trajectory(kind, args.frames or 100, seed=args.seed, speed=args.speed)
        source = f"generated {kind!r} trajectory"
    intrinsics, width, height = None, args.width, args.height
    if args.calib:
        from apps.io.calibration import read_calibration

        calib = read_calibration(args.calib, image_size=(args.width, args.height)
                                 if None not in (args.width, args.height) else None)
        for flag, given, size in (("--width", args.width, calib.intrinsics.width),
                                  ("--height", args.height, calib.intrinsics.height)):
            if given is not None and given != size:
                raise ValueError(f"--calib {args.calib}: its frames are {calib.intrinsics.width}x"
                                 f"{calib.intrinsics.height}, but {flag} {given} was given")
        if calib.distortion is not None:
            raise ValueError(f"--calib {args.calib}: has lens distortion ({calib.distortion.model}); the renderer "
                             "draws pinhole images only (give the intrinsics without D)")
        intrinsics = calib.intrinsics
        width, height = intrinsics.width, intrinsics.height
    width = 640 if width is None else width
    height = 192 if height is None else height
    options = SynthOptions(width=width, height=height, seed=args.seed, noise=args.noise,
                           exposure=args.exposure, blur=args.blur, vignetting=args.vignette, antialias=args.antialias,
                           jobs=args.jobs, traffic=args.traffic, lead_car=args.lead_car)
    t0 = time.perf_counter()
    seq_dir = render_sequence(args.out, poses, intrinsics, options, name=args.name)
    dt = time.perf_counter() - t0
    print(f"synth: {len(poses)} frames {width}x{height} from {source} -> {seq_dir} "
          f"({dt:.1f} s, {dt / len(poses):.3f} s/frame)")
    return 0
