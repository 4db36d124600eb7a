"""``kp3d-vo train keypoints|depth|multiview``: self-supervised training of the frontend networks.

Single process:   kp3d-vo train keypoints --config configs/train/keypoints_light.yaml --out runs/kp
Resume:           kp3d-vo train keypoints --config ... --out runs/kp --resume
Other data folder: kp3d-vo train depth --config configs/train/depth_light.yaml --data-root /data/sets
Several processes (DDP, gloo on CPU / nccl on CUDA):
                  torchrun --nproc_per_node 2 -m apps.cli train keypoints --config ... --out runs/kp
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_DATA_ROOT = "../shared/data"  # data source paths in configs/train start with it (relative to the repo)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", choices=("keypoints", "depth", "multiview"), help="what to train")
    parser.add_argument("--config", required=True,
                        help="training YAML (configs/train/*.yaml) or a bare name in configs/train")
    parser.add_argument("--out", default=None, help="run directory (default runs/<config name>)")
    parser.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.pt")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many total steps")
    parser.add_argument("--batch-size", type=int, default=None, help="override run.batch_size (per process)")
    parser.add_argument("--threads", type=int, default=None, help="override run.num_threads (torch threads)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    parser.add_argument("--data-root", default=None, metavar="DIR",
                        help=f"where the data lives: replaces the leading {DEFAULT_DATA_ROOT} (relative to the "
                             "repository) of the config's data source paths")


def with_data_root(data: dict, data_root: str) -> dict:
    """``data`` (a training config's ``data`` section) with the sources' leading ``DEFAULT_DATA_ROOT``
    replaced by ``data_root``; other paths are kept."""
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise ValueError(f"--data-root {data_root}: not a folder")
    sources = []
    for source in data.get("sources") or []:
        path = source.get("path") if isinstance(source, dict) else None
        if path and Path(path).parts[:3] == Path(DEFAULT_DATA_ROOT).parts:
            source = dict(source, path=str(root.joinpath(*Path(path).parts[3:]).resolve()))
        sources.append(source)
    return dict(data, sources=sources)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from apps.io.sequence import open_sequence
    from frontend.training.config import load_train_config
    from frontend.training.engine import Trainer

    config = load_train_config(args.config)
    if config.task != args.task:
        raise ValueError(f"--config {args.config} is a {config.task!r} config, but the task is {args.task!r}")
    overrides = {}
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    if args.threads is not None:
        overrides["num_threads"] = args.threads
    if args.max_steps is not None and args.max_steps < 1:
        raise ValueError(f"--max-steps must be >= 1, got {args.max_steps}")
    if overrides:
        config = dataclasses.replace(config, run=dataclasses.replace(config.run, **overrides))
    if args.data_root is not None:
        config = dataclasses.replace(config, data=with_data_root(config.data, args.data_root))
    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    trainer = Trainer(config, out, device=args.device, resume=args.resume, progress=not args.no_progress,
                      open_sequence=open_sequence)
    try:
        last = trainer.train(args.max_steps)
        if trainer.dist.is_main:
            logger.info("finished at step %d (loss %.4f); run directory %s", trainer.step, last.get("loss", float("nan")),
                        out)
    finally:
        trainer.close()
    if trainer.dist.enabled:
        _exit_distributed_worker()
    return 0


def _exit_distributed_worker() -> None:
    """End a torchrun worker whose run finished (outputs written atomically, process group destroyed)
    without the interpreter's teardown: torch's distributed C++ state can abort the process there
    ("terminate called without an active exception", SIGABRT: seen once in CI after the two-process gloo
    test's run had finished, never in 60 local runs), and torchrun then reports a finished run as failed."""
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
