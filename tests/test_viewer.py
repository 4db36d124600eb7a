"""Viewer: observer fan-out, view geometry, and headless Open3D recording (EGL) of a synthetic run."""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from apps.pipeline.observer import CompositeObserver, OutputObserver
from apps.viewer import Open3DViewer, ViewerOptions
from apps.viewer import scene
from apps.viewer.open3d_viewer import ACTIVE_TINT, FRUSTUM_RGB
from apps.viewer.panel import KEYPOINT_RGB, image_panel

W, H = 320, 240
BACKGROUND = (0.08, 0.08, 0.10)
IMAGE_SHAPE = (120, 376)  # KITTI-like aspect, small


def synthetic_run(n: int = 30, seed: int = 0):
    """Camera driving forward 1 m per frame along +z, then turning right; random map points."""
    rng = np.random.default_rng(seed)
    poses = np.tile(np.eye(4), (n, 1, 1))
    yaw, pos = 0.0, np.zeros(3)
    for i in range(n):
        poses[i, :3, :3] = Rotation.from_euler("y", yaw).as_matrix()
        poses[i, :3, 3] = pos
        pos = pos + poses[i, :3, 2]
        yaw += 0.06 if i >= 10 else 0.0
    pts = np.column_stack([rng.uniform(-25, 25, 6000), rng.uniform(-4, 2, 6000), rng.uniform(-5, 55, 6000)])
    grey = rng.integers(0, 256, 6000).astype(np.uint8)
    image = np.tile(np.linspace(0, 200, IMAGE_SHAPE[1]).astype(np.uint8), (IMAGE_SHAPE[0], 1))
    keypoints = np.array([[60.0, 60.0], [200.0, 30.0], [300.0, 100.0], [150.0, 90.0]])
    return poses, pts, grey, image, keypoints


def feed(observer: OutputObserver, poses, pts, grey, image, keypoints) -> None:
    for i, pose in enumerate(poses):
        if i % 5 == 0:
            observer.on_keyframe(i, pose)
        active = np.linalg.norm(pts - pose[:3, 3], axis=1) < 15.0
        observer.on_points(pts[active], grey[active], pts[~active], grey[~active])
        observer.on_trajectory(poses[: i + 1])
        observer.on_frame(i, image, pose, keypoints, "tracking")
    observer.close()


@pytest.fixture(scope="module")
def egl_available():
    o3d = pytest.importorskip("open3d")
    vis = o3d.visualization.Visualizer()
    if not vis.create_window(width=32, height=32, visible=False):
        pytest.skip("Open3D cannot create an offscreen (EGL) or on-screen OpenGL context here")
    vis.destroy_window()


def not_background(rgb: np.ndarray) -> np.ndarray:
    bg = np.rint(np.asarray(BACKGROUND) * 255)
    return np.abs(rgb.astype(np.float64) - bg).max(axis=2) > 30


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, egl_available):
    out = tmp_path_factory.mktemp("viewer_rec")
    run = synthetic_run()
    viewer = Open3DViewer(ViewerOptions(width=W, height=H, record_dir=out, record_every=1, background=BACKGROUND),
                          gt_world_from_cam=run[0])
    feed(viewer, *run)
    assert viewer.enabled
    frames = sorted(out.glob("frame_*.png"))
    images = [cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in frames]
    return frames, images, run


def test_recorded_frames_exist_and_are_not_blank(recorded):
    frames, images, _ = recorded
    assert [p.name for p in frames] == [f"frame_{i:06d}.png" for i in range(30)]
    panel_w = round(IMAGE_SHAPE[1] * H / IMAGE_SHAPE[0])
    for img in images:
        assert img.shape == (H, W + panel_w, 3)
        view = img[:, :W]
        assert view.std() > 8.0
        assert not_background(view).mean() > 0.01  # points, paths and frustum cover >1% of the view


