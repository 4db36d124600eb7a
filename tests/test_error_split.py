"""apps.evaluation.error_split: each part of the frame-to-frame motion from the ground truth in turn."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from apps.evaluation.error_split import chain, error_split, per_frame_errors, relative_poses, substitute
from apps.evaluation.evaluate import EvaluateOptions, evaluate_trajectory


def _rel(rotvec, t) -> np.ndarray:
    x = np.eye(4)
    x[:3, :3] = cv2.Rodrigues(np.asarray(rotvec, np.float64).reshape(3, 1))[0]
    x[:3, 3] = t
    return x


def _curve(n: int) -> np.ndarray:
    """cam_prev_from_cam_cur of a car turning at 1 m per frame (camera z forward), (n, 4, 4)."""
    return np.array([_rel([0.0, 0.01 * (1 + np.sin(0.1 * i)), 0.0], [0.0, 0.0, 1.0]) for i in range(n)])


def test_relative_poses_and_chain_invert_each_other_and_substitutions_give_the_truth():
    gt = _curve(30)
    rng = np.random.default_rng(0)
    est = np.array([_rel(rng.normal(0, 0.002, 3), np.array([0.05, 0.0, 1.0]) * rng.uniform(0.8, 1.2))
                    for _ in range(30)])
    traj = chain(np.eye(4), gt)
    assert traj.shape == (31, 4, 4)
    np.testing.assert_allclose(relative_poses(traj), gt, atol=1e-12)
    both = substitute(substitute(est, gt, "rotation"), gt, "translation")
    np.testing.assert_allclose(chain(np.eye(4), both), traj, atol=1e-12)
    length = substitute(est, gt, "length")
    direction = substitute(est, gt, "direction")
    for e, g, l, d in zip(est, gt, length, direction):
        assert abs(np.linalg.norm(l[:3, 3]) - np.linalg.norm(g[:3, 3])) < 1e-12  # the truth's length ...
        np.testing.assert_allclose(l[:3, 3] / np.linalg.norm(l[:3, 3]), e[:3, 3] / np.linalg.norm(e[:3, 3]))
        assert abs(np.linalg.norm(d[:3, 3]) - np.linalg.norm(e[:3, 3])) < 1e-12  # ... or its direction
        np.testing.assert_allclose(d[:3, 3] / np.linalg.norm(d[:3, 3]), g[:3, 3] / np.linalg.norm(g[:3, 3]))
    with pytest.raises(ValueError, match="part must be one of"):
        substitute(est, gt, "scale")


def test_per_frame_errors_read_a_rotation_bias_a_direction_bias_and_a_length_spread():
    gt = _curve(40)
    bias = np.radians(0.05)  # a constant pitch error per frame
    est = gt.copy()
    for i, g in enumerate(gt):
        est[i, :3, :3] = g[:3, :3] @ cv2.Rodrigues(np.array([[bias], [0.0], [0.0]]))[0]
        est[i, :3, 3] = (0.9 if i % 2 else 1.1) * (cv2.Rodrigues(np.array([[0.0], [np.radians(0.5)], [0.0]]))[0]
                                                   @ g[:3, 3])
    err = per_frame_errors(gt, est)
    assert abs(err["rot_mean_deg_x"] - 0.05) < 1e-9
    assert abs(err["rot_sum_deg_x"] - 40 * 0.05) < 1e-7 and abs(err["rot_sum_deg_y"]) < 1e-7  # 2 deg of pitch drift
    assert abs(err["rot_mean_deg_y"]) < 1e-9 and err["rot_std_deg_x"] < 1e-9
    assert abs(err["direction_error_deg_median"] - 0.5) < 1e-6
    assert abs(err["length_ratio_median"] - 1.0) < 1e-9
    assert abs(err["length_ratio_iqr"] - 0.2) < 1e-9


def test_a_tilted_camera_frame_reads_as_roll_per_yaw_and_a_climbing_motion():
    # the estimate's every relative motion seen in a camera frame pitched by theta (what a principal point
    # off by theta * fy pixels does to first order): R -> Rx R Rx^T, t -> Rx t
    gt = _curve(60)
    theta = 0.005
    tilt = cv2.Rodrigues(np.array([[theta], [0.0], [0.0]]))[0]
    est = gt.copy()
    for i, g in enumerate(gt):
        est[i, :3, :3] = tilt @ g[:3, :3] @ tilt.T
        est[i, :3, 3] = tilt @ g[:3, 3]
    err = per_frame_errors(gt, est)
    assert err["roll_per_yaw"] == pytest.approx(theta, rel=0.02)
    assert err["up_direction_error_deg_mean"] == pytest.approx(np.degrees(theta), rel=1e-6)
    assert abs(err["yaw_per_yaw"]) < 1e-4
    untilted = per_frame_errors(gt, gt)
    assert abs(untilted["roll_per_yaw"]) < 1e-12 and abs(untilted["up_direction_error_deg_mean"]) < 1e-12
    # a yaw gain of 2 %, nothing else
    gained = gt.copy()
    for i, g in enumerate(gt):
        gained[i, :3, :3] = cv2.Rodrigues(1.02 * cv2.Rodrigues(g[:3, :3])[0])[0]
    assert per_frame_errors(gt, gained)["yaw_per_yaw"] == pytest.approx(0.02, rel=1e-3)


def test_the_split_names_the_part_that_carries_the_error():
    # 400 m of a gently turning drive; the estimate's per-frame step length alternates +-10 % around a slow
    # 5 % drift: its t_rel comes from the length, so the truth's length removes (almost) all of it, the
    # truth's rotation nothing
    n = 400
    gt_rels = _curve(n)
    est_rels = gt_rels.copy()
    for i in range(n):
        est_rels[i, :3, 3] *= (1.0 + 0.05 * i / n) * (1.1 if i % 2 else 0.9)
    gt, est = chain(np.eye(4), gt_rels), chain(np.eye(4), est_rels)
    result = evaluate_trajectory(gt, est, options=EvaluateOptions(error_split=True))
    split = result.error_split
    assert split["estimated"]["t_rel"] == pytest.approx(result.t_rel)
    assert split["estimated"]["t_rel"] > 0.5  # %
    assert split["gt_length"]["t_rel"] < 0.01 and split["gt_translation"]["t_rel"] < 0.01
    assert split["gt_rotation"]["t_rel"] == pytest.approx(split["estimated"]["t_rel"], rel=0.02)
    assert split["gt_direction"]["t_rel"] == pytest.approx(split["estimated"]["t_rel"], rel=0.02)
    assert split["per_frame"]["length_ratio_iqr"] > 0.15
    assert "error_split" in result.to_dict() and "error_split" not in evaluate_trajectory(gt, est).to_dict()
    with pytest.raises(ValueError, match="equal length"):
        error_split(gt, est[:-1], lambda g, e: {})
