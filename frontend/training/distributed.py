"""torch.distributed helpers for ``torchrun`` launches (gloo on CPU, nccl on CUDA)."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group that ``torchrun`` describes in the environment (no-op otherwise).

    Returns the rank info and the device of this process (``cuda:LOCAL_RANK`` on CUDA).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank), device


def shutdown_distributed(info: DistInfo) -> None:
    """Leave the process group: all ranks meet first, so no rank tears gloo down under another."""
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_reduce_mean(values: dict[str, float], info: DistInfo, device: torch.device) -> dict[str, float]:
    """Average scalar metrics over processes (same keys on every rank)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) / info.world_size for k, v in zip(keys, t.tolist())}


def check_replicas_in_sync(module: torch.nn.Module, info: DistInfo, device: torch.device) -> None:
    """Raise RuntimeError when the parameters differ between processes (a DDP sanity check)."""
    if not info.enabled:
        return
    with torch.no_grad():
        s = torch.stack([p.detach().double().sum() for p in module.parameters()]).sum().reshape(1).to(device)
        gathered = [torch.zeros_like(s) for _ in range(info.world_size)]
        dist.all_gather(gathered, s)
    vals = [float(g) for g in gathered]
    if max(vals) - min(vals) > 1e-6 * max(1.0, abs(vals[0])):
        raise RuntimeError(f"DDP replicas out of sync: parameter sums {vals}")