def _hue_mask(view: np.ndarray, rgb, tol: float = 0.1, min_level: int = 100) -> np.ndarray:
    """Pixels whose colour is ``rgb`` up to brightness (channels / max channel within ``tol``)."""
    level = view.max(axis=2)
    direction = view / np.maximum(level, 1)[..., None]
    target = np.asarray(rgb, np.float64) / max(rgb)
    return (level >= min_level) & (np.abs(direction - target).max(axis=2) <= tol)


def test_recorded_view_shows_points_and_frustum(recorded):
    """Active points are drawn in ACTIVE_TINT and the current frustum in FRUSTUM_RGB (masks derived from
    the viewer's colours, so a viewer that stops drawing them fails; issue 12 #14)."""
    _, images, _ = recorded
    view = images[-1][:, :W].astype(np.float64)
    orange, red = _hue_mask(view, ACTIVE_TINT), _hue_mask(view, FRUSTUM_RGB)
    assert not (orange & red).any()  # the two colours are told apart
    assert orange.sum() > 50, "active points (ACTIVE_TINT) not visible"
    assert red.sum() > 5, "current frustum (FRUSTUM_RGB) not visible"
    assert _hue_mask(view, (0.0, 1.0, 1.0)).sum() == 0  # control: a colour the viewer never draws


def test_view_changes_as_camera_moves(recorded):
    _, images, _ = recorded
    first, last = images[0][:, :W].astype(np.float64), images[-1][:, :W].astype(np.float64)
    assert np.abs(first - last).mean() > 5.0


def test_image_panel_shows_keypoints(recorded):
    """Each keypoint shows as a KEYPOINT_RGB disc where the 2x-enlarged image has it (the panel is 240 rows
    for 120-row frames: pixel x lands on 2x .. 2x + 1, whichever way the centre rounds), and nowhere
    else (expected places written out, not recomputed with the viewer's formula; issue 12 #14)."""
    _, images, run = recorded
    keypoints = run[4]
    assert H == 2 * IMAGE_SHAPE[0]
    for img in (images[0], images[-1]):
        panel = img[:, W:]
        for x, y in keypoints.astype(int):
            for dv, du in ((0, 0), (1, 1), (0, 1), (1, 0)):
                assert tuple(panel[2 * y + dv, 2 * x + du]) == KEYPOINT_RGB, (x, y)
            assert tuple(panel[2 * y, 2 * x + 6]) != KEYPOINT_RGB and tuple(panel[2 * y + 6, 2 * x]) != KEYPOINT_RGB
        assert (panel == KEYPOINT_RGB).all(axis=2).sum() <= len(keypoints) * 25  # discs only (13 px each)
        # away from keypoints and the status text the panel is the grey image
        assert img[H - 5, W + 5, 0] == img[H - 5, W + 5, 1] == img[H - 5, W + 5, 2]


def test_image_panel_function():
    img = np.full((50, 100), 90, np.uint8)
    panel = image_panel(img, np.array([[10.0, 20.0], [80.0, 40.0]]), height=100, radius=2)
    assert panel.shape == (100, 200, 3) and panel.dtype == np.uint8
    assert tuple(panel[41, 21]) == KEYPOINT_RGB and tuple(panel[81, 161]) == KEYPOINT_RGB
    assert (panel[..., 1] == 255).sum() == 2 * 13  # two filled radius-2 discs, 13 pixels each
    with pytest.raises(ValueError, match="keypoints"):
        image_panel(img, np.zeros((3, 3)), height=100)
    with pytest.raises(ValueError, match="uint8"):
        image_panel(img.astype(np.float32), None, height=100)


def test_renderer_failure_disables_viewer(monkeypatch, caplog, tmp_path, egl_available):
    import open3d as o3d

    monkeypatch.setattr(o3d.visualization.Visualizer, "create_window", lambda self, *a, **k: False)
    viewer = Open3DViewer(ViewerOptions(width=W, height=H, record_dir=tmp_path))
    with caplog.at_level(logging.WARNING, logger="apps.viewer.open3d_viewer"):
        feed(viewer, *synthetic_run(n=3))
    assert not viewer.enabled
    assert list(tmp_path.glob("*.png")) == []
    warnings = [r for r in caplog.records if "viewer disabled" in r.getMessage()]
    assert len(warnings) == 1 and "could not create" in warnings[0].getMessage()


