"""What a run writes: poses (KITTI + TUM), the map (PLY), summary.json. Every file is written atomically."""
from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from apps.io.atomic import atomic_write_text
from apps.io.ply import write_ply
from apps.io.trajectory import write_kitti_poses, write_tum


@dataclass
class RunResult:
    """Everything a run produced. ``world_from_cam`` has one pose per processed input frame."""

    world_from_cam: np.ndarray                 # (N, 4, 4) float64
    timestamps: np.ndarray                     # (N,) float64 seconds
    statuses: list[str]                        # per frame: init/tracked/keyframe/lost/recovered/skipped
    points_xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))  # (M, 3) world, m
    points_grey: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.uint8))     # (M,)
    keyframes: list[int] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


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


def write_run_outputs(result: RunResult, output_dir: str | Path) -> dict[str, Path]:
    """Write ``poses_kitti.txt``, ``poses_tum.txt``, ``points.ply``, ``summary.json`` into ``output_dir``."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "poses_kitti": out / "poses_kitti.txt",
        "poses_tum": out / "poses_tum.txt",
        "points": out / "points.ply",
        "summary": out / "summary.json",
    }
    if len(result.world_from_cam):
        write_kitti_poses(paths["poses_kitti"], result.world_from_cam)
        write_tum(paths["poses_tum"], result.timestamps, result.world_from_cam)
    else:
        atomic_write_text(paths["poses_kitti"], "")
        atomic_write_text(paths["poses_tum"], "")
    grey = np.asarray(result.points_grey, np.uint8).reshape(-1)
    write_ply(paths["points"], np.asarray(result.points_xyz, np.float32).reshape(-1, 3),
              np.repeat(grey[:, None], 3, axis=1) if len(grey) else None)
    atomic_write_text(paths["summary"], json.dumps(result.summary, indent=2, default=_json_default) + "\n")
    return paths


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
