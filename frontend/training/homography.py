"""Random homographies for KP2D-style homography adaptation (seeded, numpy)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class HomographyOptions:
    perspective: float = 0.1      # max |perspective coefficient| x half image size (0 = affine only)
    scale: tuple[float, float] = (0.8, 1.25)  # isotropic scale range (log-uniform)
    max_angle_rad: float = math.pi / 6        # rotation range [-a, a] about the image centre
    translation: float = 0.15     # max shift as a fraction of the image size, per axis
    max_tries: int = 50           # resampling attempts so that the warped image keeps coverage
    min_coverage: float = 0.5     # fraction of target pixels that must see the source image

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not (0 < lo <= hi):
            raise ValueError(f"HomographyOptions.scale must be 0 < lo <= hi, got {self.scale}")
        if self.perspective < 0 or self.perspective >= 1 or self.translation < 0 or self.max_angle_rad < 0:
            raise ValueError("HomographyOptions: perspective in [0, 1), translation and max_angle_rad >= 0")
        if self.max_tries < 1 or not 0 <= self.min_coverage < 1:
            raise ValueError("HomographyOptions: max_tries >= 1 and min_coverage in [0, 1)")


def _coverage(H: np.ndarray, height: int, width: int, n: int = 16) -> float:
    """Fraction of a grid of target pixels whose pre-image under ``H`` lies in the source image."""
    xs, ys = np.meshgrid(np.linspace(0, width - 1, n), np.linspace(0, height - 1, n))
    pts = np.stack([xs.ravel(), ys.ravel(), np.ones(n * n)])
    src = np.linalg.inv(H) @ pts
    with np.errstate(divide="ignore", invalid="ignore"):
        u, v = src[0] / src[2], src[1] / src[2]
    ok = (src[2] > 0) & (u >= 0) & (u <= width - 1) & (v >= 0) & (v <= height - 1)
    return float(ok.mean())


def sample_homography(height: int, width: int, rng: np.random.Generator,
                      options: HomographyOptions | None = None) -> np.ndarray:
    """A random ``target_from_source`` homography (3, 3) float64 in pixel coordinates.

    Composition about the image centre: perspective, then scale + rotation, then translation.
    Resampled up to ``max_tries`` times until at least ``min_coverage`` of the target sees the source.
    """
    if height < 2 or width < 2:
        raise ValueError(f"sample_homography: image size must be >= 2x2, got {width}x{height}")
    o = options or HomographyOptions()
    half = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    centre = np.array([[1, 0, -half[0]], [0, 1, -half[1]], [0, 0, 1.0]])
    uncentre = np.linalg.inv(centre)
    H = np.eye(3)
    for _ in range(o.max_tries):
        P = np.eye(3)
        P[2, :2] = rng.uniform(-o.perspective, o.perspective, size=2) / half
        s = math.exp(rng.uniform(math.log(o.scale[0]), math.log(o.scale[1])))
        a = rng.uniform(-o.max_angle_rad, o.max_angle_rad)
        SR = np.array([[s * math.cos(a), -s * math.sin(a), 0], [s * math.sin(a), s * math.cos(a), 0], [0, 0, 1.0]])
        T = np.eye(3)
        T[:2, 2] = rng.uniform(-o.translation, o.translation, size=2) * np.array([width, height])
        H = uncentre @ T @ SR @ P @ centre
        H = H / H[2, 2]
        if _coverage(H, height, width) >= o.min_coverage:
            return H
    return H
