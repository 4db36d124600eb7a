"""DSO's photometric calibration of a camera: :func:`read_photometric`.

Two files, as in DSO and the TUM monoVO dataset (both optional):

- ``pcalib.txt``: the inverse response ``G^-1``: 256 numbers, the irradiance of grey levels 0..255,
  non-decreasing (normalised here to 0..255, as DSO does);
- ``vignette.png``: 8- or 16-bit grey image of the frames' size: the fraction of irradiance reaching
  each pixel (divided here by its maximum; pixels at 0, such as the black corners outside a fisheye's
  image circle, are raised to the smallest positive value and logged).

The backend maps each frame to ``B = G^-1(I) / V`` before tracking (``dso_bridge.Backend.
set_photometric_calibration``); the networks see the frames as recorded. A :class:`Photometric` is in
the geometry of the frames it belongs to: :meth:`Photometric.map_vignette` moves its vignette through
the same undistortion and resize as the frames.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from frontend.common.paths import require_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Photometric:
    """Photometric calibration in the geometry of some frames.

    Attributes:
        inverse_response: (256,) float32 non-decreasing in [0, 255], or None (linear response).
        vignette: (H, W) float32 in (0, 1] of the frames' size, or None (no vignetting).
        source: the files it was read from (for logs and summary.json).
    """

    inverse_response: np.ndarray | None = None
    vignette: np.ndarray | None = None
    source: dict | None = None

    def map_vignette(self, fn: Callable[[np.ndarray], np.ndarray]) -> "Photometric":
        """The same calibration for frames transformed by ``fn`` ((H, W) float32 -> (H', W') float32, e.g.
        an undistortion or a resize); the response is per grey level and does not change."""
        if self.vignette is None:
            return self
        v = np.asarray(fn(self.vignette), dtype=np.float32)
        return replace(self, vignette=np.clip(v, np.float32(1e-3), np.float32(1.0)))


def read_photometric(pcalib: str | os.PathLike | None = None, vignette: str | os.PathLike | None = None, *,
                     image_size: tuple[int, int]) -> Photometric | None:
    """Read DSO's ``pcalib.txt`` and/or ``vignette.png`` (module docstring) for frames of ``image_size``
    ``(width, height)``; None when neither is given.

    Raises FileNotFoundError for a missing file; ValueError naming the file for a response that is not
    256 finite non-decreasing numbers, a vignette of another size or with no positive pixel.
    """
    if pcalib is None and vignette is None:
        return None
    response = None if pcalib is None else _read_response(Path(pcalib))
    v = None if vignette is None else _read_vignette(Path(vignette), image_size)
    source = {"pcalib": None if pcalib is None else str(pcalib),
              "vignette": None if vignette is None else str(vignette)}
    return Photometric(response, v, source)


def _read_response(path: Path) -> np.ndarray:
    require_file(path, "photometric calibration file")
    try:
        values = np.array(path.read_text().split(), dtype=np.float64)
    except ValueError:
        raise ValueError(f"photometric calibration {path}: expected 256 numbers (the inverse response G^-1 of "
                         "grey levels 0..255)") from None
    if values.size != 256:
        raise ValueError(f"photometric calibration {path}: expected 256 finite numbers (the inverse response "
                         f"G^-1 of grey levels 0..255), found {values.size}")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"photometric calibration {path}: value {bad[0] + 1} of 256 (grey level {bad[0]}) is "
                         f"{values[bad[0]]}, expected a finite number")
    if np.any(np.diff(values) < 0) or values[-1] <= values[0]:
        raise ValueError(f"photometric calibration {path}: the inverse response must increase (it maps grey "
                         "levels to irradiance)")
    return (255.0 * (values - values[0]) / (values[-1] - values[0])).astype(np.float32)


def _read_vignette(path: Path, image_size: tuple[int, int]) -> np.ndarray:
    import cv2

    require_file(path, "vignette image")
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"vignette image {path}: OpenCV cannot read it (expected an 8- or 16-bit grey PNG)")
    if img.ndim == 3:  # a grey image stored with colour channels is accepted
        if img.shape[2] < 3 or np.any(img[..., 0] != img[..., 1]) or np.any(img[..., 0] != img[..., 2]):
            raise ValueError(f"vignette image {path}: expected a grey image, got {img.shape[2]} channels that differ")
        img = img[..., 0]
    if (img.shape[1], img.shape[0]) != tuple(image_size):
        raise ValueError(f"vignette image {path} is {img.shape[1]}x{img.shape[0]} but the frames are "
                         f"{image_size[0]}x{image_size[1]}")
    v = img.astype(np.float32)
    if not np.any(v > 0):
        raise ValueError(f"vignette image {path} has no positive pixel")
    v /= v.max()
    zero = v <= 0
    if zero.any():
        logger.warning("vignette image %s: %d pixels at 0 (outside the image circle?) set to the smallest "
                       "positive value", path, int(zero.sum()))
        v[zero] = v[~zero].min()
    return v
