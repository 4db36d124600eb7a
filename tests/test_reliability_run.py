"""Issue 12 regressions for the run loop: per-frame bookkeeping, never-started runs, signals, output sets.

Each test names the case of issue 12 it covers (#1, #3, #9, #10, #11, #12).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from apps.io.sequence import open_sequence
from apps.io.trajectory import read_kitti_poses
from apps.pipeline import runner as runner_module
from apps.pipeline.config import RunConfig
from apps.pipeline.observer import OutputObserver
from apps.pipeline.odometry import BackendMode, F2FMode
from apps.pipeline.outputs import RunResult, verify_run_outputs, write_run_outputs
from apps.pipeline.runner import run_sequence
from apps.pipeline.status import FrameStatus
from pipeline_helpers import OracleFrontend


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "apps.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def _translation(x):
    pose = np.eye(4)
    pose[0, 3] = x
    return pose


class _FakeF2F:
    """Stands in for FrameToFrameOdometry: the k-th processed frame gets the pose x = k."""

    def __init__(self):
        self.poses = []
        self.last_inliers = 50

    def step(self, keypoints, descriptors, depth):
        self.poses.append(_translation(len(self.poses)))
        return self.poses[-1], FrameStatus.TRACKED

    def trajectory(self):
        return np.asarray(self.poses).reshape(-1, 4, 4)


class _FakeBackend:
    def __init__(self):
        self.poses = []

    def track(self, image, timestamp, **kwargs):
        self.poses.append(_translation(len(self.poses)))
        return SimpleNamespace(world_from_cam=self.poses[-1], status="KEYFRAME" if len(self.poses) == 1 else "TRACKED",
                               rotation_rejected=False, tracking_rmse=5.0, num_active_points=100,
                               num_immature_points=200, num_keyframes=2, rotation_change_deg=0.1)

    def trajectory(self):
        return np.asarray(self.poses).reshape(-1, 4, 4)

    def flush(self):  # dso_bridge.Backend.flush: no mapping thread here
        pass

    def keyframe_indices(self):
        return np.array([0, 2])


def _f2f_mode():
    mode = F2FMode.__new__(F2FMode)
    F2FMode.__bases__[0].__init__(mode)
    mode._odo = _FakeF2F()
    return mode


def _backend_mode():
    mode = BackendMode.__new__(BackendMode)
    BackendMode.__bases__[0].__init__(mode)
    mode._backend, mode._config, mode._prev, mode._last_pose = _FakeBackend(), RunConfig(mode="dso"), None, np.eye(4)
    mode._exposures, mode._rotation_rejected = None, []
    return mode


@pytest.mark.parametrize("make_mode", [_f2f_mode, _backend_mode], ids=["f2f", "backend"])
def test_skipped_frame_keeps_every_other_pose_in_place(make_mode):
    """#1: frame k keeps its own pose after an unreadable frame, in every mode (f2f used to shift by one)."""
    mode = make_mode()
    fe = None if isinstance(mode, BackendMode) else SimpleNamespace(keypoints=None, descriptors=None, depth=None)
    image = np.zeros((4, 4), np.uint8)
    mode.step(0, 0.0, image, fe)
    mode.step(1, 0.1, image, fe)
    np.testing.assert_allclose(mode.skip(2, 0.2, "cannot decode"), _translation(1))
    mode.step(3, 0.3, image, fe)
    mode.step(4, 0.4, image, fe)
    traj = mode.trajectory()
    assert traj.shape == (5, 4, 4)
    # processed frames 0, 1, 3, 4 are the estimator's poses 0..3; the skipped frame repeats frame 1
    np.testing.assert_allclose(traj[:, 0, 3], [0, 1, 1, 2, 3])
    assert mode.statuses()[2] is FrameStatus.SKIPPED and mode.records()[2].reason == "cannot decode"
    assert all(isinstance(s, FrameStatus) for s in mode.statuses())
    # frames.csv's rows stay on their input frames: the skipped one has no estimator values, the others theirs
    diag = [r.diagnostics for r in mode.records()]
    assert diag[2] is None and all(d is not None for i, d in enumerate(diag) if i != 2)
    key = "tracking_rmse" if isinstance(mode, BackendMode) else "pnp_inliers"
    assert [d[key] for d in diag if d is not None] == [5.0 if key == "tracking_rmse" else 50] * 4
    if isinstance(mode, BackendMode):
        assert mode.keyframes() == [0, 3]  # backend slot 2 is input frame 3


def test_frames_out_of_order_or_mismatched_counts_raise():
    """#1: no silent identity/shifted poses: a skipped index or an estimator with a pose too many raises."""
    mode = _f2f_mode()
    fe = SimpleNamespace(keypoints=None, descriptors=None, depth=None)
    mode.step(0, 0.0, None, fe)
    with pytest.raises(ValueError, match="expects every input frame once"):
        mode.step(2, 0.2, None, fe)
    mode._odo.poses.append(np.eye(4))  # the estimator knows one more frame than the records
    with pytest.raises(RuntimeError, match="2 poses for 1 processed frames"):
        mode.trajectory()


