"""Metrics of the HPatches keypoint protocol (SuperPoint / KP2D), as pure numpy functions.

Conventions: keypoints are ``(N, 2)`` pixel ``(x, y)`` (pixel-centre convention); ``H_ab`` is the
``(3, 3)`` homography mapping pixels of image A to pixels of image B; image shapes are
``(height, width)``; a point is *inside* an image of shape (h, w) when ``0 <= x <= w-1`` and
``0 <= y <= h-1``. Definitions (distance threshold ``eps``, 3 px by default as in KP2D):

* **repeatability**: keep the A keypoints whose warp ``H_ab a`` is inside B and the B keypoints whose
  warp ``H_ab^-1 b`` is inside A (``n_a``, ``n_b`` of them). ``count_a`` = kept A keypoints whose
  warp has a kept B keypoint within ``eps``; ``count_b`` likewise for B keypoints and warped A
  keypoints. ``repeatability = (count_a + count_b) / (n_a + n_b)``.
* **localization error**: the mean of those nearest distances that are within ``eps``, over both
  directions (the ``count_a + count_b`` distances); NaN when there are none.
* **homography accuracy** (C1/C3/C5): ``H_est`` from ``cv2.findHomography(RANSAC, 3 px)`` on the
  mutual-nearest-neighbour matches; the corner error is the mean distance between the four image
  corners of A ``(0, 0), (w-1, 0), (0, h-1), (w-1, h-1)`` mapped by ``H_est`` and by ``H_ab``; the pair
  is correct at threshold ``t`` when that error ``<= t``. No estimate (fewer than 4 matches or a
  RANSAC failure) counts as incorrect (error = inf).
* **matching score**: every A keypoint whose warp is inside B is matched to its nearest B descriptor
  (not necessarily mutual); the match is correct when ``|H_ab a - b| < eps``. ``score_ab`` =
  correct / such A keypoints; ``score_ba`` likewise from B with ``H_ab^-1``;
  ``mscore = (score_ab + score_ba) / 2``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

CORNER_THRESHOLDS = (1.0, 3.0, 5.0)


def warp_points(points: np.ndarray, H: np.ndarray) -> np.ndarray:
    """``(N, 2)`` pixels -> ``(N, 2)`` float64 pixels mapped by the ``(3, 3)`` homography ``H``."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    homog = np.hstack([pts, np.ones((len(pts), 1))]) @ np.asarray(H, dtype=np.float64).T
    return homog[:, :2] / homog[:, 2:3]


def inside(points: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``(N,)`` bool: point inside an image of ``shape = (height, width)``."""
    h, w = int(shape[0]), int(shape[1])
    return (points[:, 0] >= 0) & (points[:, 0] <= w - 1) & (points[:, 1] >= 0) & (points[:, 1] <= h - 1)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)


def repeatability(kps_a: np.ndarray, kps_b: np.ndarray, H_ab: np.ndarray, shape_a: Sequence[int],
                  shape_b: Sequence[int], eps: float = 3.0) -> tuple[float, float]:
    """``(repeatability in [0, 1], localization error in pixels)`` -- see the module docstring."""
    kps_a, kps_b = np.asarray(kps_a, np.float64).reshape(-1, 2), np.asarray(kps_b, np.float64).reshape(-1, 2)
    warped_a = warp_points(kps_a, H_ab)
    keep_a = inside(warped_a, shape_b)
    keep_b = inside(warp_points(kps_b, np.linalg.inv(H_ab)), shape_a)
    wa, b = warped_a[keep_a], kps_b[keep_b]
    n = len(wa) + len(b)
    if len(wa) == 0 or len(b) == 0:
        return (0.0 if n else float("nan")), float("nan")
    dist = _pairwise(wa, b)
    min_a, min_b = dist.min(axis=1), dist.min(axis=0)
    close = np.concatenate([min_a[min_a <= eps], min_b[min_b <= eps]])
    rep = len(close) / n
    return float(rep), float(close.mean()) if len(close) else float("nan")


def corner_error(H_est: np.ndarray | None, H_ab: np.ndarray, shape_a: Sequence[int]) -> float:
    """Mean distance (pixels) of A's 4 corners mapped by ``H_est`` and ``H_ab``; inf when ``H_est`` is None."""
    if H_est is None:
        return float("inf")
    h, w = int(shape_a[0]), int(shape_a[1])
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float64)
    err = np.linalg.norm(warp_points(corners, H_est) - warp_points(corners, H_ab), axis=1).mean()
    return float(err) if np.isfinite(err) else float("inf")


def estimate_homography(kps_a: np.ndarray, kps_b: np.ndarray, matches: np.ndarray,
                        ransac_threshold: float = 3.0) -> np.ndarray | None:
    """``cv2.findHomography`` (RANSAC) on ``matches (P, 2)`` index pairs; None when it cannot."""
    matches = np.asarray(matches, dtype=np.int64).reshape(-1, 2)
    if len(matches) < 4:
        return None
    src = np.asarray(kps_a, np.float64)[matches[:, 0]].reshape(-1, 1, 2)
    dst = np.asarray(kps_b, np.float64)[matches[:, 1]].reshape(-1, 1, 2)
    H, _ = cv2.findHomography(src, dst, cv2.RANSAC, ransac_threshold)
    return None if H is None or not np.all(np.isfinite(H)) else H


