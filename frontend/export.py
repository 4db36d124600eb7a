"""Export KeypointNet + DepthNet to TorchScript for the Python-model-free runtime.

``export_frontend(keypoint_net, depth_net, out_dir, options)`` writes, atomically:

* ``out_dir/keypoint_net.pt``: ``forward(image (B, 1, H, W) float32 in [0, 1]) -> (score (B, 1, H/8, W/8),
  coord (B, 2, H/8, W/8) pixels of the network input, desc (B, D, H/s, W/s) unit-norm)`` -- the raw
  KeypointNet outputs, so the runtime may choose its own top-k budget;
* ``out_dir/depth_net.pt``: ``forward(image (B, 1, H, W)) -> depth (B, 1, H, W) float32 metres`` (the
  full-resolution disparity through ``disp_to_depth`` with the config's min/max depth);
* ``out_dir/frontend.json``: input size (``depth.input`` when the DepthNet runs at another size), configs, min/max depth, default top-k and border cells,
  format version, source checkpoints, export method/date, torch version, file sizes, SHA-256 and kind
  of each file (checked at load by ``frontend.inference``) and the measured exported-vs-eager error
  (see ``FRONTEND_JSON_VERSION``). Each ``.pt`` also declares its kind inside (``KIND_EXTRA_FILE``).

Every exported module is re-loaded from its bytes and compared with the eager network on a fixed test
image; a difference above the tolerance raises ``RuntimeError`` and nothing is written.
``torch.jit.optimize_for_inference`` is NOT applied here: a saved optimised module does not load
again, so the runtime applies it after ``torch.jit.load``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Tuple

import torch
from torch import nn

from frontend.common.atomic import atomic_write_bytes, atomic_write_text
from frontend.common.paths import portable_label
from frontend.models.depth_net import DepthNet, disp_to_depth
from frontend.models.factory import build_depth_net, build_keypoint_net, load_checkpoint, load_config_file
from frontend.models.keypoint_net import CELL, KeypointNet

log = logging.getLogger(__name__)

FRONTEND_JSON_VERSION = 1
KEYPOINT_FILE = "keypoint_net.pt"
DEPTH_FILE = "depth_net.pt"
META_FILE = "frontend.json"


@dataclass
class ExportOptions:
    """How to export (``kp3d-vo export`` flags)."""

    width: int = 640             # network input width in pixels (multiple of 32)
    height: int = 192            # network input height in pixels (multiple of 32)
    method: str = "trace"        # "trace" (torch.jit.trace) or "script" (torch.jit.script)
    top_k: Optional[int] = None  # default keypoint budget written to frontend.json (None: config's top_k)
    depth_width: Optional[int] = None   # DepthNet input width (multiple of 32); None: ``width``
    depth_height: Optional[int] = None  # DepthNet input height (multiple of 32); None: ``height``
    depth_scale: float = 1.0     # multiplies the DepthNet's depth (monocular training has no metric scale;
                                 # see ``calibrate_depth_scale``); min/max depth are scaled with it
    depth_prior_sigma: Optional[float] = None  # sigma(depth)/depth the backend should assume for this
                                               # network's depth prior (None: the backend's default)
    atol: float = 1e-4           # allowed |exported - eager| ...
    rtol: float = 1e-4           # ... + rtol * |eager| (depth is in metres, coords in pixels)

    def __post_init__(self) -> None:
        for name in ("width", "height", "depth_width", "depth_height"):
            v = getattr(self, name)
            if v is None and name.startswith("depth_"):
                continue
            if not isinstance(v, int) or v <= 0 or v % 32:
                raise ValueError(f"ExportOptions.{name} must be a positive multiple of 32, got {v!r}")
        if self.method not in ("trace", "script"):
            raise ValueError(f"ExportOptions.method must be 'trace' or 'script', got {self.method!r}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"ExportOptions.top_k must be >= 1, got {self.top_k}")
        if not (isinstance(self.depth_scale, (int, float)) and self.depth_scale > 0
                and self.depth_scale < float("inf")):
            raise ValueError(f"ExportOptions.depth_scale must be a positive finite number, got {self.depth_scale!r}")
        if self.depth_prior_sigma is not None and not 0 < self.depth_prior_sigma < 10:
            raise ValueError(f"ExportOptions.depth_prior_sigma must be in (0, 10), got {self.depth_prior_sigma!r}")
        if self.atol < 0 or self.rtol < 0:
            raise ValueError("ExportOptions.atol and rtol must be >= 0")

    @property
    def depth_size(self) -> tuple[int, int]:
        """DepthNet input ``(width, height)``: a depth network trained at a low resolution is exported
        (and run) at that resolution, its depth upsampled by the runtime, instead of at the keypoint size."""
        return self.depth_width or self.width, self.depth_height or self.height


class KeypointExport(nn.Module):
    """TorchScript wrapper: the raw ``(score, coord, desc)`` of a KeypointNet."""

    def __init__(self, net: KeypointNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.net(image)


class DepthExport(nn.Module):
    """TorchScript wrapper: full-resolution depth in metres ``(B, 1, H, W)`` of a DepthNet."""

    def __init__(self, net: DepthNet, scale: float = 1.0):
        super().__init__()
        self.net = net
        self.min_depth = float(net.config.min_depth)
        self.max_depth = float(net.config.max_depth)
        self.scale = float(scale)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        disp = self.net(image)[0]
        return disp_to_depth(disp, self.min_depth, self.max_depth)[1] * self.scale


def reference_image(height: int, width: int, batch: int = 1, seed: int = 1234) -> torch.Tensor:
    """Deterministic ``(batch, 1, height, width)`` float32 image in [0, 1]: smooth pattern + seeded noise."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.linspace(0, 1, height).view(-1, 1)
    xs = torch.linspace(0, 1, width).view(1, -1)
    pattern = 0.5 + 0.25 * torch.sin(12 * xs + 5 * ys) * torch.cos(7 * ys - 3 * xs)
    noise = torch.rand(batch, 1, height, width, generator=g) * 0.25
    return (pattern + noise).clamp(0, 1).to(torch.float32)


