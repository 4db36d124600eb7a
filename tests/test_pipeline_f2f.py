"""Frame-to-frame odometry and the run loop on a synthetic sequence with an oracle frontend."""
import json
import shutil

import numpy as np
import pytest

from apps.evaluation.evaluate import evaluate_trajectory
from apps.io.sequence import open_sequence
from apps.io.trajectory import read_kitti_poses, read_tum
from apps.pipeline.config import RunConfig, load_config
from apps.pipeline.runner import run_sequence
from apps.pipeline.observer import OutputObserver
from pipeline_helpers import OracleFrontend


def _ate(gt, est):
    return evaluate_trajectory(gt, est, align="scale").ate_rmse


def test_f2f_with_exact_depth_tracks_the_synthetic_sequence(synth_sequence, tmp_path):
    seq = open_sequence(synth_sequence)
    cfg = RunConfig(mode="f2f", width=320, height=96)
    result = run_sequence(seq, cfg, tmp_path / "out", frontend=OracleFrontend(seq), progress=False)
    gt = seq.gt_world_from_cam
    assert result.world_from_cam.shape == gt.shape
    path_length = np.linalg.norm(np.diff(gt[:, :3, 3], axis=0), axis=1).sum()
    # metric depth -> metric scale: scale-free and scale-aligned errors both small
    ate = _ate(gt, result.world_from_cam)
    assert ate < 0.02 * path_length, f"ATE {ate:.3f} m over {path_length:.1f} m"
    end_err = np.linalg.norm(result.world_from_cam[-1, :3, 3] - gt[-1, :3, 3])
    assert end_err < 0.05 * path_length
    assert result.summary["lost_frames"] == []
    # outputs: one pose line per input frame, TUM with timestamps, summary with stage timings
    kitti = read_kitti_poses(tmp_path / "out" / "poses_kitti.txt")
    t, tum = read_tum(tmp_path / "out" / "poses_tum.txt")
    assert len(kitti) == len(tum) == len(seq)
    np.testing.assert_allclose(t, seq.timestamps, atol=1e-6)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["frames"] == len(seq) and summary["mode"] == "f2f"
    assert set(summary["stage_ms_per_frame"]) == {"decode", "frontend", "backend", "observer"}
    assert summary["evaluation"]["ate_rmse"] == pytest.approx(ate, rel=1e-6)
    # frames.csv: the first frame is the reference, every later one has its PnP inliers (SIFT on exact depth)
    inliers = [row.get("pnp_inliers") for row in result.frame_log]
    assert inliers[0] == 0 and min(inliers[1:]) >= 20, inliers
    assert (tmp_path / "out" / "frames.csv").read_text().count("\n") == len(seq) + 1


def test_unreadable_frame_is_skipped_without_losing_output(synth_sequence, tmp_path):
    root = tmp_path / "seq"
    shutil.copytree(synth_sequence, root)
    (root / "image_0" / "000010.png").write_bytes(b"not a png")
    gt_src = synth_sequence.parent.parent / "poses" / "00.txt"
    seq = open_sequence(root, gt=gt_src, max_frames=25)
    cfg = RunConfig(mode="f2f", width=320, height=96)
    result = run_sequence(seq, cfg, tmp_path / "out", frontend=OracleFrontend(seq), progress=False)
    assert len(read_kitti_poses(tmp_path / "out" / "poses_kitti.txt")) == 25
    assert [s["frame"] for s in result.summary["skipped_frames"]] == [10]
    assert "000010.png" in result.summary["skipped_frames"][0]["reason"]
    assert result.statuses[10] == "skipped"
    np.testing.assert_allclose(result.world_from_cam[10], result.world_from_cam[9])
    # tracking goes on across the gap (two frames apart) with bounded error
    assert _ate(seq.gt_world_from_cam, result.world_from_cam) < 0.5


def test_interrupt_writes_what_was_processed(synth_sequence, tmp_path):
    seq = open_sequence(synth_sequence)

    class StopAt(OutputObserver):  # Ctrl-C arriving while frame 12 is shown
        def on_frame(self, index, *a):
            if index == 12:
                raise KeyboardInterrupt

    cfg = RunConfig(mode="f2f", width=320, height=96)
    result = run_sequence(seq, cfg, tmp_path / "out", frontend=OracleFrontend(seq), observer=StopAt(),
                          progress=False)
    assert result.summary["interrupted"] is True
    assert len(read_kitti_poses(tmp_path / "out" / "poses_kitti.txt")) == 13