def test_one_status_vocabulary_covers_the_backend():
    """#1: every backend status name maps onto FrameStatus (no second vocabulary)."""
    import dso_bridge

    for name in dso_bridge.FRAME_STATUSES:
        assert FrameStatus.parse(name).value == name.lower()
    with pytest.raises(ValueError, match="unknown frame status"):
        FrameStatus.parse("init")


def test_f2f_poses_after_an_unreadable_frame_stay_in_place(synth_sequence, tmp_path):
    """#1 end to end: with frame 10 unreadable, frames 11.. keep the poses of a run without the bad frame
    (the bug gave frame k the pose of frame k-1: an error of one frame step)."""
    cfg = RunConfig(mode="f2f", width=320, height=96)
    clean_seq = open_sequence(synth_sequence, max_frames=30)
    clean = run_sequence(clean_seq, cfg, None, frontend=OracleFrontend(clean_seq), progress=False).world_from_cam
    root = tmp_path / "seq"
    shutil.copytree(synth_sequence, root)
    (root / "image_0" / "000010.png").write_bytes(b"not a png")
    seq = open_sequence(root, gt=synth_sequence.parent.parent / "poses" / "00.txt", max_frames=30)
    result = run_sequence(seq, cfg, None, frontend=OracleFrontend(seq), progress=False)
    est = result.world_from_cam
    assert est.shape == clean.shape and result.statuses[10] == "skipped"
    np.testing.assert_allclose(est[10], est[9])
    gt = seq.gt_world_from_cam
    step = np.median(np.linalg.norm(np.diff(gt[:, :3, 3], axis=0), axis=1))
    diff = np.linalg.norm(est[11:, :3, 3] - clean[11:, :3, 3], axis=1)
    assert diff.max() < 0.2 * step, f"poses moved by {diff.max():.3f} m vs frame step {step:.3f} m"


@pytest.fixture()
def static_sequence(synth_sequence, tmp_path):
    """20 copies of one frame: no parallax, the backend's initialiser cannot start."""
    root = tmp_path / "static" / "sequences" / "00"
    (root / "image_0").mkdir(parents=True)
    shutil.copy(synth_sequence / "calib.txt", root / "calib.txt")
    first = synth_sequence / "image_0" / "000000.png"
    for i in range(20):
        shutil.copy(first, root / "image_0" / f"{i:06d}.png")
    return root


def test_run_that_never_starts_tracking_exits_non_zero_and_says_why(static_sequence, tmp_path):
    """#3: identity poses with exit 0 and 'lost 0' was the bug."""
    out = tmp_path / "out"
    r = _cli("run", static_sequence, "--output", out, "--mode", "dso", "--no-progress")
    assert r.returncode == 3, r.stderr[-2000:]
    assert "tracking never started" in r.stderr and "calibration" in r.stderr and "motion" in r.stderr
    assert "initialising 20" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tracking_started"] is False and summary["initializing_frames"] == 20
    assert len(read_kitti_poses(out / "poses_kitti.txt")) == 20  # written all the same


@pytest.mark.parametrize("mode, size, named", [("dso", (160, 48), True), ("dso", (320, 96), False),
                                               ("dsdso", (160, 48), False)])
def test_a_processing_size_too_small_for_the_two_view_start_is_named(mode, size, named):
    from apps.pipeline.runner import never_started_message

    k = {"fx": 92.3, "fy": 91.7, "cx": 78.1, "cy": 23.3, "width": size[0], "height": size[1]}
    text = never_started_message({"mode": mode, "frames": 60, "initializing_frames": 60, "intrinsics": k})
    assert ("processing size (160x48) too small" in text) is named, text
    assert "calibration" in text  # the other causes stay listed


@pytest.mark.parametrize("case", ["file", "below_file", "empty"])
def test_bad_output_folder_is_reported_before_the_run(synth_sequence, tmp_path, case):
    """#9/#11: a file in the way, --output afile/sub and --output '' fail at start-up in one line."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    output = {"file": afile, "below_file": afile / "sub", "empty": ""}[case]
    r = _cli("run", synth_sequence, "--output", output, "--mode", "dso", "--no-progress", timeout=120)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kp3d-vo run: error:"), r.stderr
    assert ("must not be empty" in lines[0]) if case == "empty" else (str(afile) in lines[0])
    assert "Traceback" not in r.stderr


class _SignalAt(OutputObserver):
    """Sends a real signal to this process while frame ``at`` is shown."""

    def __init__(self, at, signum):
        self.at, self.signum = at, signum

    def on_frame(self, index, *args):
        if index == self.at:
            os.kill(os.getpid(), self.signum)


def test_sigterm_stops_the_run_and_writes_the_frames_so_far(synth_sequence, tmp_path):
    """#10: SIGTERM used to write nothing."""
    seq = open_sequence(synth_sequence)
    out = tmp_path / "out"
    previous = signal.getsignal(signal.SIGTERM)
    result = run_sequence(seq, RunConfig(mode="f2f", width=320, height=96), out, frontend=OracleFrontend(seq),
                          observer=_SignalAt(12, signal.SIGTERM), progress=False)
    assert signal.getsignal(signal.SIGTERM) is previous  # handler restored
    assert result.summary["interrupted"] is True and result.summary["signals"] == ["SIGTERM"]
    assert len(read_kitti_poses(out / "poses_kitti.txt")) == 13
    summary = verify_run_outputs(out)
    assert summary["frames"] == 13 and "ate_rmse" in summary["evaluation"]