def test_capture_failure_mid_run_disables_viewer(monkeypatch, caplog, tmp_path, egl_available):
    import open3d as o3d

    def broken_capture(self, do_render=True):
        raise RuntimeError("GPU lost")

    viewer = Open3DViewer(ViewerOptions(width=W, height=H, record_dir=tmp_path))
    poses, pts, grey, image, kps = synthetic_run(n=4)
    viewer.on_frame(0, image, poses[0], kps, "ok")
    assert viewer.enabled and len(viewer.frames_written) == 1
    monkeypatch.setattr(o3d.visualization.Visualizer, "capture_screen_float_buffer", broken_capture)
    with caplog.at_level(logging.WARNING, logger="apps.viewer.open3d_viewer"):
        for i in range(1, 4):
            viewer.on_frame(i, image, poses[i], kps, "ok")
    assert not viewer.enabled and len(viewer.frames_written) == 1
    assert any("GPU lost" in r.getMessage() for r in caplog.records)
    viewer.close()


def test_record_every_and_top_view(tmp_path, egl_available):
    poses, pts, grey, image, kps = synthetic_run(n=7)
    viewer = Open3DViewer(ViewerOptions(width=160, height=120, record_dir=tmp_path, record_every=3, view="top",
                                        show_panel=False, background=BACKGROUND))
    feed(viewer, poses, pts, grey, image, kps)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["final.png", "frame_000000.png", "frame_000003.png",
                                                             "frame_000006.png"]
    img = cv2.imread(str(tmp_path / "frame_000006.png"))
    assert img.shape == (120, 160, 3) and not_background(img[..., ::-1]).mean() > 0.05


def test_final_top_view_shows_refined_trajectory(tmp_path, egl_available):
    """close() after a late on_trajectory (the runner's refined poses) records final.png, top-down."""
    poses, pts, grey, image, kps = synthetic_run(n=20)
    viewer = Open3DViewer(ViewerOptions(width=W, height=H, record_dir=tmp_path, record_every=100,
                                        show_panel=False, background=BACKGROUND))
    for i, pose in enumerate(poses):
        viewer.on_frame(i, image, pose, kps, "tracking")
    viewer.on_trajectory(poses)
    viewer.close()
    final = cv2.imread(str(tmp_path / "final.png"))[..., ::-1]
    green = (final[..., 1] > 150) & (final[..., 0] < 120) & (final[..., 2] < 150)  # TRAJECTORY_RGB path
    rows, cols = np.nonzero(green)
    assert green.sum() > 40
    # seen from above: the 20 m path spans most of the image height, drawn bottom (start) to top
    assert rows.max() - rows.min() > 0.5 * H
    assert viewer.frames_written[-1] == tmp_path / "final.png"


def test_bad_inputs_raise_value_error():
    viewer = Open3DViewer(ViewerOptions(width=W, height=H, headless=True))
    with pytest.raises(ValueError, match="image"):
        viewer.on_frame(0, np.zeros((10, 10, 3), np.uint8), np.eye(4), None, "")
    with pytest.raises(ValueError, match="world_from_cam"):
        viewer.on_frame(0, np.zeros((10, 10), np.uint8), np.eye(3), None, "")
    with pytest.raises(ValueError, match="active_grey"):
        viewer.on_points(np.zeros((5, 3)), np.zeros(4, np.uint8), np.zeros((0, 3)), np.zeros(0, np.uint8))
    with pytest.raises(ValueError, match="view"):
        ViewerOptions(view="sideways").check()
    with pytest.raises(ValueError, match="record_every"):
        ViewerOptions(record_every=0).check()


