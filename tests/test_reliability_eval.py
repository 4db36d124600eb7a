"""Issue 12 #6: evaluate validates SO(3); plot and evaluate pair poses by one rule."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from apps.cli import main as cli_main
from apps.evaluation.evaluate import evaluate_files, evaluate_trajectory
from apps.io.trajectory import write_kitti_poses


def _drive(n=60, seed=0):
    rng = np.random.default_rng(seed)
    poses = np.tile(np.eye(4), (n, 1, 1))
    yaw = np.cumsum(rng.normal(0, 0.02, n))
    poses[:, :3, :3] = Rotation.from_euler("y", yaw[:, None]).as_matrix()
    poses[:, :3, 3] = np.stack([np.cumsum(np.sin(yaw)), np.zeros(n), np.cumsum(np.cos(yaw))], 1)
    return poses


def test_scaled_rotation_is_refused_naming_file_and_pose(tmp_path):
    """Rotation x2 used to give t_rel 52 % without complaint."""
    gt = _drive()
    est = gt.copy()
    est[7, :3, :3] *= 2.0
    write_kitti_poses(tmp_path / "gt.txt", gt)
    write_kitti_poses(tmp_path / "est.txt", est)
    with pytest.raises(ValueError, match=r"est\.txt: pose 7 is not a rigid transform.*R\^T R - I"):
        evaluate_files(tmp_path / "gt.txt", tmp_path / "est.txt")


def test_reflection_is_refused():
    """det -1 was accepted."""
    gt = _drive()
    est = gt.copy()
    est[3, :3, 0] *= -1.0  # still orthonormal, det -1
    with pytest.raises(ValueError, match=r"pose 3 .*det -1"):
        evaluate_trajectory(gt, est)


def test_rounded_published_rotations_are_accepted():
    """Published files carry rounding up to ~1e-4 (KP3D's monodepth2 trajectories): still scored."""
    gt = _drive()
    est = gt.copy()
    est[:, :3, :3] += np.random.default_rng(1).uniform(-1e-4, 1e-4, (len(gt), 3, 3))
    assert evaluate_trajectory(gt, est, align="none").ate_rmse < 1e-9


@pytest.mark.parametrize("truncate", [False, True])
def test_plot_and_evaluate_share_the_gt_length_rule(tmp_path, capsys, truncate):
    """plot used to cut a longer ground truth silently where evaluate refused."""
    gt = _drive(60)
    write_kitti_poses(tmp_path / "gt.txt", gt)
    write_kitti_poses(tmp_path / "est.txt", gt[:40])
    flag = ["--truncate-gt"] if truncate else []
    rc_eval = cli_main(["evaluate", "--gt", str(tmp_path / "gt.txt"), "--est", str(tmp_path / "est.txt"), *flag])
    rc_plot = cli_main(["plot", "--gt", str(tmp_path / "gt.txt"), "--est", str(tmp_path / "est.txt"),
                        "--out", str(tmp_path / "plots"), "--formats", "png", *flag])
    err = capsys.readouterr().err
    assert rc_eval == rc_plot == (0 if truncate else 2)
    if not truncate:
        assert err.count("pose count mismatch") == 2 and err.count("--truncate-gt") == 2
