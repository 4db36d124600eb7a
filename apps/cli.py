"""The `kp3d-vo` command: a thin argparse layer over library functions.

Each subcommand lives in ``apps/commands/<name>.py`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when
their subcommand runs (lazy imports keep ``kp3d-vo --help`` fast and torch-free).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
import traceback

# name -> (module under apps.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("synth", "render a synthetic KITTI-format sequence with exact depth and poses"),
    "evaluate": ("evaluate", "score trajectories (KITTI devkit t_rel/r_rel, ATE, RPE)"),
    "demo": ("demo", "run the pipeline on the embedded synthetic default"),
    "run": ("run", "run visual odometry on a KITTI sequence, image folder or video"),
    "plot": ("plot", "plot trajectories against ground truth (evo) and a run's per-frame log"),
    "train": ("train", "train KeypointNet / DepthNet (self-supervised)"),
    "export": ("export", "export trained networks to TorchScript"),
    "adapt": ("adapt", "adapt the networks to a sequence by learning from the backend (no labels)"),
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


def describe_error(exc: BaseException) -> str:
    """One line for an error: the library's message (which names the file/option), or for an
    unexpected error type its name and message (``-v`` shows the traceback)."""
    if isinstance(exc, OSError) and exc.filename is not None and not isinstance(exc, FileNotFoundError):
        target = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        text = f"{target}: {exc.strerror or exc}"
    else:
        text = str(exc) or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = " ".join(lines) if len(lines) <= 3 else lines[0] + " ..."
    if not isinstance(exc, (ValueError, FileNotFoundError, OSError)):
        text = f"{text} ({type(exc).__name__}; run with -v for the traceback)"
    return text


def _terminate(signum, frame):  # SIGTERM during start-up: stop like Ctrl-C (the run loop has its own handler)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    """Entry point. Exit codes: 0 ok, 1 some batch entries failed, 2 error (one line on stderr;
    ``-v`` adds the traceback), 3 a run that never started tracking, 130/143 interrupted by SIGINT/SIGTERM."""
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv[:1] or "--verbose" in argv[:1]
    command = "kp3d-vo"
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        verbose = args.verbose
        command = f"kp3d-vo {args.command}"
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
        return int(_load(args.command).run(args) or 0)
    except KeyboardInterrupt as exc:
        name = str(exc) if str(exc) in ("SIGTERM", "SIGINT") else "SIGINT"
        print(f"{command}: interrupted ({name})", file=sys.stderr)
        return 128 + int(getattr(signal, name))
    except Exception as exc:  # noqa: BLE001 - the CLI's job: one clear line instead of a traceback
        if verbose:
            traceback.print_exc()
        print(f"{command}: error: {describe_error(exc)}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