def test_config_errors_name_the_problem(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("mode: dsdso\nwdth: 640\n")
    with pytest.raises(ValueError, match=r"c\.yaml: wdth: unknown key"):
        load_config(bad)
    with pytest.raises(ValueError, match="mode must be one of"):
        load_config(None, mode="orb")
    with pytest.raises(ValueError, match="multiples of 32"):
        load_config(None, width=641)
    with pytest.raises(ValueError, match="positive"):
        load_config(None, mode="dso", width=0)
    # pure DSO runs no network: any size, e.g. KITTI's native 1241x376
    assert load_config(None, mode="dso", width=1241, height=376).width == 1241
    with pytest.raises(ValueError, match="networks run"):
        load_config(None, mode="f2f", width=1241, height=376)
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")



@pytest.mark.parametrize("f2f, match", [
    ("{ransac_confidence: 2.0}", r"ransac_confidence must be in \(0, 1\), got 2\.0"),
    ("{ransac_reprojection_px: .nan}", r"ransac_reprojection_px must be a finite number of pixels > 0, got nan"),
    ("{ransac_iterations: 99999999999}", r"ransac_iterations must be in 1\.\.2147483647, got 99999999999"),
])
def test_f2f_ransac_options_are_checked_when_the_config_loads(tmp_path, f2f, match):
    path = tmp_path / "c.yaml"
    path.write_text(f"mode: f2f\nf2f: {f2f}\n")
    with pytest.raises(ValueError, match=r"c\.yaml: f2f: " + match):
        load_config(path)


def test_sample_depth_is_bilinear_and_unknown_next_to_unknown_depth():
    from apps.pipeline.f2f import sample_depth

    depth = np.tile(np.arange(10, dtype=np.float32) + 1.0, (6, 1))  # depth = x + 1
    depth[:, 7:] = 0.0                                              # unknown right of x = 6
    kps = np.array([[2.25, 3.0], [5.5, 1.5], [6.5, 2.0], [-0.5, 2.0], [0.0, 0.0]], np.float32)
    np.testing.assert_allclose(sample_depth(depth, kps), [3.25, 6.5, 0.0, 0.0, 1.0], atol=1e-5)
    assert sample_depth(depth, np.zeros((0, 2), np.float32)).shape == (0,)


@pytest.mark.parametrize("unit", [True, False])
def test_mutual_nn_matches_equal_opencv_brute_force_cross_check(unit):
    import cv2

    from apps.pipeline.f2f import mutual_nn_matches

    rng = np.random.default_rng(3)
    a = rng.normal(size=(300, 64)).astype(np.float32)
    b = np.concatenate([a[rng.permutation(300)[:200]] + 0.25 * rng.normal(size=(200, 64)),
                        rng.normal(size=(150, 64))]).astype(np.float32)
    if unit:
        a /= np.linalg.norm(a, axis=1, keepdims=True)
        b /= np.linalg.norm(b, axis=1, keepdims=True)
    max_distance = 1.2 if unit else 9.0
    ref = cv2.BFMatcher(cv2.NORM_L2, crossCheck=True).match(a, b)
    expected = sorted((m.queryIdx, m.trainIdx) for m in ref if m.distance <= max_distance)
    got = mutual_nn_matches(a, b, max_distance)
    assert got.dtype == np.int64 and got.shape[1] == 2
    assert len(expected) > 50 and [tuple(p) for p in got.tolist()] == expected
    assert mutual_nn_matches(a[:0], b, 1.0).shape == (0, 2)
    with pytest.raises(ValueError, match="descriptors"):
        mutual_nn_matches(a, b[:, :32], 1.0)


def test_run_limits_numpy_blas_threads_while_frames_are_processed(synth_sequence):
    """Idle OpenBLAS threads spin beside the backend's (bench/RESULTS.md): one BLAS thread during the frame
    loop, the process's own setting back afterwards."""
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]

    if not blas_threads():
        pytest.skip("numpy links no BLAS library that threadpoolctl can see")
    seen = []

    class Probe(OutputObserver):
        def on_frame(self, index, image, world_from_cam, keypoints, status):
            seen.extend(blas_threads())

    before = blas_threads()
    seq = open_sequence(synth_sequence)
    run_sequence(seq, RunConfig(mode="f2f", width=320, height=96), None, frontend=OracleFrontend(seq),
                 observer=Probe(), progress=False, max_frames=3)
    assert seen and set(seen) == {1}
    assert blas_threads() == before


