"""KITTI odometry text formats: calib.txt and times.txt (the sequence reader is :mod:`apps.io.kitti`).

Layout of a sequence (the official ``data_odometry_*`` archives; also what ``kp3d-vo synth`` writes)::

    ROOT/sequences/NN/image_0/000000.png ...  camera 0 (left grey); image_1 right grey,
                                              image_2 left colour, image_3 right colour
    ROOT/sequences/NN/calib.txt               projection matrices, see parse_calib
    ROOT/sequences/NN/times.txt               one timestamp (seconds) per frame
    ROOT/sequences/NN/depth_0/000000.npy ...  optional exact z-depth, (H, W) float32 metres
    ROOT/poses/NN.txt                         ground truth world_from_cam, 12 numbers per line

``calib.txt`` has one ``KEY: v1 v2 ...`` line per matrix, row-major. ``P0``..``P3`` are the 3x4
rectified projection matrices ``P = K [I | t]`` of cameras 0..3 (the intrinsics are ``P[:, :3]``)
and ``Tr`` the 3x4 velodyne-to-camera-0 transform. The raw-data names ``P_rect_00``..``P_rect_03``
(3x4), ``R_rect_0x``/``R0_rect`` (3x3) and ``Tr_velo_to_cam``/``Tr_imu_to_velo`` (3x4) are
accepted too; other keys with numeric values are kept as 1-D arrays and non-numeric ones (e.g.
``calib_time``) are skipped.

``times.txt`` has one number per line (seconds since the first frame in KITTI), strictly
increasing; blank lines and lines starting with ``#`` are ignored.

Both files may start with a UTF-8 byte-order mark (written by some Windows editors); it is
stripped. A projection matrix is used through :func:`normalized_projection`, which scales it so
that ``P[2, 2] = 1`` (a scaled ``P`` describes the same camera) and refuses one that is not of the
rectified form ``K [I | t]``.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from apps.io.atomic import atomic_write_text
from apps.io.camera import Intrinsics
from frontend.common.paths import require_file

logger = logging.getLogger(__name__)

_SHAPES = {"P": (3, 4), "Tr": (3, 4), "P_rect": (3, 4), "R_rect": (3, 3), "R0_rect": (3, 3),
           "Tr_velo_to_cam": (3, 4), "Tr_imu_to_velo": (3, 4), "Tr_cam_to_road": (3, 4)}
NOMINAL_FPS = 10.0  # KITTI odometry frame rate, used when times.txt is missing


def _expected_shape(key: str) -> tuple[int, int] | None:
    if re.fullmatch(r"P\d", key):
        return _SHAPES["P"]
    if re.fullmatch(r"P_rect_\d\d", key):
        return _SHAPES["P_rect"]
    if re.fullmatch(r"R_rect_\d\d", key):
        return _SHAPES["R_rect"]
    return _SHAPES.get(key)


def parse_calib(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a KITTI calibration file into ``{key: (3, 4) or (3, 3) float64}`` (see module docs).

    Raises FileNotFoundError naming a missing file; ValueError naming the file and line for a
    line without ``KEY:``, a known key with the wrong number of values or non-numeric values, a
    repeated key, or a file with no entries.
    """
    path = Path(path)
    require_file(path, "calibration file")
    out: dict[str, np.ndarray] = {}
    for lineno, raw in enumerate(read_text_stripping_bom(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, rest = line.partition(":")
        key = key.strip()
        if not sep or not key or " " in key:
            raise ValueError(f"{path}:{lineno}: expected 'KEY: v1 v2 ...' (e.g. 'P0: ' and 12 numbers), "
                             f"got {_clip(line)!r}")
        shape = _expected_shape(key)
        try:
            values = np.array([float(t) for t in rest.split()], dtype=np.float64)
        except ValueError:
            if shape is None:  # e.g. "calib_time: 09-Jan-2012 13:57:47" in raw KITTI files
                logger.debug("%s:%d: skipping non-numeric entry %r", path, lineno, key)
                continue
            raise ValueError(f"{path}:{lineno}: {key} must have {shape[0] * shape[1]} numbers, "
                             f"found non-numeric values in {_clip(rest.strip())!r}") from None
        if key in out:
            raise ValueError(f"{path}:{lineno}: {key} appears twice")
        if shape is not None:
            if values.size != shape[0] * shape[1]:
                raise ValueError(f"{path}:{lineno}: {key} must have {shape[0] * shape[1]} numbers "
                                 f"({shape[0]}x{shape[1]} row-major), found {values.size}")
            if not np.all(np.isfinite(values)):
                raise ValueError(f"{path}:{lineno}: {key} has non-finite values")
            values = values.reshape(shape)
        out[key] = values
    if not out:
        raise ValueError(f"calibration file {path} has no entries (expected lines like 'P0: ' + 12 numbers)")
    return out


def read_text_stripping_bom(path: Path) -> str:
    """The text of ``path`` (UTF-8, undecodable bytes replaced) without a leading byte-order mark."""
    return path.read_text(encoding="utf-8-sig", errors="replace")


def normalized_projection(P: np.ndarray, where: str) -> np.ndarray:
    """A ``(3, 4)`` rectified projection matrix scaled so that ``P[2, 2] = 1``.

    ``P = s K [I | t]`` describes the same camera for any ``s > 0``; its intrinsics are ``P[:, :3]``
    only when ``s = 1``, so a scaled ``P`` is divided by ``P[2, 2]`` (logged). Raises ValueError
    naming ``where`` (file and key) when ``P[:, :3]`` is not upper triangular with ``P[2, 2] > 0``
    (not a rectified ``K [I | t]``: the camera would be rotated).
    """
    P = np.asarray(P, dtype=np.float64)
    if P.shape != (3, 4) or not np.all(np.isfinite(P)):
        raise ValueError(f"{where}: expected a finite 3x4 projection matrix, got shape {P.shape}")
    K = P[:, :3]
    scale = float(np.abs(K).max())
    off = max(abs(K[1, 0]), abs(K[2, 0]), abs(K[2, 1]))
    if not K[2, 2] > 0 or off > 1e-6 * max(scale, 1e-300):
        raise ValueError(f"{where}: not a rectified projection matrix K [I | t] (expected P[1,0] = P[2,0] = P[2,1] = 0 "
                         f"and P[2,2] > 0; got P[:, :3] = [{'; '.join(' '.join(f'{v:g}' for v in row) for row in K)}])")
    if K[2, 2] != 1.0:
        logger.warning("%s: P[2,2] = %g, not 1: dividing the matrix by it (the same camera)", where, K[2, 2])
        P = P / K[2, 2]
    return P


def _clip(s: str, n: int = 80) -> str:
    return s if len(s) <= n else s[:n] + "..."


def projection_matrix(intrinsics_or_P: Intrinsics | np.ndarray) -> np.ndarray:
    """``(3, 4) float64`` projection matrix ``K [I | 0]`` from Intrinsics, a (3, 3) K or a (3, 4) P."""
    if isinstance(intrinsics_or_P, Intrinsics):
        return np.hstack([intrinsics_or_P.K, np.zeros((3, 1))])
    m = np.asarray(intrinsics_or_P, dtype=np.float64)
    if m.shape == (3, 3):
        return np.hstack([m, np.zeros((3, 1))])
    if m.shape != (3, 4):
        raise ValueError(f"expected Intrinsics, a (3, 3) K or a (3, 4) P, got an array of shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("projection matrix has non-finite values")
    return m


def write_calib(path: str | os.PathLike, intrinsics_or_P: Intrinsics | np.ndarray | dict[str, np.ndarray]) -> None:
    """Write a KITTI ``calib.txt`` atomically.

    Given Intrinsics, a (3, 3) K or a (3, 4) P, writes the same matrix as ``P0``..``P3`` (a
    monocular sequence then reads the same way whichever camera is chosen). Given a dict, writes
    each ``key: values`` (arrays flattened row-major), e.g. the output of :func:`parse_calib`.
    """
    if isinstance(intrinsics_or_P, dict):
        items = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in intrinsics_or_P.items()}
    else:
        P = projection_matrix(intrinsics_or_P).ravel()
        items = {f"P{c}": P for c in range(4)}
    lines = [f"{k}: " + " ".join(f"{v:.12e}" for v in vals) for k, vals in items.items()]
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_times(path: str | os.PathLike) -> np.ndarray:
    """Read a KITTI ``times.txt``: ``(N,) float64`` seconds, strictly increasing. TUM monoVO's
    ``times.txt`` (``index seconds exposure_ms`` per line) gives its second column.

    Raises FileNotFoundError naming a missing file; ValueError naming the file and line for a
    line that is not one number, a non-finite or non-increasing time, or an empty file.
    """
    return read_times_and_exposures(path)[0]


def read_times_and_exposures(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`read_times` and, for TUM monoVO's ``times.txt``, its exposure times (``(N,) float64``, the
    third column, milliseconds; None for a KITTI file). A non-positive or non-finite exposure raises
    ValueError naming the file and line."""
    path = Path(path)
    require_file(path, "timestamps file")
    times: list[float] = []
    exposures: list[float] = []
    line_numbers: list[int] = []
    for lineno, raw in enumerate(read_text_stripping_bom(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = line.split()
        try:
            t = float(tokens[1] if len(tokens) == 3 else line)  # TUM monoVO: index, time, exposure
            exposure = float(tokens[2]) if len(tokens) == 3 else None
        except ValueError:
            raise ValueError(f"{path}:{lineno}: expected one timestamp in seconds (or TUM monoVO's 'index seconds "
                             f"exposure'), got {_clip(line)!r}") from None
        if not np.isfinite(t):
            raise ValueError(f"{path}:{lineno}: timestamp must be finite, got {line!r}")
        if exposure is not None:
            if not (np.isfinite(exposure) and exposure > 0):
                raise ValueError(f"{path}:{lineno}: exposure time must be > 0, got {tokens[2]!r}")
            exposures.append(exposure)
        times.append(t)
        line_numbers.append(lineno)
    if not times:
        raise ValueError(f"timestamps file {path} is empty (expected one number per frame)")
    check_increasing_times(path, times, line_numbers)
    if exposures and len(exposures) != len(times):
        raise ValueError(f"timestamps file {path} mixes lines with and without exposure times")
    return np.asarray(times, dtype=np.float64), (np.asarray(exposures, dtype=np.float64) if exposures else None)


def check_increasing_times(path: str | os.PathLike, times_s, line_numbers) -> None:
    """ValueError naming ``path`` and the line unless ``times_s`` (seconds, read from ``line_numbers``
    of the file) are strictly increasing."""
    t = np.asarray(times_s, dtype=np.float64)
    bad = np.flatnonzero(~(np.diff(t) > 0))
    if bad.size:
        i = int(bad[0]) + 1
        raise ValueError(f"{path}:{line_numbers[i]}: timestamps must be strictly increasing, got {float(t[i])!r} "
                         f"after {float(t[i - 1])!r} (line {line_numbers[i - 1]})")


def write_times(path: str | os.PathLike, times: np.ndarray) -> None:
    """Write ``times: (N,) float`` seconds, one per line, atomically (exact round trip).

    Raises ValueError unless the times are 1-D, finite and strictly increasing.
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty (N,) array, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError("times must be finite and strictly increasing")
    atomic_write_text(path, "".join(f"{float(v)!r}\n" for v in t))