def _compile(module: nn.Module, method: str, example: torch.Tensor) -> torch.jit.ScriptModule:
    if method == "script":
        return torch.jit.script(module)
    return torch.jit.trace(module, (example,), check_trace=False)


KIND_EXTRA_FILE = "kp3d_vo_kind.json"  # inside each .pt: {"kind": "keypoint" | "depth"}


def _serialise(module: torch.jit.ScriptModule, kind: str | None = None) -> bytes:
    buf = io.BytesIO()
    extra = {KIND_EXTRA_FILE: json.dumps({"kind": kind})} if kind else {}
    torch.jit.save(module, buf, _extra_files=extra)
    return strip_debug_records(buf.getvalue())


def strip_debug_records(data: bytes) -> bytes:
    """A TorchScript archive without its ``*.debug_pkl`` records: they hold the Python call stack of the
    trace (absolute source paths of the exporting machine) and are not needed to load or run the module.
    Every other record (code, constants, weights, extra files) is copied byte for byte."""
    reader = torch._C.PyTorchFileReader(io.BytesIO(data))
    out = io.BytesIO()
    writer = torch._C.PyTorchFileWriter(out)
    writer.set_min_version(int(reader.get_record("version").decode().strip()))
    for name in reader.get_all_records():
        if name.endswith(".debug_pkl") or name in ("version", ".data/version", ".data/serialization_id"):
            continue  # the writer writes the version and a fresh serialization id itself
        record = reader.get_record(name)
        writer.write_record(name, record, len(record))
    writer.write_end_of_file()
    return out.getvalue()


def _max_excess(exported: Any, eager: Any, atol: float, rtol: float) -> tuple[float, float]:
    """(max |a-b|, max (|a-b| - atol - rtol |b|)) over all tensors of two outputs."""
    outs_a = exported if isinstance(exported, (tuple, list)) else (exported,)
    outs_b = eager if isinstance(eager, (tuple, list)) else (eager,)
    if len(outs_a) != len(outs_b):
        raise RuntimeError(f"exported module returns {len(outs_a)} outputs, eager {len(outs_b)}")
    max_abs, excess = 0.0, -float("inf")
    for a, b in zip(outs_a, outs_b):
        if a.shape != b.shape:
            raise RuntimeError(f"exported output shape {list(a.shape)} != eager {list(b.shape)}")
        diff = (a - b).abs()
        max_abs = max(max_abs, float(diff.max()))
        excess = max(excess, float((diff - atol - rtol * b.abs()).max()))
    return max_abs, excess


def _export_one(wrapper: nn.Module, name: str, options: ExportOptions,
                size: tuple[int, int], kind: str | None = None) -> tuple[bytes, float]:
    wrapper = wrapper.eval()
    width, height = size
    example = reference_image(height, width)
    with torch.no_grad():
        compiled = _compile(wrapper, options.method, example)
        data = _serialise(compiled, kind)
        reloaded = torch.jit.load(io.BytesIO(data), map_location="cpu").eval()
        check = reference_image(height, width, seed=4321)  # other content than the trace
        eager_out = wrapper(check)
        max_abs, excess = _max_excess(reloaded(check), eager_out, options.atol, options.rtol)
    if excess > 0:
        raise RuntimeError(f"export of {name} ({options.method}): exported output differs from eager by "
                           f"{max_abs:.3g} (> atol {options.atol} + rtol {options.rtol} * |eager|)")
    log.info("exported %s (%s): %.2f MB, max |exported - eager| = %.3g", name, options.method,
             len(data) / 1e6, max_abs)
    return data, max_abs


