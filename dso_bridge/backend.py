"""Typed Python wrapper of the C++ DS-DSO backend (``dso_bridge._dso_bridge.System``).

Frames: ``image`` is ``(H, W) float32`` grey in [0, 255]; poses are ``(4, 4) float64`` ``world_from_cam``;
depth is metric z-depth ``(H, W) float32`` metres (0 = unknown); ``keypoint_idepth`` is 1/m.

Checked here, at the boundary, with a ValueError naming the argument (the C++ binding checks dtype,
shape and finiteness): intrinsics that cannot describe the frames (principal point outside the image,
field of view outside 2-160 degrees); an image whose grey levels look like [0, 1] (max <= 1, not all
zero) or exceed 255 (no silent conversion: scale it to [0, 255] yourself); depth priors below 0 or
above ``MAX_PRIOR_DEPTH_M`` (use 0 for unknown or sky); keypoint inverse depths below 0 or in
(0, 1 / MAX_PRIOR_DEPTH_M) and negative variances; a timestamp that is not after the previous
frame's (timestamps must increase strictly).
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
MAX_PRIOR_DEPTH_M = 1e4        # a depth prior beyond 10 km is a unit error or a sky marker: refused (use 0)
FOV_RANGE_DEG = (2.0, 160.0)   # plausible field of view of a pinhole camera, each axis


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
    # tracked rotation against the constant-velocity prediction, degrees (-1: unknown); a frame above
    # options.tracking.max_rotation_change_deg is LOST with rotation_rejected set
    rotation_change_deg: float = -1.0
    rotation_rejected: bool = False
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
    try:
        fx, fy, cx, cy = (float(v) for v in vals[:4])
        width, height = int(vals[4]), int(vals[5])
    except (TypeError, ValueError):
        raise ValueError(f"intrinsics: fx, fy, cx, cy, width, height must be numbers, got {vals!r}") from None
    _check_intrinsics(fx, fy, cx, cy, width, height)
    return fx, fy, cx, cy, width, height


def _check_intrinsics(fx: float, fy: float, cx: float, cy: float, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ValueError(f"intrinsics: width and height must be positive, got {width}x{height}")
    for name, f, c, size in (("x", fx, cx, width), ("y", fy, cy, height)):
        if not (np.isfinite(f) and f > 0):
            raise ValueError(f"intrinsics: f{name} must be a positive finite number of pixels, got {f!r}")
        fov = float(np.degrees(2.0 * np.arctan(size / (2.0 * f))))
        if not FOV_RANGE_DEG[0] <= fov <= FOV_RANGE_DEG[1]:
            raise ValueError(f"intrinsics: f{name} = {f:g} px gives a {fov:.3g} degree field of view over {size} px "
                             f"(expected {FOV_RANGE_DEG[0]:g}-{FOV_RANGE_DEG[1]:g}; focal length in pixels?)")
        if not (np.isfinite(c) and -0.5 <= c <= size - 0.5):
            raise ValueError(f"intrinsics: c{name} = {c!r} px is outside the {width}x{height} image "
                             "(the principal point must lie in the image; a calibration of another image size?)")


def _check_frame_values(image: Any, depth: Any, keypoint_idepth: Any, keypoint_idepth_var: Any) -> None:
    """Value checks the C++ binding does not make (it checks dtype, shape and finiteness)."""
    if isinstance(image, np.ndarray) and image.dtype.kind == "f" and image.size:
        finite = image[np.isfinite(image)]
        top = float(finite.max()) if finite.size else 0.0
        if 0.0 < top <= 1.0:
            raise ValueError(f"image: grey levels look like [0, 1] (max {top:.3g}); the backend expects grey "
                             "levels in [0, 255] (multiply by 255)")
        if top > 255.0 + 1e-3:
            raise ValueError(f"image: grey levels up to {top:.6g} exceed 255; the backend expects [0, 255] "
                             "(scale 16-bit or 12-bit data down)")
    if isinstance(depth, np.ndarray) and depth.dtype.kind == "f" and depth.size:
        finite = np.isfinite(depth)
        over = finite & (depth > MAX_PRIOR_DEPTH_M)
        if np.any(over):
            r, c = np.argwhere(over)[0]
            raise ValueError(f"depth: {int(over.sum())} values exceed {MAX_PRIOR_DEPTH_M:g} m (first {depth[r, c]:.3g} "
                             f"at row {r}, column {c}); expected metric depth in metres, 0 = unknown (also for sky)")
        if np.any(finite & (depth < 0)):
            raise ValueError("depth must be >= 0 metres (0 = unknown), found negative values")
    if isinstance(keypoint_idepth, np.ndarray) and keypoint_idepth.dtype.kind == "f" and keypoint_idepth.size:
        v = keypoint_idepth[np.isfinite(keypoint_idepth)]
        if np.any(v < 0):
            raise ValueError(f"keypoint_idepth: {int((v < 0).sum())} negative inverse depths (expected 1/m >= 0, "
                             "0 = unknown)")
        tiny = (v > 0) & (v < 1.0 / MAX_PRIOR_DEPTH_M)
        if np.any(tiny):
            raise ValueError(f"keypoint_idepth: {int(tiny.sum())} inverse depths below {1.0 / MAX_PRIOR_DEPTH_M:g} 1/m "
                             f"(points beyond {MAX_PRIOR_DEPTH_M:g} m, e.g. {float(v[tiny][0]):.3g}); use 0 for unknown")
    if isinstance(keypoint_idepth_var, np.ndarray) and keypoint_idepth_var.dtype.kind == "f":
        v = keypoint_idepth_var[np.isfinite(keypoint_idepth_var)]
        if np.any(v < 0):
            raise ValueError("keypoint_idepth_var: variances must be >= 0 ((1/m)^2; 0 = the default prior sigma)")


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
        self._last_timestamp: float | None = None

    def track(self, image: np.ndarray, timestamp: float, keypoints: np.ndarray | None = None,
              scores: np.ndarray | None = None, depth: np.ndarray | None = None,
              init_pose: np.ndarray | None = None, *, keypoint_idepth: np.ndarray | None = None,
              keypoint_idepth_var: np.ndarray | None = None, exposure: float | None = None) -> FrameResult:
        """Tracks one frame.

        Args:
            image: (H, W) float32 grey in [0, 255].
            timestamp: seconds.
            keypoints: (K, 2) float32 pixels (x, y), optional; become point candidates.
            scores: (K,) float32 keypoint scores, optional.
            depth: (H, W) float32 metric depth prior in metres (0 = unknown), optional.
            keypoint_idepth / keypoint_idepth_var: (K,) float32 per-keypoint inverse depth (1/m) and its
                variance ((1/m)^2), optional alternative to ``depth``.
            init_pose: (4, 4) float64 world_from_cam hypothesis, optional: the previous frame's pose
                composed with a motion measured in the depth prior's unit (e.g. PnP on network depth);
                the backend rescales that motion to the map's unit.
            exposure: the frame's exposure time (any unit, > 0), optional: with a photometric calibration
                (:meth:`set_photometric_calibration`) the frame's irradiance is divided by it, relative to
                the first exposure given; ignored without one.
        Raises:
            ValueError naming the argument on a wrong dtype, shape or non-finite values, and on the
            values refused in the module docstring (grey levels in [0, 1], depth beyond 10 km,
            a timestamp not after the previous one). Nothing changes in the backend then.
        """
        try:
            t = float(timestamp)
        except (TypeError, ValueError):
            raise ValueError(f"timestamp must be a number of seconds, got {timestamp!r}") from None
        if self._last_timestamp is not None and t <= self._last_timestamp:
            raise ValueError(f"timestamp {t!r} s is not after the previous frame's {self._last_timestamp!r} s "
                             "(timestamps must increase strictly; repeated or backwards time)")
        _check_frame_values(image, depth, keypoint_idepth, keypoint_idepth_var)
        d = self._system.track(image, t, keypoints, scores, depth, keypoint_idepth,
                               keypoint_idepth_var, init_pose, 0.0 if exposure is None else float(exposure))
        if np.isfinite(t):
            self._last_timestamp = t
        result = FrameResult(**d)
        if self._on_frame is not None:
            self._on_frame(result)
        return result

    def set_photometric_calibration(self, inverse_response: np.ndarray | None = None,
                                    vignette: np.ndarray | None = None) -> None:
        """DSO's photometric calibration of the camera: every frame given to :meth:`track` becomes
        ``inverse_response[I] / vignette`` (linear interpolation between table entries) before tracking
        and mapping; the networks' inputs are not changed. Call it before the first frame.

        Args:
            inverse_response: (256,) float32, non-decreasing: the irradiance of grey levels 0..255 (G^-1;
                DSO's ``pcalib.txt``, scaled to 0..255), or None (linear response).
            vignette: (H, W) float32 in (0, 1], the image size: relative irradiance reaching each pixel
                (DSO's ``vignette.png`` divided by its maximum), or None (no vignetting).
        Raises:
            ValueError naming the argument for a wrong dtype, shape or values; RuntimeError after the
            first frame.
        """
        self._system.set_photometric_calibration(inverse_response, vignette)

    def flush(self) -> None:
        """Waits until the mapping thread (option ``mapping_thread``) has processed every tracked frame; no-op
        without one. Raises the mapping thread's error, if it had one. The accessors below return current
        estimates: flush first for the final ones."""
        self._system.flush()

    def mapping_timings(self) -> dict[str, float]:
        """Summed milliseconds of the mapping thread's work by stage (``FrameResult.timings_ms`` keys); zeros
        without a mapping thread, whose mapping timings are in each ``FrameResult`` instead."""
        return dict(self._system.mapping_timings())

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

    def marginalized_points(self, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The marginalised points from the ``start``-th on: ``(M - start, 3) float32`` world xyz and
        ``(M - start,) uint8`` grey. They only grow (in marginalisation order), so a viewer fetches each once.
        Raises IndexError when ``start`` exceeds their number M."""
        return self._system.marginalized_points(int(start))

    @property
    def marginalized_revision(self) -> int:
        """Counts the changes of the map's unit (``ba.camera_height``: to metres, once) that moved the
        marginalised points already returned; when it changes, fetch them all again (``start=0``)."""
        return int(self._system.marginalized_revision)

    def frame_statuses(self) -> list[str]:
        """Status of every frame (INITIALIZING / TRACKED / KEYFRAME / LOST / RECOVERED)."""
        return list(self._system.frame_statuses())

    @property
    def num_frames(self) -> int:
        return int(self._system.num_frames)

    @property
    def ground_height(self) -> float:
        """The camera's height above the road held by ``ba.ground_height_*``, in the map's unit; 0 until
        measured (or with the hold off). A vehicle camera's known height in metres divided by it is the
        map's metres per unit."""
        return float(self._system.ground_height)

    @property
    def in_metres(self) -> bool:
        """True once ``ba.camera_height`` has put the map in metres; it stays true for the rest of the run,
        also while :attr:`ground_height` is 0 again (the held height measured anew after a relock)."""
        return bool(self._system.in_metres)

    @property
    def ground_hold(self) -> dict[str, int]:
        """What the camera-height hold (``ba.ground_height_*``) did with the road planes so far: ``planes``
        given, ``measuring`` (taken while a target was measured), ``accepted`` (corrected the scale),
        ``rejected_tilt`` / ``rejected_height`` (tilted from the held road, or outside the height band) and
        ``locks`` (targets set: the first and one per relock), ``prior_chosen`` (target measurements whose
        samples the depth prior chose, ``ba.ground_target_prior_band``)."""
        return {k: int(v) for k, v in self._system.ground_hold.items()}
