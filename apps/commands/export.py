"""``kp3d-vo export``: trained KeypointNet + DepthNet checkpoints -> TorchScript model folder.

    kp3d-vo export --keypoint kp.ckpt --depth depth.ckpt --out models/kp3d [--width 640 --height 192]
    kp3d-vo export --random --out runs/random_models        # random weights (tests, demos)

Writes OUT/keypoint_net.pt, OUT/depth_net.pt and OUT/frontend.json (atomically), after checking that
the exported modules reproduce the eager networks; the folder is what ``FrontendRuntime`` loads.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from frontend.common.paths import portable_label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("networks (both checkpoints, or --random)")
    src.add_argument("--keypoint", metavar="CKPT", help="KeypointNet training checkpoint")
    src.add_argument("--depth", metavar="CKPT", help="DepthNet training checkpoint")
    src.add_argument("--random", action="store_true",
                     help="export randomly initialised networks instead (seeded; for tests and demos)")
    src.add_argument("--keypoint-config", default="keypoint_light", metavar="YAML",
                     help="with --random: KeypointNet config file or name in configs/models (default keypoint_light)")
    src.add_argument("--depth-config", default="depth_light", metavar="YAML",
                     help="with --random: DepthNet config file or name in configs/models (default depth_light)")
    src.add_argument("--seed", type=int, default=0, help="with --random: weight seed (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output model folder")
    parser.add_argument("--width", type=int, default=640, help="network input width, multiple of 32 (default 640)")
    parser.add_argument("--height", type=int, default=192, help="network input height, multiple of 32 (default 192)")
    parser.add_argument("--depth-width", type=int, default=None,
                        help="DepthNet input width, multiple of 32 (default: --width); e.g. its training width")
    parser.add_argument("--depth-height", type=int, default=None,
                        help="DepthNet input height, multiple of 32 (default: --height)")
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--depth-scale", type=float, default=None, metavar="S",
                       help="multiply the network depth by S (default 1: the training's arbitrary unit)")
    scale.add_argument("--calibrate-depth", metavar="SEQ",
                       help="set the depth scale to make depth metric on SEQ, a sequence with exact depth "
                            "(a `kp3d-vo synth` render with the target camera)")
    parser.add_argument("--depth-prior-sigma", type=float, default=None, metavar="R",
                        help="relative depth uncertainty sigma(d)/d recorded for the backend's depth prior "
                             "(default: none recorded; the backend then uses its own default)")
    parser.add_argument("--method", choices=("trace", "script"), default="trace",
                        help="torch.jit.trace or torch.jit.script (default trace)")
    parser.add_argument("--top-k", type=int, default=None, metavar="K",
                        help="default keypoint budget recorded in frontend.json (default: the config's top_k)")


def run(args: argparse.Namespace) -> int:
    from frontend.export import ExportOptions, export_checkpoints, make_random_model_dir

    scale_source = None
    depth_scale = args.depth_scale if args.depth_scale is not None else 1.0
    if args.calibrate_depth:
        if args.random:
            raise ValueError("--calibrate-depth needs a trained --depth checkpoint, not --random")
        if not args.depth:
            raise ValueError("--calibrate-depth needs --depth CKPT")
        from apps.io.sequence import open_sequence
        from frontend.training.evaluate import calibrate_depth_scale

        size = (args.depth_width or args.width, args.depth_height or args.height)
        frames = open_sequence(args.calibrate_depth, resize=size, gt=False)
        scale_source = calibrate_depth_scale(args.depth, frames, label=portable_label(args.calibrate_depth))
        depth_scale = scale_source["factor"]
        print(f"depth scale {depth_scale:.3f} from {scale_source['frames']} frames of {args.calibrate_depth} "
              f"(AbsRel after median scaling {scale_source['abs_rel']:.3f})")
    options = ExportOptions(width=args.width, height=args.height, method=args.method, top_k=args.top_k,
                            depth_width=args.depth_width, depth_height=args.depth_height, depth_scale=depth_scale,
                            depth_prior_sigma=args.depth_prior_sigma)
    if args.random:
        if args.keypoint or args.depth:
            raise ValueError("--random cannot be combined with --keypoint/--depth checkpoints")
        out_dir = make_random_model_dir(args.out, args.keypoint_config, args.depth_config, args.width, args.height,
                                        args.seed, args.method, args.top_k, args.depth_width, args.depth_height)
        meta_path = out_dir / "frontend.json"
    else:
        if not args.keypoint or not args.depth:
            raise ValueError("need both --keypoint CKPT and --depth CKPT (or --random)")
        meta_path = export_checkpoints(args.keypoint, args.depth, args.out, options, scale_source)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    total_mb = (meta["keypoint"]["bytes"] + meta["depth"]["bytes"]) / 1e6
    print(f"exported to {meta_path.parent}: keypoint_net.pt {meta['keypoint']['bytes'] / 1e6:.1f} MB, "
          f"depth_net.pt {meta['depth']['bytes'] / 1e6:.1f} MB (total {total_mb:.1f} MB), "
          f"input {args.width}x{args.height} (depth {options.depth_size[0]}x{options.depth_size[1]}), max |exported - eager| "
          f"{max(meta['keypoint']['max_abs_error'], meta['depth']['max_abs_error']):.2g}")
    return 0

