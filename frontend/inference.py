"""TorchScript-only frontend runtime: keypoints, descriptors and depth for one grey frame.

``FrontendRuntime(model_dir)`` loads ``keypoint_net.pt``, ``depth_net.pt`` and ``frontend.json``
written by ``frontend.export`` -- no Python network code is imported -- and optimises the modules
after loading (``torch.jit.freeze`` + channels-last by default, ``torch.jit.optimize_for_inference``
on request; optimised modules cannot be saved and re-loaded). Each call:

1. resizes the whole image to each network's input size (``frontend.json``: ``input``, and ``depth.input``
   when the DepthNet was exported at its own, usually lower, training size) (``cv2.INTER_AREA`` when shrinking,
   ``cv2.INTER_LINEAR`` when enlarging; crop beforehand with ``apps.io.preprocess`` if wanted);
2. runs both networks under ``torch.inference_mode()``;
3. keeps the ``top_k`` best cells (``frontend.keypoints.select_topk``, border cells dropped) and maps
   keypoints back to the input image with the pixel-centre convention of
   ``frontend.common.camera.Intrinsics.scaled``: ``x = (x_net + 0.5) * W / W_net - 0.5``;
4. resizes inverse depth bilinearly (``align_corners=False``, the same convention) to ``(H, W)``
   and returns depth in metres.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from frontend.common.device import resolve_device
from frontend.common.paths import require_dir
from frontend.keypoints import select_topk

log = logging.getLogger(__name__)

SUPPORTED_FORMAT_VERSIONS = (1,)
META_FILE = "frontend.json"
KIND_EXTRA_FILE = "kp3d_vo_kind.json"  # = frontend.export.KIND_EXTRA_FILE (the runtime does not import export)


@dataclass
class FrontendOutput:
    """Network outputs for one frame, in the pixels of the image given to the runtime.

    keypoints: (K, 2) float32 pixel (x, y), pixel-centre convention; best first.
    scores: (K,) float32 in [0, 1].
    descriptors: (K, D) float32, unit L2 norm.
    depth: (H, W) float32 metres; 0 = unknown (the network output at its min/max bound).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    descriptors: np.ndarray
    depth: np.ndarray