def test_second_signal_during_evaluation_keeps_the_written_poses(synth_sequence, tmp_path, monkeypatch):
    """#10: a second Ctrl-C used to lose everything because the evaluation ran before writing."""
    seq = open_sequence(synth_sequence)
    out = tmp_path / "out"

    def slow_evaluation(gt, est, timestamps, **kwargs):
        assert read_kitti_poses(out / "poses_kitti.txt").shape == (13, 4, 4)  # written before evaluating
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("the second signal should have interrupted the evaluation")

    monkeypatch.setattr(runner_module, "_evaluate", slow_evaluation)
    result = run_sequence(seq, RunConfig(mode="f2f", width=320, height=96), out, frontend=OracleFrontend(seq),
                          observer=_SignalAt(12, signal.SIGINT), progress=False)
    assert result.summary["evaluation"] == {"error": "interrupted"}
    assert result.summary["signals"] == ["SIGINT", "SIGINT"]
    assert verify_run_outputs(out)["frames"] == 13


def _result(n, x=0.0):
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, 0, 3] = np.arange(n) + x
    return RunResult(poses, np.arange(n) * 0.1, ["tracked"] * n, summary={"frames": n})


def test_output_set_is_consistent_as_a_whole(tmp_path, monkeypatch):
    """#11: new poses beside an old summary are detected; a failed write leaves no stale summary."""
    out = tmp_path / "out"
    write_run_outputs(_result(5), out)
    assert verify_run_outputs(out)["frames"] == 5
    (out / "poses_kitti.txt").write_text((out / "poses_kitti.txt").read_text().replace("0.000000000e+00", "1e-3", 1))
    with pytest.raises(ValueError, match="different runs"):
        verify_run_outputs(out)
    write_run_outputs(_result(5), out)

    import apps.pipeline.outputs as outputs

    def broken_ply(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_ply", broken_ply)
    with pytest.raises(OSError):
        write_run_outputs(_result(7, 1.0), out)
    assert len(read_kitti_poses(out / "poses_kitti.txt")) == 7  # the new poses are kept ...
    with pytest.raises(FileNotFoundError, match="summary.json"):  # ... but no old summary claims them
        verify_run_outputs(out)


def test_cli_errors_are_one_line_and_verbose_shows_the_traceback(synth_sequence, tmp_path):
    """#12: a wrong-type config value gave a TypeError traceback (any error type: one line, -v: traceback)."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("width: abc\n")
    args = ("run", synth_sequence, "--output", tmp_path / "out", "--mode", "dso", "--config", cfg, "--no-progress")
    r = _cli(*args, timeout=120)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("kp3d-vo run: error:")  # the typed config loader names the option
    r = _cli("-v", *args, timeout=120)
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_ctrl_c_during_start_up_prints_one_line(monkeypatch, capsys):
    """#12: Ctrl-C while the command module loads (torch import) printed a traceback."""
    from apps import cli

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_load", interrupted)
    assert cli.main(["evaluate", "--gt", "a", "--est", "b"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "kp3d-vo: interrupted (SIGINT)" or err.strip() == "kp3d-vo evaluate: interrupted (SIGINT)"


def test_plot_into_an_existing_file_is_an_error(synth_sequence, tmp_path):
    """#12: plot --out EXISTING_FILE traced back."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    gt = synth_sequence.parent.parent / "poses" / "00.txt"
    r = _cli("plot", "--gt", gt, "--est", gt, "--out", afile, "--formats", "png", timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and str(afile) in r.stderr


def test_the_frame_log_refuses_a_field_it_does_not_know(tmp_path):
    from apps.pipeline.outputs import FRAME_LOG_FIELDS, frame_log_csv

    text = frame_log_csv([{"frame": 0, "timestamp": 0.1, "status": "tracked", "tracking_rmse": 3.25},
                          {"frame": 1, "timestamp": 0.2, "status": "skipped", "reason": "unreadable"}])
    lines = text.splitlines()
    assert lines[0] == ",".join(FRAME_LOG_FIELDS)
    assert lines[1].startswith("0,0.100000,tracked,3.2500,") and lines[2].endswith(",unreadable")
    with pytest.raises(ValueError, match="unknown field.*inliers"):
        frame_log_csv([{"frame": 0, "inliers": 3}])
    r = _result(4)
    r.frame_log = [{"frame": i, "timestamp": 0.1 * i, "status": "tracked"} for i in range(4)]
    write_run_outputs(r, tmp_path / "out")
    assert len((tmp_path / "out" / "frames.csv").read_text().splitlines()) == 5
    assert "frames.csv" in verify_run_outputs(tmp_path / "out")["outputs"]
