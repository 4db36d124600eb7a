"""frontend.sparse_depth: reference depths triangulated with true poses, and the errors of depth maps on them.

On the synthetic render (exact depth and poses) the triangulated depths must agree with the exact depth,
and depth maps with a known unit, per-frame unit noise or shape distortion must give those numbers back.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from frontend.sparse_depth import (SparseDepthFrame, TriangulationOptions, build_references, sample_at,
                                   sparse_depth_errors, triangulate_pair)

RENDER_OPTIONS = TriangulationOptions()  # the defaults, at the processing size they were set for


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    """30 frames of a "kitti-like" render at 640x192 (2 s), exact depth and poses, and its references."""
    from apps.io.sequence import open_sequence
    from apps.synth import SynthOptions, make_trajectory, render_sequence

    root = tmp_path_factory.mktemp("sparse_depth")
    path = render_sequence(root, make_trajectory("kitti-like", 30, seed=3), None,
                           SynthOptions(width=640, height=192, seed=3), name="00")
    seq = open_sequence(path)
    refs = build_references(seq.image, seq.gt_world_from_cam, seq.intrinsics.K, RENDER_OPTIONS)
    return seq, refs


def test_triangulated_depths_agree_with_the_renders_exact_depth(render):
    seq, refs = render
    assert len(refs) >= 20  # of 28 frames with two later views; measured 28
    assert sum(len(r.depth_m) for r in refs) >= 2000  # measured 4421
    errors, on_surface = [], []
    for r in refs:
        depth = seq.depth(r.index).astype(np.float32)
        exact = sample_at(depth, r.pixels, r.size)
        known = exact > 0  # 0 beside the sky
        errors.append(np.log(r.depth_m[known] / exact[known]))
        # a corner on an occlusion edge has two depths: within the exact depth's 3x3 range counts as right
        lo = sample_at(cv2.erode(depth, np.ones((3, 3), np.uint8)), r.pixels, r.size)
        hi = sample_at(cv2.dilate(depth, np.ones((3, 3), np.uint8)), r.pixels, r.size)
        on_surface.append(((r.depth_m >= 0.97 * lo) & (r.depth_m <= 1.03 * hi))[known])
    errors = np.concatenate(errors)
    assert np.median(np.abs(errors)) < 0.04   # measured 0.020
    assert abs(np.median(errors)) < 0.01      # no bias; measured -0.0005
    assert np.mean(np.concatenate(on_surface)) > 0.6  # measured 0.73
    assert np.all([(r.depth_m > 1.0).all() and (r.depth_m < 40.0).all() for r in refs])


def test_exact_scaled_noisy_and_distorted_depth_give_their_errors_back(render):
    seq, refs = render
    exact = sparse_depth_errors(refs, seq.depth)  # the reference's own error: corners on occlusion edges
    assert exact["abs_rel"] < 0.1 and exact["a1"] > 0.9  # measured 0.061 / 0.939
    assert exact["metric_factor"] == pytest.approx(1.0, abs=0.02)
    assert abs(exact["shape_bias"]) < 0.03 and exact["unit_log_std"] < 0.02  # measured 0.011 / 0.004

    far = sparse_depth_errors(refs, lambda i: 1.3 * seq.depth(i))  # the unit only: shape unchanged
    assert far["abs_rel"] == pytest.approx(exact["abs_rel"], abs=0.005)
    assert far["abs_rel_metric"] == pytest.approx(0.3, abs=0.05)  # measured 0.330 (the reference's own error adds)
    assert far["metric_factor"] == pytest.approx(1 / 1.3, rel=0.02)

    rng = np.random.default_rng(0)
    units = np.exp(rng.normal(0.0, 0.1, len(seq)))  # a unit that moves from frame to frame
    noisy = sparse_depth_errors(refs, lambda i: units[i] * seq.depth(i))
    assert noisy["abs_rel"] == pytest.approx(exact["abs_rel"], abs=0.005)
    assert noisy["unit_log_std"] == pytest.approx(np.std(np.log(units[[r.index for r in refs]])), abs=0.01)

    def tall(i):  # the upper two thirds 30 % too far: the shape error the DepthNets show on KITTI
        d = seq.depth(i).copy()
        d[: 2 * d.shape[0] // 3] *= 1.3
        return d

    bent = sparse_depth_errors(refs, tall)
    assert bent["shape_bias"] == pytest.approx(math.log(1.3), abs=0.05)
    # the frame's median scaling takes the upper two thirds' factor; the bottom third is then off
    assert bent["abs_rel"] > exact["abs_rel"] + 0.01  # measured 0.080 against 0.061


def test_a_smaller_depth_map_is_sampled_at_the_same_scene_points():
    # (W, H) = (8, 4) image; a map of half the size whose value is its own column centre in image pixels
    size = (8, 4)
    xs = (np.arange(4) + 0.5) * 2 - 0.5  # image x of the map's pixel centres: 0.5, 2.5, 4.5, 6.5
    depth = np.tile(xs + 10.0, (2, 1)).astype(np.float32)
    pixels = np.array([[2.5, 1.5], [4.5, 1.5], [3.5, 0.5]], np.float32)
    np.testing.assert_allclose(sample_at(depth, pixels, size), [12.5, 14.5, 13.5], atol=1e-5)
    depth[0, 1] = 0.0  # unknown: every sample that touches it is unknown
    assert sample_at(depth, pixels, size)[0] == 0.0


def test_frames_without_a_pose_are_left_out(render):
    seq, refs = render
    poses = seq.gt_world_from_cam.copy()
    poses[10] = np.nan  # a ground truth with a gap: frames 8, 9 and 10 have it among their views
    partial = build_references(seq.image, poses, seq.intrinsics.K, RENDER_OPTIONS)
    assert [r.index for r in partial] == [r.index for r in refs if r.index not in (8, 9, 10)]


def test_a_pure_rotation_gives_no_reference_depth(render):
    seq, _ = render
    image = seq.image(10)
    rotation = np.eye(4)
    rotation[:3, 3] = 0.0  # the same image and no translation: no parallax anywhere
    pixels, depth = triangulate_pair(image, image, rotation, seq.intrinsics.K, RENDER_OPTIONS)
    assert len(depth) == 0 and pixels.shape == (0, 2)


def test_bad_inputs_are_refused_with_the_argument_named(render):
    seq, refs = render
    K = seq.intrinsics.K
    with pytest.raises(ValueError, match="frame_gap must be >= 1"):
        TriangulationOptions(frame_gap=0).check()
    with pytest.raises(ValueError, match="lk_window_px must be an odd number"):
        TriangulationOptions(lk_window_px=20).check()
    with pytest.raises(ValueError, match="images\\[1\\]: expected an \\(H, W\\) uint8"):
        triangulate_pair(seq.image(0), seq.image(1).astype(np.float32), np.eye(4), K, RENDER_OPTIONS)
    with pytest.raises(ValueError, match="different sizes"):
        triangulate_pair(seq.image(0), seq.image(1)[:, :-8], np.eye(4), K, RENDER_OPTIONS)
    with pytest.raises(ValueError, match="world_from_cam: expected \\(N, 4, 4\\) poses"):
        build_references(seq.image, np.eye(4), K)
    with pytest.raises(ValueError, match="K: expected a \\(3, 3\\) camera matrix"):
        build_references(seq.image, seq.gt_world_from_cam, np.eye(4))
    with pytest.raises(ValueError, match="frames: index 29 has no frame 2 later"):
        build_references(seq.image, seq.gt_world_from_cam, K, frames=[29])
    with pytest.raises(ValueError, match="no reference frames"):
        sparse_depth_errors([], seq.depth)
    unknown = [SparseDepthFrame(r.index, r.pixels, r.depth_m, r.size) for r in refs[:3]]
    with pytest.raises(ValueError, match="unknown \\(0\\) at every reference point"):
        sparse_depth_errors(unknown, lambda i: np.zeros((192, 640), np.float32))
