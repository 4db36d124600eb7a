"""Crop and resize frames to a network input size with consistently adjusted intrinsics.

A :class:`Preprocess` maps a native frame of ``W x H`` pixels to ``width x height`` in two steps:

1. crop a window of the target aspect ratio out of the native frame (``crop="center"``: centred;
   ``crop="bottom"``: horizontally centred, touching the bottom edge, which keeps the road in
   driving data; ``crop="none"``: no crop, the resize may then change the aspect ratio);
2. resize the window to ``width x height``.

Intrinsics follow with ``Intrinsics.cropped(...)`` then ``Intrinsics.scaled(...)``; both use the
pixel-centre convention of the project (pixel (0, 0) is the centre of the top-left pixel), which is
also the convention of ``cv2.resize``. A 3D point therefore projects to pixel ``u`` in the native
frame and to ``(u - x0 + 0.5) * s - 0.5`` in the output, and its output pixel holds its image value.

Images are resized with ``cv2.INTER_AREA`` when shrinking (anti-aliased) and ``cv2.INTER_LINEAR``
when enlarging. Depth maps are resampled by exact nearest neighbour at pixel centres: every output
depth is the depth of the native pixel whose centre is nearest to the output pixel's centre, so
depths are never mixed across object boundaries and unknown depth (0) never blends into valid depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from apps.io.camera import Intrinsics

CROP_MODES = ("none", "center", "bottom")


@dataclass(frozen=True)
class CropWindow:
    """Window ``[x0, x0 + width) x [y0, y0 + height)`` of the native frame, in pixels."""

    x0: int
    y0: int
    width: int
    height: int


@dataclass(frozen=True)
class Preprocess:
    """Crop to the target aspect ratio, then resize to ``width x height`` pixels.

    Attributes:
        width: output width in pixels (> 0), e.g. 640 for the KP3D networks.
        height: output height in pixels (> 0), e.g. 192.
        crop: "none" (resize only, aspect may change), "center" or "bottom" (see module docs).
    """

    width: int
    height: int
    crop: str = "none"  # "none" | "center" | "bottom"

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Preprocess.{name} must be a positive integer, got {v!r}")
        if self.crop not in CROP_MODES:
            raise ValueError(f"Preprocess.crop must be one of {CROP_MODES}, got {self.crop!r}")

    def window(self, native_width: int, native_height: int) -> CropWindow:
        """Crop window of the native ``native_width x native_height`` frame for this target."""
        W, H = int(native_width), int(native_height)
        if W <= 0 or H <= 0:
            raise ValueError(f"native frame size must be positive, got {W}x{H}")
        if self.crop == "none":
            return CropWindow(0, 0, W, H)
        target = self.width / self.height
        if W / H > target:  # too wide: keep the full height
            cw, ch = min(W, max(1, round(H * target))), H
        else:  # too tall: keep the full width
            cw, ch = W, min(H, max(1, round(W / target)))
        x0 = (W - cw) // 2
        y0 = (H - ch) // 2 if self.crop == "center" else H - ch
        return CropWindow(x0, y0, cw, ch)

    def intrinsics(self, native: Intrinsics) -> Intrinsics:
        """Intrinsics of the output frame given the native ones."""
        w = self.window(native.width, native.height)
        return native.cropped(w.x0, w.y0, w.width, w.height).scaled(self.width, self.height)

    def image(self, image: np.ndarray) -> np.ndarray:
        """Crop and resize an image: ``(H, W)`` or ``(H, W, C)`` -> ``(height, width[, C])``, same dtype."""
        image = np.asarray(image)
        if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(f"image must be (H, W) or (H, W, C) and non-empty, got shape {image.shape}")
        w = self.window(image.shape[1], image.shape[0])
        window = image[w.y0:w.y0 + w.height, w.x0:w.x0 + w.width]
        if (w.width, w.height) == (self.width, self.height):
            return np.ascontiguousarray(window)
        shrinking = self.width * self.height < w.width * w.height
        interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        return cv2.resize(np.ascontiguousarray(window), (self.width, self.height), interpolation=interp)

    def depth(self, depth: np.ndarray) -> np.ndarray:
        """Crop and resample a depth map ``(H, W)`` -> ``(height, width)``, same dtype.

        Exact nearest neighbour at pixel centres (see module docs); 0 (unknown) stays 0.
        """
        depth = np.asarray(depth)
        if depth.ndim != 2 or depth.size == 0:
            raise ValueError(f"depth must be a non-empty (H, W) array, got shape {depth.shape}")
        w = self.window(depth.shape[1], depth.shape[0])
        cols = w.x0 + _nearest_source_index(self.width, w.width)
        rows = w.y0 + _nearest_source_index(self.height, w.height)
        return np.ascontiguousarray(depth[np.ix_(rows, cols)])


def _nearest_source_index(n_out: int, n_in: int) -> np.ndarray:
    """Index of the input pixel whose centre is nearest to each output pixel centre, (n_out,) int64.

    Output pixel ``i`` has its centre at input coordinate ``(i + 0.5) * n_in / n_out - 0.5``; the
    nearest input pixel is ``floor((i + 0.5) * n_in / n_out)``, clipped to the image.
    """
    idx = np.floor((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64)
    return np.clip(idx, 0, n_in - 1)


# Aspect ratios further apart than this factor get a hint (a 16:9 video into the default 640x192 is 1.87x).
ASPECT_HINT_FACTOR = 1.15


def aspect_hint(native_width: int, native_height: int, preprocess: Preprocess, multiple: int = 32) -> str | None:
    """A user hint when frames of ``native_width x native_height`` change aspect under ``preprocess``.

    Returns None when the aspects agree within ``ASPECT_HINT_FACTOR``; otherwise a message naming both sizes
    and the processing height (a multiple of ``multiple``) that keeps the frames' aspect at the same width.
    Measured on KITTI cut to 16:9 (bench/RESULTS.md, 2026-12-07): the whole frame at its own aspect was the
    most accurate, the squeezed whole frame next, a centre crop worse and a bottom crop failed.
    """
    native = native_width / native_height
    target = preprocess.width / preprocess.height
    if max(native / target, target / native) <= ASPECT_HINT_FACTOR:
        return None
    height = max(multiple, int(round(preprocess.width / native / multiple)) * multiple)
    if preprocess.crop == "none":
        what = (f"squeezed from {native_width}x{native_height} to {preprocess.width}x{preprocess.height} "
                f"(aspect {native:.2f} -> {target:.2f})")
    else:
        what = (f"cropped ({preprocess.crop}) from {native_width}x{native_height} to the aspect of "
                f"{preprocess.width}x{preprocess.height}, losing part of the view")
    return (f"frames are {what}; a processing size of the frames' own aspect, e.g. width: {preprocess.width} "
            f"height: {height} and crop: none in a run config, keeps the whole view undistorted (the networks "
            "resize to their own input either way)")