def nearest_neighbours(desc_a: np.ndarray, desc_b: np.ndarray, binary: bool) -> np.ndarray:
    """``(N,)`` index into ``desc_b`` of each row's nearest neighbour (Hamming if ``binary``, else L2)."""
    if len(desc_a) == 0 or len(desc_b) == 0:
        return np.zeros(len(desc_a), np.int64) - 1
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING if binary else cv2.NORM_L2, crossCheck=False)
    out = np.full(len(desc_a), -1, np.int64)
    for m in matcher.match(_cv_desc(desc_a, binary), _cv_desc(desc_b, binary)):
        out[m.queryIdx] = m.trainIdx
    return out


def mutual_matches(desc_a: np.ndarray, desc_b: np.ndarray, binary: bool) -> np.ndarray:
    """``(P, 2)`` int64 mutual nearest-neighbour index pairs (i in A, j in B)."""
    nn_ab = nearest_neighbours(desc_a, desc_b, binary)
    nn_ba = nearest_neighbours(desc_b, desc_a, binary)
    idx = np.arange(len(desc_a))
    ok = nn_ab >= 0
    ok[ok] = nn_ba[nn_ab[ok]] == idx[ok]
    return np.stack([idx[ok], nn_ab[ok]], axis=1).astype(np.int64)


def _cv_desc(desc: np.ndarray, binary: bool) -> np.ndarray:
    return np.ascontiguousarray(desc, dtype=np.uint8 if binary else np.float32)


def matching_score(kps_a: np.ndarray, kps_b: np.ndarray, desc_a: np.ndarray, desc_b: np.ndarray,
                   H_ab: np.ndarray, shape_a: Sequence[int], shape_b: Sequence[int], eps: float = 3.0,
                   binary: bool = False) -> float:
    """Symmetric matching score in [0, 1] -- see the module docstring."""
    kps_a, kps_b = np.asarray(kps_a, np.float64).reshape(-1, 2), np.asarray(kps_b, np.float64).reshape(-1, 2)

    def one_way(k_src, k_dst, d_src, d_dst, H, shape_dst) -> float:
        warped = warp_points(k_src, H)
        vis = inside(warped, shape_dst)
        if not vis.any() or len(k_dst) == 0:
            return 0.0
        nn = nearest_neighbours(d_src[vis], d_dst, binary)
        correct = np.linalg.norm(warped[vis] - k_dst[nn], axis=1) < eps
        return float(correct.mean())

    return 0.5 * (one_way(kps_a, kps_b, desc_a, desc_b, H_ab, shape_b)
                  + one_way(kps_b, kps_a, desc_b, desc_a, np.linalg.inv(H_ab), shape_a))


@dataclass
class PairMetrics:
    """Metrics of one image pair."""

    repeatability: float
    localization: float
    corner_error: float
    mscore: float
    n_matches: int


def evaluate_pair(kps_a: np.ndarray, desc_a: np.ndarray, kps_b: np.ndarray, desc_b: np.ndarray,
                  H_ab: np.ndarray, shape_a: Sequence[int], shape_b: Sequence[int], eps: float = 3.0,
                  binary: bool = False) -> PairMetrics:
    """All metrics of one pair: keypoints ``(N, 2)``/``(M, 2)``, descriptors ``(N, D)``/``(M, D)``."""
    rep, loc = repeatability(kps_a, kps_b, H_ab, shape_a, shape_b, eps)
    matches = mutual_matches(desc_a, desc_b, binary)
    err = corner_error(estimate_homography(kps_a, kps_b, matches), H_ab, shape_a)
    ms = matching_score(kps_a, kps_b, desc_a, desc_b, H_ab, shape_a, shape_b, eps, binary)
    return PairMetrics(rep, loc, err, ms, int(len(matches)))


@dataclass
class Summary:
    """Mean metrics over pairs (NaN localisation errors are skipped; a failed H counts as incorrect)."""

    repeatability: float
    localization: float
    c1: float
    c3: float
    c5: float
    mscore: float
    n_pairs: int
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("repeatability", "localization", "c1", "c3", "c5", "mscore", "n_pairs")}
        out.update(self.extra)
        return out


def summarize(pairs: Sequence[PairMetrics], thresholds: Sequence[float] = CORNER_THRESHOLDS) -> Summary:
    """Average ``PairMetrics`` into C1/C3/C5 (fractions of pairs with corner error <= 1, 3, 5 px) etc."""
    if not pairs:
        raise ValueError("summarize: no pairs were evaluated")
    rep = np.array([p.repeatability for p in pairs], np.float64)
    loc = np.array([p.localization for p in pairs], np.float64)
    err = np.array([p.corner_error for p in pairs], np.float64)
    acc = [float(np.mean(err <= t)) for t in thresholds]
    return Summary(float(np.nanmean(rep)) if np.isfinite(rep).any() else float("nan"),
                   float(np.nanmean(loc)) if np.isfinite(loc).any() else float("nan"),
                   acc[0], acc[1], acc[2], float(np.mean([p.mscore for p in pairs])), len(pairs))
