"""The `kp3d-vo` command: a thin argparse layer over library functions.

Each subcommand lives in ``apps/commands/<name>.py`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when
their subcommand runs (lazy imports keep ``kp3d-vo --help`` fast and torch-free).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

# name -> (module under apps.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("synth", "render a synthetic KITTI-format sequence with exact depth and poses"),
    "evaluate": ("evaluate", "score trajectories (KITTI devkit t_rel/r_rel, ATE, RPE)"),
    "demo": ("demo", "run the pipeline on the embedded synthetic default"),
    "run": ("run", "run visual odometry on a KITTI sequence, image folder or video"),
    "plot": ("plot", "plot trajectories against ground truth (evo)"),
    "train": ("train", "train KeypointNet / DepthNet (self-supervised)"),
    "export": ("export", "export trained networks to TorchScript"),
    "eval-keypoints": ("eval_keypoints", "HPatches-protocol keypoint evaluation vs ORB/SIFT"),
}


def _load(name: str):
    module_name, _ = COMMANDS[name]
    return importlib.import_module(f"apps.commands.{module_name}")


def _available() -> list[str]:
    names = []
    for name, (module_name, _) in COMMANDS.items():
        if importlib.util.find_spec(f"apps.commands.{module_name}") is not None:
            names.append(name)
    return names


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kp3d-vo", description="DS-DSO monocular visual odometry")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    wanted = None
    if argv:
        wanted = next((a for a in argv if not a.startswith("-")), None)
    for name in _available():
        help_text = COMMANDS[name][1]
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only the chosen subcommand's module is imported
            _load(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(_load(args.command).run(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        # Library code raises with a message naming the file/argument; the CLI prints it.
        print(f"kp3d-vo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kp3d-vo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