def export_frontend(keypoint_net: KeypointNet, depth_net: DepthNet, out_dir: str | os.PathLike,
                    options: ExportOptions | None = None, sources: dict[str, Any] | None = None) -> Path:
    """Export both networks and ``frontend.json`` into ``out_dir`` (created); returns the json path.

    ``sources`` (optional) is recorded in the json, e.g. ``{"keypoint": {"checkpoint": ..., "step": ...}}``.
    Raises ``RuntimeError`` when an exported module disagrees with its eager network.
    """
    options = options or ExportOptions()
    if not isinstance(keypoint_net, KeypointNet) or not isinstance(depth_net, DepthNet):
        raise ValueError("export_frontend: need a KeypointNet and a DepthNet "
                         f"(got {type(keypoint_net).__name__}, {type(depth_net).__name__})")
    out = Path(out_dir)
    kp_bytes, kp_err = _export_one(KeypointExport(keypoint_net), "keypoint_net", options,
                                   (options.width, options.height), kind="keypoint")
    depth_bytes, depth_err = _export_one(DepthExport(depth_net, options.depth_scale), "depth_net", options,
                                         options.depth_size, kind="depth")
    kcfg, dcfg = keypoint_net.config, depth_net.config
    sources = sources or {}
    meta = {
        "format_version": FRONTEND_JSON_VERSION,
        "input": {"width": options.width, "height": options.height, "channels": 1, "range": [0.0, 1.0],
                  "layout": "(B, 1, H, W) float32 grey"},
        "keypoint": {
            "file": KEYPOINT_FILE, "bytes": len(kp_bytes), "sha256": hashlib.sha256(kp_bytes).hexdigest(),
            "kind": "keypoint", "config": kcfg.to_dict(),
            "top_k": int(options.top_k or kcfg.top_k), "border_cells": int(kcfg.border_cells), "cell": CELL,
            "desc_dim": int(kcfg.desc_dim), "desc_stride": int(kcfg.desc_stride),
            "outputs": "score (B,1,H/8,W/8), coord (B,2,H/8,W/8) input pixels, desc (B,D,H/s,W/s)",
            "max_abs_error": kp_err, "source": sources.get("keypoint"),
        },
        "depth": {
            "file": DEPTH_FILE, "bytes": len(depth_bytes), "sha256": hashlib.sha256(depth_bytes).hexdigest(),
            "kind": "depth", "config": dcfg.to_dict(),
            "input": {"width": options.depth_size[0], "height": options.depth_size[1]},
            "min_depth": float(dcfg.min_depth) * options.depth_scale,
            "max_depth": float(dcfg.max_depth) * options.depth_scale,
            "scale": {"factor": float(options.depth_scale), **(sources.get("depth_scale") or {})},
            "prior_relative_sigma": options.depth_prior_sigma,
            "outputs": "depth (B,1,H,W) float32 metres", "max_abs_error": depth_err, "source": sources.get("depth"),
        },
        "export": {"method": options.method, "options": asdict(options), "torch_version": torch.__version__,
                   "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")},
    }
    atomic_write_bytes(out / KEYPOINT_FILE, kp_bytes)
    atomic_write_bytes(out / DEPTH_FILE, depth_bytes)
    meta_path = out / META_FILE
    atomic_write_text(meta_path, json.dumps(meta, indent=2) + "\n")  # last: a dir with a json is complete
    return meta_path


def _checkpoint_source(path: str | os.PathLike) -> dict[str, Any]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    return {"checkpoint": portable_label(path), "step": ckpt.get("step")}


def export_checkpoints(keypoint_ckpt: str | os.PathLike, depth_ckpt: str | os.PathLike,
                       out_dir: str | os.PathLike, options: ExportOptions | None = None,
                       depth_scale_source: dict[str, Any] | None = None) -> Path:
    """Load the two training checkpoints (``frontend.models.load_checkpoint``) and ``export_frontend``.

    ``depth_scale_source`` (optional) says where ``options.depth_scale`` came from (recorded in the json).
    """
    keypoint_net, _ = load_checkpoint(keypoint_ckpt, expected_kind="keypoint")
    depth_net, _ = load_checkpoint(depth_ckpt, expected_kind="depth")
    sources = {"keypoint": _checkpoint_source(keypoint_ckpt), "depth": _checkpoint_source(depth_ckpt),
               "depth_scale": depth_scale_source}
    return export_frontend(keypoint_net, depth_net, out_dir, options, sources)


def make_random_model_dir(out_dir: str | os.PathLike, keypoint_config: str = "keypoint_light",
                          depth_config: str = "depth_light", width: int = 640, height: int = 192,
                          seed: int = 0, method: str = "trace", top_k: Optional[int] = None,
                          depth_width: Optional[int] = None, depth_height: Optional[int] = None) -> Path:
    """Export randomly initialised networks (seeded) to ``out_dir``: for tests and demos before training.

    ``keypoint_config``/``depth_config`` are YAML paths or names in ``configs/models``. Returns ``out_dir``.
    """
    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's RNG state
        torch.manual_seed(seed)
        keypoint_net = build_keypoint_net(load_config_file(keypoint_config)).eval()
        depth_net = build_depth_net(load_config_file(depth_config)).eval()
    source = {"checkpoint": None, "random_init_seed": seed}
    options = ExportOptions(width=width, height=height, method=method, top_k=top_k, depth_width=depth_width,
                            depth_height=depth_height)
    export_frontend(keypoint_net, depth_net, out_dir, options,
                    {"keypoint": dict(source, config=str(keypoint_config)), "depth": dict(source, config=str(depth_config))})
    return Path(out_dir)
