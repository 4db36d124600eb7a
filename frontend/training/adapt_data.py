"""What `kp3d-vo adapt` learns from: one backend run over the user's sequence.

The application runs the odometry (``apps.adapt.run_backend``: DS-DSO with the current networks, or pure
DSO) frame by frame and hands in a :class:`BackendRun`: besides the final optimised trajectory, a
snapshot of the backend's active window points (world coordinates) and of the whole trajectory at
every new keyframe. ``sparse_depths`` turns those snapshots into sparse per-frame depth: the window points of a snapshot
taken a few keyframes *after* the frame (the points are then optimised over several keyframes and were
hosted in the frame's neighbourhood, so few are occluded) projected with that snapshot's pose of the
frame; a z-buffer on the depth network's pixel grid keeps the nearest point per pixel.
``build_samples`` assembles the training samples at the depth network's input size: target frame,
source frames with the backend's relative poses, intrinsics, the sparse depth map.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import cv2
import numpy as np

from frontend.training.data import FrameSequence

logger = logging.getLogger(__name__)

GOOD_STATUSES = ("tracked", "keyframe", "recovered")


@dataclass
class BackendRun:
    """The backend's view of a sequence (poses in the backend's unit: metres with a depth prior).

    world_from_cam: (N, 4, 4) float64 final (refined) pose of every input frame.
    statuses: per input frame, lower-case status (``tracked``/``keyframe``/``recovered`` have a pose;
        ``initializing``, ``lost``, ``skipped`` do not count).
    keyframes: input frame indices of the keyframes.
    snapshots: per new keyframe, ``(input frames so far n, window points (M, 3) float32 world,
        trajectory (n, 4, 4) float64 at that time)``.
    points_xyz: (P, 3) float32 all map points at the end (world).
    summary: frames, keyframes, points, lost frames, CPU/wall time.
    """

    world_from_cam: np.ndarray
    statuses: list[str]
    keyframes: list[int]
    snapshots: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    points_xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    summary: dict[str, Any] = field(default_factory=dict)


def project_to_grid(points_world: np.ndarray, world_from_cam: np.ndarray, K: np.ndarray, width: int,
                    height: int, min_depth: float = 1e-3) -> np.ndarray:
    """Sparse z-depth map of world points seen from a camera, nearest point per pixel.

    points_world: (M, 3) world coordinates; world_from_cam: (4, 4); K: (3, 3) intrinsics of the
    ``width`` x ``height`` grid. Returns (height, width) float32, 0 where no point projects.
    """
    out = np.zeros((height, width), np.float32)
    if len(points_world) == 0:
        return out
    cam_from_world = np.linalg.inv(world_from_cam)
    p = points_world.astype(np.float64) @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    z = p[:, 2]
    front = z > min_depth
    p, z = p[front], z[front]
    u = np.rint(K[0, 0] * p[:, 0] / z + K[0, 2]).astype(np.int64)
    v = np.rint(K[1, 1] * p[:, 1] / z + K[1, 2]).astype(np.int64)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    u, v, z = u[inside], v[inside], z[inside]
    order = np.argsort(-z)  # far first: the nearest point per pixel is written last and wins
    out[v[order], u[order]] = z[order]
    return out


def sparse_depths(run: BackendRun, K: np.ndarray, width: int, height: int, settle_keyframes: int = 2
                  ) -> list[np.ndarray]:
    """Sparse depth (height, width) float32 (backend unit, 0 = none) of every input frame.

    Frame p uses the snapshot taken ``settle_keyframes`` keyframes after it (or the last one); frames
    before the first snapshot get an empty map. ``K`` is the intrinsics of the ``width`` x ``height`` grid.
    """
    if settle_keyframes < 0:
        raise ValueError(f"settle_keyframes must be >= 0, got {settle_keyframes}")
    counts = np.array([s[0] for s in run.snapshots], np.int64)
    out = []
    for p in range(len(run.world_from_cam)):
        first = int(np.searchsorted(counts, p + 1))  # first snapshot that already contains frame p
        if first >= len(run.snapshots):
            out.append(np.zeros((height, width), np.float32))
            continue
        _, xyz, traj = run.snapshots[min(first + settle_keyframes, len(run.snapshots) - 1)]
        out.append(project_to_grid(xyz, traj[p], K, width, height))
    return out


@dataclass
class Sample:
    """One training target at the depth network's input size (H, W).

    images: (S + 1, H, W) float32 in [0, 1]: target, then the sources.
    source_from_target: (S, 4, 4) float64 poses (backend unit).
    sparse_depth: (H, W) float32 backend depth of the target (0 = none).
    frame: input frame index of the target.
    """

    images: np.ndarray
    source_from_target: np.ndarray
    sparse_depth: np.ndarray
    frame: int


def resize_grey(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W) uint8 -> (height, width) float32 in [0, 1], resized like ``FrontendRuntime`` does."""
    shrink = image.shape[0] * image.shape[1] > width * height
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return small.astype(np.float32) / 255.0


def grey_reader(sequence: FrameSequence, width: int, height: int) -> Callable[[int], np.ndarray]:
    """``frame index -> (height, width) float32`` image of ``sequence`` (``resize_grey``), each read once."""
    cache: dict[int, np.ndarray] = {}

    def grey(p: int) -> np.ndarray:
        if p not in cache:
            cache[p] = resize_grey(sequence.image(p), width, height)
        return cache[p]

    return grey


def build_samples(sequence: FrameSequence, run: BackendRun, depths: list[np.ndarray], width: int, height: int,
                  offsets: tuple[int, ...] = (-1, 1), min_baseline_ratio: float = 0.2) -> list[Sample]:
    """Training samples from a backend run: every input frame whose neighbours at ``offsets`` exist and
    were tracked like itself, with a translation to the farthest source of at least
    ``min_baseline_ratio`` x the median one (static frames teach nothing)."""
    n = len(run.world_from_cam)
    good = [s in GOOD_STATUSES for s in run.statuses]
    candidates = []
    for p in range(n):
        idx = [p + o for o in offsets]
        if min(idx) < 0 or max(idx) >= n or not good[p] or not all(good[j] for j in idx):
            continue
        rel = [np.linalg.inv(run.world_from_cam[j]) @ run.world_from_cam[p] for j in idx]
        baseline = max(float(np.linalg.norm(r[:3, 3])) for r in rel)
        candidates.append((p, idx, np.stack(rel), baseline))
    if not candidates:
        raise ValueError("adapt: the backend run has no tracked frames with tracked neighbours "
                         f"({n} frames, statuses {sorted(set(run.statuses))})")
    median = float(np.median([c[3] for c in candidates]))
    grey = grey_reader(sequence, width, height)
    samples = []
    for p, idx, rel, baseline in candidates:
        if baseline < min_baseline_ratio * median:
            continue
        images = np.stack([grey(p)] + [grey(j) for j in idx])
        samples.append(Sample(images, rel, depths[p], p))
    return samples
