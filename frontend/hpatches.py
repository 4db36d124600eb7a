"""HPatches-protocol keypoint evaluation of the learned frontend against OpenCV ORB and SIFT.

Pairs come from an HPatches-layout folder (``1.ppm .. 6.ppm`` + ``H_1_2 .. H_1_6``; a folder of
such sequence folders works too) or are synthesised from any image folder with seeded random
homographies. Every image is resized (whole image, ``cv2.INTER_AREA``) to the evaluation size and
the homographies are adjusted with the pixel-centre convention ``x' = (x + 0.5) s - 0.5``.
Each detector keeps its ``top_k`` best keypoints; the metrics are those of
``frontend.homography_eval`` (repeatability, localisation error, C1/C3/C5, matching score,
distance threshold 3 px). KP2D's settings are 320x240 / 300 and 640x480 / 1000 keypoints; here
the sizes are 320x256 and 640x480 (multiples of 32 for the networks).
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import cv2
import numpy as np
import torch

from frontend.common.device import resolve_device
from frontend.homography_eval import PairMetrics, Summary, evaluate_pair, summarize
from frontend.inference import load_torchscript, read_frontend_meta
from frontend.keypoints import select_topk

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".bmp")


@dataclass
class ImagePair:
    """Two grey images ``(H, W) uint8`` of the evaluation size and ``H_ab`` (3, 3) float64 (A -> B pixels)."""

    name: str
    image_a: np.ndarray
    image_b: np.ndarray
    H_ab: np.ndarray


def resize_matrix(src_size: tuple[int, int], dst_size: tuple[int, int]) -> np.ndarray:
    """(3, 3) pixel map of a whole-image resize from ``(w, h)`` to ``(w', h')`` (pixel-centre convention)."""
    sx, sy = dst_size[0] / src_size[0], dst_size[1] / src_size[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def _read_grey(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"{path}: cannot be read as an image")
    return image


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    shrink = image.shape[0] * image.shape[1] > size[0] * size[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _sequence_dirs(root: Path) -> list[Path]:
    if (root / "1.ppm").is_file():
        return [root]
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and (p / "1.ppm").is_file()) if root.is_dir() else []
    if not dirs:
        raise FileNotFoundError(f"{root}: no HPatches sequence (expected 1.ppm..6.ppm and H_1_2..H_1_6 "
                                "in it or in its sub-folders)")
    return dirs


def load_hpatches_pairs(root: str | os.PathLike, width: int, height: int) -> list[ImagePair]:
    """Pairs (1, k), k = 2..6, of every HPatches sequence under ``root``, resized to ``width x height``."""
    pairs = []
    size = (int(width), int(height))
    for seq in _sequence_dirs(Path(root)):
        raw_a = _read_grey(seq / "1.ppm")
        S_a = resize_matrix((raw_a.shape[1], raw_a.shape[0]), size)
        image_a = _resize(raw_a, size)
        for k in range(2, 7):
            h_path, img_path = seq / f"H_1_{k}", seq / f"{k}.ppm"
            if not h_path.is_file() or not img_path.is_file():
                raise FileNotFoundError(f"{seq}: missing {h_path.name} or {img_path.name}")
            try:
                H = np.loadtxt(h_path, dtype=np.float64)
            except ValueError as exc:
                raise ValueError(f"{h_path}: expected a 3x3 homography ({exc})") from exc
            if H.shape != (3, 3):
                raise ValueError(f"{h_path}: expected a 3x3 homography, got shape {H.shape}")
            if not np.all(np.isfinite(H)):
                raise ValueError(f"{h_path}: the homography has non-finite values (expected 9 finite numbers)")
            if not np.linalg.cond(H) < 1e12:
                raise ValueError(f"{h_path}: the homography is singular (expected an invertible 3x3 matrix)")
            raw_b = _read_grey(img_path)
            S_b = resize_matrix((raw_b.shape[1], raw_b.shape[0]), size)
            pairs.append(ImagePair(f"{seq.name}/1-{k}", image_a, _resize(raw_b, size), S_b @ H @ np.linalg.inv(S_a)))
    return pairs


def random_homography(width: int, height: int, rng: np.random.Generator, max_angle_deg: float = 25.0,
                      scale_range: tuple[float, float] = (0.8, 1.25), max_perspective: float = 0.1,
                      max_translation: float = 0.1) -> np.ndarray:
    """Random (3, 3) homography of a ``width x height`` image: rotation and scale about the centre,
    then each corner moved by up to ``max_perspective`` of the image size and all by up to
    ``max_translation`` (uniform draws from ``rng``)."""
    w, h = float(width), float(height)
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    angle = np.deg2rad(rng.uniform(-max_angle_deg, max_angle_deg))
    scale = np.exp(rng.uniform(np.log(scale_range[0]), np.log(scale_range[1])))
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = (corners - centre) @ rot.T + centre
    dst += rng.uniform(-max_perspective, max_perspective, size=(4, 2)) * [w, h]
    dst += rng.uniform(-max_translation, max_translation, size=(1, 2)) * [w, h]
    return cv2.getPerspectiveTransform(corners.astype(np.float32), dst.astype(np.float32)).astype(np.float64)


def synthetic_pairs(image_dir: str | os.PathLike, width: int, height: int, n_pairs: int = 20,
                    seed: int = 0) -> list[ImagePair]:
    """``n_pairs`` (image, warped image, H) from the images of ``image_dir`` (recursively, sorted),
    picked evenly, resized to ``width x height`` and warped by seeded ``random_homography``."""
    root = Path(image_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} not found")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)})")
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    rng = np.random.default_rng(seed)
    pairs = []
    for i in np.linspace(0, len(files) - 1, n_pairs).round().astype(int):
        image = _resize(_read_grey(files[i]), (width, height))
        H = random_homography(width, height, rng)
        warped = cv2.warpPerspective(image, H, (width, height), flags=cv2.INTER_LINEAR)
        pairs.append(ImagePair(f"{files[i].name}#{len(pairs)}", image, warped, H))
    return pairs


class Detector(Protocol):
    """``detect(image (H, W) uint8) -> (keypoints (N, 2) float32 pixels, descriptors (N, D))``, N <= top_k."""

    name: str
    binary: bool  # descriptors compared with Hamming (uint8 bit strings) instead of L2

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class OpenCVDetector:
    """ORB or SIFT keeping the ``top_k`` strongest responses."""

    def __init__(self, kind: str, top_k: int):
        if kind not in ("orb", "sift"):
            raise ValueError(f"OpenCV detector must be 'orb' or 'sift', got {kind!r}")
        self.name, self.top_k, self.binary = kind, int(top_k), kind == "orb"
        self.impl = cv2.ORB_create(nfeatures=self.top_k) if kind == "orb" else cv2.SIFT_create(nfeatures=self.top_k)

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kps, desc = self.impl.detectAndCompute(image, None)
        if desc is None or not kps:
            return np.zeros((0, 2), np.float32), np.zeros((0, 32 if self.binary else 128), np.uint8 if self.binary else np.float32)
        order = np.argsort([-k.response for k in kps], kind="stable")[: self.top_k]
        pts = np.array([kps[i].pt for i in order], np.float32)
        return pts, desc[order]


class NetworkDetector:
    """A KeypointNet (eager or TorchScript, ``(B, 1, H, W) -> (score, coord, desc)``) run at the image's size,
    keeping its ``top_k`` best cells; the network is put in eval mode for each call."""

    binary = False

    def __init__(self, net: torch.nn.Module, top_k: int, border_cells: int, cell: int,
                 device: torch.device | str = "cpu", name: str = "ours"):
        self.net, self.name, self.top_k = net, name, int(top_k)
        self.border_cells, self.cell, self.device = int(border_cells), int(cell), torch.device(device)

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = image.shape
        if h % 32 or w % 32:
            raise ValueError(f"{type(self).__name__}: image size {w}x{h} must be multiples of 32")
        x = torch.from_numpy(image.astype(np.float32) / np.float32(255.0)).to(self.device).view(1, 1, h, w)
        x = x.contiguous(memory_format=torch.channels_last)
        if hasattr(self.net, "eval"):
            self.net.eval()
        with torch.inference_mode():
            score, coord, desc = self.net(x)
            kps, _, descs = select_topk(score, coord, desc, self.top_k, self.border_cells, self.cell)
        return kps[0].cpu().numpy(), descs[0].cpu().numpy()


class LearnedDetector(NetworkDetector):
    """The exported KeypointNet (``keypoint_net.pt`` of a model dir) run at the evaluation size."""

    def __init__(self, model_dir: str | os.PathLike, top_k: int, device: str | None = None, name: str = "ours"):
        meta = read_frontend_meta(model_dir)
        dev = resolve_device(device)
        super().__init__(load_torchscript(Path(model_dir) / meta["keypoint"]["file"], dev), top_k,
                         int(meta["keypoint"]["border_cells"]), int(meta["keypoint"]["cell"]), dev, name)


def evaluate_detector(detector: Detector, pairs: Sequence[ImagePair], eps: float = 3.0) -> Summary:
    """Mean metrics of ``detector`` over ``pairs`` (images shared between pairs are detected once)."""
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def detect(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if id(image) not in cache:
            cache[id(image)] = detector.detect(image)
        return cache[id(image)]

    results: list[PairMetrics] = []
    for pair in pairs:
        kps_a, desc_a = detect(pair.image_a)
        kps_b, desc_b = detect(pair.image_b)
        m = evaluate_pair(kps_a, desc_a, kps_b, desc_b, pair.H_ab, pair.image_a.shape, pair.image_b.shape,
                          eps, detector.binary)
        log.debug("%s %s: rep %.3f loc %.2f corner %.2f ms %.3f (%d matches)", detector.name, pair.name,
                  m.repeatability, m.localization, m.corner_error, m.mscore, m.n_matches)
        results.append(m)
    return summarize(results)


def evaluate_all(pairs: Sequence[ImagePair], detectors: Iterable[Detector], eps: float = 3.0,
                 extra: dict | None = None) -> dict[str, dict]:
    """``{detector.name: {repeatability, localization, c1, c3, c5, mscore, n_pairs, **extra}}``;
    ``eps``: the distance threshold in pixels (``--threshold``), finite and > 0."""
    if not 0 < eps < math.inf:
        raise ValueError(f"threshold (--threshold): expected a finite distance > 0 px, got {eps}")
    out = {}
    for det in detectors:
        summary = evaluate_detector(det, pairs, eps)
        summary.extra.update(extra or {})
        out[det.name] = summary.to_dict()
    return out
