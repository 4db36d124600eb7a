"""2D panel of the viewer: the current image with its keypoints and a status line (cv2).

Images here are RGB ``(H, W, 3) uint8`` (Open3D captures RGB; convert to BGR only for cv2 I/O).
"""
from __future__ import annotations

import cv2
import numpy as np

from apps.io.atomic import atomic_write_bytes

KEYPOINT_RGB = (0, 255, 0)  # pure green: never produced by a grey image, easy to check
TEXT_RGB = (255, 255, 0)


def image_panel(image: np.ndarray, keypoints: np.ndarray | None, height: int, status: str = "",
                index: int | None = None, radius: int | None = None) -> np.ndarray:
    """The grey image resized to ``height`` rows (aspect kept) with keypoints drawn on it.

    image: (H, W) uint8 grey (or (H, W, 3) uint8 RGB).
    keypoints: (K, 2) pixel coordinates (x, y) in ``image``, or None. Drawn as filled circles
        in ``KEYPOINT_RGB`` at the resized positions (pixel-centre convention).
    height: output height in pixels.
    status, index: written in the top-left corner when given.
    radius: circle radius in output pixels (default: about height / 120, at least 1).
    Returns (height, round(W * height / H), 3) uint8 RGB.
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise ValueError(f"image must be (H, W) or (H, W, 3) uint8, got {img.shape} {img.dtype}")
    if height <= 0:
        raise ValueError(f"height must be positive, got {height}")
    h, w = img.shape[:2]
    scale = height / h
    out_w = max(1, int(round(w * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(img, (out_w, height), interpolation=interp)
    panel = cv2.cvtColor(resized, cv2.COLOR_GRAY2RGB) if resized.ndim == 2 else resized.copy()
    if keypoints is not None and len(keypoints):
        kps = np.asarray(keypoints, dtype=np.float64)
        if kps.ndim != 2 or kps.shape[1] != 2:
            raise ValueError(f"keypoints must have shape (K, 2), got {kps.shape}")
        r = radius if radius is not None else max(1, int(round(height / 120)))
        uv = (kps + 0.5) * scale - 0.5
        ok = np.all(np.isfinite(uv), axis=1)
        for x, y in np.rint(uv[ok]).astype(np.int64):
            cv2.circle(panel, (int(x), int(y)), r, KEYPOINT_RGB, thickness=-1, lineType=cv2.LINE_8)
    text = " ".join(t for t in (f"#{index}" if index is not None else "", status) if t)
    if text:
        font_scale = max(0.35, height / 600)
        origin = (5, int(18 * font_scale / 0.5))
        for rgb, thickness in (((0, 0, 0), 3), (TEXT_RGB, 1)):  # dark outline keeps it readable on sky
            cv2.putText(panel, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, rgb, thickness, cv2.LINE_AA)
    return panel


def side_by_side(left: np.ndarray, right: np.ndarray | None) -> np.ndarray:
    """Concatenate two RGB images horizontally; ``right`` is resized to ``left``'s height if needed."""
    if right is None:
        return left
    if right.shape[0] != left.shape[0]:
        w = max(1, int(round(right.shape[1] * left.shape[0] / right.shape[0])))
        right = cv2.resize(right, (w, left.shape[0]), interpolation=cv2.INTER_AREA)
    return np.concatenate([left, right], axis=1)


def write_png_rgb(path, rgb: np.ndarray) -> None:
    """Write an RGB (H, W, 3) uint8 image as PNG, atomically."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"could not encode PNG for {path}")
    atomic_write_bytes(path, buf.tobytes())