class _Recorder(OutputObserver):
    def __init__(self):
        self.calls = []

    def on_frame(self, index, image, world_from_cam, keypoints, status):
        self.calls.append(("frame", index))

    def close(self):
        self.calls.append(("close",))


class _Broken(OutputObserver):
    def __init__(self):
        self.closed = 0

    def on_keyframe(self, index, world_from_cam):
        raise RuntimeError("boom")

    def close(self):
        self.closed += 1


def test_composite_observer_fans_out_and_drops_broken(caplog):
    rec, broken = _Recorder(), _Broken()
    comp = CompositeObserver([broken, rec])
    OutputObserver().on_points(np.zeros((0, 3)), np.zeros(0), np.zeros((0, 3)), np.zeros(0))  # no-op base
    with caplog.at_level(logging.WARNING):
        comp.on_keyframe(0, np.eye(4))
        comp.on_keyframe(1, np.eye(4))
        comp.on_frame(0, np.zeros((4, 4), np.uint8), np.eye(4), None, "ok")
    comp.close()
    assert comp.observers == (rec,)
    assert rec.calls == [("frame", 0), ("close",)] and broken.closed == 1
    assert sum("boom" in str(r.exc_info[1]) for r in caplog.records if r.exc_info) == 1
    with pytest.raises(ValueError, match="OutputObserver"):
        CompositeObserver([object()])


def test_follow_and_top_down_view_geometry():
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_euler("y", 0.7).as_matrix()
    pose[:3, 3] = [3.0, -1.0, 8.0]
    view = scene.follow_view(pose, scale=10.0, back=0.6, up=0.3, ahead=0.5)
    cam_in_view = view[:3, :3] @ pose[:3, 3] + view[:3, 3]
    assert cam_in_view[2] > 0 and cam_in_view[1] > 0  # tracked camera ahead of and below the eye
    np.testing.assert_allclose(view[:3, :3] @ view[:3, :3].T, np.eye(3), atol=1e-12)
    eye_world = -view[:3, :3].T @ view[:3, 3]
    np.testing.assert_allclose(eye_world, pose[:3, 3] - 6.0 * pose[:3, 2] - 3.0 * pose[:3, 1], atol=1e-9)
    # top-down: every path position projects inside the image; forward (+z) is image up
    path = np.array([[0, 0, 0], [0, 0, 20], [10, 0, 40], [30, 0, 45.0]])
    view = scene.top_down_view(path, np.eye(4), np.radians(60), 4 / 3, min_extent=1.0)
    p = path @ view[:3, :3].T + view[:3, 3]
    f = 0.5 / np.tan(np.radians(30))
    uv = p[:, :2] / p[:, 2:] * f  # normalised so |v| <= 0.5 and |u| <= 0.5 * aspect inside the image
    assert np.all(p[:, 2] > 0) and np.all(np.abs(uv[:, 1]) <= 0.5) and np.all(np.abs(uv[:, 0]) <= 0.5 * 4 / 3)
    assert uv[1, 1] < uv[0, 1]  # 20 m forward is higher up in the image
    assert uv[3, 0] > uv[0, 0]  # +x is to the right


def test_frustum_and_subsampling_helpers():
    pts, lines = scene.frustum_lineset(np.tile(np.eye(4), (3, 1, 1)), size=2.0, half_width=0.5, half_height=0.25)
    assert pts.shape == (15, 3) and lines.shape == (24, 2) and lines.max() == 14
    np.testing.assert_allclose(pts[3], [1.0, 0.5, 2.0])  # bottom-right corner at depth 2
    s = scene.stride_subsample(120_001, 50_000)
    assert len(range(120_001)[s]) <= 50_000
    assert scene.scene_scale(np.eye(4), np.array([[0, 0, 5.0]] * 20), np.zeros((0, 3))) == pytest.approx(5.0)
    assert scene.scene_scale(np.eye(4), np.zeros((0, 3)), np.array([[0, 0, 0], [0, 0, 0.5], [0, 0, 1.0]])) \
        == pytest.approx(10.0)


