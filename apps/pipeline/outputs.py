"""What a run writes: poses (KITTI + TUM), a per-frame log (CSV), the map (PLY), summary.json. Every file is
written atomically.

The set is consistent as a whole: writing starts by removing the previous ``summary.json``, the
pose files and the frame log come first (they are what a second Ctrl-C must not lose), and ``summary.json`` is written
last with the SHA-256 of each file of its set (``outputs``) and a ``run_id``. A folder whose summary
is missing, or whose files do not match the hashes in it, holds an incomplete or mixed set
(:func:`verify_run_outputs`).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from apps.io.atomic import atomic_write_text
from apps.io.ply import write_ply
from apps.io.trajectory import write_kitti_poses, write_tum
from frontend.common.paths import require_writable_dir

POSES_KITTI = "poses_kitti.txt"
POSES_TUM = "poses_tum.txt"
FRAMES = "frames.csv"
POINTS = "points.ply"
SUMMARY = "summary.json"
OUTPUT_FILES = (POSES_KITTI, POSES_TUM, FRAMES, POINTS, SUMMARY)
# frames.csv: one row per input frame, in input order. Empty cells: the mode has no such value for the frame.
FRAME_LOG_FIELDS = (
    "frame",                # input frame index (0-based)
    "timestamp",            # seconds
    "status",               # apps.pipeline.status.FrameStatus value
    "tracking_rmse",        # backend: photometric RMSE of the tracked frame, grey levels (0: not tracked)
    "active_points",        # backend: active points in the window after the frame
    "immature_points",      # backend: candidate points not yet activated
    "window_keyframes",     # backend: keyframes in the window
    "rotation_change_deg",  # backend: tracked rotation against the constant-velocity prediction (-1: none)
    "init_pose",            # backend: "pnp" when the tracker started from the keypoints' PnP pose
    "pnp_inliers",          # dsdso / f2f: inliers of the frame's PnP on the previous frame's keypoints (also when
                            # too few to be used: then init_pose is empty, f2f's status lost)
    "reason",               # why a skipped frame could not be read
)


@dataclass
class RunResult:
    """Everything a run produced. ``world_from_cam`` has one pose per input frame handled."""

    world_from_cam: np.ndarray                 # (N, 4, 4) float64
    timestamps: np.ndarray                     # (N,) float64 seconds
    statuses: list[str]                        # per frame: apps.pipeline.status.FrameStatus values
    points_xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))  # (M, 3) world, m
    points_grey: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.uint8))     # (M,)
    keyframes: list[int] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    frame_log: list[dict[str, Any]] = field(default_factory=list)  # frames.csv rows (FRAME_LOG_FIELDS keys)


def versions() -> dict[str, str]:
    """Versions of the pieces that shape results (for summary.json)."""
    import cv2

    out = {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__}
    try:
        import apps

        out["kp3d_vo"] = apps.__version__
    except Exception:  # pragma: no cover - best effort
        pass
    # Report torch only if this run already loaded it: importing it just for a version string
    # costs ~200 MB and ~2 s in --mode dso (issue 11).
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.__version__
    try:
        import dso_bridge

        out["dso_backend"] = dso_bridge.version()
    except Exception:
        pass
    return out


def check_output_dir(output_dir: str | os.PathLike) -> Path:
    """Create ``output_dir`` (with parents) and check that the run's files can be written there.

    Called before a run starts, so a bad folder is reported at once, not after the whole run.
    Raises ValueError for an empty name or an output file name taken by a folder, OSError
    (``frontend.common.paths.require_writable_dir``) for a file in the way or a folder that cannot be
    created or written; each names the folder.
    """
    if output_dir is None or not str(os.fspath(output_dir)).strip():
        raise ValueError("output folder must not be empty (give a folder name, e.g. --output runs/02)")
    out = require_writable_dir(output_dir, "output folder")
    for name in OUTPUT_FILES:
        if (out / name).is_dir():
            raise ValueError(f"output folder {out}: {name} is a folder, but the run writes a file of that name")
    return out


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class RunOutputWriter:
    """Writes one run's output set into ``output_dir`` in a safe order (see the module docstring).

    ``write_poses`` (with frames.csv) -> ``write_points`` -> ``write_summary`` (which may be called again, e.g. once
    the evaluation is done). The previous set's ``summary.json`` is removed before the first new file.
    """

    def __init__(self, output_dir: str | os.PathLike):
        self.out = check_output_dir(output_dir)
        self.run_id = uuid.uuid4().hex
        self.written: dict[str, Path] = {}
        self._started = False

    def _begin(self) -> None:
        if not self._started:
            (self.out / SUMMARY).unlink(missing_ok=True)  # an old summary never describes new files
            self._started = True

    def write_poses(self, result: RunResult) -> None:
        self._begin()
        kitti, tum = self.out / POSES_KITTI, self.out / POSES_TUM
        if len(result.world_from_cam):
            write_kitti_poses(kitti, result.world_from_cam)
            write_tum(tum, result.timestamps, result.world_from_cam)
        else:
            atomic_write_text(kitti, "")
            atomic_write_text(tum, "")
        self.written.update(poses_kitti=kitti, poses_tum=tum)
        frames = self.out / FRAMES
        atomic_write_text(frames, frame_log_csv(result.frame_log))
        self.written["frames"] = frames

    def write_points(self, result: RunResult) -> None:
        self._begin()
        grey = np.asarray(result.points_grey, np.uint8).reshape(-1)
        path = self.out / POINTS
        write_ply(path, np.asarray(result.points_xyz, np.float32).reshape(-1, 3),
                  np.repeat(grey[:, None], 3, axis=1) if len(grey) else None)
        self.written["points"] = path

    def write_summary(self, result: RunResult) -> Path:
        """summary.json with ``run_id`` and ``outputs`` (name -> sha256, bytes of each file written)."""
        self._begin()
        result.summary["run_id"] = self.run_id
        result.summary["outputs"] = {p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size}
                                     for key, p in self.written.items() if key != "summary"}
        path = self.out / SUMMARY
        atomic_write_text(path, json.dumps(result.summary, indent=2, default=_json_default) + "\n")
        self.written["summary"] = path
        return path


def frame_log_csv(rows: list[dict[str, Any]]) -> str:
    """frames.csv's text: a header of :data:`FRAME_LOG_FIELDS`, then one line per row (missing keys empty,
    floats with 4 decimals). Raises ValueError for a key that is not a field."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FRAME_LOG_FIELDS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        unknown = set(row) - set(FRAME_LOG_FIELDS)
        if unknown:
            raise ValueError(f"frame log: unknown field(s) {sorted(unknown)} (known: {FRAME_LOG_FIELDS})")
        w.writerow({k: ("" if v is None else f"{v:.4f}" if isinstance(v, float) and k != "timestamp" else
                        f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


_FRAME_LOG_INTS = ("frame", "active_points", "immature_points", "window_keyframes", "pnp_inliers")
_FRAME_LOG_STRS = ("status", "init_pose", "reason")


def read_frame_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a run's frames.csv (:data:`FRAME_LOG_FIELDS`): ints and floats parsed, empty cells None.

    Raises FileNotFoundError for a missing file and ValueError naming the file for a header that is not
    frames.csv's (a column it does not know, or no frame / status column) or a cell that is not a number.
    """
    from frontend.common.paths import require_file

    path = Path(path)
    require_file(path, "frame log (a run's frames.csv)")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in FRAME_LOG_FIELDS]
        if unknown or "frame" not in header or "status" not in header:
            shown = [c[:20] for c in header[:4]] + (["..."] if len(header) > 4 else [])
            raise ValueError(f"{path}: not a frame log (kp3d-vo run's frames.csv): its columns are {shown}, "
                             f"expected 'frame', 'status' and others of {list(FRAME_LOG_FIELDS)}")
        rows = []
        for line, raw in enumerate(reader, start=2):
            row: dict[str, Any] = {}
            for k, v in raw.items():
                if v is None or v == "":
                    row[k] = None
                elif k in _FRAME_LOG_STRS:
                    row[k] = v
                else:
                    try:
                        row[k] = int(v) if k in _FRAME_LOG_INTS else float(v)
                    except ValueError:
                        raise ValueError(f"{path}, line {line}: column {k!r} holds {v!r}, expected a number") from None
            rows.append(row)
    return rows


def write_run_outputs(result: RunResult, output_dir: str | Path) -> dict[str, Path]:
    """Write ``poses_kitti.txt``, ``poses_tum.txt``, ``frames.csv``, ``points.ply`` and, last, ``summary.json``."""
    writer = RunOutputWriter(output_dir)
    writer.write_poses(result)
    writer.write_points(result)
    writer.write_summary(result)
    return dict(writer.written)


def verify_run_outputs(output_dir: str | os.PathLike) -> dict[str, Any]:
    """The summary of a complete output set in ``output_dir``.

    Raises FileNotFoundError when summary.json is missing (no set, or an unfinished one) and
    ValueError naming the file when a file of the set is missing or differs from its hash.
    """
    out = Path(output_dir)
    path = out / SUMMARY
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (no finished run in {out})")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable summary ({exc})") from None
    files = summary.get("outputs") if isinstance(summary, dict) else None
    if not isinstance(files, dict) or not files:
        raise ValueError(f"{path}: no 'outputs' list (written by an older version): cannot verify the set")
    for name, meta in files.items():
        p = out / name
        if not p.is_file():
            raise ValueError(f"{p}: listed in {path} but missing")
        if file_sha256(p) != meta.get("sha256"):
            raise ValueError(f"{p}: does not match {path} (the files are from different runs)")
    return summary


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
