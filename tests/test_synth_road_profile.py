"""The renderer's road under a recorded path: camera heights smoothed (``smooth_road_profile``) and the
passes of a street driven twice levelled (``level_revisits``)."""
from __future__ import annotations

import numpy as np
import pytest

from apps.synth import FrameRenderer, SynthOptions, kitti_intrinsics, level_revisits, smooth_road_profile
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


def _out_and_back(drift_m: float) -> np.ndarray:
    """Out 200 m along +z, across 3 m, back 200 m along -z 3 m to the side, 1 m per frame, axes level;
    the recorded height drifts down by ``drift_m`` over the drive (y is down), as a GPS/INS height
    can: at z = 0 the way back is ``drift_m`` below the way out."""
    out = [(0.0, z) for z in range(200)]
    across = [(x, 199.0) for x in (1.0, 2.0)]
    back = [(3.0, z) for z in range(199, -1, -1)]
    xz = np.array(out + across + back, dtype=np.float64)
    poses = np.tile(np.eye(4), (len(xz), 1, 1))
    poses[:, 0, 3], poses[:, 2, 3] = xz[:, 0], xz[:, 1]
    poses[:, 1, 3] = drift_m * np.arange(len(xz)) / (len(xz) - 1)
    return poses


def test_revisited_street_gets_one_height():
    poses = _out_and_back(2.0)
    out = level_revisits(poses)
    h, z = out[:, 1, 3], out[:, 2, 3]
    way_out, way_back = h[:200], h[202:][::-1]  # both indexed by z = 0..199
    assert np.abs(poses[202:, 1, 3][::-1] - poses[:200, 1, 3])[:150].min() > 0.5  # recorded: apart
    assert np.abs(way_back - way_out)[:150].max() < 0.15  # levelled: one street (within 7.5 % of the drift)
    assert np.abs(np.diff(h)).max() < 0.05  # no step: at most a 5 % grade per metre
    np.testing.assert_array_equal(out[:, :3, :3], poses[:, :3, :3])
    np.testing.assert_allclose(out[:, [0, 2], 3], poses[:, [0, 2], 3], atol=1e-12)
    assert poses[-1, 1, 3] == 2.0 and z[0] == 0.0  # the input is not modified


def test_single_pass_unchanged_and_bad_arguments():
    poses = _path(300, grade=0.04, wiggle_m=0.0)  # a straight climb: nothing to level
    np.testing.assert_array_equal(level_revisits(poses), poses)
    far = _out_and_back(2.0)
    far[203:, 0, 3] += 100.0  # the way back 103 m to the side: not the same street
    np.testing.assert_array_equal(level_revisits(far), far)
    for kwargs in ({"sigma_m": 0.0}, {"sigma_m": float("nan")}, {"min_separation_m": -1.0}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            level_revisits(poses, **kwargs)
    with pytest.raises(ValueError, match=r"\(N, 4, 4\)"):
        level_revisits(np.eye(4))

