"""Trajectory files: KITTI (12 numbers per line), TUM (``t tx ty tz qx qy qz qw``) and EuRoC's
comma-separated ground truth (``t[ns], px, py, pz, qw, qx, qy, qz[, ...]``, read only).

All poses are ``world_from_cam``: ``(N, 4, 4) float64`` rigid transforms mapping camera
coordinates to world coordinates (KITTI stores exactly this, as the top 3x4 block, row-major).
Writers are atomic (temporary file + rename).
"""
from __future__ import annotations

import os

import numpy as np
from scipy.spatial.transform import Rotation

from apps.io.atomic import atomic_write_text
from apps.io.kitti_format import check_increasing_times
from apps.io.poses import check_poses  # the one pose validator (apps.io.poses); also re-exported here
from frontend.common.paths import require_file

PathLike = str | os.PathLike


def _load_rows(path: PathLike, n_cols: int | tuple[int, ...], what: str) -> tuple[np.ndarray, list[int]]:
    """Numeric rows of a whitespace-separated text file and the line number of each; '#' comments and
    blank lines skipped.

    Raises FileNotFoundError for a missing file and ValueError naming the file and line for a
    row with the wrong column count or a non-numeric/non-finite value.
    """
    path = require_file(path, f"{what} file")
    allowed = (n_cols,) if isinstance(n_cols, int) else n_cols
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    with open(path, encoding="utf-8-sig") as f:  # -sig: a leading byte-order mark is dropped
        for line_no, line in enumerate(f, 1):
            text = line.split("#", 1)[0].replace(",", " ").strip()
            if not text:
                continue
            parts = text.split()
            if len(parts) not in allowed:
                raise ValueError(f"{path}:{line_no}: expected {' or '.join(map(str, allowed))} numbers per line "
                                 f"({what}), got {len(parts)}")
            try:
                values = [float(p) for p in parts]
            except ValueError:
                raise ValueError(f"{path}:{line_no}: non-numeric value in {what} line: {text[:80]!r}") from None
            if not all(np.isfinite(values)):
                raise ValueError(f"{path}:{line_no}: non-finite value in {what} line")
            rows.append(values)
            line_numbers.append(line_no)
    if not rows:
        raise ValueError(f"{path}: no poses found in {what} file")
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise ValueError(f"{path}: mixed column counts {sorted(widths)} in {what} file")
    return np.asarray(rows, dtype=np.float64), line_numbers


def kitti_rows_to_poses(rows: np.ndarray) -> np.ndarray:
    """(N, 12) KITTI rows -> (N, 4, 4) float64 poses."""
    n = rows.shape[0]
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, :3, :4] = rows.reshape(n, 3, 4)
    return poses


def read_kitti_poses(path: PathLike) -> np.ndarray:
    """Read a KITTI pose file: one ``world_from_cam`` 3x4 row-major matrix (12 numbers) per line.

    Returns (N, 4, 4) float64.
    """
    return kitti_rows_to_poses(_load_rows(path, 12, "KITTI pose")[0])


