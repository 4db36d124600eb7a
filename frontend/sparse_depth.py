"""Depth on real footage without depth sensors: points tracked between frames, triangulated with true poses.

A real sequence such as KITTI has no depth maps, but its ground-truth poses are metric. A point tracked
from frame ``i`` into frame ``i + gap`` and triangulated with the true relative pose has a metric depth in
frame ``i`` whose error is the tracking error over the parallax: with 1 px of error and at least
``min_parallax_px`` = 8 px of parallax (the image motion left after the true rotation is removed), about
1/8 of the depth at worst, 1/20 typically. Those sparse depths score a DepthNet on real frames, where
the held-out renders cannot: the DepthNets that were better on the renders were worse DS-DSO priors on
KITTI (bench/RESULTS.md, 2026-12-07).

The tracks come from OpenCV (Shi-Tomasi corners, pyramidal Lucas-Kanade with a forward-backward check,
linear triangulation), not from the KeypointNet, so the reference does not depend on the network under
test. Moving objects violate the static-scene assumption; the reprojection test removes most of them.

Core math only: images ``(H, W) uint8``, poses ``(4, 4) float64`` world_from_cam, intrinsics ``(3, 3)``;
nothing here reads files (``bench/real_depth.py`` and the training validation open the sequences).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np

from frontend.common.typed_config import check_ranges


@dataclass
class TriangulationOptions:
    """How the reference points are made (defaults measured on KITTI 00 / 02 / 07 at 640x192)."""

    frame_gap: int = 1                  # frames between consecutive views of a point
    views: int = 3                      # frames a point is tracked through (i, i + gap, ...); >= 2
    max_corners: int = 1000             # Shi-Tomasi corners per reference frame (cv2.goodFeaturesToTrack)
    corner_quality: float = 0.01        # of the strongest corner's response
    corner_min_distance_px: float = 7.0
    lk_window_px: int = 21              # Lucas-Kanade window (pixels, odd)
    lk_levels: int = 3                  # pyramid levels above the image
    max_forward_backward_px: float = 0.5  # a track followed back must land this close to its start
    min_parallax_px: float = 8.0        # image motion after removing the true rotation (depth's lever)
    max_reprojection_px: float = 1.0    # triangulated point reprojected into the second frame
    min_depth_m: float = 1.0
    max_depth_m: float = 40.0           # beyond, the parallax of a 10 Hz car camera is too small
    min_baseline_m: float = 0.3         # pairs whose camera moved less are skipped

    def check(self) -> None:
        check_ranges("sparse depth", {
            "frame_gap": (self.frame_gap, self.frame_gap >= 1, ">= 1"),
            "views": (self.views, self.views >= 2, ">= 2"),
            "max_corners": (self.max_corners, self.max_corners >= 1, ">= 1"),
            "corner_quality": (self.corner_quality, 0 < self.corner_quality < 1, "in (0, 1)"),
            "corner_min_distance_px": (self.corner_min_distance_px, self.corner_min_distance_px >= 1, ">= 1"),
            "lk_window_px": (self.lk_window_px, self.lk_window_px >= 3 and self.lk_window_px % 2 == 1,
                             "an odd number >= 3"),
            "lk_levels": (self.lk_levels, 0 <= self.lk_levels <= 8, "in 0..8"),
            "max_forward_backward_px": (self.max_forward_backward_px, self.max_forward_backward_px > 0, "> 0"),
            "min_parallax_px": (self.min_parallax_px, self.min_parallax_px > 0, "> 0"),
            "max_reprojection_px": (self.max_reprojection_px, self.max_reprojection_px > 0, "> 0"),
            "min_depth_m": (self.min_depth_m, 0 < self.min_depth_m < self.max_depth_m, "in (0, max_depth_m)"),
            "max_depth_m": (self.max_depth_m, self.max_depth_m < math.inf, "finite"),
            "min_baseline_m": (self.min_baseline_m, self.min_baseline_m >= 0, ">= 0")})


@dataclass
class SparseDepthFrame:
    """Reference depths of one frame: ``pixels (N, 2) float32`` in its image, ``depth_m (N,) float64``
    (z in its camera, metres), ``size (W, H)`` of that image, ``index`` in the sequence."""

    index: int
    pixels: np.ndarray
    depth_m: np.ndarray
    size: tuple[int, int]


def _check_image(image: np.ndarray, name: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"{name}: expected an (H, W) uint8 grey image, got "
                         f"{getattr(image, 'dtype', type(image).__name__)} {getattr(image, 'shape', '')}")


def _track(image_a: np.ndarray, image_b: np.ndarray, points: np.ndarray, options: TriangulationOptions
           ) -> tuple[np.ndarray, np.ndarray]:
    """Lucas-Kanade tracks ``(N, 1, 2) float32`` of ``points`` into ``image_b`` and the mask of those that
    came back within ``max_forward_backward_px``."""
    lk = dict(winSize=(options.lk_window_px, options.lk_window_px), maxLevel=options.lk_levels)
    tracked, ok_fwd, _ = cv2.calcOpticalFlowPyrLK(image_a, image_b, points, None, **lk)
    back, ok_bwd, _ = cv2.calcOpticalFlowPyrLK(image_b, image_a, tracked, None, **lk)
    fb = np.linalg.norm((back - points).reshape(-1, 2), axis=1)
    return tracked, (ok_fwd.ravel() == 1) & (ok_bwd.ravel() == 1) & (fb < options.max_forward_backward_px)


def _reprojection_px(X: np.ndarray, b_from_a: np.ndarray, K: np.ndarray, observed: np.ndarray) -> np.ndarray:
    Y = X @ b_from_a[:3, :3].T + b_from_a[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        proj = Y @ K.T
        err = np.linalg.norm(proj[:, :2] / proj[:, 2:3] - observed, axis=1)
    return np.where(Y[:, 2] > 0, err, np.inf)


def triangulate_views(images: Sequence[np.ndarray], cam_from_first: Sequence[np.ndarray], K: np.ndarray,
                      options: TriangulationOptions) -> tuple[np.ndarray, np.ndarray]:
    """Corners of ``images[0]`` tracked through the other views and triangulated with the true poses.

    images: two or more ``(H, W) uint8`` frames of one size; cam_from_first: their ``(4, 4)`` float64
    cam_k_from_cam_0 (metres; the first is the identity); K: ``(3, 3)``. Each corner is tracked from view
    to view (forward-backward checked), triangulated from the first and the last view (the longest
    baseline) and must reproject within ``max_reprojection_px`` into every view: a third view rejects
    most of the tracks that two views cannot (a T-junction of two depths, a track that slid along its
    epipolar line). Returns ``pixels (N, 2) float32`` in ``images[0]`` and ``depth_m (N,) float64`` (z in
    the first camera) of the points that also pass the parallax and depth tests (N may be 0).
    """
    if len(images) < 2 or len(images) != len(cam_from_first):
        raise ValueError(f"triangulate_views: need two or more images and one pose per image, got "
                         f"{len(images)} images and {len(cam_from_first)} poses")
    for k, image in enumerate(images):
        _check_image(image, f"images[{k}]")
        if image.shape != images[0].shape:
            raise ValueError(f"triangulate_views: images of different sizes {images[0].shape} and {image.shape}")
    empty = (np.zeros((0, 2), np.float32), np.zeros((0,), np.float64))
    corners = cv2.goodFeaturesToTrack(images[0], options.max_corners, options.corner_quality,
                                      options.corner_min_distance_px)
    if corners is None:
        return empty
    tracks, alive = [corners], np.ones(len(corners), bool)
    for k in range(1, len(images)):
        nxt, ok = _track(images[k - 1], images[k], tracks[-1], options)
        tracks.append(nxt)
        alive &= ok
    if not alive.any():
        return empty
    obs = [t.reshape(-1, 2)[alive].astype(np.float64) for t in tracks]
    last = np.asarray(cam_from_first[-1], dtype=np.float64)
    R = last[:3, :3]
    rotated = np.c_[obs[0], np.ones(len(obs[0]))] @ (K @ R @ np.linalg.inv(K)).T  # a point at infinity
    parallax = np.linalg.norm(obs[-1] - rotated[:, :2] / rotated[:, 2:3], axis=1)
    X = cv2.triangulatePoints(K @ np.eye(3, 4), K @ last[:3], obs[0].T, obs[-1].T)
    with np.errstate(divide="ignore", invalid="ignore"):
        X = (X[:3] / X[3]).T
    keep = (parallax > options.min_parallax_px) & (X[:, 2] > options.min_depth_m) & (X[:, 2] < options.max_depth_m)
    for k in range(1, len(images)):
        keep &= _reprojection_px(X, np.asarray(cam_from_first[k], np.float64), K, obs[k]) < options.max_reprojection_px
    return obs[0][keep].astype(np.float32), X[keep, 2].astype(np.float64)


def triangulate_pair(image_a: np.ndarray, image_b: np.ndarray, b_from_a: np.ndarray, K: np.ndarray,
                     options: TriangulationOptions) -> tuple[np.ndarray, np.ndarray]:
    """:func:`triangulate_views` of two frames: ``b_from_a`` is cam_b_from_cam_a."""
    return triangulate_views([image_a, image_b], [np.eye(4), b_from_a], K, options)


def build_references(image: Callable[[int], np.ndarray], world_from_cam: np.ndarray, K: np.ndarray,
                     options: TriangulationOptions | None = None, frames: Sequence[int] | None = None
                     ) -> list[SparseDepthFrame]:
    """Reference depths of a sequence with true poses.

    image: ``i -> (H, W) uint8`` frame i; world_from_cam: ``(N, 4, 4)`` float64 (metres); K: ``(3, 3)`` of
    the frames as ``image`` returns them; frames: reference frame indices (default every frame whose
    ``views - 1`` partners, ``frame_gap`` apart, exist). Each reference frame's points come from
    :func:`triangulate_views`; frames whose camera moved less than ``min_baseline_m`` to the last view or
    that keep no point are left out, and so are those where a view has no pose (a NaN row).
    """
    options = options or TriangulationOptions()
    options.check()
    poses = np.asarray(world_from_cam, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4):
        raise ValueError(f"world_from_cam: expected (N, 4, 4) poses (NaN rows: frames without one), got shape "
                         f"{poses.shape}")
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3) or not (K[0, 0] > 0 and K[1, 1] > 0):
        raise ValueError(f"K: expected a (3, 3) camera matrix with positive focal lengths, got {K.tolist()}")
    span = options.frame_gap * (options.views - 1)
    indices = range(len(poses) - span) if frames is None else frames
    out = []
    read: dict[int, np.ndarray] = {}  # each frame is read once while the views slide over it
    for i in indices:
        if not 0 <= i < len(poses) - span:
            raise ValueError(f"frames: index {i} has no frame {span} later among {len(poses)} poses")
        views = [i + k * options.frame_gap for k in range(options.views)]
        if not np.all(np.isfinite(poses[views])):  # a ground truth that does not cover these frames
            continue
        cam_from_first = [np.linalg.inv(poses[j]) @ poses[i] for j in views]
        if np.linalg.norm(cam_from_first[-1][:3, 3]) < options.min_baseline_m:
            continue
        read = {j: read[j] if j in read else image(j) for j in views}
        pixels, depth = triangulate_views([read[j] for j in views], cam_from_first, K, options)
        if len(depth):
            out.append(SparseDepthFrame(int(i), pixels, depth, (read[i].shape[1], read[i].shape[0])))
    return out


def sample_at(depth: np.ndarray, pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear ``depth (h, w)`` at ``pixels (N, 2)`` of an image of ``size (W, H)`` (pixel centres scaled
    to the map's size); ``(N,)`` float64, 0 where the map or a neighbour is not > 0 or outside."""
    if len(pixels) == 0:
        return np.zeros((0,), np.float64)
    h, w = depth.shape
    sx, sy = w / size[0], h / size[1]
    mx = ((pixels[:, 0:1] + 0.5) * sx - 0.5).astype(np.float32)
    my = ((pixels[:, 1:2] + 0.5) * sy - 0.5).astype(np.float32)
    d = np.ascontiguousarray(depth, dtype=np.float32)
    values = cv2.remap(d, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0).ravel()
    valid = cv2.remap((d > 0).astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                      borderValue=0.0).ravel()
    return np.where(valid > 0.999, values, 0.0).astype(np.float64)


