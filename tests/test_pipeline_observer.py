"""The run loop copies the map out of the backend only when an observer uses it (issue 11, push don't poll)."""
from __future__ import annotations

import numpy as np
import pytest

from apps.io.sequence import open_sequence
from apps.pipeline.config import RunConfig
from apps.pipeline.observer import CompositeObserver, OutputObserver
from apps.pipeline.odometry import BackendMode
from apps.pipeline.runner import peak_rss_mb as runner_peak_rss_mb
from apps.pipeline.runner import run_sequence
from pipeline_helpers import OracleFrontend


class _FramesOnly(OutputObserver):
    def __init__(self):
        self.frames = 0

    def on_frame(self, index, image, world_from_cam, keypoints, status):
        self.frames += 1


class _MapRecorder(_FramesOnly):
    def __init__(self):
        super().__init__()
        self.snapshots: list[int] = []
        self.marginalized: list[np.ndarray] = []

    def on_points(self, active_xyz, active_grey, marginalized_xyz, marginalized_grey):
        self.snapshots.append(len(active_xyz) + len(marginalized_xyz))
        self.marginalized.append(marginalized_xyz)  # kept without a copy: the run loop's views stay valid


def test_wants_points_only_for_observers_that_override_on_points():
    assert not CompositeObserver().wants_points
    assert not CompositeObserver([_FramesOnly(), OutputObserver()]).wants_points
    assert CompositeObserver([_FramesOnly(), _MapRecorder()]).wants_points
    assert CompositeObserver([CompositeObserver([_MapRecorder()])]).wants_points
    assert not CompositeObserver([CompositeObserver([_FramesOnly()])]).wants_points


@pytest.fixture()
def counted_map_copies(monkeypatch):
    calls = {"points": 0, "window_points": 0, "marginalized_points": 0}
    for name in calls:
        original = getattr(BackendMode, name)

        def counting(self, _original=original, _name=name):
            calls[_name] += 1
            return _original(self)

        monkeypatch.setattr(BackendMode, name, counting)
    return calls


def test_map_is_copied_per_keyframe_only_for_a_map_observer(synth_sequence, counted_map_copies):
    seq = open_sequence(synth_sequence, max_frames=30)
    frontend = OracleFrontend(seq)  # exact depth prior: the backend starts at frame 0 (no two-view init)
    cfg = RunConfig(mode="dsdso", width=seq.intrinsics.width, height=seq.intrinsics.height)
    frames_only = _FramesOnly()
    result = run_sequence(seq, cfg, None, observer=frames_only, frontend=frontend, progress=False)
    keyframes = result.summary["keyframes"]
    assert keyframes >= 3 and frames_only.frames == len(seq)
    assert counted_map_copies == {"points": 1, "window_points": 0, "marginalized_points": 0}  # the result's map
    assert result.summary["stage_ms_per_frame"]["observer"] >= 0.0
    # peak memory is read after the evaluation (the last work of the run): nothing later raised it
    assert "ate_rmse" in result.summary["evaluation"]
    assert 0.0 <= runner_peak_rss_mb() - result.summary["peak_rss_mb"] < 1.0

    counted_map_copies.update(points=0, window_points=0, marginalized_points=0)
    recorder = _MapRecorder()
    result = run_sequence(seq, cfg, None, observer=recorder, frontend=frontend, progress=False)
    n_kf_status = sum(s in ("keyframe", "recovered") for s in result.statuses)
    assert len(recorder.snapshots) == n_kf_status >= 3
    # the whole map once for the result; per keyframe the window and only the newly marginalised points
    assert counted_map_copies == {"points": 1, "window_points": n_kf_status, "marginalized_points": n_kf_status}
    assert max(recorder.snapshots) > 0 and np.isfinite(result.summary["stage_ms_per_frame"]["observer"])
    # every snapshot extends the previous one (append-only, earlier arrays unchanged), except once: the
    # render states its camera height, and the backend's change of unit to metres moves the points
    # marginalised before it (all of them by one factor; the map is then copied again) ...
    marg = recorder.marginalized
    assert len(marg[-1]) > 0
    unit_changes = 0
    for before, after in zip(marg, marg[1:]):
        assert len(before) <= len(after)
        if not np.array_equal(after[:len(before)], before):
            unit_changes += 1
            factor = np.linalg.norm(after[:len(before)], axis=1) / np.maximum(np.linalg.norm(before, axis=1), 1e-9)
            assert np.ptp(factor) < 1e-3 * factor.mean(), "the points moved by more than a change of unit"
    assert unit_changes <= 1
    # ... and holds the result map's marginalised points (the map is the marginalised points, then the window)
    np.testing.assert_array_equal(result.points_xyz[:len(marg[-1])], marg[-1])


def test_run_sequence_builds_its_networks_on_one_torch_thread(synth_sequence, monkeypatch):
    """The networks run beside the backend's threads: run_sequence asks for one torch thread (issue 11)."""
    import frontend.inference
    from apps.pipeline import runner

    seq = open_sequence(synth_sequence, max_frames=8)
    built = []

    class _Runtime(OracleFrontend):
        def __init__(self, model_dir, **kwargs):
            built.append(kwargs)
            super().__init__(seq)

    monkeypatch.setattr(frontend.inference, "FrontendRuntime", _Runtime)
    cfg = RunConfig(mode="dsdso", width=seq.intrinsics.width, height=seq.intrinsics.height)
    result = run_sequence(seq, cfg, None, progress=False)
    assert len(built) == 1 and built[0]["num_threads"] == runner.PIPELINE_TORCH_THREADS == 1
    assert result.summary["frames"] == 8
