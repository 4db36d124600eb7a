"""Build networks from config dicts / YAML files and save/load checkpoints.

Checkpoint format (shared by training, export and evaluation)::

    torch.save({"model": state_dict, "config": cfg.to_dict(), "kind": "keypoint"|"depth"|"pose",
                "step": int, ...any extra keys...}, path)
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from frontend.common.atomic import atomic_write_bytes
from frontend.models.config_base import NetConfig
from frontend.models.depth_net import DepthNet, DepthNetConfig
from frontend.models.keypoint_net import KeypointNet, KeypointNetConfig
from frontend.models.pose_net import PoseNet, PoseNetConfig

CONFIG_CLASSES: dict[str, type[NetConfig]] = {
    "keypoint": KeypointNetConfig, "depth": DepthNetConfig, "pose": PoseNetConfig}
MODEL_CLASSES: dict[str, type[nn.Module]] = {"keypoint": KeypointNet, "depth": DepthNet, "pose": PoseNet}

REPO_CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "models"


def _as_config(kind: str, cfg: NetConfig | Mapping[str, Any] | None) -> NetConfig:
    cls = CONFIG_CLASSES[kind]
    if isinstance(cfg, cls):
        return cfg
    if isinstance(cfg, NetConfig):
        raise ValueError(f"expected a {cls.__name__} for a {kind} network, got {type(cfg).__name__}")
    return cls.from_dict(cfg)


def build_keypoint_net(cfg: KeypointNetConfig | Mapping[str, Any] | None = None) -> KeypointNet:
    """KeypointNet from a config dict (keys of ``KeypointNetConfig``, optional ``kind``) or dataclass."""
    return KeypointNet(_as_config("keypoint", cfg))


def build_depth_net(cfg: DepthNetConfig | Mapping[str, Any] | None = None) -> DepthNet:
    """DepthNet from a config dict (keys of ``DepthNetConfig``, optional ``kind``) or dataclass."""
    return DepthNet(_as_config("depth", cfg))


def build_pose_net(cfg: PoseNetConfig | Mapping[str, Any] | None = None) -> PoseNet:
    """PoseNet from a config dict (keys of ``PoseNetConfig``, optional ``kind``) or dataclass."""
    return PoseNet(_as_config("pose", cfg))


def build_model(kind: str, cfg: NetConfig | Mapping[str, Any] | None = None) -> nn.Module:
    """Network of ``kind`` ("keypoint", "depth" or "pose") from its config."""
    if kind not in MODEL_CLASSES:
        raise ValueError(f"model kind must be one of {sorted(MODEL_CLASSES)}, got {kind!r}")
    return MODEL_CLASSES[kind](_as_config(kind, cfg))


def load_config_file(path: str | os.PathLike) -> NetConfig:
    """Read a YAML model config (``configs/models/*.yaml``; must contain ``kind``) into its dataclass.

    A bare name such as ``"keypoint_light"`` is looked up in the repository's ``configs/models``.
    """
    from frontend.common.yaml_file import read_yaml

    p = Path(path)
    if not p.exists() and p.suffix == "" and (REPO_CONFIG_DIR / f"{p.name}.yaml").exists():
        p = REPO_CONFIG_DIR / f"{p.name}.yaml"
    if not p.is_file():
        raise FileNotFoundError(f"model config {p} not found (expected a YAML file or a name in {REPO_CONFIG_DIR})")
    data = read_yaml(p, "model config") or {}
    if not isinstance(data, dict) or data.get("kind") not in CONFIG_CLASSES:
        raise ValueError(f"model config {p}: expected a mapping with kind in {sorted(CONFIG_CLASSES)}")
    return CONFIG_CLASSES[data["kind"]].from_dict(data, where=f"model config {p}")


def model_kind(model: nn.Module) -> str:
    """"keypoint", "depth" or "pose" for a network built here."""
    for kind, cls in MODEL_CLASSES.items():
        if isinstance(model, cls):
            return kind
    raise ValueError(f"not a frontend network: {type(model).__name__}")


def save_checkpoint(path: str | os.PathLike, model: nn.Module, step: int = 0, **extra: Any) -> None:
    """Write ``{"model", "config", "kind", "step", **extra}`` atomically to ``path``."""
    kind = model_kind(model)
    payload = {"model": model.state_dict(), "config": model.config.to_dict(), "kind": kind, "step": int(step)}
    payload.update(extra)
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate the checkpoint dict (tensors on CPU)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {p} not found")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt files
        raise ValueError(f"checkpoint {p}: cannot be read by torch.load ({exc})") from exc
    if not isinstance(ckpt, dict) or not {"model", "config", "kind"} <= set(ckpt):
        raise ValueError(f"checkpoint {p}: expected a dict with keys 'model', 'config', 'kind'")
    if ckpt["kind"] not in MODEL_CLASSES:
        raise ValueError(f"checkpoint {p}: kind must be one of {sorted(MODEL_CLASSES)}, got {ckpt['kind']!r}")
    return ckpt


def load_checkpoint(path: str | os.PathLike, expected_kind: str | None = None) -> tuple[nn.Module, NetConfig]:
    """``(model in eval mode on CPU, config dataclass)`` from a checkpoint written as above.

    ``expected_kind`` (optional) raises ``ValueError`` when the checkpoint holds another network.
    """
    ckpt = read_checkpoint(path)
    kind = ckpt["kind"]
    if expected_kind is not None and kind != expected_kind:
        raise ValueError(f"checkpoint {path}: holds a {kind} network, expected {expected_kind}")
    try:
        cfg = _as_config(kind, ckpt["config"])
        model = MODEL_CLASSES[kind](cfg)
        model.load_state_dict(ckpt["model"])
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"checkpoint {path}: {exc}") from exc
    return model.eval(), cfg