def test_gt_drawn_at_estimate_scale_and_pose():
    poses = synthetic_run(n=12)[0]
    est = poses.copy()
    est[:, :3, 3] = 0.5 * poses[:, :3, 3] + np.array([1.0, 0.0, 2.0])  # half scale, shifted start
    viewer = Open3DViewer(ViewerOptions(headless=True), gt_world_from_cam=poses)
    viewer.enabled = False  # geometry bookkeeping only, no rendering
    image = np.zeros(IMAGE_SHAPE, np.uint8)
    for i in range(8):
        viewer.on_frame(i, image, est[i], None, "")
    np.testing.assert_allclose(viewer.gt_display_centres(), est[:, :3, 3], atol=1e-9)  # all 12, extrapolated
    raw = Open3DViewer(ViewerOptions(headless=True, gt_scale_to_estimate=False), gt_world_from_cam=poses)
    np.testing.assert_array_equal(raw.gt_display_centres(), poses[:, :3, 3])
    # a ground truth covering frames 3-11 only (NaN rows, apps.io.ground_truth): drawn from frame 3 on
    partial = poses.copy()
    partial[:3] = np.nan
    viewer = Open3DViewer(ViewerOptions(headless=True), gt_world_from_cam=partial)
    viewer.enabled = False
    for i in range(8):
        viewer.on_frame(i, image, est[i], None, "")
    np.testing.assert_allclose(viewer.gt_display_centres(), est[3:, :3, 3], atol=1e-9)
    bad = partial.copy()
    bad[5, 0, 3] = np.inf
    with pytest.raises(ValueError, match="gt_world_from_cam"):
        Open3DViewer(ViewerOptions(headless=True), gt_world_from_cam=bad)


def test_no_display_without_recording_disables(monkeypatch, caplog, tmp_path):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    with caplog.at_level(logging.WARNING):
        viewer = Open3DViewer()
    assert not viewer.enabled and "no display" in caplog.text
    viewer = Open3DViewer(record_dir=tmp_path, width=64, height=48)  # keyword overrides of ViewerOptions
    assert viewer.enabled and viewer.headless and viewer.options.width == 64
    with pytest.raises(ValueError, match="unknown option"):
        Open3DViewer(recrd_dir=tmp_path)


def test_viewer_cli_arguments(tmp_path):
    import argparse

    from apps.viewer.cli_args import add_viewer_arguments, viewer_from_args

    parser = argparse.ArgumentParser()
    add_viewer_arguments(parser)
    assert viewer_from_args(parser.parse_args([])) is None
    args = parser.parse_args(["--viewer-record", str(tmp_path), "--viewer-every", "5", "--viewer-view", "top",
                              "--viewer-size", "320x240"])
    viewer = viewer_from_args(args)
    o = viewer.options
    assert (o.width, o.height, o.view, o.record_every, str(o.record_dir)) == (320, 240, "top", 5, str(tmp_path))
    with pytest.raises(SystemExit):
        parser.parse_args(["--viewer-size", "big"])
    (tmp_path / "taken").write_text("")
    with pytest.raises(NotADirectoryError, match=r"--viewer-record .*taken exists and is not a folder"):
        viewer_from_args(parser.parse_args(["--viewer-record", str(tmp_path / "taken")]))


def test_map_points_capped_for_display():
    viewer = Open3DViewer(ViewerOptions(headless=True, max_points=1000, max_active_points=100))
    xyz = np.random.default_rng(0).normal(size=(120_001, 3))
    xyz[5] = np.nan  # dropped, not an error
    viewer.on_points(xyz[:500], np.zeros(500, np.uint8), xyz, np.full(len(xyz), 7, np.uint8))
    active, _ = viewer._active
    marg, marg_grey = viewer._marginalized
    assert len(active) == 99 and 900 < len(marg) <= 1000  # every 5th of 500 minus the NaN at index 5
    assert np.all(np.isfinite(marg)) and marg_grey.dtype == np.uint8 and np.all(marg_grey == 7)


