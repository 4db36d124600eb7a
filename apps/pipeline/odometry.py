"""Odometry modes behind one interface: DS-DSO (backend + network), DSO (backend alone), frame-to-frame.

Every mode owns one :class:`FrameRecord` per input frame, in input order: a frame is either
processed (:meth:`OdometryBase.step`) or could not be read (:meth:`OdometryBase.skip`). A skipped
frame keeps the previous frame's pose in every mode and does not touch the estimator. The
trajectory is rebuilt from the records and the estimator's own poses (one per processed frame);
any disagreement between the two counts raises instead of shifting poses.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from apps.io.camera import Intrinsics
from apps.pipeline.config import RunConfig
from apps.pipeline.f2f import FrameToFrameOdometry, mutual_nn_matches, relative_pose_pnp
from apps.pipeline.status import FrameRecord, FrameStatus

logger = logging.getLogger(__name__)


class OdometryBase:
    """Record keeping shared by every mode; subclasses implement ``_step`` and ``_estimates``."""

    needs_frontend: bool = False

    def __init__(self) -> None:
        self._records: list[FrameRecord] = []

    # -- per frame ----------------------------------------------------------------------------
    def _check_next(self, index: int) -> None:
        if int(index) != len(self._records):
            raise ValueError(f"frame index {index}: the odometry expects every input frame once, in order "
                             f"(next is {len(self._records)})")

    def step(self, index: int, timestamp: float, image: np.ndarray, frontend_out: Any | None
             ) -> tuple[np.ndarray, FrameStatus]:
        """Process input frame ``index``: image (H, W) uint8. Returns (world_from_cam (4, 4) float64, status)."""
        self._check_next(index)
        pose, status = self._step(float(timestamp), image, frontend_out)
        self._records.append(FrameRecord(int(index), float(timestamp), status, diagnostics=self._diagnostics()))
        return pose, status

    def skip(self, index: int, timestamp: float, reason: str) -> np.ndarray:
        """Record input frame ``index`` as unreadable; its pose is the previous frame's (identity first)."""
        self._check_next(index)
        self._records.append(FrameRecord(int(index), float(timestamp), FrameStatus.SKIPPED, str(reason)))
        return self._previous_pose()

    def flush(self) -> None:
        """Waits for work still running behind :meth:`step` (the backend's mapping thread); no-op here."""

    def mapping_timings(self) -> dict[str, float]:
        """Summed ms by stage of work done behind :meth:`step` (the backend's mapping thread); empty here."""
        return {}

    def ground_height(self) -> float | None:
        """The camera's height above the road in the trajectory's unit, held by the backend
        (``ba.ground_height_*``); None without such a backend or before it is measured."""
        return None

    def ground_hold(self) -> dict[str, int] | None:
        """What the backend's camera-height hold (``ba.ground_height_*``) did with the road planes: ``planes``,
        ``measuring``, ``accepted``, ``rejected_tilt``, ``rejected_height``, ``locks``, ``prior_chosen``; None without a
        backend."""
        return None

    def rotation_rejected_frames(self) -> list[int]:
        """Input indices of the frames the backend lost because their tracked rotation was too far from the
        constant-velocity prediction (``tracking.max_rotation_change_deg``); empty without a backend."""
        return []

    def in_metres(self) -> bool:
        """The backend has put the trajectory in metres (``ba.camera_height``, once the road was measured);
        it stays so for the rest of the run, also while :meth:`ground_height` is None again (a relock)."""
        return False

    def _previous_pose(self) -> np.ndarray:
        est = self._estimates()
        return est[-1].copy() if len(est) else np.eye(4)

    # -- results ------------------------------------------------------------------------------
    def records(self) -> list[FrameRecord]:
        """One record per input frame handed to :meth:`step` or :meth:`skip`, in input order."""
        return list(self._records)

    def statuses(self) -> list[FrameStatus]:
        return [r.status for r in self._records]

    def trajectory(self) -> np.ndarray:
        """(N, 4, 4) float64 world_from_cam, one per record (refined by the backend where it has one).

        Raises RuntimeError when the estimator's pose count differs from the processed-frame count.
        """
        est = np.asarray(self._estimates(), np.float64).reshape(-1, 4, 4)
        n_processed = sum(r.status is not FrameStatus.SKIPPED for r in self._records)
        if len(est) != n_processed:
            raise RuntimeError(f"{type(self).__name__}: the estimator holds {len(est)} poses for "
                               f"{n_processed} processed frames (one per processed frame expected)")
        poses = np.tile(np.eye(4), (len(self._records), 1, 1))
        k, current = 0, np.eye(4)
        for i, rec in enumerate(self._records):
            if rec.status is not FrameStatus.SKIPPED:
                current = est[k]
                k += 1
            poses[i] = current
        return poses

    def keyframes(self) -> list[int]:
        """Input indices of keyframes."""
        processed = [r.index for r in self._records if r.status is not FrameStatus.SKIPPED]
        return [processed[k] for k in self._keyframe_slots() if 0 <= k < len(processed)]

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Marginalised map points: (M, 3) float32 world metres, (M,) uint8 grey."""
        return np.zeros((0, 3), np.float32), np.zeros((0,), np.uint8)

    def window_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Active points of the optimisation window: (N, 3) float32 world metres, (N,) uint8 grey."""
        return self.points()

    def marginalized_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Points that left the window so far: (M, 3) float32 world metres, (M,) uint8 grey (read-only)."""
        return np.zeros((0, 3), np.float32), np.zeros((0,), np.uint8)

    # -- for subclasses -----------------------------------------------------------------------
    def _step(self, timestamp: float, image: np.ndarray, frontend_out: Any | None) -> tuple[np.ndarray, FrameStatus]:
        raise NotImplementedError

    def _diagnostics(self) -> dict[str, float | int | str] | None:
        """What the estimator reported for the frame :meth:`_step` just processed (keys of
        ``apps.pipeline.outputs.FRAME_LOG_FIELDS``), or None."""
        return None

    def _estimates(self) -> np.ndarray:
        """(P, 4, 4) poses of the processed frames only, in order."""
        raise NotImplementedError

    def _keyframe_slots(self) -> list[int]:
        """Keyframes as positions among the processed frames."""
        return []


Odometry = OdometryBase


class F2FMode(OdometryBase):
    """KP3D frame-to-frame baseline (network keypoints + depth, PnP-RANSAC, chained poses)."""

    needs_frontend = True

    def __init__(self, intrinsics: Intrinsics, config: RunConfig):
        super().__init__()
        self._odo = FrameToFrameOdometry(intrinsics, config.f2f)

    def _step(self, timestamp, image, frontend_out):
        return self._odo.step(frontend_out.keypoints, frontend_out.descriptors, frontend_out.depth)

    def _diagnostics(self):
        return {"pnp_inliers": self._odo.last_inliers}

    def _estimates(self):
        return self._odo.trajectory()

    def _keyframe_slots(self):
        return list(range(len(self._odo.trajectory())))  # every processed frame is a reference


class GrowingPoints:
    """An append-only point store: each call copies only the new points (capacity doubles), so a viewer's
    map costs O(new points) per keyframe rather than O(map). ``view()`` returns read-only views that stay
    valid (a reallocation leaves earlier views on the old buffer)."""

    def __init__(self) -> None:
        self._xyz = np.zeros((1024, 3), np.float32)
        self._grey = np.zeros((1024,), np.uint8)
        self.count = 0

    def append(self, xyz: np.ndarray, grey: np.ndarray) -> None:
        """xyz (K, 3) float32, grey (K,) uint8."""
        n = self.count + len(xyz)
        if n > len(self._xyz):
            cap = max(n, 2 * len(self._xyz))
            xyz_new, grey_new = np.zeros((cap, 3), np.float32), np.zeros((cap,), np.uint8)
            xyz_new[:self.count], grey_new[:self.count] = self._xyz[:self.count], self._grey[:self.count]
            self._xyz, self._grey = xyz_new, grey_new
        self._xyz[self.count:n], self._grey[self.count:n] = xyz, grey
        self.count = n

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        xyz, grey = self._xyz[:self.count], self._grey[:self.count]
        xyz.flags.writeable = grey.flags.writeable = False
        return xyz, grey


class BackendMode(OdometryBase):
    """The C++ DS-DSO backend through dso_bridge; ``use_network`` selects dsdso (True) or dso (False)."""

    def __init__(self, intrinsics: Intrinsics, config: RunConfig, use_network: bool, photometric=None,
                 exposures: np.ndarray | None = None):
        super().__init__()
        import dso_bridge

        self.needs_frontend = use_network
        self._config = config
        self._intrinsics = intrinsics
        self._backend = dso_bridge.Backend(intrinsics, options=dict(config.backend))
        if photometric is not None:  # apps.io.photometric.Photometric in the processed frames' geometry
            self._backend.set_photometric_calibration(photometric.inverse_response, photometric.vignette)
        # the frames' exposure times (TUM monoVO), divided out by the backend with a photometric calibration
        self._exposures = exposures if photometric is not None else None
        self._prev = None            # (keypoints, descriptors, depth) of the previous frame
        self._pnp_options = dataclasses.replace(config.f2f, ransac_solver=config.pnp_solver,
                                                ransac_iterations=config.pnp_iterations,
                                                ransac_reprojection_px=config.pnp_reprojection_px)
        self._last_pose = np.eye(4)
        self._marginalized = GrowingPoints()
        self._marginalized_revision = 0  # the backend's marginalized_revision of those points
        self._rotation_rejected: list[int] = []
        self._pnp_inliers: int | None = None  # of this frame's PnP (None: not tried), accepted or not
        self._last_diag: dict[str, float | int | str] | None = None

    def _pnp_init_pose(self, fe) -> np.ndarray | None:
        """Initial pose for the tracker from keypoint matches + PnP on the previous frame's depth."""
        if self._prev is None:
            return None
        kp_prev, desc_prev, depth_prev = self._prev
        k = self._config.pnp_top_k  # the runtime returns keypoints best first
        matches = mutual_nn_matches(desc_prev[:k], fe.descriptors[:k], self._pnp_options.max_descriptor_distance)
        rel, self._pnp_inliers = relative_pose_pnp(kp_prev[:k], depth_prev, fe.keypoints[:k], matches,
                                                   self._intrinsics, self._pnp_options)
        if rel is None:
            return None
        return self._last_pose @ np.linalg.inv(rel)

    def _step(self, timestamp, image, fe):
        kwargs: dict[str, Any] = {}
        self._pnp_inliers = None
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
        if self._exposures is not None:
            kwargs["exposure"] = float(self._exposures[len(self._records)])  # step() checked the index
        result = self._backend.track(np.asarray(image, np.float32), float(timestamp), **kwargs)
        self._last_pose = np.asarray(result.world_from_cam, np.float64)
        self._last_diag = {"tracking_rmse": result.tracking_rmse, "active_points": result.num_active_points,
                           "immature_points": result.num_immature_points, "window_keyframes": result.num_keyframes,
                           "rotation_change_deg": result.rotation_change_deg,
                           "init_pose": "pnp" if "init_pose" in kwargs else "",
                           "pnp_inliers": self._pnp_inliers}
        if result.rotation_rejected:
            self._rotation_rejected.append(len(self._records))  # this frame's input index (a record per frame)
        return self._last_pose, FrameStatus.parse(result.status)

    def rotation_rejected_frames(self):
        return list(self._rotation_rejected)

    def _diagnostics(self):
        return self._last_diag

    def flush(self) -> None:
        self._backend.flush()

    def _estimates(self):
        self._backend.flush()  # the mapping thread's last keyframes (backend option mapping_thread)
        return np.asarray(self._backend.trajectory(), np.float64).reshape(-1, 4, 4)

    def ground_height(self):
        self._backend.flush()
        h = self._backend.ground_height
        return h if h > 0.0 else None

    def in_metres(self):
        self._backend.flush()
        return bool(self._backend.in_metres)

    def ground_hold(self):
        self._backend.flush()
        return {k: int(v) for k, v in self._backend.ground_hold.items()}

    def mapping_timings(self):
        t = self._backend.mapping_timings()
        return t if t.get("total", 0.0) > 0 else {}

    def keyframes(self):
        """Input indices of keyframes (the backend counts processed frames only)."""
        self._backend.flush()
        processed = [r.index for r in self._records if r.status is not FrameStatus.SKIPPED]
        slots = [int(i) for i in self._backend.keyframe_indices()]
        bad = [k for k in slots if not 0 <= k < len(processed)]
        if bad:
            raise RuntimeError(f"backend keyframe index {bad[0]} outside the {len(processed)} processed frames")
        return [processed[k] for k in slots]

    def points(self):
        xyz, grey = self._backend.points(include_marginalized=True)
        return np.asarray(xyz, np.float32).reshape(-1, 3), np.asarray(grey, np.uint8).reshape(-1)

    def marginalized_points(self):
        # Only the new ones, unless the map's unit changed since the last copy (then all of them, once).
        for _ in range(2):
            revision = self._backend.marginalized_revision
            if revision != self._marginalized_revision:
                self._marginalized, self._marginalized_revision = GrowingPoints(), revision
            xyz, grey = self._backend.marginalized_points(self._marginalized.count)
            self._marginalized.append(np.asarray(xyz, np.float32).reshape(-1, 3),
                                      np.asarray(grey, np.uint8).reshape(-1))
            if self._backend.marginalized_revision == revision:  # (a mapping thread may change it meanwhile)
                break
        return self._marginalized.view()

    def window_points(self):
        xyz, grey = self._backend.points(include_marginalized=False)
        return np.asarray(xyz, np.float32).reshape(-1, 3), np.asarray(grey, np.uint8).reshape(-1)


def make_odometry(intrinsics: Intrinsics, config: RunConfig, photometric=None,
                  exposures: np.ndarray | None = None) -> OdometryBase:
    """The run's odometry; ``photometric``: the camera's ``apps.io.photometric.Photometric`` in the
    processed frames' geometry, for the backend (f2f matches keypoints on the frames as recorded), with
    the frames' ``exposures`` (times, (N,) float64) when known."""
    if config.mode == "f2f":
        if photometric is not None:
            logger.warning("the photometric calibration has no effect with mode f2f (keypoints on the frames as "
                           "recorded); it is for the direct backend (dso, dsdso)")
        return F2FMode(intrinsics, config)
    return BackendMode(intrinsics, config, use_network=config.mode == "dsdso", photometric=photometric,
                       exposures=exposures)
