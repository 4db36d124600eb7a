"""Issue 13 #4: one pose validator (apps.io.poses.check_poses) and one time association (evo's
matching_time_indices) for the readers, the evaluation, the plots and the viewer."""
from __future__ import annotations

import numpy as np
import pytest

from apps.io.poses import check_poses
from apps.io.ground_truth import load_gt_poses
from apps.io.trajectory import write_tum


def _poses(n: int) -> np.ndarray:
    out = np.tile(np.eye(4), (n, 1, 1))
    out[:, 2, 3] = np.arange(n, dtype=np.float64)
    return out


def test_check_poses_names_the_problem():
    good = _poses(3)
    assert check_poses(good, "x", min_poses=1, rigid=True) is good  # already float64: no copy
    assert check_poses(good.astype(np.float32), "x").dtype == np.float64
    cases = [
        (good[:, :3], {}, r"^x: expected an \(N, 4, 4\) array of poses, got shape \(3, 3, 4\)$"),
        (good[:0], {"min_poses": 1}, r"^x: trajectory is empty \(0 poses\)$"),
        (good[:1], {"min_poses": 2}, r"^x: expected at least 2 poses, got 1$"),
        (np.where(np.arange(3)[:, None, None] == 1, np.nan, good), {}, r"^x: 1 pose\(s\) contain NaN/inf, first at index 1$"),
        (np.array([["a"] * 4] * 4)[None], {}, r"^x: expected a numeric array"),
    ]
    for poses, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            check_poses(poses, "x", **kwargs)
    bad_row = good.copy()
    bad_row[2, 3, 0] = 1.0
    assert check_poses(bad_row, "x") is bad_row  # not rigid-checked unless asked
    with pytest.raises(ValueError, match=r"^x: pose 2 has last row \[1\.0, 0\.0, 0\.0, 1\.0\]"):
        check_poses(bad_row, "x", rigid=True)
    scaled = good.copy()
    scaled[1, :3, :3] *= 1.01
    with pytest.raises(ValueError, match=r"^x: pose 1 is not a rigid transform: .* 1 of 3 poses are off$"):
        check_poses(scaled, "x", rigid=True)
    rounded = good.copy()
    rounded[1, :3, :3] *= 1.0 + 2e-4  # published files' rounding: accepted
    check_poses(rounded, "x", rigid=True)


def test_no_second_pose_validator_or_time_association():
    import apps.evaluation.alignment as alignment
    import apps.evaluation.kitti_metric as kitti_metric
    import apps.io.ground_truth as ground_truth
    import apps.io.sequence_base as sequence_base
    import apps.io.trajectory as trajectory
    import apps.plotting as plotting

    assert trajectory.check_poses is check_poses
    for module, name in ((kitti_metric, "check_trajectory"), (kitti_metric, "check_rotations"),
                         (plotting, "check_trajectory"), (sequence_base, "_check_rotations")):
        assert not hasattr(module, name), f"{module.__name__}.{name} is back"
    for module in (alignment, sequence_base, ground_truth):
        source = open(module.__file__, encoding="utf-8").read()
        assert "searchsorted" not in source, f"{module.__name__} associates timestamps by hand"


def test_ground_truth_time_association_picks_the_nearest_pose(tmp_path):
    frame_times = np.array([0.0, 0.1, 0.2, 0.3])
    gt_times = np.array([-0.02, 0.04, 0.06, 0.12, 0.19, 0.25, 0.31])  # TUM readers require increasing times
    gt = _poses(len(gt_times))
    write_tum(tmp_path / "gt.txt", gt_times, gt)
    picked = load_gt_poses(tmp_path / "gt.txt", 4, frame_times)
    # nearest within half a frame period: 0.0 -> -0.02, 0.1 -> 0.12, 0.2 -> 0.19, 0.3 -> 0.31
    np.testing.assert_allclose(picked[:, 2, 3], [0.0, 3.0, 4.0, 6.0], atol=1e-9)
    # a ground truth covering part of the frames (EuRoC's starts after the camera): NaN rows for the others
    write_tum(tmp_path / "gt.txt", np.array([0.0, 0.1, 0.2]), _poses(3))
    picked = load_gt_poses(tmp_path / "gt.txt", 4, frame_times)
    np.testing.assert_allclose(picked[:3], _poses(3), atol=1e-9)
    assert np.isnan(picked[3]).all()
    write_tum(tmp_path / "gt.txt", np.array([0.3, 0.8, 0.9]), _poses(3))  # one frame matched: nothing to score
    with pytest.raises(ValueError, match=r"gt\.txt: no pose within 0\.0500 s of frame 0 \(t = 0\.000000 s; nearest "
                                         r"pose at 0\.300000 s\); 3 of 4 frames unmatched"):
        load_gt_poses(tmp_path / "gt.txt", 4, frame_times)
