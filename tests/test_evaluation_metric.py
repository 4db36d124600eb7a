"""KITTI devkit metric, alignment and evaluate_trajectory on synthetic trajectories with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from evaluation_helpers import apply_sim3, curvy, rot_y, straight
from scipy.spatial.transform import Rotation

from apps.evaluation.alignment import align_trajectory
from apps.evaluation.evaluate import EvaluateOptions, evaluate_trajectory
from apps.evaluation.kitti_metric import kitti_errors

RAD_TO_DEG100 = 180.0 / math.pi * 100.0


def _expected_segments(n_frames: int, lengths, step=10):
    """Segments of a 1 m/frame straight drive: the devkit ends a segment at the first frame whose
    distance EXCEEDS start + L, i.e. j = i + L + 1 (distances are exact integers)."""
    return [(i, i + L + 1, L) for i in range(0, n_frames, step) for L in lengths
            if i + L + 1 < n_frames]


@pytest.mark.parametrize("arithmetic,tol", [("float64", 1e-12), ("devkit", 1e-5)])
def test_scaled_straight_drive_translation_error(arithmetic, tol):
    gt = straight(1001)                      # 1000 m straight
    est = gt.copy()
    est[:, :3, 3] *= 1.01                    # 1 % too long
    res = kitti_errors(gt, est, arithmetic=arithmetic)
    segs = _expected_segments(1001, range(100, 900, 100))
    # translation error of a segment: 1 % of the travelled (L + 1) m, divided by the nominal L
    expected = 100.0 * np.mean([0.01 * (j - i) / L for i, j, L in segs])
    assert res.n_segments == len(segs) == 440  # 90 + 80 + ... + 20
    assert res.t_rel == pytest.approx(expected, rel=tol)
    assert 1.0 < res.t_rel < 1.005 and round(res.t_rel, 2) == 1.00
    assert res.r_rel == 0.0
    assert res.used_lengths == (100, 200, 300, 400, 500, 600, 700, 800)
    assert res.skipped_lengths == ()
    for L, (t, r, n) in res.per_length.items():
        assert n == sum(1 for s in segs if s[2] == L)
        assert t == pytest.approx(100.0 * 0.01 * (L + 1) / L, rel=tol)
    np.testing.assert_array_equal(res.segment_last - res.segment_first, res.segment_length + 1)


@pytest.mark.parametrize("arithmetic,tol", [("float64", 1e-10), ("devkit", 2e-3)])
def test_constant_yaw_rate_error_gives_analytic_r_rel(arithmetic, tol):
    omega = 2e-4                             # rad per frame (= per metre) of extra yaw
    gt = straight(1001)
    est = gt.copy()
    est[:, :3, :3] = np.stack([rot_y(omega * k) for k in range(1001)])
    res = kitti_errors(gt, est, arithmetic=arithmetic)
    segs = _expected_segments(1001, range(100, 900, 100))
    expected = RAD_TO_DEG100 * np.mean([omega * (j - i) / L for i, j, L in segs])
    assert res.r_rel == pytest.approx(expected, rel=tol)
    assert res.r_rel == pytest.approx(omega * RAD_TO_DEG100, rel=0.01)  # ~1.146 deg/100m
    assert res.per_length[800].r_rel == pytest.approx(omega * 801 / 800 * RAD_TO_DEG100, rel=tol)


def test_kitti_metric_matches_independent_loop_on_curvy_drive():
    gt = curvy(700, seed=1)
    rng = np.random.default_rng(2)
    noise = Rotation.from_rotvec(rng.normal(0, 2e-3, (700, 3))).as_matrix()
    est = gt.copy()
    est[:, :3, :3] = gt[:, :3, :3] @ noise
    est[:, :3, 3] += np.cumsum(rng.normal(0, 0.02, (700, 3)), axis=0)
    res = kitti_errors(gt, est, arithmetic="float64")
    dist = np.concatenate(([0], np.cumsum(np.linalg.norm(np.diff(gt[:, :3, 3], axis=0), axis=1))))
    t_errs, r_errs = [], []
    for i in range(0, 700, 10):
        for L in range(100, 900, 100):
            later = np.flatnonzero(dist > dist[i] + L)
            if later.size == 0:
                continue
            j = later[0]
            err = np.linalg.inv(np.linalg.inv(est[i]) @ est[j]) @ (np.linalg.inv(gt[i]) @ gt[j])
            r_errs.append(np.arccos(min(1, max(-1, 0.5 * (np.trace(err[:3, :3]) - 1)))) / L)
            t_errs.append(np.linalg.norm(err[:3, 3]) / L)
    assert res.n_segments == len(t_errs) > 100
    assert res.t_rel == pytest.approx(100 * np.mean(t_errs), rel=1e-12)
    assert res.r_rel == pytest.approx(RAD_TO_DEG100 * np.mean(r_errs), rel=1e-12)
    devkit = kitti_errors(gt, est)            # float32 emulation: same numbers to ~1e-4
    assert devkit.t_rel == pytest.approx(res.t_rel, rel=1e-4)
    assert devkit.r_rel == pytest.approx(res.r_rel, rel=1e-3)


def test_short_clip_skips_long_lengths_and_says_so():
    gt = straight(301)                       # 300 m
    est = gt.copy()
    est[:, :3, 3] *= 1.02
    res = kitti_errors(gt, est)
    assert res.used_lengths == (100, 200)
    assert res.skipped_lengths == (300, 400, 500, 600, 700, 800)
    assert res.per_length[100].n_segments == 20   # starts 0..190 (need i + 101 <= 300)
    assert res.per_length[200].n_segments == 10   # starts 0..90
    assert set(res.per_length) == {100, 200}


def test_clip_shorter_than_every_segment_gives_nan_not_an_exception():
    gt = straight(51)
    res = kitti_errors(gt, gt.copy())
    assert math.isnan(res.t_rel) and math.isnan(res.r_rel)
    assert res.n_segments == 0 and res.used_lengths == ()
    out = evaluate_trajectory(gt, gt.copy(), align="none")
    assert math.isnan(out.t_rel) and out.ate_rmse == pytest.approx(0.0, abs=1e-12)
    assert out.to_dict()["t_rel"] is None
    assert res.gt_path_length == pytest.approx(50.0)
    from apps.evaluation.report import format_result
    assert "50.0 m ground-truth path is shorter than every KITTI segment" in format_result(out)


def test_kitti_metric_rejects_bad_input():
    gt = straight(20)
    with pytest.raises(ValueError, match="20 poses but est_world_from_cam has 19"):
        kitti_errors(gt, gt[:19])
    with pytest.raises(ValueError, match=r"\(N, 4, 4\).*\(20, 3, 4\)"):
        kitti_errors(gt, gt[:, :3, :])
    bad = gt.copy()
    bad[7, 0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN/inf, first at index 7"):
        kitti_errors(gt, bad)
    with pytest.raises(ValueError, match="lengths"):
        kitti_errors(gt, gt, lengths=[100, -5])
    with pytest.raises(ValueError, match="step"):
        kitti_errors(gt, gt, step=0)


def test_kitti_metric_on_a_full_length_sequence():
    """Seq 00's length (4541 frames): every length class used, a 1 % scale error reads 1 %. The speed of
    this call is measured by bench/evaluation_speed.py (a wall-clock bound does not belong in a test)."""
    gt = straight(4541)
    est = apply_sim3(gt, 1.01, rot_y(0.3), [1, 2, 3])  # another world frame, 1 % too long
    res = kitti_errors(gt, est)
    assert res.n_segments == len(_expected_segments(4541, range(100, 900, 100))) > 3000
    assert res.used_lengths == (100, 200, 300, 400, 500, 600, 700, 800)
    assert 1.0 < res.t_rel < 1.005 and res.r_rel == pytest.approx(0.0, abs=1e-6)


# --- alignment --------------------------------------------------------------------------------

SIM3_SCALE = 2.5
SIM3_ROT = Rotation.from_euler("zyx", [0.3, -0.7, 0.2]).as_matrix()
SIM3_T = np.array([10.0, -4.0, 7.0])


@pytest.fixture(scope="module")
def sim3_pair():
    gt = curvy(400, seed=5)
    return gt, apply_sim3(gt, SIM3_SCALE, SIM3_ROT, SIM3_T)


def test_sim3_alignment_recovers_the_transform(sim3_pair):
    gt, est = sim3_pair
    aligned, a = align_trajectory(gt, est, "sim3")
    assert a.scale == pytest.approx(1 / SIM3_SCALE, rel=1e-9)
    np.testing.assert_allclose(a.rotation, SIM3_ROT.T, atol=1e-9)
    np.testing.assert_allclose(aligned, gt, atol=1e-8)
    res = evaluate_trajectory(gt, est, align="sim3")
    assert res.ate_rmse < 1e-8 and res.rpe_trans_rmse < 1e-8 and res.t_rel < 1e-4


def test_scale_alignment_fixes_only_the_scale(sim3_pair):
    gt, est = sim3_pair
    aligned, a = align_trajectory(gt, est, "scale")
    assert a.scale == pytest.approx(1 / SIM3_SCALE, rel=1e-9)   # Umeyama Sim(3) scale
    np.testing.assert_allclose(aligned[:, :3, :3], est[:, :3, :3], atol=0)  # rotations kept
    np.testing.assert_allclose(aligned[:, :3, 3], est[:, :3, 3] / SIM3_SCALE, rtol=1e-9)
    res = evaluate_trajectory(gt, est, align="scale")
    # The KITTI metric uses relative poses only (invariant to the rigid part): scale was all
    # that was wrong. The absolute error is not fixed.
    assert res.t_rel < 1e-4 and res.r_rel < 1e-3
    assert res.ate_rmse > 5.0
    none = evaluate_trajectory(gt, est, align="none")
    # 150 % of each segment's chord (slightly shorter than its nominal length on this drive)
    assert none.t_rel == pytest.approx(150.0, rel=0.05)
    se3 = evaluate_trajectory(gt, est, align="se3")
    assert se3.scale == 1.0 and se3.t_rel == pytest.approx(none.t_rel, rel=1e-9)


def test_scale_alignment_of_a_straight_drive_uses_the_degenerate_umeyama_scale():
    gt = straight(301)
    est = gt.copy()
    est[:, :3, 3] *= 0.25
    aligned, a = align_trajectory(gt, est, "scale")
    assert a.scale == pytest.approx(4.0, rel=1e-12)
    np.testing.assert_allclose(aligned, gt, atol=1e-9)
    with pytest.raises(ValueError, match="degenerate"):
        align_trajectory(gt, est, "sim3")


def test_scale_alignment_refuses_a_ground_truth_that_does_not_move():
    gt = np.tile(np.eye(4), (25, 1, 1))
    with pytest.raises(ValueError, match="ground-truth positions do not move"):
        align_trajectory(gt, straight(25), "scale")
    with pytest.raises(ValueError, match="ground-truth positions do not move"):
        evaluate_trajectory(gt, straight(25), align="scale")


@pytest.mark.parametrize("mode", ["none", "scale", "se3", "sim3"])
def test_inputs_are_not_modified(sim3_pair, mode):
    gt, est = (x.copy() for x in sim3_pair)
    gt_before, est_before = gt.copy(), est.copy()
    t = np.arange(len(gt)) * 0.1
    t_before = t.copy()
    evaluate_trajectory(gt, est, align=mode)
    evaluate_trajectory(gt, est[5:], align=mode, gt_timestamps=t, est_timestamps=t[5:])
    align_trajectory(gt, est, mode)
    np.testing.assert_array_equal(gt, gt_before)
    np.testing.assert_array_equal(est, est_before)
    np.testing.assert_array_equal(t, t_before)
    # read-only inputs must be accepted too (nothing writes into them)
    gt.flags.writeable = est.flags.writeable = False
    evaluate_trajectory(gt, est, align=mode)


# --- evaluate_trajectory ------------------------------------------------------------------------

def test_association_by_index_requires_equal_counts_unless_truncating_gt():
    gt = curvy(300, seed=7)
    est = gt[:250].copy()
    with pytest.raises(ValueError, match=r"ground truth G.txt has 300 poses, estimate E.txt has 250"
                                          r".*truncate"):
        evaluate_trajectory(gt, est, align="none", gt_name="G.txt", est_name="E.txt")
    res = evaluate_trajectory(gt, est, options=EvaluateOptions(align="none", truncate_gt=True))
    assert res.n_frames == 250 and res.ate_rmse == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="cannot have more poses"):
        evaluate_trajectory(gt[:100], gt, options=EvaluateOptions(truncate_gt=True))


def test_association_by_time_and_max_frames():
    gt = curvy(300, seed=8)
    t = 1000.0 + 0.1 * np.arange(300)
    est = apply_sim3(gt[20:], 0.5, np.eye(3), [0, 0, 0])     # VO that initialised late, wrong scale
    res = evaluate_trajectory(gt, est, align="scale", gt_timestamps=t, est_timestamps=t[20:] + 0.002)
    assert res.n_frames == 280 and res.scale == pytest.approx(2.0, rel=1e-9)
    assert res.ate_rmse < 1e-9 and res.t_rel < 1e-6
    np.testing.assert_allclose(res.timestamps, t[20:] + 0.002)
    res = evaluate_trajectory(gt, est, gt_timestamps=t, est_timestamps=t[20:],
                              options=EvaluateOptions(max_frames=100))
    assert res.n_frames == 100 and res.timestamps.shape == (100,)
    with pytest.raises(ValueError, match="no matching timestamps"):
        evaluate_trajectory(gt, est, gt_timestamps=t, est_timestamps=t[20:] + 50.0)


def test_evaluation_result_numbers_and_dict():
    gt = curvy(600, seed=9)
    est = gt.copy()
    est[:, :3, 3] += np.array([0.3, 0.0, -0.4])              # constant offset: ATE 0.5 m exactly
    res = evaluate_trajectory(gt, est, align="none")
    assert res.ate_rmse == pytest.approx(0.5, rel=1e-9)
    assert res.rpe_trans_rmse < 1e-9 and res.rpe_rot_rmse < 1e-6
    d = res.to_dict()
    assert d["t_rel"] == res.t_rel and d["r_rel"] == res.r_rel and d["ate_rmse"] == res.ate_rmse
    assert d["used_lengths"] == list(res.kitti.used_lengths)
    assert set(d["per_length"]) == {str(x) for x in res.kitti.used_lengths}
    with pytest.raises(ValueError, match="align"):
        evaluate_trajectory(gt, est, align="affine")


def test_rpe_rotation_matches_evo():
    from evo.core import metrics
    from evo.core.trajectory import PosePath3D

    gt = curvy(300, seed=11)
    rng = np.random.default_rng(12)
    est = gt.copy()
    est[:, :3, :3] = gt[:, :3, :3] @ Rotation.from_rotvec(rng.normal(0, 3e-3, (300, 3))).as_matrix()
    res = evaluate_trajectory(gt, est, align="none")
    rpe = metrics.RPE(metrics.PoseRelation.rotation_angle_deg, delta=1, delta_unit=metrics.Unit.frames)
    rpe.process_data((PosePath3D(poses_se3=list(gt.copy())), PosePath3D(poses_se3=list(est.copy()))))
    expected = rpe.get_statistic(metrics.StatisticsType.rmse)
    assert expected > 0.1
    assert res.rpe_rot_rmse == pytest.approx(expected, rel=1e-9)
