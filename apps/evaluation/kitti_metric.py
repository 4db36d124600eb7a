"""The KITTI odometry devkit metric (t_rel, r_rel), exactly as ``evaluate_odometry.cpp`` computes it.

Pure math, no I/O. The definition (Geiger et al., KITTI odometry devkit):

* ``dist[k]``: distance travelled along the *ground-truth* positions up to frame ``k``
  (``dist[0] = 0``, sum of consecutive position differences).
* Segments start every ``step`` frames (default 10, "every second" at 10 Hz) at frame ``i``;
  for each length ``L`` in ``lengths`` (default 100, 200, ..., 800 m) the segment ends at the
  first frame ``j`` with ``dist[j] > dist[i] + L``; if there is none the segment is skipped.
* Relative pose error of a segment: ``E = inv(inv(est[i]) est[j]) @ (inv(gt[i]) gt[j])``;
  rotation error ``acos(clamp(0.5 * (trace(E[:3,:3]) - 1), -1, 1)) / L`` (rad/m), translation
  error ``|E[:3, 3]| / L`` (m/m).
* The sequence errors are the plain means over ALL segments of all lengths (pooled, not a mean
  of per-length means); reported here as t_rel in % and r_rel in deg/100 m.

Note the metric needs no alignment: it only looks at relative motions, but it is not scale
invariant, so a monocular estimate must carry metric scale (see ``apps.evaluation.alignment``).
"""
from __future__ import annotations

import dataclasses
import logging
import math
from typing import Sequence

import numpy as np

from apps.io.poses import check_poses

logger = logging.getLogger(__name__)

#: Segment lengths of the KITTI devkit, metres.
KITTI_LENGTHS_M: tuple[int, ...] = (100, 200, 300, 400, 500, 600, 700, 800)
#: Segment start stride of the KITTI devkit, frames.
KITTI_STEP_FRAMES: int = 10

#: Degrees per radian used for r_rel by default.
DEG_PER_RAD = 180.0 / math.pi
#: The rounded factor the KP3D authors' devkit copy used when writing ``NN_stats.txt``
#: (``(r_err/num) * (57.3 * 100)``); pass it as ``deg_per_rad`` to reproduce those files.
KP3D_STATS_DEG_PER_RAD = 57.3
#: Arithmetic modes of :func:`kitti_errors`.
ARITHMETICS = ("devkit", "float64")
#: m/m -> %
M_PER_M_TO_PERCENT = 100.0


@dataclasses.dataclass(frozen=True)
class LengthErrors:
    """Errors of the segments of one length. ``t_rel`` in %, ``r_rel`` in deg/100 m."""

    t_rel: float
    r_rel: float
    n_segments: int

    def __iter__(self):  # allows ``t, r, n = per_length[100]``
        return iter((self.t_rel, self.r_rel, self.n_segments))


@dataclasses.dataclass(frozen=True)
class KittiErrors:
    """Result of :func:`kitti_errors`.

    t_rel: mean translation error over all segments, % (NaN when no segment fits).
    r_rel: mean rotation error over all segments, deg/100 m (NaN when no segment fits).
    per_length: segment length (m) -> ``LengthErrors(t_rel %, r_rel deg/100m, n_segments)``,
        only for the used lengths.
    used_lengths: lengths (m) with at least one segment, ascending.
    skipped_lengths: requested lengths (m) with no segment (trajectory too short).
    n_segments: number of segments pooled into t_rel / r_rel.
    gt_path_length: length of the ground-truth path, metres.
    segment_t_err / segment_r_err: (M,) float64 per-segment errors in m/m and rad/m (devkit units),
        in devkit order (start frame major, length minor).
    segment_first / segment_last / segment_length: (M,) int64 first frame, last frame, length (m).
    """

    t_rel: float
    r_rel: float
    per_length: dict[int, LengthErrors]
    used_lengths: tuple[int, ...]
    skipped_lengths: tuple[int, ...]
    n_segments: int
    gt_path_length: float
    segment_t_err: np.ndarray = dataclasses.field(repr=False, compare=False)
    segment_r_err: np.ndarray = dataclasses.field(repr=False, compare=False)
    segment_first: np.ndarray = dataclasses.field(repr=False, compare=False)
    segment_last: np.ndarray = dataclasses.field(repr=False, compare=False)
    segment_length: np.ndarray = dataclasses.field(repr=False, compare=False)


