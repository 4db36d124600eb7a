"""The renderer's road under a recorded path: camera heights smoothed (``smooth_road_profile``)."""
from __future__ import annotations

import numpy as np
import pytest

from apps.synth import FrameRenderer, SynthOptions, kitti_intrinsics, smooth_road_profile
from frontend.ground_scale import fit_ground_plane


def _path(n: int, grade: float, wiggle_m: float, wavelength_m: float = 6.0, step_m: float = 1.0) -> np.ndarray:
    """``(n, 4, 4)`` world_from_cam driving along +z at ``step_m`` per frame, climbing ``grade`` (y is down),
    heights wiggling by ``wiggle_m`` (GPS/INS-like), axes level."""
    z = np.arange(n) * step_m
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, 2, 3] = z
    poses[:, 1, 3] = -grade * z + wiggle_m * np.sin(2 * np.pi * z / wavelength_m)
    return poses


def test_wiggle_removed_grade_and_orientation_kept():
    poses = _path(200, grade=0.03, wiggle_m=0.05)
    out = smooth_road_profile(poses, 20.0)
    z = poses[:, 2, 3]
    interior = (z > 40) & (z < 160)
    # the wiggle (5 cm) is gone, the 3 % grade stays
    assert np.abs(out[interior, 1, 3] - (-0.03 * z[interior])).max() < 0.005
    np.testing.assert_array_equal(out[:, :3, :3], poses[:, :3, :3])
    np.testing.assert_allclose(out[:, [0, 2], 3], poses[:, [0, 2], 3], atol=1e-12)
    assert np.abs(poses[:, 1, 3] - (-0.03 * z)).max() > 0.04  # the input is not modified


def test_smooth_path_unchanged_and_standing_camera():
    poses = _path(50, grade=0.05, wiggle_m=0.0)
    np.testing.assert_allclose(smooth_road_profile(poses, 20.0), poses, atol=1e-9)
    standing = np.tile(np.eye(4), (5, 1, 1))
    np.testing.assert_array_equal(smooth_road_profile(standing, 20.0), standing)
    stop_and_go = np.concatenate([poses[:10], np.repeat(poses[10:11], 5, axis=0), poses[11:20]])
    out = smooth_road_profile(stop_and_go, 20.0)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[10:15, :3, 3], np.repeat(out[10:11, :3, 3], 5, axis=0), atol=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_sigma(bad):
    with pytest.raises(ValueError, match="sigma_m"):
        smooth_road_profile(_path(5, 0.0, 0.0), bad)


def test_bad_poses():
    with pytest.raises(ValueError, match=r"\(N, 4, 4\)"):
        smooth_road_profile(np.eye(4), 20.0)


def test_rendered_camera_height_holds_over_a_wiggly_path():
    """The reason for the smoothing: with the recorded wiggle, the camera's height above the road ahead
    swings by several %; smoothed, it stays at camera_height (1.65 m)."""
    poses = _path(60, grade=0.0, wiggle_m=0.05)
    options = SynthOptions(width=320, height=96)
    k = kitti_intrinsics(320, 96)
    heights = {}
    for name, p in (("raw", poses), ("smoothed", smooth_road_profile(poses, 20.0))):
        renderer = FrameRenderer(p, k, options)
        # the road plane in the lower middle of the exact depth (frontend.ground_scale), one wavelength
        heights[name] = np.array([fit_ground_plane(renderer.frame(i)[1], k.K).distance for i in range(20, 26)])
    assert np.abs(heights["smoothed"] / 1.65 - 1).max() < 0.01, heights
    assert np.abs(heights["raw"] / 1.65 - 1).max() > 0.025, heights  # 5-6 % here


def test_cli_smooths_recorded_heights(tmp_path, capsys):
    from apps.cli import main

    src = tmp_path / "path.txt"
    np.savetxt(src, _path(40, grade=0.0, wiggle_m=0.05)[:, :3, :].reshape(-1, 12))
    common = ["synth", "--poses", str(src), "--frames", "8", "--width", "96", "--height", "32"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    assert main(common + ["--out", str(tmp_path / "b"), "--road-smoothing", "0"]) == 0
    smoothed = np.loadtxt(tmp_path / "a/poses/00.txt").reshape(-1, 3, 4)
    raw = np.loadtxt(tmp_path / "b/poses/00.txt").reshape(-1, 3, 4)
    # the selected frames are smoothed (KITTI files are written with 6 decimals)
    expected = smooth_road_profile(_path(8, grade=0.0, wiggle_m=0.05), 20.0)
    np.testing.assert_allclose(smoothed, expected[:, :3, :], atol=1e-6)
    np.testing.assert_allclose(raw, _path(8, grade=0.0, wiggle_m=0.05)[:, :3, :], atol=1e-6)
    assert np.abs(smoothed[:, 1, 3] - raw[:, 1, 3]).max() > 0.02
    assert main(common + ["--out", str(tmp_path / "c"), "--road-smoothing", "-1"]) == 2
    assert "--road-smoothing" in capsys.readouterr().err
