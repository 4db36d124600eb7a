"""Training configuration: YAML (``configs/train/*.yaml``) -> validated dataclasses."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontend.common.typed_config import check_ranges, load_dataclass
from frontend.training.validation import ValidationOptions

TASKS = ("keypoints", "depth", "multiview")
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class OptimConfig:
    lr: float = 5e-4              # peak learning rate (AdamW)
    weight_decay: float = 1e-4    # decoupled weight decay
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 300       # linear warm-up from lr/100 to lr
    schedule: str = "cosine"      # "cosine" (to min_lr_ratio * lr at total_steps) | "constant"
    total_steps: int = 20000      # length of the schedule (independent of --max-steps)
    min_lr_ratio: float = 0.05    # final lr / peak lr of the cosine schedule
    grad_clip: float = 5.0        # max global gradient norm (0 = off)

    def __post_init__(self) -> None:
        check_ranges("optim", {
            "lr": (self.lr, self.lr > 0, "> 0"),
            "weight_decay": (self.weight_decay, self.weight_decay >= 0, ">= 0"),
            "warmup_steps": (self.warmup_steps, self.warmup_steps >= 0, ">= 0"),
            "total_steps": (self.total_steps, self.total_steps >= 1, ">= 1")})
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"optim.schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if not 0 <= self.min_lr_ratio <= 1 or self.grad_clip < 0:
            raise ValueError("optim: min_lr_ratio in [0, 1] and grad_clip >= 0 expected")


@dataclass
class TrainRunOptions:
    """The ``run:`` section of a training config (how the optimisation runs, not what it trains)."""

    max_steps: int = 20000        # optimisation steps of the run (CLI --max-steps overrides)
    batch_size: int = 8           # per process
    workers: int = 0              # DataLoader worker processes
    seed: int = 0                 # data order, augmentation and initialisation
    checkpoint_every: int = 200   # steps between checkpoints (plus one at the end)
    snapshot_every: int = 0       # keep a copy of the network files every N steps (0 = never)
    log_every: int = 10           # steps between metrics.csv rows
    num_threads: int = 0          # torch.set_num_threads (0 = leave torch's default)

    def __post_init__(self) -> None:
        check_ranges("run", {
            "max_steps": (self.max_steps, self.max_steps >= 1, ">= 1"),
            "batch_size (--batch-size)": (self.batch_size, self.batch_size >= 1, ">= 1"),
            "workers": (self.workers, self.workers >= 0, ">= 0"),
            "checkpoint_every": (self.checkpoint_every, self.checkpoint_every >= 1, ">= 1"),
            "snapshot_every": (self.snapshot_every, self.snapshot_every >= 0, ">= 0"),
            "log_every": (self.log_every, self.log_every >= 1, ">= 1"),
            "num_threads (--threads)": (self.num_threads, self.num_threads >= 0, ">= 0")})


@dataclass
class TrainConfig:
    task: str                                            # "keypoints" | "depth" | "multiview"
    data: dict[str, Any] = field(default_factory=dict)   # sources + task-specific data options
    models: dict[str, Any] = field(default_factory=dict)  # name -> model config (YAML path/name or dict)
    init: dict[str, str] = field(default_factory=dict)   # name -> checkpoint to initialise from
    loss: dict[str, Any] = field(default_factory=dict)   # task-specific loss options
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: TrainRunOptions = field(default_factory=TrainRunOptions)
    validation: ValidationOptions = field(default_factory=ValidationOptions)  # held-out metrics (off by default)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"train config: task must be one of {TASKS}, got {self.task!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def config_from_dict(data: dict[str, Any], where: str = "train config") -> TrainConfig:
    """Validate a config mapping (as read from YAML): keys, types (``frontend.common.typed_config``), ranges."""
    return load_dataclass(TrainConfig, data, where)


def load_train_config(path: str | os.PathLike) -> TrainConfig:
    """Read ``configs/train/*.yaml``; a bare name (``keypoints_light``) is looked up in the repo."""
    from frontend.common.yaml_file import read_yaml

    p = Path(path)
    if not p.exists() and p.suffix == "":
        p = REPO_ROOT / "configs" / "train" / f"{p.name}.yaml"
    data = read_yaml(p, "training config (a YAML file or a name in configs/train)")
    return config_from_dict(data, where=f"training config {p}")


def resolve_path(path: str) -> Path:
    """Relative paths in configs are relative to the repository root."""
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() else REPO_ROOT / p