def trajectory_distances(world_from_cam: np.ndarray, arithmetic: str = "float64") -> np.ndarray:
    """Cumulative path length along the positions, metres.

    world_from_cam: (N, 4, 4) float64. Returns (N,) float64 for ``arithmetic="float64"`` or the
    devkit's sequentially accumulated (N,) float32 for ``arithmetic="devkit"``.
    """
    if arithmetic == "float64":
        steps = np.linalg.norm(np.diff(world_from_cam[:, :3, 3], axis=0), axis=1)
        return np.concatenate(([0.0], np.cumsum(steps)))
    delta = (world_from_cam[:-1, :3, 3] - world_from_cam[1:, :3, 3]).astype(np.float32)
    steps = np.sqrt(_sum3_f32(delta * delta))
    # np.add.accumulate is strictly sequential, like the devkit's running float sum.
    return np.concatenate((np.zeros(1, np.float32), np.add.accumulate(steps, dtype=np.float32)))


def _sum3_f32(v: np.ndarray) -> np.ndarray:
    """(M, 3) float32 -> (M,) float32 summed left to right in float32, as C++ ``a + b + c``."""
    return (v[:, 0] + v[:, 1]) + v[:, 2]


def _mean_f32(x: np.ndarray) -> float:
    """Mean of a (M,) float32 array the devkit's way: sequential float32 sum / float32 count."""
    total = np.add.accumulate(x, dtype=np.float32)[-1]
    return float(np.float32(total / np.float32(x.size)))


def _segment_errors(pose_error: np.ndarray, seg_len: np.ndarray, arithmetic: str):
    """Per-segment (t_err m/m, r_err rad/m) of (M, 4, 4) error poses and (M,) lengths."""
    if arithmetic == "float64":
        cos_angle = 0.5 * (np.trace(pose_error[:, :3, :3], axis1=1, axis2=2) - 1.0)
        r_err = np.arccos(np.clip(cos_angle, -1.0, 1.0)) / seg_len
        t_err = np.linalg.norm(pose_error[:, :3, 3], axis=1) / seg_len
        return t_err, r_err
    # evaluate_odometry.cpp: the diagonal and translation are read into float variables, the
    # trace is summed in float, 0.5 * (trace - 1.0) is evaluated in double and stored as float,
    # acos/sqrt/division run in float. acos is taken in double and rounded once (a correctly
    # rounded acosf, as glibc's), which NumPy's float32 arccos is not.
    diag = np.diagonal(pose_error[:, :3, :3], axis1=1, axis2=2).astype(np.float32)
    cos_angle = (0.5 * (_sum3_f32(diag).astype(np.float64) - 1.0)).astype(np.float32)
    cos_angle = np.clip(cos_angle, np.float32(-1.0), np.float32(1.0))
    angle = np.arccos(cos_angle.astype(np.float64)).astype(np.float32)
    trans = pose_error[:, :3, 3].astype(np.float32)
    norm = np.sqrt(_sum3_f32(trans * trans))
    len32 = seg_len.astype(np.float32)
    return norm / len32, angle / len32


def _validate_lengths_step(lengths: Sequence[float], step: int) -> tuple[int, ...]:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"step: expected a positive integer number of frames, got {step!r}")
    out = []
    for length in lengths:
        if not (isinstance(length, (int, float, np.integer, np.floating)) and length > 0
                and float(length) == int(length)):
            raise ValueError(f"lengths: expected positive whole metres, got {length!r}")
        out.append(int(length))
    if not out:
        raise ValueError("lengths: expected at least one segment length")
    if len(set(out)) != len(out):
        raise ValueError(f"lengths: duplicate values in {list(lengths)}")
    return tuple(out)


