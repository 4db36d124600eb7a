"""Typed Python wrapper of the C++ DS-DSO backend (``dso_bridge._dso_bridge.System``).

Frames: ``image`` is ``(H, W) float32`` grey in [0, 255]; poses are ``(4, 4) float64`` ``world_from_cam``;
depth is metric z-depth ``(H, W) float32`` metres (0 = unknown); ``keypoint_idepth`` is 1/m.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dso_bridge._dso_bridge import System, SystemOptions
from dso_bridge.options import options_from_dict

logger = logging.getLogger(__name__)

FRAME_STATUSES = ("INITIALIZING", "TRACKED", "KEYFRAME", "LOST", "RECOVERED")


@dataclass(frozen=True)
class FrameResult:
    """Result of ``Backend.track`` for one frame."""

    frame_index: int
    timestamp: float
    status: str                      # one of FRAME_STATUSES
    is_keyframe: bool
    world_from_cam: np.ndarray       # (4, 4) float64, estimate at the time of tracking
    tracking_rmse: float             # grey levels (0 when not tracked)
    num_active_points: int
    num_immature_points: int
    num_keyframes: int               # keyframes in the window
    timings_ms: dict[str, float] = field(default_factory=dict)  # per stage, milliseconds


def _intrinsics_tuple(intrinsics: Any) -> tuple[float, float, float, float, int, int]:
    names = ("fx", "fy", "cx", "cy", "width", "height")
    try:
        if isinstance(intrinsics, Mapping):
            vals = [intrinsics[n] for n in names]
        else:
            vals = [getattr(intrinsics, n) for n in names]
    except (KeyError, AttributeError):
        raise ValueError("intrinsics must have fx, fy, cx, cy, width, height (apps.io.camera.Intrinsics or a mapping), "
                         f"got {type(intrinsics).__name__}") from None
    return float(vals[0]), float(vals[1]), float(vals[2]), float(vals[3]), int(vals[4]), int(vals[5])


class Backend:
    """DS-DSO visual odometry backend.

    Args:
        intrinsics: pinhole intrinsics of the (already resized) images: ``apps.io.camera.Intrinsics`` or a
            mapping with fx, fy, cx, cy (pixels) and width, height.
        options: ``SystemOptions``, a nested dict of overrides (see ``dso_bridge.options``) or None (defaults).
        on_frame: optional callback called with every ``FrameResult`` (in the calling thread, GIL held).
    """

    def __init__(self, intrinsics: Any, options: SystemOptions | Mapping[str, Any] | None = None,
                 on_frame: Callable[[FrameResult], None] | None = None) -> None:
        fx, fy, cx, cy, width, height = _intrinsics_tuple(intrinsics)
        if options is None:
            opts = SystemOptions()
        elif isinstance(options, SystemOptions):
            opts = options
        else:
            opts = options_from_dict(options)
        self.width, self.height = width, height
        self._system = System(fx, fy, cx, cy, width, height, opts)
        self._on_frame = on_frame

    def track(self, image: np.ndarray, timestamp: float, keypoints: np.ndarray | None = None,
              scores: np.ndarray | None = None, depth: np.ndarray | None = None,
              init_pose: np.ndarray | None = None, *, keypoint_idepth: np.ndarray | None = None,
              keypoint_idepth_var: np.ndarray | None = None) -> FrameResult:
        """Tracks one frame.

        Args:
            image: (H, W) float32 grey in [0, 255].
            timestamp: seconds.
            keypoints: (K, 2) float32 pixels (x, y), optional; become point candidates.
            scores: (K,) float32 keypoint scores, optional.
            depth: (H, W) float32 metric depth prior in metres (0 = unknown), optional.
            keypoint_idepth / keypoint_idepth_var: (K,) float32 per-keypoint inverse depth (1/m) and its
                variance ((1/m)^2), optional alternative to ``depth``.
            init_pose: (4, 4) float64 world_from_cam hypothesis (e.g. from a pose network), optional.
        Raises:
            ValueError naming the argument on a wrong dtype, shape or non-finite values.
        """
        d = self._system.track(image, float(timestamp), keypoints, scores, depth, keypoint_idepth,
                               keypoint_idepth_var, init_pose)
        result = FrameResult(**d)
        if self._on_frame is not None:
            self._on_frame(result)
        return result

    def trajectory(self) -> np.ndarray:
        """(N, 4, 4) float64 world_from_cam of every frame tracked so far (current estimates)."""
        return self._system.trajectory()

    def timestamps(self) -> np.ndarray:
        """(N,) float64 timestamps of every frame."""
        return np.asarray(self._system.timestamps(), dtype=np.float64)

    def keyframe_poses(self) -> np.ndarray:
        """(M, 4, 4) float64 world_from_cam of every keyframe ever created."""
        return self._system.keyframe_poses()[0]

    def keyframe_indices(self) -> np.ndarray:
        """(M,) int64 input frame index of every keyframe."""
        return self._system.keyframe_poses()[1]

    def points(self, include_marginalized: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """World points ``(M, 3) float32`` (metres with a depth prior, else arbitrary scale) and grey ``(M,) uint8``
        of the active window points and, optionally, the marginalised ones."""
        return self._system.points(include_marginalized)

    def frame_statuses(self) -> list[str]:
        """Status of every frame (INITIALIZING / TRACKED / KEYFRAME / LOST / RECOVERED)."""
        return list(self._system.frame_statuses())

    @property
    def num_frames(self) -> int:
        return int(self._system.num_frames)
