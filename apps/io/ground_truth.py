"""Ground truth of a sequence's frames: :func:`load_gt_poses` pairs a trajectory file with the frames.

KITTI pose files (no timestamps) are paired by frame number; TUM and EuRoC trajectories by time, and
those may cover only part of the frames (EuRoC's motion-capture ground truth starts a second or so
after the camera): the frames without a pose get NaN rows, and :func:`gt_covered` gives the mask the
evaluation scores (``apps.evaluation.evaluate.evaluate_covered``). EuRoC's ground truth is the body's
(the IMU's) pose; with the camera's ``body_from_cam`` (EuRoC's ``T_BS`` in ``cam0/sensor.yaml``,
:class:`apps.io.calibration.Calibration`) it becomes the camera's.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from apps.io.poses import check_poses

logger = logging.getLogger(__name__)


def load_gt_poses(path: str | os.PathLike, n_frames: int, frame_timestamps: np.ndarray | None = None, *,
                  frame_rows: np.ndarray | None = None, timestamps_note: str = "",
                  body_from_cam: np.ndarray | None = None, found_beside_frames: bool = False) -> np.ndarray:
    """Ground truth for ``n_frames`` frames from a KITTI, TUM or EuRoC trajectory file, ``(n, 4, 4) float64``.

    KITTI pose files (one pose per frame, no timestamps): frame ``i`` gets line ``frame_rows[i]``
    (default ``i``; readers pass the frame numbers of the file names so that a missing frame does not
    shift the pairing). The file must reach the last row needed; longer files are truncated with a
    WARNING, or an INFO note when ``found_beside_frames`` (KITTI's ``poses/NN.txt`` found for the frames
    covers the whole drive even when only its first frames are present); shorter files raise ValueError
    naming the file and both counts. TUM / EuRoC files (with
    timestamps) are associated to ``frame_timestamps`` by nearest timestamp within half a frame
    period; frames without a pose get NaN rows (a WARNING names how many and where); fewer than two
    matched frames raise ValueError (ending with ``timestamps_note``, e.g. where the frame times came
    from). ``body_from_cam`` ``(4, 4)``: the file's poses are the body's when it is EuRoC's CSV, and
    become the camera's (``world_from_body @ body_from_cam``); without it such a file is used as it is
    (WARNING: the camera's lever arm on the body counts as error). Rotations must be orthonormal with
    det +1 (within 1e-3; ValueError naming the file and the pose otherwise).
    """
    path = Path(path)
    times, poses = read_ground_truth(path, body_from_cam)
    if times is None or frame_timestamps is None:
        rows = np.arange(n_frames) if frame_rows is None else np.asarray(frame_rows, dtype=np.int64)[:n_frames]
        needed = int(rows.max()) + 1 if rows.size else 0
        if len(poses) < needed:
            what = (f"{n_frames} frames" if np.array_equal(rows, np.arange(n_frames)) else
                    f"{n_frames} frames numbered up to {needed - 1} (pose line = frame number)")
            raise ValueError(f"ground-truth file {path} has {len(poses)} poses but the sequence has "
                             f"{what} (expected one pose per frame)")
        if len(poses) > needed:
            logger.log(logging.INFO if found_beside_frames else logging.WARNING,
                       "ground-truth file %s has %d poses for %d frames: truncated to the first %d",
                       path, len(poses), n_frames, needed)
        return poses[rows].copy()
    return _associate_by_time(path, np.asarray(times, np.float64), poses, np.asarray(frame_timestamps, np.float64),
                              timestamps_note)


def read_ground_truth(path: str | os.PathLike, body_from_cam: np.ndarray | None = None
                      ) -> tuple[np.ndarray | None, np.ndarray]:
    """A ground-truth file as (timestamps (N,) float64 s or None, world_from_cam (N, 4, 4) float64), rigid.

    KITTI and TUM files are the camera's poses. EuRoC's CSV holds the body's (the IMU's): with the camera's
    ``body_from_cam`` (4, 4) they become the camera's (``world_from_body @ body_from_cam``); without it they
    are used as they are (WARNING: the camera's lever arm and axes on the body count as error).
    """
    from apps.io.trajectory import holds_body_poses, read_trajectory  # lazy: only runs with GT need it

    times, poses = read_trajectory(path)
    poses = check_poses(poses, f"ground-truth file {path}", rigid=True)
    if holds_body_poses(path):
        if body_from_cam is not None:
            b = check_poses(np.asarray(body_from_cam, np.float64).reshape(1, 4, 4), "body_from_cam", rigid=True)[0]
            poses = poses @ b
            logger.info("ground-truth file %s: body poses (EuRoC) moved to the camera with body_from_cam (lever "
                        "arm %.3f m)", path, float(np.linalg.norm(b[:3, 3])))
        else:
            logger.warning("ground-truth file %s holds the body's (IMU's) poses and no camera-on-body transform "
                           "was given (EuRoC's T_BS in cam0/sensor.yaml): scored as the camera's, its lever arm "
                           "and axes count as error", path)
    return times, poses


def gt_covered(gt_world_from_cam: np.ndarray) -> np.ndarray:
    """``(N,) bool``: the frames of ``gt_world_from_cam`` ``(N, 4, 4)`` that have a ground-truth pose."""
    return np.isfinite(np.asarray(gt_world_from_cam, np.float64)).all(axis=(1, 2))


def describe_coverage(covered: np.ndarray) -> str:
    """E.g. ``"1204 of 1224 frames (20-1223)"`` for a coverage mask ``(N,) bool``."""
    idx = np.flatnonzero(covered)
    span = f" ({idx[0]}-{idx[-1]})" if idx.size else ""
    gaps = int(np.count_nonzero(np.diff(idx) > 1)) if idx.size else 0
    return f"{idx.size} of {covered.size} frames{span}" + (f", {gaps} gap(s) inside" if gaps else "")


def _associate_by_time(path: Path, gt_times: np.ndarray, poses: np.ndarray, frame_times: np.ndarray,
                       note: str = "") -> np.ndarray:
    """The GT pose nearest in time to each frame within half a frame period, NaN for frames without one.

    Matching is evo's ``matching_time_indices``, the same as the evaluation's time association
    (``apps.evaluation.alignment.associate_by_time``); evo is imported only for GT files with timestamps.
    """
    from evo.core.sync import matching_time_indices

    order = np.argsort(gt_times, kind="stable")
    gt_times, poses = gt_times[order], poses[order]
    period = float(np.median(np.diff(frame_times))) if len(frame_times) > 1 else 0.1
    tolerance = 0.5 * period
    frame_idx, gt_idx = matching_time_indices(frame_times, gt_times, max_diff=tolerance)
    frame_idx = np.asarray(frame_idx, dtype=np.int64)
    if len(frame_idx) < min(2, len(frame_times)):
        unmatched = np.setdiff1d(np.arange(len(frame_times)), frame_idx)
        k = int(unmatched[0])
        nearest = gt_times[int(np.argmin(np.abs(gt_times - frame_times[k])))]
        raise ValueError(f"ground-truth file {path}: no pose within {tolerance:.4f} s of frame {k} "
                         f"(t = {frame_times[k]:.6f} s; nearest pose at {nearest:.6f} s); "
                         f"{unmatched.size} of {len(frame_times)} frames unmatched{note}")
    out = np.full((len(frame_times), 4, 4), np.nan)
    out[frame_idx] = poses[np.asarray(gt_idx, dtype=np.int64)]
    if len(frame_idx) < len(frame_times):
        logger.warning("ground-truth file %s covers %s (no pose within %.4f s of the others%s): the evaluation "
                       "scores those", path, describe_coverage(gt_covered(out)), tolerance, note)
    return out


__all__ = ["load_gt_poses", "read_ground_truth", "gt_covered", "describe_coverage"]