def test_runs_ask_the_frontend_only_for_what_they_read():
    assert RunConfig(mode="dso").frontend_outputs() == ()
    assert RunConfig(mode="f2f").frontend_outputs() == ("keypoints", "depth")
    assert RunConfig(mode="dsdso").frontend_outputs() == ("keypoints", "depth")  # PnP init + prior
    assert RunConfig(mode="dsdso", pnp_init=False).frontend_outputs() == ("depth",)
    assert RunConfig(mode="dsdso", pnp_init=False, depth_prior=False,
                     keypoint_candidates=True).frontend_outputs() == ("keypoints",)
    assert RunConfig(mode="dsdso", pnp_init=False, depth_prior=False).frontend_outputs() == ()
    with pytest.raises(ValueError, match="pnp_solver must be one of"):
        RunConfig(pnp_solver="dlt").check()
    with pytest.raises(ValueError, match="pnp_top_k"):
        RunConfig(pnp_top_k=0).check()
    with pytest.raises(ValueError, match="pnp_iterations"):
        RunConfig(pnp_iterations=0).check()
    with pytest.raises(ValueError, match="pnp_reprojection_px"):
        RunConfig(pnp_reprojection_px=float("nan")).check()


def test_the_pnp_initial_pose_uses_the_run_config_ransac_not_the_f2f_section():
    from apps.pipeline.odometry import BackendMode
    from frontend.common.camera import Intrinsics

    K = Intrinsics(fx=300.0, fy=300.0, cx=160.0, cy=48.0, width=320, height=96)
    config = RunConfig(mode="dsdso", width=320, height=96, pnp_solver="p3p", pnp_iterations=123,
                       pnp_reprojection_px=1.5)
    opts = BackendMode(K, config, use_network=True)._pnp_options
    assert (opts.ransac_solver, opts.ransac_iterations, opts.ransac_reprojection_px) == ("p3p", 123, 1.5)
    assert opts.max_descriptor_distance == config.f2f.max_descriptor_distance  # the rest from f2f
    assert (config.f2f.ransac_solver, config.f2f.ransac_iterations) == ("epnp", 200)  # f2f mode unchanged


@pytest.mark.parametrize("solver", ["epnp", "p3p", "usac", "usac-magsac"])
def test_pnp_solvers_recover_an_exact_relative_pose(solver):
    from apps.pipeline.f2f import F2FOptions, relative_pose_pnp
    from frontend.common.camera import Intrinsics

    rng = np.random.default_rng(4)
    K = Intrinsics(fx=300.0, fy=300.0, cx=160.0, cy=48.0, width=320, height=96)
    n = 200
    depth = np.full((96, 320), 10.0, np.float32)
    kp_prev = np.stack([rng.uniform(5, 315, n), rng.uniform(5, 91, n)], 1).astype(np.float32)
    z = 10.0
    pts = np.stack([(kp_prev[:, 0] - K.cx) / K.fx * z, (kp_prev[:, 1] - K.cy) / K.fy * z, np.full(n, z)], 1)
    angle = np.radians(2.0)  # yaw 2 deg, 1 m forward
    R = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    t = np.array([0.1, 0.0, -1.0])
    cur = pts @ R.T + t
    kp_cur = np.stack([K.fx * cur[:, 0] / cur[:, 2] + K.cx, K.fy * cur[:, 1] / cur[:, 2] + K.cy], 1).astype(np.float32)
    outliers = rng.choice(n, 60, replace=False)
    kp_cur[outliers] += rng.uniform(-30, 30, (60, 2)).astype(np.float32)
    matches = np.stack([np.arange(n), np.arange(n)], 1)
    rel, inliers = relative_pose_pnp(kp_prev, depth, kp_cur, matches, K, F2FOptions(ransac_solver=solver))
    assert rel is not None and inliers >= n - 60 - 5
    np.testing.assert_allclose(rel[:3, :3], R, atol=2e-3)
    np.testing.assert_allclose(rel[:3, 3], t, atol=2e-2)
    again, _ = relative_pose_pnp(kp_prev, depth, kp_cur, matches, K, F2FOptions(ransac_solver=solver))
    np.testing.assert_array_equal(again, rel)  # deterministic (USAC with its fixed random state too)
    with pytest.raises(ValueError, match="ransac_solver"):
        F2FOptions(ransac_solver="dlt").check()
