"""Ground truth that covers part of the frames, in its own world, of the body the camera sits on (EuRoC):
scored by `kp3d-vo run --gt` on the frames it covers, moved to the camera with the calibration's T_BS."""
from __future__ import annotations

import json
import logging

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from apps.evaluation.evaluate import evaluate_covered, evaluate_trajectory
from apps.io.calibration import read_calibration
from apps.io.ground_truth import describe_coverage, gt_covered, load_gt_poses

# The camera on the body (IMU), EuRoC-like: looking along the body's x axis, 0.3 m off its centre.
BODY_FROM_CAM = np.eye(4)
BODY_FROM_CAM[:3, :3] = Rotation.from_euler("xyz", [-90, 0, -90], degrees=True).as_matrix()
BODY_FROM_CAM[:3, 3] = [0.3, -0.1, 0.05]
# The motion-capture room's world: the first camera pose is nowhere near the identity.
ROOM_FROM_CAM0 = np.eye(4)
ROOM_FROM_CAM0[:3, :3] = Rotation.from_euler("zyx", [40, 5, -3], degrees=True).as_matrix()
ROOM_FROM_CAM0[:3, 3] = [4.0, -2.0, 1.2]


def _write_euroc_csv(path, times_s, world_from_body) -> None:
    q = Rotation.from_matrix(world_from_body[:, :3, :3]).as_quat()  # x y z w
    rows = ["#timestamp [ns],p_RS_R_x [m],p_RS_R_y [m],p_RS_R_z [m],q_RS_w [],q_RS_x [],q_RS_y [],q_RS_z [],"
            "v_x,v_y,v_z,bw_x,bw_y,bw_z,ba_x,ba_y,ba_z"]
    for t, p, qi in zip(times_s, world_from_body[:, :3, 3], q):
        rows.append(",".join([str(int(round(t * 1e9))), *(f"{v:.9f}" for v in p),
                              *(f"{v:.9f}" for v in (qi[3], qi[0], qi[1], qi[2])), *["0"] * 9]))
    path.write_text("\n".join(rows) + "\n")


def _write_sensor_yaml(path, k, body_from_cam: np.ndarray | None) -> None:
    lines = ["%YAML:1.0", "sensor_type: camera", "camera_model: pinhole",
             f"intrinsics: [{k.fx}, {k.fy}, {k.cx}, {k.cy}]", f"resolution: [{k.width}, {k.height}]",
             "distortion_model: radial-tangential", "distortion_coefficients: [0.0, 0.0, 0.0, 0.0]"]
    if body_from_cam is not None:
        data = ", ".join(f"{v:.12f}" for v in body_from_cam.ravel())
        lines += ["T_BS:", "  cols: 4", "  rows: 4", f"  data: [{data}]"]
    path.write_text("\n".join(lines) + "\n")


def test_calibration_reads_the_camera_on_its_body(tmp_path):
    from apps.io.camera import Intrinsics

    k = Intrinsics(458.0, 457.0, 367.0, 248.0, 752, 480)
    _write_sensor_yaml(tmp_path / "sensor.yaml", k, BODY_FROM_CAM)
    np.testing.assert_allclose(read_calibration(tmp_path / "sensor.yaml").body_from_cam, BODY_FROM_CAM, atol=1e-9)
    # Kalibr's camchain gives the inverse, cam_from_imu
    cam_from_imu = np.linalg.inv(BODY_FROM_CAM)
    (tmp_path / "camchain.yaml").write_text(
        "cam0:\n  camera_model: pinhole\n  intrinsics: [458.0, 457.0, 367.0, 248.0]\n  resolution: [752, 480]\n"
        "  T_cam_imu:\n" + "".join(f"  - [{', '.join(f'{v:.12f}' for v in row)}]\n" for row in cam_from_imu))
    np.testing.assert_allclose(read_calibration(tmp_path / "camchain.yaml").body_from_cam, BODY_FROM_CAM, atol=1e-9)
    (tmp_path / "plain.yaml").write_text("fx: 458\nfy: 457\ncx: 367\ncy: 248\nwidth: 752\nheight: 480\n")
    assert read_calibration(tmp_path / "plain.yaml").body_from_cam is None
    sheared = BODY_FROM_CAM.copy()
    sheared[0, 1] += 0.2
    _write_sensor_yaml(tmp_path / "bad.yaml", k, sheared)
    with pytest.raises(ValueError, match=r"bad\.yaml: T_BS: pose 0 is not a rigid transform"):
        read_calibration(tmp_path / "bad.yaml")


def _camera_path(n: int) -> np.ndarray:
    """world_from_cam (n, 4, 4) in the room: forward along the camera's z with a slow yaw."""
    out = np.tile(np.eye(4), (n, 1, 1))
    for i in range(n):
        cam0_from_cam = np.eye(4)
        cam0_from_cam[:3, :3] = Rotation.from_euler("y", 0.02 * i).as_matrix()
        cam0_from_cam[:3, 3] = [3.0 * np.sin(0.05 * i), 0.0, 5.0 * i]
        out[i] = ROOM_FROM_CAM0 @ cam0_from_cam
    return out