def kitti_errors(
    gt_world_from_cam: np.ndarray,
    est_world_from_cam: np.ndarray,
    lengths: Sequence[float] = KITTI_LENGTHS_M,
    step: int = KITTI_STEP_FRAMES,
    *,
    arithmetic: str = "devkit",
    deg_per_rad: float = DEG_PER_RAD,
) -> KittiErrors:
    """KITTI devkit relative errors of an estimate against ground truth, frame by frame.

    gt_world_from_cam: (N, 4, 4) float64 ground-truth poses (cam-to-world).
    est_world_from_cam: (N, 4, 4) float64 estimated poses, same frames (no alignment applied here).
    lengths: segment lengths, metres (devkit: 100..800).
    step: segment start stride, frames (devkit: 10).
    arithmetic: "devkit" (default) reproduces ``evaluate_odometry.cpp`` bit for bit, including
        its float32 distances, trace, acos and sums (the float32 trace quantises rotation errors
        below ~5e-4 rad); "float64" is the same definition in double precision (differs in the
        4th-6th significant digit).
    deg_per_rad: conversion used for r_rel (default 180/pi; the KP3D authors' ``NN_stats.txt``
        files were written with 57.3, see ``KP3D_STATS_DEG_PER_RAD``).

    Returns :class:`KittiErrors`; lengths too long for the trajectory are listed in
    ``skipped_lengths``; when no segment fits at all t_rel / r_rel are NaN (and a warning is logged).
    Raises ValueError for wrong shapes, mismatched counts or non-finite poses.
    """
    gt = check_poses(gt_world_from_cam, "gt_world_from_cam", min_poses=1, rigid=True)
    est = check_poses(est_world_from_cam, "est_world_from_cam", min_poses=1, rigid=True)
    if gt.shape[0] != est.shape[0]:
        raise ValueError(f"gt_world_from_cam has {gt.shape[0]} poses but est_world_from_cam has "
                         f"{est.shape[0]}: the metric compares the same frames")
    lengths_m = _validate_lengths_step(lengths, step)
    if arithmetic not in ARITHMETICS:
        raise ValueError(f"arithmetic: expected one of {ARITHMETICS}, got {arithmetic!r}")
    if not (np.isfinite(deg_per_rad) and deg_per_rad > 0):
        raise ValueError(f"deg_per_rad: expected a positive number, got {deg_per_rad!r}")
    dtype = np.float32 if arithmetic == "devkit" else np.float64

    dist = trajectory_distances(gt, arithmetic)
    n = gt.shape[0]
    first = np.arange(0, n, step)
    # Devkit order: start frame major, length minor.
    first_grid = np.repeat(first, len(lengths_m))
    length_grid = np.tile(np.asarray(lengths_m, dtype=dtype), first.size)
    # First frame whose distance exceeds dist[first] + L ("side=right": strictly greater). The
    # distances never decrease, so this index is > first for every L > 0.
    last_grid = np.searchsorted(dist, (dist[first_grid] + length_grid).astype(dtype), side="right")
    valid = last_grid < n
    seg_first = first_grid[valid].astype(np.int64)
    seg_last = last_grid[valid].astype(np.int64)
    seg_len = length_grid[valid]

    # delta = inv(P_first) @ P_last ; error = inv(delta_est) @ delta_gt (general inverses, as devkit).
    delta_gt = np.linalg.solve(gt[seg_first], gt[seg_last])
    delta_est = np.linalg.solve(est[seg_first], est[seg_last])
    pose_error = np.linalg.solve(delta_est, delta_gt)
    t_err, r_err = _segment_errors(pose_error, seg_len, arithmetic)
    mean = _mean_f32 if arithmetic == "devkit" else (lambda x: float(np.mean(x)))
    r_scale = deg_per_rad * 100.0

    per_length: dict[int, LengthErrors] = {}
    used, skipped = [], []
    for length in lengths_m:
        mask = seg_len == length
        count = int(mask.sum())
        if count == 0:
            skipped.append(length)
            continue
        used.append(length)
        per_length[length] = LengthErrors(t_rel=mean(t_err[mask]) * M_PER_M_TO_PERCENT,
                                          r_rel=mean(r_err[mask]) * r_scale, n_segments=count)
    n_segments = int(seg_len.size)
    if n_segments == 0:
        logger.warning("kitti_errors: no segment of lengths %s m fits a %.1f m trajectory; "
                       "t_rel/r_rel are NaN", list(lengths_m), float(dist[-1]))
        t_rel = r_rel = math.nan
    else:
        t_rel = mean(t_err) * M_PER_M_TO_PERCENT
        r_rel = mean(r_err) * r_scale
    return KittiErrors(
        t_rel=t_rel,
        r_rel=r_rel,
        per_length=per_length,
        used_lengths=tuple(sorted(used)),
        skipped_lengths=tuple(sorted(skipped)),
        n_segments=n_segments,
        gt_path_length=float(dist[-1]),
        segment_t_err=t_err.astype(np.float64),
        segment_r_err=r_err.astype(np.float64),
        segment_first=seg_first,
        segment_last=seg_last,
        segment_length=seg_len.astype(np.int64),
    )
