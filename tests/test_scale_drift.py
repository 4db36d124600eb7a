"""Local scale over sliding windows of path (apps.evaluation.scale_drift) and its place in the evaluation."""
from __future__ import annotations

import json

import numpy as np
import pytest

from apps.evaluation.evaluate import evaluate_trajectory
from apps.evaluation.report import format_result
from apps.evaluation.scale_drift import scale_drift, scale_drift_ratios


def _straight(n: int, step: float) -> np.ndarray:
    """(n, 4, 4) poses driving along +z, ``step`` metres per frame."""
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, 2, 3] = step * np.arange(n)
    return poses


def _second_half_too_far(factor: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    gt = _straight(301, 1.0)  # 300 m
    est = gt.copy()
    est[150:, 2, 3] = 150.0 + factor * np.arange(151)
    return gt, est


def test_ratio_per_100m_window():
    gt, est = _second_half_too_far(1.2)  # the second half travels 20 % too far
    r = scale_drift_ratios(gt, est)
    assert r.shape == (201,)  # windows starting at frames 0..200
    assert r[0] == pytest.approx(1.0) and r[-1] == pytest.approx(1.2)
    assert r.min() == pytest.approx(1.0) and r.max() == pytest.approx(1.2)
    assert r[100] == pytest.approx(1.1)  # half of the window in each part
    assert scale_drift_ratios(gt, est, window_m=300.0) == pytest.approx([1.1])


def test_stops_count_as_no_path():
    gt = _straight(301, 1.0)
    gt[100:150, 2, 3] = 100.0  # the car waits 50 frames; the path goes on at frame 150
    gt[150:, 2, 3] = 100.0 + np.arange(151)
    r = scale_drift_ratios(gt, gt.copy())
    assert np.allclose(r, 1.0)
    assert r.size == 301 - 100  # every frame with 100 m of path after it: the waiting frames too


def test_summary_percentiles_and_worst():
    gt, est = _second_half_too_far(0.8)  # 20 % short: the worst window is 0.8
    s = scale_drift(gt, est)
    assert s is not None and s.n_windows == 201 and s.window_m == 100.0
    assert s.worst == pytest.approx(0.8)
    assert s.p5 < s.median < s.p95 and s.p5 == pytest.approx(0.8, abs=1e-9)
    assert json.loads(json.dumps(s.to_dict()))["worst"] == pytest.approx(0.8)


def test_short_or_bad_input():
    assert scale_drift_ratios(_straight(50, 1.0), _straight(50, 1.0)).size == 0  # shorter than 100 m
    assert scale_drift(_straight(50, 1.0), _straight(50, 1.0)) is None
    gt, est = _second_half_too_far()
    with pytest.raises(ValueError, match="301 GT poses vs 300 estimated"):
        scale_drift_ratios(gt, est[:-1])
    with pytest.raises(ValueError, match="window_m"):
        scale_drift_ratios(gt, est, window_m=0.0)


def test_evaluation_reports_the_local_scale_after_the_alignment():
    gt, est = _second_half_too_far(1.2)
    est_half_size = est.copy()
    est_half_size[:, :3, 3] *= 0.5  # a monocular unit: the scale-only alignment undoes it first
    result = evaluate_trajectory(gt, est_half_size, align="scale")
    ls = result.local_scale
    assert ls is not None and ls.n_windows == 201
    # measured on the aligned estimate: the two halves read 0.5 and 0.6 times the alignment's scale
    assert 1.7 < result.scale < 1.9
    assert ls.p5 == pytest.approx(0.5 * result.scale) and ls.p95 == pytest.approx(0.6 * result.scale)
    assert ls.p5 < 1.0 < ls.p95
    d = result.to_dict()
    assert d["local_scale"]["n_windows"] == 201 and d["units"]["local_scale"]
    assert "local scale over 100 m of path" in format_result(result)
    short = evaluate_trajectory(_straight(50, 1.0), _straight(50, 1.0), align="scale")
    assert short.local_scale is None and short.to_dict()["local_scale"] is None
    assert "local scale" not in format_result(short)