def test_body_poses_become_the_camera_and_uncovered_frames_are_nan(tmp_path, caplog):
    n = 30
    frame_times = 1403636579.75 + 0.05 * np.arange(n)  # 20 Hz camera
    world_from_cam = _camera_path(n)
    # 200 Hz ground truth from frame 8 on (the body's poses at the frames' times and between them)
    _write_euroc_csv(tmp_path / "data.csv", frame_times[8:], world_from_cam[8:] @ np.linalg.inv(BODY_FROM_CAM))
    with caplog.at_level(logging.WARNING):
        gt = load_gt_poses(tmp_path / "data.csv", n, frame_times, body_from_cam=BODY_FROM_CAM)
    assert ("data.csv covers 22 of 30 frames (8-29) (no pose within 0.0250 s of the others): the evaluation scores "
            "those") in caplog.text
    covered = gt_covered(gt)
    assert covered.tolist() == [False] * 8 + [True] * 22
    np.testing.assert_allclose(gt[8:], world_from_cam[8:], atol=1e-6)
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # without T_BS: used as it is, said so
        body = load_gt_poses(tmp_path / "data.csv", n, frame_times)
    assert "holds the body's (IMU's) poses" in caplog.text
    assert np.abs(body[8:, :3, 3] - world_from_cam[8:, :3, 3]).max() > 0.25
    assert describe_coverage(np.array([True, False, True, True])) == "3 of 4 frames (0-3), 1 gap(s) inside"


def test_evaluate_covered_scores_the_covered_frames_in_the_first_ones_frame():
    n = 30
    truth = _camera_path(n)
    cam0_from_cam = np.linalg.inv(truth[0]) @ truth
    cam0_from_cam[0] = np.eye(4)  # exactly, as KITTI's first pose and a run's
    est = cam0_from_cam.copy()
    est[:, :3, 3] *= 0.4  # a monocular unit
    est[12:, 0, 3] += 0.02  # a small error after frame 12
    gt = truth.copy()
    gt[:5] = np.nan
    res = evaluate_covered(gt, est)
    assert res.n_frames == 25 and "25 of 30 frames (5-29)" in res.association
    # = the same frames expressed from frame 5 on and scored as KITTI would
    ref = evaluate_trajectory(np.linalg.inv(truth[5]) @ truth[5:], np.linalg.inv(est[5]) @ est[5:])
    assert res.ate_rmse == pytest.approx(ref.ate_rmse, rel=1e-9) and res.ate_rmse < 0.1
    assert res.scale == pytest.approx(2.5, rel=0.02)
    # without the change of frame the room's rotation would be the error
    assert evaluate_trajectory(truth[5:], est[5:]).ate_rmse > 10.0
    # full coverage starting at the identity (KITTI): the same numbers as evaluate_trajectory
    full = evaluate_covered(cam0_from_cam, est)
    same = evaluate_trajectory(cam0_from_cam, est)
    assert (full.t_rel, full.ate_rmse, full.rpe_trans_rmse) == (same.t_rel, same.ate_rmse, same.rpe_trans_rmse)
    assert 0 < full.t_rel < 1.0
    gt[:-1] = np.nan
    with pytest.raises(ValueError, match=r"ground truth covers 1 of 30 frames \(29-29\): need at least 2"):
        evaluate_covered(gt, est)


def test_run_scores_euroc_ground_truth_on_the_covered_frames(synth_sequence, tmp_path):
    """The fixture render recorded as EuRoC's cam0 (frames named by their time in ns, sensor.yaml with T_BS)
    with body ground truth in a room's frame starting at frame 10: `kp3d-vo run --gt` scores frames 10-59.
    Measured (pure dso, this render; too short for t_rel): ATE / RPE-1 0.063 / 0.023 m with T_BS, 27.5 / 0.99 m
    with T_BS left out of sensor.yaml (the body's axes taken for the camera's)."""
    from apps.cli import main
    from apps.io.sequence import open_sequence
    from apps.io.trajectory import read_kitti_poses

    render = open_sequence(synth_sequence)
    n = len(render)
    cam0 = tmp_path / "mav0" / "cam0"
    (cam0 / "data").mkdir(parents=True)
    times = 1403636579.763555584 + render.timestamps
    for i in range(n):
        cv2.imwrite(str(cam0 / "data" / f"{int(round(times[i] * 1e9))}.png"), render.image(i))
    _write_sensor_yaml(cam0 / "sensor.yaml", render.intrinsics, BODY_FROM_CAM)
    _write_sensor_yaml(tmp_path / "no_tbs.yaml", render.intrinsics, None)
    truth = read_kitti_poses(synth_sequence.parent.parent / "poses" / "00.txt")[:n]
    gt_csv = tmp_path / "mav0" / "data.csv"
    _write_euroc_csv(gt_csv, times[10:], ROOM_FROM_CAM0 @ truth[10:] @ np.linalg.inv(BODY_FROM_CAM))
    (tmp_path / "run.yaml").write_text("mode: dso\nwidth: 320\nheight: 96\n")

    def evaluation(name: str, calib) -> dict:
        out = tmp_path / name
        assert main(["run", str(cam0 / "data"), "--calib", str(calib), "--config", str(tmp_path / "run.yaml"),
                     "--gt", str(gt_csv), "--output", str(out), "--no-progress"]) == 0
        return json.loads((out / "summary.json").read_text())["evaluation"]

    ev = evaluation("tbs", cam0 / "sensor.yaml")
    assert ev["n_frames"] == n - 10 and f"{n - 10} of {n} frames (10-{n - 1})" in ev["association"]
    bad = evaluation("no_tbs", tmp_path / "no_tbs.yaml")
    assert ev["ate_rmse"] < 0.3 and ev["rpe_trans_rmse"] < 0.1
    assert bad["ate_rmse"] > 3.0


