"""Build a training task (networks, training module, dataset) from a ``TrainConfig``."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from frontend.common.typed_config import load_dataclass
from frontend.losses.keypoint import KeypointLossOptions
from frontend.models.io_net import IONet, IONetConfig
from frontend.training.config import TrainConfig, resolve_path
from frontend.training.data import (DataSource, HomographyPairDataset, PairOptions, SnippetDataset, SnippetOptions,
                                    SequenceOpener, image_readers, open_source_sequences)
from frontend.training.modules import (DepthModule, DepthTaskOptions, HomographyModule, MultiViewModule,
                                       MultiViewOptions)

logger = logging.getLogger(__name__)

# attribute of each network inside the training modules (also the prefix in checkpoint.pt)
MODULE_ATTR = {"keypoint": "keypoint_net", "depth": "depth_net", "pose": "pose_net", "io": "io_net"}


@dataclass
class Task:
    module: nn.Module                 # forward(batch) -> dict of scalar losses
    dataset: Any                      # a frontend.training.data dataset with set_epoch()
    exported: dict[str, nn.Module]    # networks written as RUN_DIR/<name>_net.pt (frontend.models format)


def build_network(kind: str, spec: Any) -> nn.Module:
    """A network from a model-config spec: YAML path / name (``keypoint_light``) or an inline mapping."""
    from frontend.models import build_model, load_config_file

    if kind == "io":
        return IONet(load_dataclass(IONetConfig, spec, "models.io"))
    if isinstance(spec, str):
        p = resolve_path(spec) if ("/" in spec or spec.endswith(".yaml")) else spec
        return build_model(kind, load_config_file(p))
    return build_model(kind, dict(spec or {}))


def load_initial_weights(net: nn.Module, kind: str, path: str) -> None:
    """Initialise ``net`` from a frontend.models checkpoint or from a training ``checkpoint.pt``."""
    p = resolve_path(path)
    if not p.is_file():
        raise FileNotFoundError(f"init.{kind}: checkpoint {p} not found")
    ckpt = torch.load(p, map_location="cpu", weights_only=False)
    if isinstance(ckpt, dict) and "kind" in ckpt and "model" in ckpt:
        if ckpt["kind"] != kind:
            raise ValueError(f"init.{kind}: {p} holds a {ckpt['kind']} network")
        state = ckpt["model"]
    elif isinstance(ckpt, dict) and "module" in ckpt:
        prefix = MODULE_ATTR[kind] + "."
        state = {k[len(prefix):]: v for k, v in ckpt["module"].items() if k.startswith(prefix)}
        if not state:
            raise ValueError(f"init.{kind}: training checkpoint {p} has no {MODULE_ATTR[kind]} weights")
    else:
        raise ValueError(f"init.{kind}: {p} is neither a network checkpoint nor a training checkpoint")
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"init.{kind}: {p} does not fit the configured network ({exc})") from exc
    logger.info("initialised %s network from %s", kind, p)


def _sources(data: dict[str, Any], kinds: tuple[str, ...]) -> list[DataSource]:
    raw = data.get("sources")
    if not raw:
        raise ValueError("data.sources: at least one data source is required")
    sources = [load_dataclass(DataSource, s, f"data.sources[{i}]") for i, s in enumerate(raw)]
    for s in sources:
        if s.kind not in kinds:
            raise ValueError(f"data.sources: kind {s.kind!r} cannot be used here (allowed: {kinds})")
        if s.path:
            s.path = str(resolve_path(s.path))
    return sources


def _networks(config: TrainConfig, needed: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, nn.Module]:
    nets = {}
    for kind in needed + optional:
        if kind in config.models and config.models[kind] is not False:
            nets[kind] = build_network(kind, config.models[kind])
        elif kind in needed:
            raise ValueError(f"models.{kind}: a {kind} network config is required for task {config.task!r}")
    for kind, path in config.init.items():
        if kind not in MODULE_ATTR:
            raise ValueError(f"init: unknown network {kind!r} (allowed: {sorted(MODULE_ATTR)})")
        if kind not in nets:
            nets[kind] = build_network(kind, config.models.get(kind, {}))
        load_initial_weights(nets[kind], kind, path)
    return nets


def build_task(config: TrainConfig, device: torch.device, open_sequence: SequenceOpener | None = None) -> Task:
    """Networks (initialised), training module and dataset of ``config.task``.

    ``open_sequence`` reads the ``sequences`` data sources (``apps.io.sequence.open_sequence``).
    """
    data = dict(config.data)
    seed = config.run.seed
    if config.task == "keypoints":
        nets = _networks(config, ("keypoint",), ("io",))
        opts = load_dataclass(PairOptions, {k: v for k, v in data.items() if k != "sources"}, "data")
        dataset = HomographyPairDataset(image_readers(_sources(data, ("sequences", "skimage", "folder")), open_sequence), opts, seed)
        module = HomographyModule(nets["keypoint"], nets.get("io"), load_dataclass(KeypointLossOptions, config.loss, "loss"))
        return Task(module, dataset, {"keypoint": nets["keypoint"]})
    sequences = [seq for s in _sources(data, ("sequences",)) for seq in open_source_sequences(s, open_sequence)
                 for _ in range(s.repeat)]  # a source listed `repeat` times weighs that much more in the snippets
    snippet_keys = {k: v for k, v in data.items() if k != "sources"}
    if config.task == "depth":
        options = load_dataclass(DepthTaskOptions, config.loss, "loss")
        nets = _networks(config, ("depth",), ("pose", "keypoint"))
        dataset = SnippetDataset(sequences, load_dataclass(SnippetOptions, snippet_keys, "data"),
                                 seed)
        module = DepthModule(nets["depth"], nets.get("pose"), options, nets.get("keypoint"))
        exported = {k: nets[k] for k in ("depth", "pose") if k in nets}
        return Task(module, dataset, exported)
    options = load_dataclass(MultiViewOptions, config.loss, "loss")
    nets = _networks(config, ("keypoint", "depth"), ("io", "pose"))
    snippet_keys.setdefault("homography", {})
    dataset = SnippetDataset(sequences, load_dataclass(SnippetOptions, snippet_keys, "data"), seed)
    module = MultiViewModule(nets["keypoint"], nets["depth"], nets.get("io"), nets.get("pose"), options)
    exported = {k: nets[k] for k in ("keypoint", "depth", "pose") if k in nets}
    return Task(module, dataset, exported)
