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


def test_tum_and_euroc_timestamps_must_increase(tmp_path):
    tum = tmp_path / "t.txt"
    tum.write_text("# t x y z qx qy qz qw\n0.0 0 0 0 0 0 0 1\n0.2 0 0 0 0 0 0 1\n\n0.1 0 0 0 0 0 0 1\n")
    with pytest.raises(ValueError, match=r"t\.txt:5: timestamps must be strictly increasing, got 0\.1 after 0\.2 "
                                         r"\(line 3\)"):
        read_tum(tum)
    tum.write_text("0.0 0 0 0 0 0 0 1\n0.0 0 0 0 0 0 0 1\n")
    with pytest.raises(ValueError, match=r"t\.txt:2: timestamps must be strictly increasing"):
        read_trajectory(tum)
    euroc = tmp_path / "data.csv"
    _write_euroc(euroc, np.array([1.0, 2.0, 2.0]), _random_poses(3))
    with pytest.raises(ValueError, match=r"data\.csv:4: timestamps must be strictly increasing"):
        read_trajectory(euroc)


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


def test_write_errors_name_the_file_not_the_temporary_one(tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(NotADirectoryError, match=r"cannot write .*afile/p\.txt: folder .*afile exists and is not a folder"):
        write_kitti_poses(tmp_path / "afile" / "p.txt", _random_poses(2))
    with pytest.raises(IsADirectoryError, match=rf"cannot write {tmp_path}: it exists and is a folder"):
        write_kitti_poses(tmp_path, _random_poses(2))
    with pytest.raises(PermissionError, match=r"cannot write /sys/p\.txt: ") as err:
        write_kitti_poses("/sys/p.txt", _random_poses(2))
    assert ".tmp" not in str(err.value)


def _write_euroc(path, times_s, poses, columns=17):
    """EuRoC's ground-truth CSV: t[ns], p, q (w x y z) [, velocity, gyro bias, accel bias]."""
    q_xyzw = Rotation.from_matrix(poses[:, :3, :3]).as_quat()
    lines = ["#timestamp, p_RS_R_x [m], p_RS_R_y [m], p_RS_R_z [m], q_RS_w [], q_RS_x [], q_RS_y [], q_RS_z []"]
    for t, p, q in zip(times_s, poses[:, :3, 3], q_xyzw):
        values = [f"{int(round(t * 1e9))}", *(f"{v:.9f}" for v in p), *(f"{v:.9f}" for v in (q[3], q[0], q[1], q[2]))]
        values += ["0.0"] * (columns - 8)
        lines.append(",".join(values))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("columns", [17, 8])
def test_euroc_ground_truth(tmp_path, columns):
    poses = _random_poses(30, seed=2)
    times = 1403636580.0 + 0.005 * np.arange(30)  # 200 Hz
    _write_euroc(tmp_path / "data.csv", times, poses, columns)
    t, back = read_trajectory(tmp_path / "data.csv")
    np.testing.assert_allclose(t - times[0], times - times[0], atol=1e-6)
    np.testing.assert_allclose(back, poses, atol=1e-7)


def test_evaluate_a_tum_estimate_against_euroc_ground_truth(tmp_path):
    """`kp3d-vo evaluate` pairs a camera trajectory (20 Hz, starting before the ground truth, as EuRoC's
    cam0 does) with EuRoC's 200 Hz ground truth by time; the frames without ground truth are left out."""
    import json

    from apps.cli import main

    n = 400
    times = 1403636580.0 + 0.005 * np.arange(n)
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, :3, 3] = np.stack([np.sin(0.01 * np.arange(n)), 0.002 * np.arange(n), np.zeros(n)], axis=1)
    _write_euroc(tmp_path / "gt.csv", times[40:], poses[40:])  # the ground truth starts 0.2 s later
    cam = np.arange(0, n, 10)  # 20 Hz frames
    est = poses[cam].copy()
    est[:, :3, 3] *= 0.5  # a monocular unit
    write_tum(tmp_path / "est.txt", times[cam], est)
    assert main(["evaluate", "--gt", str(tmp_path / "gt.csv"), "--est", str(tmp_path / "est.txt"), "--align", "sim3",
                 "--json", str(tmp_path / "ev.json")]) == 0
    result = json.loads((tmp_path / "ev.json").read_text())
    row = result[0] if isinstance(result, list) else result
    assert row["ate_rmse"] < 1e-6
    assert row["n_frames"] == len(cam) - 4  # frames 0, 10, 20, 30 have no ground truth