def read_frontend_meta(model_dir: str | os.PathLike) -> dict[str, Any]:
    """Validated ``frontend.json`` of a model folder; FileNotFoundError names any missing file."""
    root = require_dir(model_dir, "model dir (expected the output of `kp3d-vo export`)")
    meta_path = root / META_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(f"model dir {root}: missing {META_FILE} (expected the output of `kp3d-vo export`)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        version = meta["format_version"]
        width, height = int(meta["input"]["width"]), int(meta["input"]["height"])
        files = [meta["keypoint"]["file"], meta["depth"]["file"]]
        depth_input = meta["depth"].get("input", meta["input"])  # absent in files exported before it existed
        depth_w, depth_h = int(depth_input["width"]), int(depth_input["height"])
        int(meta["keypoint"]["top_k"]), int(meta["keypoint"]["border_cells"]), int(meta["keypoint"]["cell"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{meta_path}: not a valid frontend.json ({exc!r})") from exc
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise ValueError(f"{meta_path}: format_version {version} not supported (expected {SUPPORTED_FORMAT_VERSIONS})")
    for what, (w, h) in (("input", (width, height)), ("depth.input", (depth_w, depth_h))):
        if w <= 0 or h <= 0 or w % 32 or h % 32:
            raise ValueError(f"{meta_path}: {what} size {w}x{h} must be positive multiples of 32")
    missing = [f for f in files if not (root / f).is_file()]
    if missing:
        raise FileNotFoundError(f"model dir {root}: missing {', '.join(missing)} listed in {META_FILE}")
    for role in ("keypoint", "depth"):
        check_model_file(root, meta, role)
    return meta


def check_model_file(root: Path, meta: dict[str, Any], role: str) -> None:
    """Check ``meta[role]["file"]`` against the size, SHA-256 and kind that ``frontend.json`` records.

    ValueError naming the file when it was changed, truncated, corrupted or swapped with the other
    network. Folders exported before hashes were recorded are loaded with a warning.
    """
    entry = meta[role]
    path = root / entry["file"]
    declared_kind = entry.get("kind", role)
    if declared_kind != role:
        raise ValueError(f"{root / META_FILE}: the '{role}' entry declares kind {declared_kind!r}")
    expected = entry.get("sha256")
    if expected is None:
        size = path.stat().st_size
        if entry.get("bytes") is not None and int(entry["bytes"]) != size:
            raise ValueError(f"{path}: {size} bytes, but {META_FILE} records {entry['bytes']} (the file was "
                             "changed or truncated after export; export the model again)")
        log.warning("%s: %s records no SHA-256 for it; the file cannot be verified", path, META_FILE)
        return
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != expected:
        other_role = "depth" if role == "keypoint" else "keypoint"
        if meta[other_role].get("sha256") == h.hexdigest():
            reason = f"it is the {other_role} network's file (are the two files swapped?)"
        else:
            reason = "the file is corrupted or was replaced after export; export the model again"
        raise ValueError(f"{path}: SHA-256 {h.hexdigest()[:12]}... does not match the {str(expected)[:12]}... "
                         f"recorded in {META_FILE}: {reason}")


def check_outputs_kind(path: Path, kind: str, outputs: Any) -> None:
    """ValueError naming ``path`` unless the module's outputs are those of a ``kind`` network
    (keypoint: a tuple (score, coord, desc); depth: one (B, 1, H, W) tensor)."""
    if kind == "keypoint":
        ok = isinstance(outputs, (tuple, list)) and len(outputs) == 3 and all(
            isinstance(t, torch.Tensor) and t.dim() == 4 for t in outputs)
        got = (f"{len(outputs)} outputs" if isinstance(outputs, (tuple, list)) else
               f"one tensor of shape {list(getattr(outputs, 'shape', []))}")
    else:
        ok = isinstance(outputs, torch.Tensor) and outputs.dim() == 4 and outputs.shape[1] == 1
        got = (f"{len(outputs)} outputs" if isinstance(outputs, (tuple, list)) else
               f"a tensor of shape {list(getattr(outputs, 'shape', []))}")
    if not ok:
        want = "(score, coord, desc)" if kind == "keypoint" else "one (B, 1, H, W) depth tensor"
        raise ValueError(f"{path}: {META_FILE} lists it as the {kind} network, which returns {want}, but it "
                         f"returns {got} (are keypoint and depth files swapped?)")


OPTIMIZE_MODES = ("none", "freeze", "optimize_for_inference")
OUTPUTS = ("keypoints", "depth")  # what a FrontendRuntime computes: the KeypointNet's and the DepthNet's


def load_torchscript(path: Path, device: torch.device, optimize: str = "freeze",
                     channels_last: bool = True, kind: str | None = None) -> torch.jit.ScriptModule:
    """``torch.jit.load`` + the chosen post-load optimisation (none of them can be saved and re-loaded).

    ``optimize``: "none"; "freeze" (``torch.jit.freeze``: BatchNorm folded into convolutions,
    attributes inlined as constants); "optimize_for_inference" (freeze + MKLDNN layout conversions).
    ``channels_last`` converts the weights to channels-last memory format (applied before freezing).
    ``kind`` ("keypoint"/"depth"): ValueError when the file declares another kind (files exported
    with ``frontend.export`` carry it; older files are checked by their outputs in the runtime).
    """
    if optimize not in OPTIMIZE_MODES:
        raise ValueError(f"optimize must be one of {OPTIMIZE_MODES}, got {optimize!r}")
    extra = {KIND_EXTRA_FILE: ""}
    try:
        module = torch.jit.load(str(path), map_location=device, _extra_files=extra).eval()
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError/ValueError/... for bad files
        raise ValueError(f"{path}: cannot be loaded as TorchScript ({exc})") from exc
    if kind is not None and extra[KIND_EXTRA_FILE]:
        try:
            declared = json.loads(extra[KIND_EXTRA_FILE]).get("kind")
        except (ValueError, AttributeError):
            declared = None
        if declared != kind:
            raise ValueError(f"{path}: expected the {kind} network, but the file declares kind {declared!r} "
                             "(are keypoint and depth files swapped?)")
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    if optimize != "none":
        with torch.inference_mode(False), warnings.catch_warnings():
            # deprecated in favour of torch.compile, but still the TorchScript CPU fast path
            warnings.simplefilter("ignore", DeprecationWarning)
            if optimize == "freeze":
                module = torch.jit.freeze(module)
            else:
                module = torch.jit.optimize_for_inference(module)
    return module


class FrontendRuntime:
    """Keypoints + descriptors + depth of grey frames from an exported model folder.

    Args:
        model_dir: folder written by ``kp3d-vo export`` / ``frontend.export`` (``frontend.json`` + 2 ``.pt``).
        device: None (CUDA when available, else CPU), "cpu" or "cuda[:N]".
        num_threads: if given, ``torch.set_num_threads(num_threads)`` (a process-wide torch setting).
        top_k: keypoint budget; None uses ``frontend.json``'s ``keypoint.top_k``.
        optimize: post-load optimisation, "none", "freeze" (default) or "optimize_for_inference"
            (see ``load_torchscript``).
        channels_last: channels-last weights and input (default True).
        saturation_margin: depth within this fraction of the network's min/max depth (``frontend.json``)
            is reported as 0 = unknown (default 0.02; None keeps it): a saturated sigmoid is a bound,
            not a measurement (the shipped DepthNet clamps the nearest road rows at its minimum).
        outputs: which networks run per call, a non-empty subset of ``OUTPUTS`` (default both). An output
            not asked for comes back empty: keypoints (0, 2), scores (0,), descriptors (0, D) without
            "keypoints"; depth (0, 0) without "depth". Both networks are still loaded and checked, so a
            runtime's files are validated the same way whatever it computes.
        parallel: run the DepthNet in a worker thread beside the KeypointNet (torch releases the GIL), same
            outputs. With one torch thread each on 2 cores: KITTI dsdso 00 / 02 19.5 / 18 -> 22 / 19.5 fps
            (bench/RESULTS.md). Default False: one thread, as before.

    Defaults measured with ``bench/frontend.py`` (640x192, CPU): channels_last + freeze was the fastest
    setting for both variants; ``optimize_for_inference`` was 20-30 % slower than that here because
    its MKLDNN layout conversions around the decoders' non-MKLDNN ops (ELU, padding, upsampling,
    concatenation) cost more than they save.

    ``__call__(image (H, W) uint8 [0, 255] or float32 [0, 1]) -> FrontendOutput``.
    """

    def __init__(self, model_dir: str | os.PathLike, device: Optional[str | torch.device] = None,
                 num_threads: Optional[int] = None, top_k: Optional[int] = None, optimize: str = "freeze",
                 channels_last: bool = True, saturation_margin: Optional[float] = 0.02,
                 outputs: tuple[str, ...] = OUTPUTS, parallel: bool = False):
        self.model_dir = Path(model_dir)
        bad = [o for o in outputs if o not in OUTPUTS] if not isinstance(outputs, str) else [outputs]
        if bad or not outputs:
            raise ValueError(f"outputs must be a non-empty subset of {OUTPUTS}, got {outputs!r}")
        self.outputs = tuple(o for o in OUTPUTS if o in outputs)
        self.meta = read_frontend_meta(self.model_dir)
        self.device = resolve_device(device)
        if optimize not in OPTIMIZE_MODES:
            raise ValueError(f"optimize must be one of {OPTIMIZE_MODES}, got {optimize!r}")
        if num_threads is not None:
            if int(num_threads) < 1:
                raise ValueError(f"num_threads must be >= 1, got {num_threads}")
            torch.set_num_threads(int(num_threads))
        kp_meta = self.meta["keypoint"]
        self.top_k = int(kp_meta["top_k"] if top_k is None else top_k)
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        self.border_cells = int(kp_meta["border_cells"])
        self.cell = int(kp_meta["cell"])
        self.net_width = int(self.meta["input"]["width"])
        self.net_height = int(self.meta["input"]["height"])
        depth_input = self.meta["depth"].get("input", self.meta["input"])
        self.depth_width, self.depth_height = int(depth_input["width"]), int(depth_input["height"])
        self.channels_last = bool(channels_last)
        if saturation_margin is not None and not 0 <= saturation_margin < 1:
            raise ValueError(f"saturation_margin must be None or in [0, 1), got {saturation_margin}")
        self.saturation_margin = saturation_margin
        self.min_depth = float(self.meta["depth"]["min_depth"])
        self.max_depth = float(self.meta["depth"]["max_depth"])
        kp_path, depth_path = self.model_dir / kp_meta["file"], self.model_dir / self.meta["depth"]["file"]
        self.keypoint_net = load_torchscript(kp_path, self.device, optimize, self.channels_last, kind="keypoint")
        self.depth_net = load_torchscript(depth_path, self.device, optimize, self.channels_last, kind="depth")
        example = self._to_input(np.zeros((self.net_height, self.net_width), np.float32))
        example_depth = self._to_input(np.zeros((self.depth_height, self.depth_width), np.float32))
        with torch.inference_mode():
            for _ in range(2):  # warm-up: the first runs of a TorchScript module are profiling runs
                try:
                    kp_out, depth_out = self.keypoint_net(example), self.depth_net(example_depth)
                except RuntimeError as exc:  # e.g. swapped files of another input size
                    raise ValueError(f"{self.model_dir}: running the networks of {META_FILE} on a test image "
                                     f"failed ({str(exc).splitlines()[0]}); are the model files swapped or "
                                     "from another export?") from exc
                check_outputs_kind(kp_path, "keypoint", kp_out)
                check_outputs_kind(depth_path, "depth", depth_out)
        self._pool = None  # the DepthNet's thread (parallel)
        if parallel:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="depth-net")
            weakref.finalize(self, self._pool.shutdown, wait=False)
        log.info("frontend runtime: %s on %s, keypoint input %dx%d, depth input %dx%d, top_k %d, %s%s",
                 self.model_dir, self.device, self.net_width, self.net_height, self.depth_width, self.depth_height,
                 self.top_k, optimize, ", channels_last" if channels_last else "")

    @property
    def input_size(self) -> tuple[int, int]:
        """KeypointNet input ``(width, height)`` in pixels."""
        return self.net_width, self.net_height

    @property
    def depth_input_size(self) -> tuple[int, int]:
        """DepthNet input ``(width, height)`` in pixels (its depth is resized to the image given)."""
        return self.depth_width, self.depth_height

    @staticmethod
    def _resize(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        height, width = grey.shape
        if (width, height) == size:
            return grey
        shrink = width * height > size[0] * size[1]
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

    def _to_input(self, image_net: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(image_net)).to(self.device).view(1, 1, *image_net.shape)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @staticmethod
    def check_image(image: Any) -> np.ndarray:
        """Validate an ``(H, W)`` uint8 [0, 255] or float32 [0, 1] image; returns float32 in [0, 1]."""
        if not isinstance(image, np.ndarray):
            raise ValueError(f"image must be a numpy array (H, W) uint8 or float32, got {type(image).__name__}")
        if image.ndim != 2 or image.shape[0] < 8 or image.shape[1] < 8:
            raise ValueError(f"image must be a grey (H, W) array with H, W >= 8, got shape {image.shape}")
        if image.dtype == np.uint8:
            return image.astype(np.float32) / np.float32(255.0)
        if image.dtype == np.float32:
            if not np.isfinite(image).all() or image.min() < 0.0 or image.max() > 1.0:
                raise ValueError("float32 image must be finite and in [0, 1] (divide [0, 255] images by 255), "
                                 f"got range [{float(np.nanmin(image))}, {float(np.nanmax(image))}]")
            return image
        raise ValueError(f"image dtype must be uint8 or float32, got {image.dtype}")

    def __call__(self, image: np.ndarray) -> FrontendOutput:
        grey = self.check_image(image)
        kps = np.zeros((0, 2), np.float32)
        scores = np.zeros((0,), np.float32)
        descs = np.zeros((0, int(self.meta["keypoint"].get("desc_dim", 0))), np.float32)
        depth = np.zeros((0, 0), np.float32)
        pending = None
        if self._pool is not None and len(self.outputs) == 2:  # the DepthNet beside the KeypointNet
            pending = self._pool.submit(self._depth, grey)
        with torch.inference_mode():
            if "keypoints" in self.outputs:
                kps, scores, descs = self._keypoints(grey)
            if "depth" in self.outputs:
                depth = pending.result() if pending is not None else self._depth(grey)
        return FrontendOutput(keypoints=kps, scores=scores, descriptors=descs, depth=depth)

    def _keypoints(self, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K, 2) keypoints in ``grey``'s pixels, (K,) scores, (K, D) descriptors; float32 (inference mode)."""
        height, width = grey.shape
        score, coord, desc = self.keypoint_net(self._to_input(self._resize(grey, self.input_size)))
        kps, scores, descs = select_topk(score, coord, desc, self.top_k, self.border_cells, self.cell)
        sx, sy = width / self.net_width, height / self.net_height
        scale = torch.tensor([sx, sy], dtype=kps.dtype, device=kps.device)
        kps = (kps[0] + 0.5) * scale - 0.5
        return (kps.cpu().numpy().astype(np.float32, copy=False),
                scores[0].cpu().numpy().astype(np.float32, copy=False),
                descs[0].cpu().numpy().astype(np.float32, copy=False))

    def _depth(self, grey: np.ndarray) -> np.ndarray:
        """(H, W) float32 metres of ``grey``, 0 = unknown."""
        with torch.inference_mode():  # thread-local: also when run in the pool's thread
            return self._depth_inference(grey)

    def _depth_inference(self, grey: np.ndarray) -> np.ndarray:
        height, width = grey.shape
        depth_net = self.depth_net(self._to_input(self._resize(grey, self.depth_input_size)))
        idepth = 1.0 / depth_net.float()
        if (height, width) != tuple(idepth.shape[-2:]):
            idepth = F.interpolate(idepth, size=(height, width), mode="bilinear", align_corners=False)
        depth = 1.0 / idepth[0, 0]
        if self.saturation_margin is not None:
            m = self.saturation_margin
            saturated = (depth <= self.min_depth * (1 + m)) | (depth >= self.max_depth * (1 - m))
            depth = depth.masked_fill(saturated, 0.0)
        return depth.cpu().numpy().astype(np.float32, copy=False)
