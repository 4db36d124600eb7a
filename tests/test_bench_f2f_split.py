"""bench/f2f_error_split.py: replacing parts of the relative poses by the ground truth's, per-frame errors."""
from __future__ import annotations

import cv2
import numpy as np

from bench_helpers import load_bench


def _load():
    return load_bench("f2f_error_split")


def _rel(rotvec, t) -> np.ndarray:
    x = np.eye(4)
    x[:3, :3] = cv2.Rodrigues(np.asarray(rotvec, np.float64).reshape(3, 1))[0]
    x[:3, 3] = t
    return x


def _curve(n: int) -> list[np.ndarray]:
    """cam_cur_from_cam_prev of a car turning left at 1 m per frame."""
    return [_rel([0.0, 0.01 * (1 + np.sin(0.1 * i)), 0.0], [0.0, 0.0, -1.0]) for i in range(n)]


def test_substituting_every_part_gives_the_ground_truth_and_chain_starts_at_identity():
    mod = _load()
    gt = _curve(30)
    rng = np.random.default_rng(0)
    est = [_rel(rng.normal(0, 0.002, 3), np.array([0.0, 0.0, -1.0]) * rng.uniform(0.8, 1.2)) for _ in range(30)]
    chained = mod.chain(gt)
    assert chained.shape == (31, 4, 4)
    np.testing.assert_array_equal(chained[0], np.eye(4))
    both = mod.substituted(mod.substituted(est, gt, "rotation"), gt, "translation")
    np.testing.assert_allclose(mod.chain(both), chained, atol=1e-12)
    scaled = mod.substituted(est, gt, "scale")
    for s, g in zip(scaled, gt):
        assert abs(np.linalg.norm(s[:3, 3]) - np.linalg.norm(g[:3, 3])) < 1e-12


def test_per_frame_errors_read_a_rotation_bias_and_a_scale_spread():
    mod = _load()
    gt = _curve(40)
    bias = np.radians(0.05)  # a constant pitch error per frame
    est = []
    for i, g in enumerate(gt):
        x = g.copy()
        x[:3, :3] = g[:3, :3] @ cv2.Rodrigues(np.array([[bias], [0.0], [0.0]]))[0]
        x[:3, 3] *= 0.9 if i % 2 else 1.1
        est.append(x)
    err = mod.per_frame_errors(est, gt)
    assert abs(err["rot_mean_deg_x"] - 0.05) < 1e-9
    assert abs(err["rot_mean_deg_y"]) < 1e-9 and err["rot_std_deg_x"] < 1e-9
    assert abs(err["scale_ratio_median"] - 1.0) < 1e-9
    assert abs(err["scale_ratio_iqr"] - 0.2) < 1e-9
