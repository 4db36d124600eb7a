"""PLY point clouds: round trip, interoperability with Open3D, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from apps.io.ply import read_ply, write_ply


def cloud(n=500, seed=0):
    rng = np.random.default_rng(seed)
    xyz = rng.normal(0, 50, (n, 3))
    rgb = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    return xyz, rgb


def test_round_trip_rgb_grey_none(tmp_path):
    xyz, rgb = cloud()
    write_ply(tmp_path / "a.ply", xyz, rgb)
    back, colors = read_ply(tmp_path / "a.ply")
    np.testing.assert_allclose(back, xyz.astype(np.float32), rtol=0, atol=0)
    np.testing.assert_array_equal(colors, rgb)
    write_ply(tmp_path / "g.ply", xyz, rgb[:, 0])
    np.testing.assert_array_equal(read_ply(tmp_path / "g.ply")[1], np.repeat(rgb[:, :1], 3, axis=1))
    write_ply(tmp_path / "d.ply", xyz, None, double=True)
    back, colors = read_ply(tmp_path / "d.ply")
    np.testing.assert_array_equal(back, xyz)
    assert colors is None
    # header + 15 bytes per point (3 float32 + 3 uint8), binary
    size = (tmp_path / "a.ply").stat().st_size
    assert size - 15 * len(xyz) == (tmp_path / "a.ply").read_bytes().index(b"end_header\n") + len(b"end_header\n")


def test_open3d_reads_our_files(tmp_path):
    o3d = pytest.importorskip("open3d")
    xyz, rgb = cloud(300, seed=1)
    write_ply(tmp_path / "c.ply", xyz, rgb)
    pc = o3d.io.read_point_cloud(str(tmp_path / "c.ply"))
    np.testing.assert_allclose(np.asarray(pc.points), xyz, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(np.asarray(pc.colors) * 255.0, rgb, atol=1e-6)
    # and we read Open3D's ASCII and binary output
    for ascii_mode in (True, False):
        path = tmp_path / f"o3d_{ascii_mode}.ply"
        assert o3d.io.write_point_cloud(str(path), pc, write_ascii=ascii_mode)
        back, colors = read_ply(path)
        # Open3D's ASCII output keeps 6 significant digits
        np.testing.assert_allclose(back, xyz, rtol=0, atol=1e-3 if ascii_mode else 1e-5)
        np.testing.assert_array_equal(colors, rgb)


def test_empty_cloud_and_errors(tmp_path):
    write_ply(tmp_path / "e.ply", np.zeros((0, 3)))
    back, colors = read_ply(tmp_path / "e.ply")
    assert back.shape == (0, 3) and colors is None
    with pytest.raises(ValueError, match=r"xyz must be an \(N, 3\)"):
        write_ply(tmp_path / "x.ply", np.zeros((4, 2)))
    with pytest.raises(ValueError, match="1 points with non-finite coordinates"):
        write_ply(tmp_path / "x.ply", np.array([[0, 0, 1.0], [np.nan, 0, 1]]))
    with pytest.raises(ValueError, match="colors must be uint8"):
        write_ply(tmp_path / "x.ply", np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"colors must be \(N, 3\) or \(N,\) uint8 with N = 2"):
        write_ply(tmp_path / "x.ply", np.zeros((2, 3)), np.zeros((3, 3), np.uint8))
    assert not (tmp_path / "x.ply").exists()
    (tmp_path / "t.ply").write_bytes((tmp_path / "e.ply").read_bytes().replace(b"vertex 0", b"vertex 5"))
    with pytest.raises(ValueError, match=r"t\.ply: truncated vertex data"):
        read_ply(tmp_path / "t.ply")
    (tmp_path / "n.ply").write_text("hello")
    with pytest.raises(ValueError, match=r"n\.ply is not a PLY file"):
        read_ply(tmp_path / "n.ply")
