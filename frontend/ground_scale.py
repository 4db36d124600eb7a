"""Metric scale of network depth from the camera's height above the road.

A monocular DepthNet knows depth only up to a factor, and that factor drifts between scenes (the
shipped net's unit is 1/55 m on KITTI 00 and 1/70 m on 06). A car-mounted camera has one thing that
does not change: its height above the road (KITTI: 1.65 m). :func:`fit_ground_plane` fits a plane with
RANSAC to the network depth of the lower-middle image (the road in front of the car), and the ratio of
the known height to the plane's distance from the camera is the factor that makes that frame's depth
metric. :class:`GroundScaledFrontend` wraps a frontend and applies the running median of these factors
(over the last ``window`` frames with a good fit), so one scene's unit holds for the whole run and adapts
slowly when the scenery changes.

Not for handheld cameras or drones (no fixed height above a plane): the option is off unless the
exported ``frontend.json`` (``depth.ground_scale``) or the caller turns it on.
"""
from __future__ import annotations

import dataclasses
import json
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np


@dataclass
class GroundScaleOptions:
    camera_height: float = 1.65        # metres of the camera above the road (KITTI 1.65)
    region_top: float = 0.6            # the road region: image rows from this fraction of the height ...
    region_bottom: float = 0.95        # ... to this one (the bottom rows are often the car's bonnet)
    region_width: float = 0.6          # central fraction of the columns
    stride: int = 4                    # pixel subsampling of the region
    max_normal_angle_deg: float = 25.0  # plane normal within this angle of the camera's down axis (y)
    inlier_tolerance: float = 0.03     # inlier if |distance to plane| < this x the plane's distance
    min_inlier_fraction: float = 0.4   # of the region's valid pixels; fewer -> no estimate for the frame
    ransac_iterations: int = 100
    window: int = 50                   # running median over the last N frames with an estimate
    seed: int = 0                      # RANSAC sampling

    def check(self) -> "GroundScaleOptions":
        if not 0 < self.camera_height < 100:
            raise ValueError(f"GroundScaleOptions.camera_height must be in (0, 100) metres, got {self.camera_height}")
        if not 0 <= self.region_top < self.region_bottom <= 1 or not 0 < self.region_width <= 1:
            raise ValueError("GroundScaleOptions: need 0 <= region_top < region_bottom <= 1 and region_width in (0, 1]")
        if self.stride < 1 or self.ransac_iterations < 1 or self.window < 1:
            raise ValueError("GroundScaleOptions: stride, ransac_iterations and window must be >= 1")
        if not 0 < self.max_normal_angle_deg < 90 or not 0 < self.inlier_tolerance < 1 \
                or not 0 < self.min_inlier_fraction <= 1:
            raise ValueError("GroundScaleOptions: max_normal_angle_deg in (0, 90), inlier_tolerance in (0, 1), "
                             "min_inlier_fraction in (0, 1]")
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "GroundScaleOptions":
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"ground_scale: unknown keys {sorted(unknown)} (allowed: {sorted(names)})")
        return cls(**data).check()


@dataclass
class PlaneFit:
    """A plane ``normal . X = distance`` in camera coordinates (normal unit length, pointing down, +y)."""

    normal: np.ndarray       # (3,) float64
    distance: float          # depth units: the camera's height above the plane
    inlier_fraction: float   # of the region's valid pixels
    points: int              # valid pixels in the region


def road_points(depth: np.ndarray, K: np.ndarray, options: GroundScaleOptions) -> np.ndarray:
    """Camera-frame points (N, 3) float64 of the road region of ``depth`` (H, W) (0 = unknown), intrinsics K (3, 3)."""
    h, w = depth.shape
    y0, y1 = int(options.region_top * h), max(int(options.region_bottom * h), int(options.region_top * h) + 1)
    half = options.region_width * w / 2
    x0, x1 = int(w / 2 - half), int(np.ceil(w / 2 + half))
    ys, xs = np.mgrid[y0:y1:options.stride, x0:x1:options.stride]
    z = depth[ys, xs].astype(np.float64)
    ok = np.isfinite(z) & (z > 0)
    z, xs, ys = z[ok], xs[ok], ys[ok]
    return np.stack([(xs - K[0, 2]) / K[0, 0] * z, (ys - K[1, 2]) / K[1, 1] * z, z], axis=1)


