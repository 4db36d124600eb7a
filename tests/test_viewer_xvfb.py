"""The interactive viewer under a real X server (Xvfb): the 3D window and the image window open side by
side, the 3D one shows the trajectory, the other the frame with its keypoints (issue 13 #6).

Needs the Debian packages ``xvfb`` and ``imagemagick`` (``.ci/install_sysdeps.sh`` installs them); skips
with the reason when they are missing. The viewer runs in a child process so that Open3D's GLFW meets
the X display from its start (the other viewer tests use EGL offscreen in this process).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
W3D, H3D = 400, 240
IMAGE_SHAPE = (120, 376)  # grey image fed to the viewer; panel = 240 x 752
BACKGROUND = (0.08, 0.08, 0.10)

CHILD = r"""
import subprocess, sys
import numpy as np
from scipy.spatial.transform import Rotation
from apps.viewer import Open3DViewer, ViewerOptions

shot, w, h, ih, iw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = np.random.default_rng(0)
poses = np.tile(np.eye(4), (30, 1, 1))
yaw, pos = 0.0, np.zeros(3)
for i in range(30):  # forward along +z, then turning right
    poses[i, :3, :3] = Rotation.from_euler("y", yaw).as_matrix()
    poses[i, :3, 3] = pos
    pos = pos + poses[i, :3, 2]
    yaw += 0.06 if i >= 10 else 0.0
pts = np.column_stack([rng.uniform(-25, 25, 4000), rng.uniform(-4, 2, 4000), rng.uniform(-5, 55, 4000)])
grey = rng.integers(0, 256, 4000).astype(np.uint8)
image = np.tile(np.linspace(0, 200, iw).astype(np.uint8), (ih, 1))
keypoints = np.array([[60.0, 60.0], [200.0, 30.0], [300.0, 100.0], [150.0, 90.0]])
viewer = Open3DViewer(ViewerOptions(width=w, height=h, headless=False, view="top", wait_on_close=False,
                                    window_left=0, window_top=0, background=(0.08, 0.08, 0.10)))
for i, pose in enumerate(poses):
    active = np.linalg.norm(pts - pose[:3, 3], axis=1) < 15.0
    viewer.on_points(pts[active], grey[active], pts[~active], grey[~active])
    viewer.on_trajectory(poses[: i + 1])
    viewer.on_frame(i, image, pose, keypoints, "tracking")
assert viewer.enabled, "viewer disabled itself"
assert viewer._image_window is not None, "no image window"
subprocess.run(["import", "-window", "root", shot], check=True)
viewer.close()
print("ok")
"""


@pytest.fixture()
def xvfb_display():
    missing = [tool for tool in ("Xvfb", "import") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (Debian packages xvfb, imagemagick; .ci/install_sysdeps.sh)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
        if not number:
            pytest.skip("Xvfb did not start (no display number reported)")
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _not_background(rgb: np.ndarray) -> np.ndarray:
    bg = np.rint(np.asarray(BACKGROUND) * 255)
    return np.abs(rgb.astype(np.float64) - bg).max(axis=2) > 30


def test_live_viewer_windows_side_by_side_under_xvfb(xvfb_display, tmp_path):
    from apps.viewer.open3d_viewer import WINDOW_GAP_PX
    from apps.viewer.panel import KEYPOINT_RGB, image_panel

    shot = tmp_path / "screen.png"
    env = dict(os.environ, DISPLAY=xvfb_display, PYTHONPATH=str(REPO))
    env.pop("WAYLAND_DISPLAY", None)
    t0 = time.monotonic()
    child = subprocess.run([sys.executable, "-c", CHILD, str(shot), str(W3D), str(H3D), *map(str, IMAGE_SHAPE)],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0 and "ok" in child.stdout, child.stdout[-2000:] + child.stderr[-4000:]
    assert time.monotonic() - t0 < 300
    screen = cv2.cvtColor(cv2.imread(str(shot), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert screen.shape == (720, 1280, 3)

    # left: the 3D window at (0, 0), W3D x H3D, top view of the run: trajectory (green) and map points
    view3d = screen[:H3D, :W3D]
    traj = (view3d[..., 1] > 150) & (view3d[..., 0] < 120) & (view3d[..., 2] < 150)
    assert traj.sum() > 40, f"no trajectory in the 3D window ({traj.sum()} green pixels)"
    assert 0.01 < _not_background(view3d).mean() < 0.9

    # right of it: the image window with the frame and its keypoints, not covering the 3D view
    panel = image_panel(np.tile(np.linspace(0, 200, IMAGE_SHAPE[1]).astype(np.uint8), (IMAGE_SHAPE[0], 1)),
                        np.array([[60.0, 60.0], [200.0, 30.0], [300.0, 100.0], [150.0, 90.0]]), H3D,
                        status="tracking", index=29)
    left = W3D + WINDOW_GAP_PX
    shown = screen[:H3D, left:left + panel.shape[1]].astype(np.float64)
    assert shown.shape == panel.shape
    # the grey ramp of the frame (the status text and keypoints differ by a few pixels at most)
    ramp = shown[H3D // 2 + 20:, :, 0].mean(axis=0)
    assert ramp[-20:].mean() - ramp[:20].mean() > 120
    assert np.median(np.abs(shown - panel)) < 6
    kp = np.all(shown == np.asarray(KEYPOINT_RGB), axis=2)
    assert kp.sum() >= 4 * 5, f"keypoints not visible in the image window ({kp.sum()} pixels)"
    # nothing between/under: the gap column stays the root window's black
    assert screen[:H3D, W3D + 1:left - 1].max() < 30