def _green_path(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 1] > 150) & (rgb[..., 0] < 120) & (rgb[..., 2] < 150)  # TRAJECTORY_RGB pixels


def test_final_top_view_frames_the_whole_run_despite_far_map_points(tmp_path, egl_available):
    """An L-shaped run whose map holds a few points 1e6 m away (tiny inverse depths, as real runs do):
    final.png shows the whole path, large, and touching no border."""
    poses, pts, grey, image, kps = synthetic_run(n=30)
    far = np.array([[1.2e6, 2.5e5, 1.1e6], [-7.6e5, -2.3e5, -8.3e5]])
    viewer = Open3DViewer(ViewerOptions(width=W, height=H, record_dir=tmp_path, record_every=1000,
                                        show_panel=False, background=BACKGROUND))
    for i, pose in enumerate(poses):
        near = np.linalg.norm(pts - pose[:3, 3], axis=1) < 15.0
        viewer.on_points(np.vstack([pts[near], far]), np.r_[grey[near], 200, 200], pts[~near], grey[~near])
        viewer.on_trajectory(poses[: i + 1])
        viewer.on_frame(i, image, pose, kps, "tracking")
    viewer.close()
    final = cv2.imread(str(tmp_path / "final.png"))[..., ::-1]
    rows, cols = np.nonzero(_green_path(final))
    assert len(rows) > 60
    margin = 3
    assert rows.min() >= margin and cols.min() >= margin, (rows.min(), cols.min())
    assert rows.max() < H - margin and cols.max() < W - margin, (rows.max(), cols.max())
    # fitted: the path fills most of the height (the longer side of its bounding box here)
    assert rows.max() - rows.min() > 0.6 * H


def test_central_points_drop_far_outliers():
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.normal(0, 1, (500, 3)), [[1e6, 0, 0], [0, -1e6, 5e5]]])
    kept = scene.central_points(pts)
    assert 200 < len(kept) < 500 and np.abs(kept).max() < 5
    assert scene.central_points(np.zeros((0, 3))).shape == (0, 3)


def test_view_and_pause_keys():
    viewer = Open3DViewer(ViewerOptions(width=W, height=H, headless=True, view="follow"))
    assert viewer.view == "follow" and not viewer.paused
    assert viewer.on_view_key("top") is True and viewer.view == "top"
    viewer.on_view_key("free")
    assert viewer.view == "free" and viewer.options.view == "follow"
    with pytest.raises(ValueError, match="view"):
        viewer.on_view_key("side")
    viewer.on_pause_key()
    assert viewer.paused
    viewer.on_pause_key()
    assert not viewer.paused


def test_pause_waits_until_resumed_or_closed():
    """While paused the viewer keeps polling its window; Space (a callback from poll_events) resumes."""
    viewer = Open3DViewer(ViewerOptions(width=W, height=H, headless=True))

    class FakeWindow:
        def __init__(self, resume_after: int | None):
            self.polls, self.resume_after = 0, resume_after

        def poll_events(self):
            self.polls += 1
            if self.resume_after is not None and self.polls == self.resume_after:
                viewer.on_pause_key()  # the key callback runs inside poll_events
            return self.resume_after is not None  # None: the user closed the window

        def update_renderer(self):
            pass

        def destroy_window(self):
            pass

    viewer._vis = FakeWindow(resume_after=4)
    viewer.paused = True
    viewer._wait_while_paused(poll_s=0.0)
    assert not viewer.paused and viewer._vis.polls == 4 and viewer.enabled
    viewer._vis = FakeWindow(resume_after=None)
    viewer.paused = True
    viewer._wait_while_paused(poll_s=0.0)
    assert not viewer.paused and not viewer.enabled  # closed window: viewer off, the run goes on
