import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from apps.io.trajectory import read_kitti_poses, read_trajectory, read_tum, write_kitti_poses, write_tum


def _random_poses(n, seed=0):
    rng = np.random.default_rng(seed)
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, :3, :3] = Rotation.from_rotvec(rng.normal(size=(n, 3))).as_matrix()
    poses[:, :3, 3] = rng.normal(scale=50, size=(n, 3))
    return poses


def test_kitti_round_trip(tmp_path):
    poses = _random_poses(20)
    write_kitti_poses(tmp_path / "p.txt", poses)
    back = read_kitti_poses(tmp_path / "p.txt")
    assert back.shape == (20, 4, 4)
    np.testing.assert_allclose(back, poses, atol=1e-7)
    t, auto = read_trajectory(tmp_path / "p.txt")
    assert t is None
    np.testing.assert_allclose(auto, back)


def test_tum_round_trip(tmp_path):
    poses = _random_poses(15, seed=1)
    t = np.arange(15) * 0.1 + 1000.0
    write_tum(tmp_path / "t.txt", t, poses)
    t2, back = read_tum(tmp_path / "t.txt")
    np.testing.assert_allclose(t2, t, atol=1e-6)
    np.testing.assert_allclose(back, poses, atol=1e-7)
    t3, auto = read_trajectory(tmp_path / "t.txt")
    np.testing.assert_allclose(t3, t, atol=1e-6)


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_kitti_poses(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1 0 0 0 0 1 0 0 0 0 1 0\n1 0 0 0 0 1 0 0 0 0 1\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected 12"):
        read_kitti_poses(bad)
    bad.write_text("1 0 0 0 0 1 x 0 0 0 1 0\n")
    with pytest.raises(ValueError, match=r"bad.txt:1: non-numeric"):
        read_kitti_poses(bad)
    bad.write_text("")
    with pytest.raises(ValueError, match="no poses"):
        read_kitti_poses(bad)
    with pytest.raises(ValueError, match=r"\(N, 4, 4\)"):
        write_kitti_poses(tmp_path / "x.txt", np.eye(4))


def test_failed_write_keeps_old_file(tmp_path):
    path = tmp_path / "p.txt"
    write_kitti_poses(path, _random_poses(3))
    before = path.read_text()
    bad = _random_poses(3)
    bad[1, 0, 0] = np.nan
    with pytest.raises(ValueError):
        write_kitti_poses(path, bad)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.txt"]
