"""The training loop shared by the three tasks: optimiser, schedule, checkpoints, resume, metrics, DDP.

Run directory layout::

    RUN_DIR/config.yaml            the resolved training config
    RUN_DIR/checkpoint.pt          training state (all networks, optimiser, step, RNG), atomic
    RUN_DIR/<name>_net.pt          each network in the frontend.models checkpoint format (export input)
    RUN_DIR/snapshots/step_N/      optional copies of the network files
    RUN_DIR/metrics.csv            step, lr, wall time, every loss part (rank 0)
    RUN_DIR/metrics.png            the curves of metrics.csv, redrawn at every checkpoint (plot_metrics)
    RUN_DIR/summary.json           last metrics, steps, wall time, world size

Metrics go to CSV only: ``torch.utils.tensorboard`` needs the ``tensorboard`` package, which the
project does not install (``metrics.csv`` loads directly into pandas/matplotlib).

The learning-rate schedule is a pure function of the step (warm-up + cosine), so "scheduler
state" is the step itself. Data order and augmentation are seeded per (epoch, index), so a resumed
run continues with exactly the batches an uninterrupted run would have seen.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from frontend.common.atomic import atomic_write_bytes, atomic_write_text
from frontend.common.device import resolve_device
from frontend.training.config import OptimConfig, TrainConfig
from frontend.training.data import SequenceOpener, SnippetOptions
from frontend.training.distributed import (DistInfo, all_reduce_mean, barrier, check_replicas_in_sync,
                                           init_distributed, shutdown_distributed)
from frontend.training.validation import VALIDATION_FILE

logger = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"


def learning_rate(step: int, o: OptimConfig) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up from lr/100, then cosine or constant."""
    if step < o.warmup_steps:
        return o.lr * (0.01 + 0.99 * step / max(o.warmup_steps, 1))
    if o.schedule == "constant":
        return o.lr
    progress = min(1.0, (step - o.warmup_steps) / max(o.total_steps - o.warmup_steps, 1))
    return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def _batches(sampler: DistributedSampler, batch_size: int, epoch: int, skip: int) -> list[list[int]]:
    sampler.set_epoch(epoch)
    idx = list(sampler)
    batches = [idx[i:i + batch_size] for i in range(0, len(idx) - batch_size + 1, batch_size)]
    return batches[skip:]


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class Trainer:
    """Build the task, optionally resume, and optimise.

    Args:
        config: the training config.
        run_dir: where checkpoints and metrics go (created).
        device: "cpu", "cuda", "cuda:N" or None/"auto".
        resume: continue from ``run_dir/checkpoint.pt`` (error if absent).
        progress: show a tqdm bar on rank 0.
        open_sequence: reader of the ``sequences`` data sources (``frontend.training.data.SequenceOpener``,
            e.g. ``apps.io.sequence.open_sequence``); needed only when the config has such sources.
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path, *, device: str | None = None,
                 resume: bool = False, progress: bool = True, open_sequence: SequenceOpener | None = None):
        from frontend.training.tasks import build_task

        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress
        if config.run.num_threads:
            torch.set_num_threads(config.run.num_threads)
        self.dist, self.device = init_distributed(resolve_device(device))
        torch.manual_seed(config.run.seed)  # identical initialisation on every rank
        self.task = build_task(config, self.device, open_sequence)
        self.module = self.task.module.to(self.device)
        params = [p for p in self.module.parameters() if p.requires_grad]
        o = config.optim
        self.optimizer = torch.optim.AdamW(params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay)
        self.step = 0
        self.wall_time = 0.0
        if resume:
            self._load(self.run_dir / CHECKPOINT)
        elif (self.run_dir / CHECKPOINT).exists():
            raise ValueError(f"run directory {self.run_dir} already has a {CHECKPOINT}; pass --resume to continue "
                             "it or choose another --out")
        # find_unused_parameters: e.g. a configured PoseNet is idle when poses come from keypoints.
        self.ddp = (DistributedDataParallel(self.module, device_ids=[self.device.index] if self.device.type == "cuda"
                                            else None, find_unused_parameters=True)
                    if self.dist.enabled else self.module)
        self.sampler = DistributedSampler(self.task.dataset, num_replicas=self.dist.world_size, rank=self.dist.rank,
                                          shuffle=True, seed=config.run.seed, drop_last=True)
        self.steps_per_epoch = len(self.sampler) // config.run.batch_size
        if self.steps_per_epoch < 1:
            raise ValueError(f"dataset of {len(self.task.dataset)} samples is smaller than one batch "
                             f"({config.run.batch_size} x {self.dist.world_size} processes)")
        self.validator = None  # held-out metrics -> validation.csv (rank 0)
        if config.validation.enabled and self.dist.is_main:
            from frontend.training.config import resolve_path
            from frontend.training.validation import Validator

            height, width = (config.data.get("image_size") or SnippetOptions.image_size)[:2]  # the DepthNet's input
            self.validator = Validator(config.validation, config.task, (width, height), open_sequence, resolve_path)

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {"step": self.step, "wall_time": self.wall_time, "config": self.config.to_dict(),
                "module": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
                "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}}

    def save(self) -> None:
        """Write the training state and the per-network files atomically (rank 0)."""
        if self.dist.is_main:
            from frontend.models import save_checkpoint

            self.run_dir.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            torch.save(self._state(), buf)
            atomic_write_bytes(self.run_dir / CHECKPOINT, buf.getvalue())
            snap = self.config.run.snapshot_every
            for name, net in self.task.exported.items():
                save_checkpoint(self.run_dir / f"{name}_net.pt", net, step=self.step, train_task=self.config.task)
                if snap and self.step % snap == 0:
                    save_checkpoint(self.run_dir / "snapshots" / f"step_{self.step:07d}" / f"{name}_net.pt", net,
                                    step=self.step, train_task=self.config.task)
            self._plot()
        barrier(self.dist)

    def _plot(self) -> None:
        """RUN_DIR/metrics.png from metrics.csv (a plotting failure is logged, never stops training)."""
        if not (self.run_dir / "metrics.csv").is_file():
            return
        try:
            from frontend.training.plot_metrics import plot_run

            plot_run(self.run_dir)
        except Exception as exc:  # noqa: BLE001 - e.g. matplotlib missing: the curves are optional
            logger.warning("could not plot %s/metrics.csv: %s", self.run_dir, exc)

    def _load(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {path}")
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.wall_time = int(state["step"]), float(state.get("wall_time", 0.0))
        saved = state.get("config", {})
        changed = sorted(k for k, v in self.config.to_dict().items() if saved.get(k) != v)
        if changed:
            logger.warning("resuming %s with a config that differs in %s from the checkpoint's", path, changed)
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        if state["rng"].get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        logger.info("resumed %s at step %d", path, self.step)

    # ------------------------------------------------------------------ metrics
    def _log_row(self, row: dict[str, float], file: str = "metrics.csv") -> None:
        path = self.run_dir / file
        new = not path.exists()
        if not new:
            with open(path, encoding="utf-8") as f:
                header = f.readline().strip().split(",")
        else:
            header = list(row)
        with open(path, "a", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})

    def _truncate_metrics(self) -> None:
        """On resume, drop rows logged after the checkpoint step (they will be recomputed)."""
        for path in (self.run_dir / "metrics.csv", self.run_dir / VALIDATION_FILE):
            if not path.exists():
                continue
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            keep = lines[:1] + [ln for ln in lines[1:]
                                if ln.split(",", 1)[0].isdigit() and int(ln.split(",", 1)[0]) <= self.step]
            atomic_write_text(path, "".join(keep))

    # ------------------------------------------------------------------ loop
    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimisation step on ``batch``; returns the detached scalar metrics (this process)."""
        self.module.train()
        lr = learning_rate(self.step, self.config.optim)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        out = self.ddp(_to_device(batch, self.device))
        loss = out["loss"]
        if not torch.isfinite(loss):
            raise RuntimeError(f"non-finite loss at step {self.step}: { {k: float(v) for k, v in out.items()} }")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.config.optim.grad_clip if self.config.optim.grad_clip > 0 else float("inf")
        gnorm = float(torch.nn.utils.clip_grad_norm_(self.module.parameters(), clip))
        skipped = not math.isfinite(gnorm)
        if skipped:  # e.g. a degenerate SVD in Procrustes: drop this update (same decision on every rank)
            logger.warning("step %d: non-finite gradient norm, update skipped", self.step)
        else:
            self.optimizer.step()
        self.step += 1
        metrics = {k: float(v.detach()) for k, v in out.items()}
        metrics.update(lr=lr, grad_norm=gnorm if not skipped else -1.0, skipped=float(skipped))
        return metrics

    def train(self, max_steps: int | None = None) -> dict[str, float]:
        """Optimise until ``max_steps`` total steps (default: the config's); returns the last metrics."""
        rc = self.config.run
        target = int(max_steps or rc.max_steps)
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            import yaml

            atomic_write_text(self.run_dir / "config.yaml", yaml.safe_dump(self.config.to_dict(), sort_keys=False))
            self._truncate_metrics()
        bar = None
        if self.progress and self.dist.is_main:
            from tqdm import tqdm

            bar = tqdm(total=target, initial=self.step, desc=f"train {self.config.task}", mininterval=5.0,
                       dynamic_ncols=True)
        last: dict[str, float] = {}
        try:
            while self.step < target:
                epoch, skip = divmod(self.step, self.steps_per_epoch)
                self.task.dataset.set_epoch(epoch)
                loader = DataLoader(self.task.dataset, batch_sampler=_batches(self.sampler, rc.batch_size, epoch, skip),
                                    num_workers=rc.workers, pin_memory=self.device.type == "cuda",
                                    persistent_workers=False)
                for batch in loader:
                    t0 = time.perf_counter()
                    last = self.train_step(batch)
                    self.wall_time += time.perf_counter() - t0
                    if self.step % rc.log_every == 0 or self.step == target:
                        last = all_reduce_mean(last, self.dist, self.device)
                        if self.dist.is_main:
                            self._log_row({"step": self.step, "wall_s": round(self.wall_time, 2), **last})
                    if self.validator is not None and (self.step % self.config.validation.every == 0
                                                       or self.step == target):
                        self._log_row(self.validator(self.task.exported, self.step), VALIDATION_FILE)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{last['loss']:.4f}", refresh=False)
                    if self.step % rc.checkpoint_every == 0 or self.step == target:
                        self.save()
                    if self.step >= target:
                        break
        finally:
            if bar is not None:
                bar.close()
        check_replicas_in_sync(self.module, self.dist, self.device)
        if self.dist.is_main:
            summary = {"task": self.config.task, "step": self.step, "wall_time_s": round(self.wall_time, 1),
                       "world_size": self.dist.world_size, "device": str(self.device), "last": last}
            atomic_write_text(self.run_dir / "summary.json", json.dumps(summary, indent=2))
        return last

    def close(self) -> None:
        self.ddp = self.module  # release DDP's reducer (and its communication hooks) before the group goes
        shutdown_distributed(self.dist)