def write_kitti_poses(path: PathLike, world_from_cam: np.ndarray) -> None:
    """Write (N, 4, 4) ``world_from_cam`` poses as a KITTI pose file (12 numbers per line), atomically."""
    poses = check_poses(world_from_cam)
    lines = [" ".join(f"{v:.9e}" for v in p[:3, :4].reshape(-1)) for p in poses]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def read_tum(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a TUM trajectory ``timestamp tx ty tz qx qy qz qw`` per line.

    Returns (timestamps (N,) float64 seconds, strictly increasing, world_from_cam (N, 4, 4) float64).
    """
    return _tum_poses(path, *_load_rows(path, 8, "TUM trajectory"))


def _tum_poses(path: PathLike, rows: np.ndarray, line_numbers: list[int]) -> tuple[np.ndarray, np.ndarray]:
    check_increasing_times(path, rows[:, 0], line_numbers)
    quat = rows[:, 4:8]
    norms = np.linalg.norm(quat, axis=1)
    bad = np.flatnonzero(np.abs(norms) < 1e-9)
    if bad.size:
        raise ValueError(f"{path}: zero quaternion in TUM trajectory (data row {bad[0] + 1})")
    poses = np.tile(np.eye(4), (rows.shape[0], 1, 1))
    poses[:, :3, :3] = Rotation.from_quat(quat / norms[:, None]).as_matrix()  # scipy order: x y z w
    poses[:, :3, 3] = rows[:, 1:4]
    return rows[:, 0].copy(), poses


def write_tum(path: PathLike, timestamps: np.ndarray, world_from_cam: np.ndarray) -> None:
    """Write a TUM trajectory (``t tx ty tz qx qy qz qw`` per line) atomically."""
    poses = check_poses(world_from_cam)
    t = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if t.shape[0] != poses.shape[0]:
        raise ValueError(f"timestamps ({t.shape[0]}) and world_from_cam ({poses.shape[0]}) differ in length")
    quat = Rotation.from_matrix(poses[:, :3, :3]).as_quat()
    lines = [
        f"{ti:.6f} " + " ".join(f"{v:.9f}" for v in (*p[:3, 3], *q))
        for ti, p, q in zip(t, poses, quat)
    ]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def read_euroc(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read EuRoC's comma-separated ground truth (``state_groundtruth_estimate0/data.csv``: 17 columns;
    ``mocap0/data.csv`` / TUM-VI: 8): timestamp in nanoseconds (seconds when below 1e12), position,
    quaternion **w x y z**, and for 17 columns velocity and IMU biases (ignored).

    Returns (timestamps (N,) float64 seconds, world_from_body (N, 4, 4) float64). The poses are the
    body's (the IMU's), not the camera's: a scale / sim3-aligned comparison with a camera trajectory
    keeps the camera's lever arm (EuRoC's T_BS: ~7 cm) as error, as ``evo_ape euroc`` does.
    """
    return _euroc_poses(path, *_load_rows(path, (8, 17), "EuRoC CSV trajectory (8 or 17 comma-separated columns)"))


def _euroc_poses(path: PathLike, rows: np.ndarray, line_numbers: list[int]) -> tuple[np.ndarray, np.ndarray]:
    quat_wxyz = rows[:, 4:8]
    norms = np.linalg.norm(quat_wxyz, axis=1)
    bad = np.flatnonzero(norms < 1e-9)
    if bad.size:
        raise ValueError(f"{path}: zero quaternion in EuRoC trajectory (data row {bad[0] + 1})")
    poses = np.tile(np.eye(4), (rows.shape[0], 1, 1))
    poses[:, :3, :3] = Rotation.from_quat(quat_wxyz[:, [1, 2, 3, 0]] / norms[:, None]).as_matrix()
    poses[:, :3, 3] = rows[:, 1:4]
    times = rows[:, 0] * 1e-9 if rows[0, 0] > 1e12 else rows[:, 0].copy()
    check_increasing_times(path, times, line_numbers)
    return times, poses


def _first_data_line(path: PathLike) -> str:
    """The first line of ``path`` with data (comments and blank lines skipped), "" when none or unreadable."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            for line in f:
                text = line.split("#", 1)[0].strip()
                if text:
                    return text
    except OSError:
        return ""
    return ""


def _is_csv(path: PathLike) -> bool:
    """True when the first data line of ``path`` separates its values with commas (EuRoC)."""
    return "," in _first_data_line(path)


def holds_body_poses(path: PathLike) -> bool:
    """True for EuRoC's ground truth (comma-separated, or 17 columns), whose poses are the body's (the
    IMU's) rather than the camera's; KITTI and TUM trajectories are taken as camera poses."""
    text = _first_data_line(path)
    return "," in text or len(text.split()) == 17


def read_trajectory(path: PathLike) -> tuple[np.ndarray | None, np.ndarray]:
    """Read a KITTI (12 columns) or TUM (8 columns) trajectory, detected from the column count, or
    EuRoC's comma-separated ground truth (:func:`read_euroc`: 17 columns, or 8 separated by commas).

    Returns (timestamps (N,) float64 or None for KITTI, world_from_cam (N, 4, 4) float64).
    """
    rows, line_numbers = _load_rows(path, (8, 12, 17),
                                    "trajectory (KITTI 12 columns, TUM 8 columns or EuRoC CSV 8 / 17)")
    if rows.shape[1] == 12:
        return None, kitti_rows_to_poses(rows)
    if rows.shape[1] == 17 or _is_csv(path):
        return _euroc_poses(path, rows, line_numbers)
    return _tum_poses(path, rows, line_numbers)
