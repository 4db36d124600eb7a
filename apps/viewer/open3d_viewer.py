"""Live 3D view of a VO run with Open3D's legacy Visualizer (window or headless EGL recording).

Shows the estimated trajectory, the current camera frustum, recent keyframe frustums, the
active window's points (orange, shaded by grey value), the marginalised map (grey) and,
optionally, the ground-truth path; beside it a 2D panel with the current image and its
keypoints. Recorded frames (``record_dir/frame_%06d.png``) hold both side by side; on screen the
image panel is a second window placed right of the 3D window (``window_left``/``window_top``).

Keys (either window, interactive mode): ``F`` follow view, ``T`` top view of the whole run, ``V`` free
view (mouse: drag rotates, wheel zooms, ctrl-drag or middle-drag pans), ``Space`` pause / resume the run,
``Q`` / ``Esc`` close the viewer (the run continues without it), ``H`` Open3D's help for the rest.

Rendering problems never stop the run: any failure of the renderer (no OpenGL/EGL, window
closed, capture or write error) logs one warning and disables the viewer (``enabled`` False).
Headless capture uses ``Visualizer.create_window(visible=False)``, which Open3D backs with an
EGL offscreen context when there is no display (``OffscreenRenderer`` would need Vulkan/filament).
"""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from apps.viewer import scene
from apps.pipeline.observer import OutputObserver
from apps.viewer.panel import image_panel, side_by_side, write_png_rgb
from frontend.common.typed_config import load_dataclass

logger = logging.getLogger(__name__)

VIEWS = ("follow", "top", "free")
# GLFW key codes of the viewer's keys (see the module docstring); they replace Open3D's defaults for these keys
KEY_VIEWS = {ord("F"): "follow", ord("T"): "top", ord("V"): "free"}
KEY_PAUSE = ord(" ")
WINDOW_GAP_PX = 8  # between the 3D window and the image window
# RGB colours in [0, 1]
TRAJECTORY_RGB = (0.2, 0.9, 0.3)
GT_RGB = (0.3, 0.55, 1.0)
FRUSTUM_RGB = (1.0, 0.15, 0.15)
KEYFRAME_RGB = (0.65, 0.4, 1.0)
ACTIVE_TINT = (1.0, 0.5, 0.1)
MARGINALIZED_TINT = (1.0, 1.0, 1.0)


@dataclass
class ViewerOptions:
    """Options of :class:`Open3DViewer`. Call ``check()`` (done by the viewer) to validate."""

    width: int = 960                 # 3D view width, pixels
    height: int = 540                # 3D view height (also the image panel's height), pixels
    view: str = "follow"             # "follow": behind/above the camera; "top": top-down on the path;
                                     # "free": set once, then left to the mouse (interactive)
    headless: bool | None = None     # None: headless when no display is found or record_dir is set
    record_dir: str | os.PathLike | None = None  # write composed frames DIR/frame_%06d.png
    record_every: int = 1            # record frames whose index is a multiple of this
    show_panel: bool = True          # image + keypoints panel beside the 3D view
    max_points: int = 50_000         # display cap on marginalised points (stride subsampling)
    max_active_points: int = 20_000  # display cap on active points
    point_size: float = 2.0          # pixels
    follow_back: float = 0.6         # follow view: eye this far behind the camera (x scene scale)
    follow_up: float = 0.3           # follow view: eye this far above the camera (x scene scale)
    follow_ahead: float = 0.5        # follow view: looks at this point ahead of the camera (x scene scale)
    frustum_size: float = 0.08       # depth of the drawn frustums (x scene scale)
    max_keyframe_frustums: int = 300  # most recent keyframes drawn as frustums (0: none)
    fov_deg: float = 60.0            # vertical field of view of the 3D view, degrees
    background: tuple[float, float, float] = (0.08, 0.08, 0.10)  # RGB in [0, 1]
    gt_scale_to_estimate: bool = True  # draw GT scaled (path-length ratio) and moved onto the estimate
    final_top_view: bool = True      # on close, record DIR/final.png: top-down view of the whole run
    wait_on_close: bool = True       # interactive window: close() waits until the user closes it
    window_name: str = "kp3d-vo"
    window_left: int = 40            # screen position of the 3D window (the image window opens to its right)
    window_top: int = 40

    def check(self) -> "ViewerOptions":
        if int(self.width) < 16 or int(self.height) < 16:
            raise ValueError(f"viewer size must be at least 16x16 pixels, got {self.width}x{self.height}")
        if self.view not in VIEWS:
            raise ValueError(f"viewer view must be one of {VIEWS}, got {self.view!r}")
        if int(self.record_every) < 1:
            raise ValueError(f"viewer record_every must be >= 1, got {self.record_every}")
        for name in ("max_points", "max_active_points"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"viewer {name} must be >= 1, got {getattr(self, name)}")
        if int(self.max_keyframe_frustums) < 0:
            raise ValueError(f"viewer max_keyframe_frustums must be >= 0, got {self.max_keyframe_frustums}")
        for name in ("point_size", "follow_back", "frustum_size"):
            if not getattr(self, name) > 0:
                raise ValueError(f"viewer {name} must be positive, got {getattr(self, name)}")
        if not 1.0 <= self.fov_deg <= 150.0:
            raise ValueError(f"viewer fov_deg must be in [1, 150], got {self.fov_deg}")
        if len(self.background) != 3 or not all(0.0 <= c <= 1.0 for c in self.background):
            raise ValueError(f"viewer background must be 3 values in [0, 1], got {self.background}")
        return self


