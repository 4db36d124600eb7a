"""Pinhole intrinsics and consistent resize/crop of images and intrinsics."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole camera: focal lengths and principal point in pixels, image size in pixels.

    Pixel convention: the centre of the top-left pixel is (0, 0) (KITTI/OpenCV).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("fx", "fy"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"Intrinsics.{name} must be a positive finite number, got {v}")
        for name in ("cx", "cy"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"Intrinsics.{name} must be finite, got {getattr(self, name)}")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"Intrinsics size must be positive, got {self.width}x{self.height}")

    @property
    def K(self) -> np.ndarray:
        """(3, 3) float64 calibration matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @classmethod
    def from_K(cls, K: np.ndarray, width: int, height: int) -> "Intrinsics":
        K = np.asarray(K, dtype=np.float64)
        if K.shape[0] < 3 or K.shape[1] < 3:
            raise ValueError(f"K must be at least 3x3, got shape {K.shape}")
        return cls(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), int(width), int(height))

    def scaled(self, width: int, height: int) -> "Intrinsics":
        """Intrinsics after resizing the whole image to ``width`` x ``height``.

        Uses the pixel-centre convention: x' = (x + 0.5) * sx - 0.5.
        """
        sx, sy = width / self.width, height / self.height
        return Intrinsics(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5,
                          int(width), int(height))

    def cropped(self, x0: int, y0: int, width: int, height: int) -> "Intrinsics":
        """Intrinsics of the window [x0, x0+width) x [y0, y0+height) of the image."""
        if x0 < 0 or y0 < 0 or x0 + width > self.width or y0 + height > self.height:
            raise ValueError(f"crop ({x0},{y0},{width}x{height}) outside image {self.width}x{self.height}")
        return replace(self, cx=self.cx - x0, cy=self.cy - y0, width=int(width), height=int(height))