def test_evaluate_moves_euroc_ground_truth_to_the_camera(tmp_path, capsys):
    """`kp3d-vo evaluate --calib sensor.yaml`: the body's poses become the camera's before scoring."""
    from apps.cli import main
    from apps.io.camera import Intrinsics
    from apps.io.trajectory import write_tum

    n = 30
    times = 1403636579.75 + 0.05 * np.arange(n)
    world_from_cam = _camera_path(n)
    _write_euroc_csv(tmp_path / "data.csv", times, world_from_cam @ np.linalg.inv(BODY_FROM_CAM))
    est = np.linalg.inv(world_from_cam[0]) @ world_from_cam
    est[:, :3, 3] *= 0.3
    write_tum(tmp_path / "est.txt", times, est)
    _write_sensor_yaml(tmp_path / "sensor.yaml", Intrinsics(458.0, 457.0, 367.0, 248.0, 752, 480), BODY_FROM_CAM)

    def scores(*extra: str) -> dict:
        out = tmp_path / "ev.json"
        assert main(["evaluate", "--gt", str(tmp_path / "data.csv"), "--est", str(tmp_path / "est.txt"),
                     "--align", "sim3", "--json", str(out), *extra]) == 0
        return json.loads(out.read_text())

    camera = scores("--calib", str(tmp_path / "sensor.yaml"))
    assert camera["ate_rmse"] < 1e-5 and camera["rpe_trans_rmse"] < 1e-4 and camera["t_rel"] < 0.01
    body = scores()  # each step measured in the body's axes, not the camera's: 7.9 m RPE, t_rel 140 %
    assert body["rpe_trans_rmse"] > 1.0 and body["t_rel"] > 50
    (tmp_path / "plain.yaml").write_text("fx: 458\nfy: 457\ncx: 367\ncy: 248\nwidth: 752\nheight: 480\n")
    capsys.readouterr()
    assert main(["evaluate", "--gt", str(tmp_path / "data.csv"), "--est", str(tmp_path / "est.txt"),
                 "--calib", str(tmp_path / "plain.yaml")]) == 2
    assert "plain.yaml: no camera-on-body transform" in capsys.readouterr().err


def test_plot_takes_the_same_camera_on_body(tmp_path, capsys):
    from apps.cli import main
    from apps.io.camera import Intrinsics
    from apps.io.trajectory import write_tum

    n = 30
    times = 1403636579.75 + 0.05 * np.arange(n)
    world_from_cam = _camera_path(n)
    _write_euroc_csv(tmp_path / "data.csv", times, world_from_cam @ np.linalg.inv(BODY_FROM_CAM))
    write_tum(tmp_path / "run" / "poses_tum.txt", times, np.linalg.inv(world_from_cam[0]) @ world_from_cam)
    _write_sensor_yaml(tmp_path / "sensor.yaml", Intrinsics(458.0, 457.0, 367.0, 248.0, 752, 480), BODY_FROM_CAM)
    assert main(["plot", "--gt", str(tmp_path / "data.csv"), "--est", str(tmp_path / "run" / "poses_tum.txt"),
                 "--calib", str(tmp_path / "sensor.yaml"), "--align", "sim3", "--out", str(tmp_path / "plots"),
                 "--formats", "png"]) == 0
    assert (tmp_path / "plots" / "trajectories_xz.png").is_file()
    # a TUM ground truth is the camera's already: --calib is refused, naming the file
    write_tum(tmp_path / "gt_tum.txt", times, world_from_cam)
    capsys.readouterr()
    assert main(["plot", "--gt", str(tmp_path / "gt_tum.txt"), "--est", str(tmp_path / "run" / "poses_tum.txt"),
                 "--calib", str(tmp_path / "sensor.yaml"), "--out", str(tmp_path / "plots2")]) == 2
    assert "gt_tum.txt is KITTI or TUM" in capsys.readouterr().err
