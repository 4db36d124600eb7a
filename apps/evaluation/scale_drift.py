"""Local scale of a monocular trajectory: estimated / true path length over sliding windows of path.

The KITTI metric (``kitti_metric``) mixes scale drift with rotation drift; this measures the scale alone,
the number a depth prior or a held camera height is there to keep at 1. Windows are taken over the true
path (``window_m`` metres, one starting at every frame that has that much path after it), on an estimate
that is already aligned to the ground truth (scale-only alignment in ``evaluate_trajectory``), so a
ratio of 1.1 means the estimate travelled 10 % too far over that stretch compared with the run as a whole.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

DEFAULT_WINDOW_M = 100.0


def path_distances(world_from_cam: np.ndarray) -> np.ndarray:
    """Distance travelled up to each pose, metres: ``(N, 4, 4)`` -> ``(N,)`` float64, starting at 0."""
    p = np.asarray(world_from_cam, dtype=np.float64)[:, :3, 3]
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])


def scale_drift_ratios(gt_world_from_cam: np.ndarray, est_world_from_cam: np.ndarray,
                       window_m: float = DEFAULT_WINDOW_M) -> np.ndarray:
    """Ratio of estimated to true path length over every window of ``window_m`` metres of true path.

    gt_world_from_cam, est_world_from_cam: ``(N, 4, 4)`` float64, index-associated (the estimate
    already aligned). Returns ``(W,)`` float64, one ratio per frame that has ``window_m`` of true path
    after it; empty when the whole true path is shorter.
    """
    if not (window_m > 0 and math.isfinite(window_m)):
        raise ValueError(f"window_m: expected a positive number of metres, got {window_m!r}")
    gt, est = np.asarray(gt_world_from_cam), np.asarray(est_world_from_cam)
    if gt.shape[0] != est.shape[0]:
        raise ValueError(f"scale_drift_ratios: {gt.shape[0]} GT poses vs {est.shape[0]} estimated poses")
    gt_cum, est_cum = path_distances(gt), path_distances(est)
    start = np.arange(gt.shape[0])
    end = np.searchsorted(gt_cum, gt_cum + window_m)  # first frame with >= window_m of path since start
    ok = end < gt.shape[0]
    start, end = start[ok], end[ok]
    return (est_cum[end] - est_cum[start]) / np.maximum(gt_cum[end] - gt_cum[start], 1e-9)


@dataclasses.dataclass(frozen=True)
class ScaleDrift:
    """Summary of :func:`scale_drift_ratios` (ratios of estimated / true path length, 1 = no drift).

    worst: the ratio furthest from 1 in log terms (e.g. 0.8 or 1.25), the largest local scale error.
    """
    window_m: float
    n_windows: int
    p5: float
    median: float
    p95: float
    worst: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def scale_drift(gt_world_from_cam: np.ndarray, est_world_from_cam: np.ndarray,
                window_m: float = DEFAULT_WINDOW_M) -> ScaleDrift | None:
    """Percentiles of the local scale over ``window_m`` windows; None when the path is too short."""
    r = scale_drift_ratios(gt_world_from_cam, est_world_from_cam, window_m)
    r = r[np.isfinite(r) & (r > 0)]
    if r.size == 0:
        return None
    worst = float(r[np.argmax(np.abs(np.log(r)))])
    p5, median, p95 = (float(x) for x in np.percentile(r, [5, 50, 95]))
    return ScaleDrift(window_m=float(window_m), n_windows=int(r.size), p5=p5, median=median, p95=p95, worst=worst)
