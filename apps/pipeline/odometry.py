"""Odometry modes behind one interface: DS-DSO (backend + network), DSO (backend alone), frame-to-frame."""
from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from apps.io.camera import Intrinsics
from apps.pipeline.config import RunConfig
from apps.pipeline.f2f import FrameToFrameOdometry, mutual_nn_matches, relative_pose_pnp

logger = logging.getLogger(__name__)


class Odometry(Protocol):
    needs_frontend: bool

    def step(self, timestamp: float, image: np.ndarray, frontend_out: Any | None) -> tuple[np.ndarray, str]:
        """Process one frame: image (H, W) uint8. Returns (world_from_cam (4, 4), status)."""

    def skip(self) -> np.ndarray:
        """Pose for a frame that could not be read (kept so the output has one line per input frame)."""

    def trajectory(self) -> np.ndarray:
        """(N, 4, 4) float64 world_from_cam of every frame so far (refined by the backend)."""

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Marginalised map points: (M, 3) float32 world metres, (M,) uint8 grey."""

    def window_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Active points of the optimisation window: (N, 3) float32 world metres, (N,) uint8 grey."""

    def keyframes(self) -> list[int]:
        """Indices of keyframes among the processed frames."""


class F2FMode:
    """KP3D frame-to-frame baseline (network keypoints + depth, PnP-RANSAC, chained poses)."""

    needs_frontend = True

    def __init__(self, intrinsics: Intrinsics, config: RunConfig):
        self._odo = FrameToFrameOdometry(intrinsics, config.f2f)
        self._intrinsics = intrinsics
        self._points: list[np.ndarray] = []

    def step(self, timestamp, image, frontend_out):
        pose, status = self._odo.step(frontend_out.keypoints, frontend_out.descriptors, frontend_out.depth)
        return pose, status

    def skip(self):
        return self._odo.repeat_last()

    def trajectory(self):
        return self._odo.trajectory()

    def points(self):
        return np.zeros((0, 3), np.float32), np.zeros((0,), np.uint8)

    def window_points(self):
        return self.points()

    def keyframes(self):
        return list(range(len(self._odo.trajectory())))


class BackendMode:
    """The C++ DS-DSO backend through dso_bridge; ``use_network`` selects dsdso (True) or dso (False)."""

    def __init__(self, intrinsics: Intrinsics, config: RunConfig, use_network: bool):
        import dso_bridge

        self.needs_frontend = use_network
        self._config = config
        self._intrinsics = intrinsics
        self._backend = dso_bridge.Backend(intrinsics, options=dict(config.backend))
        self._prev = None            # (keypoints, descriptors, depth) of the previous frame
        self._last_pose = np.eye(4)

    def _pnp_init_pose(self, fe) -> np.ndarray | None:
        """Initial pose for the tracker from keypoint matches + PnP on the previous frame's depth."""
        if self._prev is None:
            return None
        kp_prev, desc_prev, depth_prev = self._prev
        matches = mutual_nn_matches(desc_prev, fe.descriptors, self._config.f2f.max_descriptor_distance)
        rel, _ = relative_pose_pnp(kp_prev, depth_prev, fe.keypoints, matches, self._intrinsics, self._config.f2f)
        if rel is None:
            return None
        return self._last_pose @ np.linalg.inv(rel)

    def step(self, timestamp, image, fe):
        kwargs: dict[str, Any] = {}
        if fe is not None:
            if self._config.keypoint_candidates:
                kwargs["keypoints"], kwargs["scores"] = fe.keypoints, fe.scores
            if self._config.depth_prior:
                kwargs["depth"] = fe.depth
            if self._config.pnp_init:
                init = self._pnp_init_pose(fe)
                if init is not None:
                    kwargs["init_pose"] = init
            self._prev = (fe.keypoints, fe.descriptors, fe.depth)
        result = self._backend.track(np.asarray(image, np.float32), float(timestamp), **kwargs)
        self._last_pose = np.asarray(result.world_from_cam, np.float64)
        return self._last_pose, str(result.status).lower()

    def skip(self):
        return self._last_pose

    def trajectory(self):
        return np.asarray(self._backend.trajectory(), np.float64).reshape(-1, 4, 4)

    def points(self):
        xyz, grey = self._backend.points(include_marginalized=True)
        return np.asarray(xyz, np.float32).reshape(-1, 3), np.asarray(grey, np.uint8).reshape(-1)

    def window_points(self):
        xyz, grey = self._backend.points(include_marginalized=False)
        return np.asarray(xyz, np.float32).reshape(-1, 3), np.asarray(grey, np.uint8).reshape(-1)

    def keyframes(self):
        return [int(i) for i in self._backend.keyframe_indices()]


def make_odometry(intrinsics: Intrinsics, config: RunConfig) -> Odometry:
    if config.mode == "f2f":
        return F2FMode(intrinsics, config)
    return BackendMode(intrinsics, config, use_network=config.mode == "dsdso")