def display_available() -> bool:
    """True when a window can probably be opened (an X11/Wayland display, or macOS/Windows)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class Open3DViewer(OutputObserver):
    """Observer that draws the run in 3D (Open3D) and optionally records composed PNG frames.

    options: ViewerOptions (defaults when None).
    **overrides: ViewerOptions fields replacing those of ``options``, e.g. ``record_dir=DIR``.
    intrinsics: apps.io.camera.Intrinsics of the images, for the frustum shape (optional; a
        KITTI-like field of view is assumed without it).
    gt_world_from_cam: (N, 4, 4) ground-truth poses, row i = frame index i, drawn as a blue
        path (optional). With ``gt_scale_to_estimate`` it is moved onto the estimate's first
        pose and scaled by the ratio of path lengths over the frames seen so far (monocular
        estimates have an arbitrary scale); otherwise it is drawn as given.

    The window is created at the first ``on_frame`` (that is where a failure disables the viewer).
    ``on_frame`` renders, so the run loop calls it after the frame's on_points/on_trajectory.
    Without a display and without ``record_dir``, an automatic (``headless=None``) viewer has
    nothing to show: it logs a warning and disables itself.
    """

    def __init__(self, options: ViewerOptions | None = None, *, intrinsics=None,
                 gt_world_from_cam: np.ndarray | None = None, **overrides) -> None:
        options = options or ViewerOptions()
        unknown = sorted(set(overrides) - {f.name for f in fields(ViewerOptions)})
        if unknown:
            raise ValueError(f"Open3DViewer: unknown option(s) {unknown}; see ViewerOptions")
        values = {f.name: getattr(options, f.name) for f in fields(ViewerOptions)} | overrides
        self.options = load_dataclass(ViewerOptions, values, "viewer options").check()  # types checked
        self.record_dir = Path(self.options.record_dir) if self.options.record_dir is not None else None
        has_display = display_available()
        self.headless = (self.options.headless if self.options.headless is not None
                         else (self.record_dir is not None or not has_display))
        self.enabled = True
        if self.options.headless is None and self.record_dir is None and not has_display:
            logger.warning("viewer: no display found (DISPLAY/WAYLAND_DISPLAY unset); the live view is "
                           "disabled (record frames offscreen with a record folder, e.g. --viewer-record DIR)")
            self.enabled = False
        self.frames_written: list[Path] = []
        self.last_frame: np.ndarray | None = None  # last composed (H, W', 3) uint8 RGB capture
        self._half_tan = None
        if intrinsics is not None:
            self._half_tan = (0.5 * intrinsics.width / intrinsics.fx, 0.5 * intrinsics.height / intrinsics.fy)
        self._gt = None if gt_world_from_cam is None else scene.check_gt_poses(gt_world_from_cam)
        self._poses_from_frames: list[np.ndarray] = []
        self._frame_indices: list[int] = []
        self._trajectory: np.ndarray | None = None
        self._keyframes: list[np.ndarray] = []
        self._active = (np.zeros((0, 3)), np.zeros(0, np.uint8))
        self._marginalized = (np.zeros((0, 3)), np.zeros(0, np.uint8))
        self._scale: float | None = None
        self._vis = None
        self._image_window = None
        self._geoms: dict = {}
        self._added: set[str] = set()
        self._view_set = False
        self._last_frame_args: tuple | None = None  # (index, image, pose, keypoints, status) of the last frame
        self._dirty = False  # map/trajectory changed after the last rendered frame
        self.view = self.options.view  # current view; the F/T/V keys change it
        self.paused = False              # Space toggles; on_frame waits while paused

    # ----------------------------------------------------------------- observer API
    def set_gt(self, gt_world_from_cam: np.ndarray | None) -> None:
        """Set or clear the ground-truth path, (N, 4, 4) float64."""
        self._gt = None if gt_world_from_cam is None else scene.check_gt_poses(gt_world_from_cam)

    def on_keyframe(self, index: int, world_from_cam: np.ndarray) -> None:
        self._keyframes.append(scene.check_pose(world_from_cam, f"keyframe {index} world_from_cam"))
        if len(self._keyframes) > max(1, self.options.max_keyframe_frustums):
            del self._keyframes[0]
        self._dirty = True

    def on_points(self, active_xyz, active_grey, marginalized_xyz, marginalized_grey) -> None:
        # keep only the displayed subset (bounded memory and copy cost for large maps)
        self._active = scene.check_points(active_xyz, active_grey, "active", self.options.max_active_points)
        self._marginalized = scene.check_points(marginalized_xyz, marginalized_grey, "marginalized",
                                                self.options.max_points)
        self._dirty = True

    def on_trajectory(self, world_from_cam: np.ndarray) -> None:
        self._trajectory = scene.check_poses(world_from_cam, "trajectory world_from_cam")
        self._dirty = True

    def on_frame(self, index: int, image: np.ndarray, world_from_cam: np.ndarray,
                 keypoints: np.ndarray | None, status: str) -> None:
        image = np.asarray(image)
        if image.ndim != 2 or not np.issubdtype(image.dtype, np.number) or np.iscomplexobj(image):
            raise ValueError(f"on_frame: image must be (H, W) uint8 (or real grey in [0, 255]), "
                             f"got {image.shape} {image.dtype}")
        if image.dtype != np.uint8:  # e.g. the backend's float32 grey in [0, 255]
            image = np.clip(np.nan_to_num(image), 0, 255).astype(np.uint8)
        if keypoints is not None:
            keypoints = np.asarray(keypoints, dtype=np.float64)
            if keypoints.ndim != 2 or keypoints.shape[1] != 2:
                raise ValueError(f"on_frame: keypoints must have shape (K, 2), got {keypoints.shape}")
        pose = scene.check_pose(world_from_cam, f"frame {index} world_from_cam")
        self._poses_from_frames.append(pose)
        self._frame_indices.append(int(index))
        self._last_frame_args = (int(index), image, pose, keypoints, str(status))
        self._dirty = False
        if not self.enabled:
            return
        try:
            self._render(int(index), image, pose, keypoints, str(status))
        except Exception as exc:  # noqa: BLE001 - the viewer must never stop the run
            self._disable(f"rendering failed ({type(exc).__name__}: {exc})")

    def close(self) -> None:
        """Record ``final.png`` (see ``final_top_view``), wait for an interactive window, release it."""
        if self.enabled and self._vis is not None and self._last_frame_args is not None:
            try:
                self._finish()
            except Exception as exc:  # noqa: BLE001
                logger.warning("viewer: final render failed (%s: %s)", type(exc).__name__, exc)
        for attr in ("_vis", "_image_window"):
            vis = getattr(self, attr)
            setattr(self, attr, None)
            if vis is not None:
                try:
                    vis.destroy_window()
                except Exception:  # noqa: BLE001
                    logger.debug("destroy_window failed", exc_info=True)
        self._geoms.clear()
        self._added.clear()

    # ----------------------------------------------------------------- internals
    def _finish(self) -> None:
        index, image, pose, keypoints, status = self._last_frame_args
        if self.record_dir is not None and self.options.final_top_view:
            scale = self._update_scale(pose)
            self._update_geometry(pose, image.shape, scale)
            self._apply_view(self._view_extrinsic(pose, scale, view="top"), scale)
            self._vis.poll_events()
            self._vis.update_renderer()
            panel = (image_panel(image, keypoints, int(self.options.height), status=f"{status} (final)", index=index)
                     if self.options.show_panel else None)
            path = self.record_dir / "final.png"
            write_png_rgb(path, side_by_side(self.capture_3d(), panel))
            self.frames_written.append(path)
        if not self.headless and self.options.wait_on_close and display_available():
            if self._dirty:
                self._render(index, image, pose, keypoints, status)
            logger.info("viewer: the run has ended; close the viewer window (or press Ctrl-C) to exit")
            try:
                while self._vis is not None and self._vis.poll_events():
                    self._vis.update_renderer()
                    if self._image_window is not None:
                        self._image_window.poll()
                    time.sleep(0.03)
            except KeyboardInterrupt:
                pass

    def _disable(self, reason: str) -> None:
        logger.warning("viewer disabled: %s; the run continues without it", reason)
        self.enabled = False
        self.close()

    def _trajectory_poses(self) -> np.ndarray:
        if self._trajectory is not None and len(self._trajectory):
            return self._trajectory
        return np.asarray(self._poses_from_frames).reshape(-1, 4, 4)

    def _register_keys(self, vis) -> None:
        for key, view in KEY_VIEWS.items():
            vis.register_key_callback(key, lambda _vis, view=view: self.on_view_key(view))
        vis.register_key_callback(KEY_PAUSE, lambda _vis: self.on_pause_key())

    def on_view_key(self, view: str) -> bool:
        """Switch to ``view`` ("follow", "top" or "free"; keys F, T, V) and redraw. Returns True (redraw)."""
        if view not in VIEWS:
            raise ValueError(f"viewer view must be one of {VIEWS}, got {view!r}")
        self.view = view
        self._view_set = False  # "free" starts from the current follow/top camera
        if self._vis is not None and self._last_frame_args is not None:
            pose = self._last_frame_args[2]
            scale = self._scale or 1.0
            if view != "free":
                self._apply_view(self._view_extrinsic(pose, scale), scale)
            self._view_set = True
        logger.info("viewer: %s view", view)
        return True

    def on_pause_key(self) -> bool:
        """Pause or resume the run (key Space): while paused, on_frame keeps the windows alive and waits."""
        self.paused = not self.paused
        logger.info("viewer: %s", "paused (Space resumes)" if self.paused else "resumed")
        return False

    def _wait_while_paused(self, poll_s: float = 0.03) -> None:
        while self.paused and self._vis is not None:
            if not self._vis.poll_events():
                self.paused = False
                self._disable("the viewer window was closed")
                return
            self._vis.update_renderer()
            if self._image_window is not None:
                self._image_window.poll()
            time.sleep(poll_s)

    def _create_window(self, panel_width: int) -> None:
        import open3d as o3d  # heavy; only when a viewer is really used

        o = self.options
        vis = o3d.visualization.Visualizer() if self.headless else o3d.visualization.VisualizerWithKeyCallback()
        if not vis.create_window(window_name=o.window_name, width=int(o.width), height=int(o.height),
                                 left=int(o.window_left), top=int(o.window_top), visible=not self.headless):
            raise RuntimeError("Open3D could not create a window or an EGL offscreen context")
        self._vis = vis
        if not self.headless:
            self._register_keys(vis)
            logger.info("viewer keys: F follow view, T top view, V free view (mouse), Space pause/resume, "
                        "Q/Esc close the viewer")
        opt = vis.get_render_option()
        opt.background_color = np.asarray(o.background, dtype=np.float64)
        opt.point_size = float(o.point_size)
        opt.light_on = False
        self._geoms = {
            "marginalized": o3d.geometry.PointCloud(), "active": o3d.geometry.PointCloud(),
            "trajectory": o3d.geometry.LineSet(), "gt": o3d.geometry.LineSet(),
            "keyframes": o3d.geometry.LineSet(), "frustum": o3d.geometry.LineSet(),
        }
        if not self.headless and o.show_panel:
            try:
                self._image_window = _ImageWindow(f"{o.window_name} image", panel_width, int(o.height),
                                                  left=int(o.window_left) + int(o.width) + WINDOW_GAP_PX,
                                                  top=int(o.window_top), register_keys=self._register_keys)
            except Exception as exc:  # noqa: BLE001 - the 3D view still works without it
                logger.warning("viewer: no image window (%s); showing the 3D view only", exc)

    def _set_lines(self, name: str, points: np.ndarray, lines: np.ndarray, rgb) -> None:
        import open3d as o3d

        g = self._geoms[name]
        g.points = o3d.utility.Vector3dVector(np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3))
        g.lines = o3d.utility.Vector2iVector(np.ascontiguousarray(lines, dtype=np.int32).reshape(-1, 2))
        g.colors = o3d.utility.Vector3dVector(np.tile(np.asarray(rgb, np.float64), (len(lines), 1)))
        self._push(name, len(lines) > 0)

    def _set_points(self, name: str, xyz: np.ndarray, rgb: np.ndarray) -> None:
        import open3d as o3d

        g = self._geoms[name]
        g.points = o3d.utility.Vector3dVector(np.ascontiguousarray(xyz, dtype=np.float64))
        g.colors = o3d.utility.Vector3dVector(np.ascontiguousarray(rgb, dtype=np.float64))
        self._push(name, len(xyz) > 0)

    def _push(self, name: str, non_empty: bool) -> None:
        """Add a geometry the first time it has content, then update it in place."""
        if name in self._added:
            self._vis.update_geometry(self._geoms[name])
        elif non_empty:
            self._vis.add_geometry(self._geoms[name], reset_bounding_box=not self._added)
            self._added.add(name)

    def _update_geometry(self, pose: np.ndarray, image_shape: tuple[int, int], scale: float) -> None:
        o = self.options
        traj = self._trajectory_poses()
        centres = traj[:, :3, 3]
        self._set_lines("trajectory", centres, scene.polyline(centres), TRAJECTORY_RGB)
        if self._gt is not None:
            gt_centres = self.gt_display_centres()
            self._set_lines("gt", gt_centres, scene.polyline(gt_centres), GT_RGB)
        if self._half_tan is not None:
            half_w, half_h = self._half_tan
        else:  # KITTI-like horizontal field of view (about 81 degrees)
            half_w = 0.85
            half_h = half_w * image_shape[0] / image_shape[1]
        size = o.frustum_size * scale
        pts, lines = scene.frustum_lineset(pose, size, half_w, half_h)
        self._set_lines("frustum", pts, lines, FRUSTUM_RGB)
        if o.max_keyframe_frustums > 0 and self._keyframes:
            kf = np.asarray(self._keyframes[-o.max_keyframe_frustums:])
            pts, lines = scene.frustum_lineset(kf, 0.5 * size, half_w, half_h)
            self._set_lines("keyframes", pts, lines, KEYFRAME_RGB)
        xyz, grey = self._marginalized  # already subsampled to max_points in on_points
        self._set_points("marginalized", xyz, scene.grey_colours(grey, MARGINALIZED_TINT))
        xyz, grey = self._active
        self._set_points("active", xyz, scene.grey_colours(grey, ACTIVE_TINT, floor=0.45))

    def gt_display_centres(self) -> np.ndarray:
        """(K, 3) GT camera centres of the covered frames in the estimate's world (see ``gt_scale_to_estimate``)."""
        gt = self._gt
        covered = ~np.isnan(gt).all(axis=(1, 2))
        if not self.options.gt_scale_to_estimate:
            return gt[covered, :3, 3]
        est = np.asarray(self._poses_from_frames)
        idx = np.asarray(self._frame_indices, dtype=np.int64)
        ok = (idx >= 0) & (idx < len(gt))
        ok[ok] = covered[idx[ok]]
        est, idx = est[ok], idx[ok]
        shown = gt[covered, :3, 3]
        if len(idx) == 0:
            return shown
        scale = scene.path_length_ratio(est[:, :3, 3], gt[idx, :3, 3])
        # est_world_from_gt_world: GT frame idx[0] onto the estimate's pose of that frame, scaled
        ref = est[0] @ np.linalg.inv(gt[idx[0]])
        local = shown - gt[idx[0], :3, 3]
        return est[0, :3, 3] + scale * local @ ref[:3, :3].T

    def _view_extrinsic(self, pose: np.ndarray, scale: float, view: str | None = None) -> np.ndarray:
        o = self.options
        if (view or self.view) == "top":
            # framed on the whole path (and GT) plus, for the live view, the bulk of the active points; a
            # few far map points (small inverse depths) must not shrink the path to a dot
            traj = self._trajectory_poses()
            centres = traj[:, :3, 3]
            if self._gt is not None:
                centres = np.concatenate([centres, self.gt_display_centres()])
            if view is None:
                active = self._active[0]
                sample = active[scene.stride_subsample(len(active), 2000)]
                centres = np.concatenate([centres, scene.central_points(sample)])
            return scene.top_down_view(centres, traj[0], math.radians(o.fov_deg), o.width / o.height,
                                       min_extent=2.0 * scale)
        return scene.follow_view(pose, scale, o.follow_back, o.follow_up, o.follow_ahead)

    def _apply_view(self, cam_from_world: np.ndarray, scale: float) -> None:
        import open3d as o3d

        o = self.options
        vc = self._vis.get_view_control()
        params = o3d.camera.PinholeCameraParameters()
        f = 0.5 * o.height / math.tan(0.5 * math.radians(o.fov_deg))
        params.intrinsic = o3d.camera.PinholeCameraIntrinsic(int(o.width), int(o.height), f, f,
                                                             o.width / 2 - 0.5, o.height / 2 - 0.5)
        params.extrinsic = cam_from_world
        # Fixed clipping planes: the legacy view derives them from the first bounding box otherwise.
        vc.set_constant_z_near(max(1e-3, 0.01 * scale))
        vc.set_constant_z_far(1e4 * scale)
        if not vc.convert_from_pinhole_camera_parameters(params, allow_arbitrary=True):
            raise RuntimeError("Open3D rejected the view camera parameters")

    def _update_scale(self, pose: np.ndarray) -> float:
        s = scene.scene_scale(pose, self._active[0], self._trajectory_poses()[:, :3, 3])
        # smooth in log space so the follow camera does not jump with the point set
        self._scale = s if self._scale is None else math.exp(0.8 * math.log(self._scale) + 0.2 * math.log(s))
        return self._scale

    def _render(self, index: int, image: np.ndarray, pose: np.ndarray, keypoints, status: str) -> None:
        recording = self.record_dir is not None and index % self.options.record_every == 0
        if self.headless and self.record_dir is not None and not recording:
            return  # nothing to show offscreen between recorded frames
        if self._vis is None:
            self._create_window(panel_width=max(1, round(image.shape[1] * self.options.height / image.shape[0])))
        scale = self._update_scale(pose)
        self._update_geometry(pose, image.shape, scale)
        if self.view != "free" or not self._view_set:
            self._apply_view(self._view_extrinsic(pose, scale), scale)
            self._view_set = True
        if not self._vis.poll_events():
            self._disable("the viewer window was closed")
            return
        self._vis.update_renderer()
        panel = None
        if self.options.show_panel:
            panel = image_panel(image, keypoints, int(self.options.height), status=status, index=index)
            if self._image_window is not None:
                self._image_window.show(panel)
        if recording or self.headless:
            self.last_frame = side_by_side(self.capture_3d(), panel)
        if recording:
            path = self.record_dir / f"frame_{index:06d}.png"
            write_png_rgb(path, self.last_frame)
            self.frames_written.append(path)
        if self.paused and not self.headless:
            self._wait_while_paused()

    def capture_3d(self) -> np.ndarray:
        """The current 3D view as (height, width, 3) uint8 RGB (renders first)."""
        if self._vis is None:
            raise RuntimeError("viewer has no window (no frame rendered yet, or disabled)")
        buf = np.asarray(self._vis.capture_screen_float_buffer(do_render=True))
        if buf.ndim != 3 or buf.shape[0] == 0 or buf.shape[1] == 0:
            raise RuntimeError(f"Open3D returned an empty capture buffer {buf.shape}")
        rgb = np.clip(buf[..., :3], 0.0, 1.0) * np.float32(255.0)
        rgb += np.float32(0.5)
        return rgb.astype(np.uint8)


class _ImageWindow:
    """A second Open3D window showing the 2D panel beside the 3D window (interactive mode only)."""

    def __init__(self, name: str, width: int, height: int, left: int, top: int, register_keys=None) -> None:
        import open3d as o3d

        self._vis = o3d.visualization.VisualizerWithKeyCallback()
        if not self._vis.create_window(window_name=name, width=width, height=height, left=left, top=top):
            raise RuntimeError("Open3D could not create the image window")
        if register_keys is not None:
            register_keys(self._vis)
        self._image = None

    def poll(self) -> None:
        self._vis.poll_events()
        self._vis.update_renderer()

    def show(self, rgb: np.ndarray) -> None:
        import open3d as o3d

        img = o3d.geometry.Image(np.ascontiguousarray(rgb))
        if self._image is not None:
            self._vis.remove_geometry(self._image, reset_bounding_box=False)
        self._vis.add_geometry(img, reset_bounding_box=self._image is None)
        self._image = img
        self._vis.poll_events()
        self._vis.update_renderer()

    def destroy_window(self) -> None:
        self._vis.destroy_window()