def fit_ground_plane(depth: np.ndarray, K: np.ndarray, options: GroundScaleOptions | None = None,
                     rng: np.random.Generator | None = None) -> PlaneFit | None:
    """RANSAC plane of the road in front of the camera; None when no plausible plane holds enough pixels.

    depth: (H, W) depth in any unit (0 = unknown); K: (3, 3) intrinsics of that grid. The tolerance is
    relative to the plane's distance, so the fit does not depend on the depth unit.
    """
    o = (options or GroundScaleOptions()).check()
    if depth.ndim != 2 or K.shape != (3, 3):
        raise ValueError(f"fit_ground_plane: need depth (H, W) and K (3, 3), got {depth.shape} and {K.shape}")
    pts = road_points(depth, K, o)
    if len(pts) < 20:
        return None
    rng = rng or np.random.default_rng(o.seed)
    cos_max = np.cos(np.radians(o.max_normal_angle_deg))
    best, best_count = None, 0
    for _ in range(o.ransac_iterations):
        a, b, c = pts[rng.choice(len(pts), 3, replace=False)]
        n = np.cross(b - a, c - a)
        norm = np.linalg.norm(n)
        if norm < 1e-12:
            continue
        n = n / norm
        if n[1] < 0:
            n = -n
        if n[1] < cos_max:
            continue
        d = float(n @ a)
        if d <= 0:
            continue
        count = int((np.abs(pts @ n - d) < o.inlier_tolerance * d).sum())
        if count > best_count:
            best, best_count = (n, d), count
    if best is None or best_count < o.min_inlier_fraction * len(pts):
        return None
    n, d = best
    for _ in range(2):  # least-squares refinement on the inliers
        inl = pts[np.abs(pts @ n - d) < o.inlier_tolerance * d]
        if len(inl) < 3:
            return None
        centre = inl.mean(axis=0)
        n = np.linalg.svd(inl - centre, full_matrices=False)[2][-1]
        n = -n if n[1] < 0 else n
        d = float(n @ centre)
    if d <= 0 or n[1] < cos_max:
        return None
    frac = float((np.abs(pts @ n - d) < o.inlier_tolerance * d).mean())
    if frac < o.min_inlier_fraction:
        return None
    return PlaneFit(n, d, frac, len(pts))


class GroundScaledFrontend:
    """Wraps a frontend (``image -> FrontendOutput``) and rescales its depth to the camera height.

    K: (3, 3) intrinsics of the images given to the frontend (its depth is at that size). The factor is
    the running median of ``camera_height / plane distance`` over the last ``options.window`` frames
    with a plane; 1 (the export's scale) until the first plane is found. ``factors`` keeps the per-frame
    estimates (None where no plane was found) for reports.
    """

    def __init__(self, frontend: Callable[[np.ndarray], Any], K: np.ndarray, options: GroundScaleOptions | None = None):
        self.frontend = frontend
        self.K = np.asarray(K, np.float64)
        self.options = (options or GroundScaleOptions()).check()
        self.meta = getattr(frontend, "meta", None)
        self._recent: deque[float] = deque(maxlen=self.options.window)
        self._rng = np.random.default_rng(self.options.seed)
        self.factors: list[float | None] = []

    @property
    def factor(self) -> float:
        return float(np.median(self._recent)) if self._recent else 1.0

    def __call__(self, image: np.ndarray):
        out = self.frontend(image)
        fit = fit_ground_plane(out.depth, self.K, self.options, self._rng)
        estimate = self.options.camera_height / fit.distance if fit is not None else None
        self.factors.append(estimate)
        if estimate is not None:
            self._recent.append(estimate)
        return dataclasses.replace(out, depth=(out.depth * np.float32(self.factor)).astype(np.float32, copy=False))

    def summary(self) -> dict[str, Any]:
        """Per-run report: frames, frames with a plane, the current factor and the median/IQR of the estimates."""
        est = np.array([f for f in self.factors if f is not None], np.float64)
        return {"camera_height": self.options.camera_height, "frames": len(self.factors),
                "frames_with_plane": int(len(est)), "factor": self.factor,
                "median": float(np.median(est)) if len(est) else None,
                "iqr": [float(v) for v in np.percentile(est, [25, 75])] if len(est) else None}


def ground_scale_spec(value: Any) -> GroundScaleOptions | None:
    """Options from a ``ground_scale`` setting: None/False -> off, True -> defaults, a mapping -> those options."""
    if value is None or value is False:
        return None
    if value is True:
        return GroundScaleOptions()
    if isinstance(value, dict):
        return GroundScaleOptions.from_dict(value)
    raise ValueError(f"ground_scale must be true, false or a mapping of GroundScaleOptions, got {value!r}")


def maybe_ground_scaled(frontend: Callable[[np.ndarray], Any], K: np.ndarray, override: Any = None):
    """``frontend`` wrapped in :class:`GroundScaledFrontend` when asked, else ``frontend`` itself.

    ``override`` (the run config's ``ground_scale``: None = not set, False, True or a mapping) wins over
    the frontend's ``frontend.json`` ``depth.ground_scale`` (same forms). K: (3, 3) intrinsics of the
    frames given to the frontend. A frontend that is already wrapped is returned as it is.
    """
    if isinstance(frontend, GroundScaledFrontend):
        return frontend
    if override is None:
        override = ((getattr(frontend, "meta", None) or {}).get("depth") or {}).get("ground_scale")
    options = ground_scale_spec(override)
    return frontend if options is None else GroundScaledFrontend(frontend, K, options)


def set_ground_scale(model_dir: str | os.PathLike, value: Any) -> dict[str, Any]:
    """Switch ground scaling on (True or a mapping of options) or off (False/None) in a model folder's
    ``frontend.json`` (``depth.ground_scale``); returns the new metadata. The network files are untouched."""
    from frontend.common.atomic import atomic_write_text

    path = Path(model_dir) / "frontend.json"
    if not path.is_file():
        raise FileNotFoundError(f"set_ground_scale: {path} not found (expected an exported frontend folder)")
    meta = json.loads(path.read_text())
    options = ground_scale_spec(value)
    depth = meta.setdefault("depth", {})
    if options is None:
        depth.pop("ground_scale", None)
    else:
        depth["ground_scale"] = dataclasses.asdict(options)
    atomic_write_text(path, json.dumps(meta, indent=2) + "\n")
    return meta