def sparse_depth_errors(references: Sequence[SparseDepthFrame], depth_of: Callable[[int], np.ndarray],
                        top_fraction: float = 2.0 / 3.0) -> dict[str, float]:
    """Errors of predicted depth maps against the reference depths.

    depth_of: ``frame index -> (h, w)`` depth in metres (any size; 0 = unknown). Returns:

    - ``abs_rel``: mean |s d - t| / t with each frame's median scaling s = median(t / d) (shape);
      ``a1``: the share of points within 1.25x after that scaling;
    - ``abs_rel_metric``: the same without scaling (the depth's unit counts);
    - ``metric_factor``: exp(mean over frames of log s), the factor that would put the depth in metres,
      and ``unit_log_std``: the standard deviation of log s over the frames (the unit's spread);
    - ``log_bias_top`` / ``log_bias_bottom``: median log(s d / t) of the points in the upper ``top_fraction``
      of the image and below it (after scaling; > 0 = too far), and ``shape_bias`` = top - bottom;
    - ``points`` and ``frames`` scored.
    """
    if not references:
        raise ValueError("sparse_depth_errors: no reference frames (too little motion, or no point passed "
                         "the triangulation tests)")
    rel, rel_metric, within, units, top, bottom = [], [], [], [], [], []
    for ref in references:
        d = sample_at(np.asarray(depth_of(ref.index)), ref.pixels, ref.size)
        ok = d > 0
        if ok.sum() < 3:
            continue
        d, t, y = d[ok], ref.depth_m[ok], ref.pixels[ok, 1]
        log_s = float(np.median(np.log(t / d)))
        scaled = d * math.exp(log_s)
        units.append(log_s)
        rel.append(np.abs(scaled - t) / t)
        rel_metric.append(np.abs(d - t) / t)
        within.append(np.maximum(scaled / t, t / scaled) < 1.25)
        upper = y < top_fraction * ref.size[1]
        top.append(np.log(scaled[upper] / t[upper]))
        bottom.append(np.log(scaled[~upper] / t[~upper]))
    if not units:
        raise ValueError("sparse_depth_errors: the depth maps are unknown (0) at every reference point")
    top_all, bottom_all = np.concatenate(top), np.concatenate(bottom)
    bias_top = float(np.median(top_all)) if len(top_all) else float("nan")
    bias_bottom = float(np.median(bottom_all)) if len(bottom_all) else float("nan")
    return {"abs_rel": float(np.mean(np.concatenate(rel))),
            "abs_rel_metric": float(np.mean(np.concatenate(rel_metric))),
            "a1": float(np.mean(np.concatenate(within))), "unit_log_std": float(np.std(units)),
            "metric_factor": float(math.exp(np.mean(units))), "log_bias_top": bias_top,
            "log_bias_bottom": bias_bottom, "shape_bias": bias_top - bias_bottom,
            "points": int(sum(len(r) for r in rel)), "frames": len(units)}
