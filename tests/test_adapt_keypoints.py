"""`kp3d-vo adapt`'s KeypointNet part: the warp is the backend's geometry, fine-tuning lowers its loss."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from frontend.training.adapt_keypoints import (KeypointAdaptOptions, KeypointSample, evaluate_keypoint_samples,
                                               finetune_keypoints, keypoint_samples, warmup_cosine_lr)

REPO = Path(__file__).resolve().parents[1]
KEYPOINT_CKPT = REPO / "frontend" / "models" / "checkpoints" / "keypoints_light" / "keypoint_net.pt"


def test_options_check_and_schedule():
    KeypointAdaptOptions().check()
    for bad in ({"steps": -1}, {"batch_size": 0}, {"lr": 0.0}, {"min_depth_ratio": 1.0}, {"homography_weight": -1}):
        with pytest.raises(ValueError):
            KeypointAdaptOptions(**bad).check()
    assert warmup_cosine_lr(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert warmup_cosine_lr(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert warmup_cosine_lr(100, 100, 10, 1.0) == pytest.approx(0.1)


@pytest.fixture(scope="module")
def render_samples(tmp_path_factory):
    """Targets of a small render (320x96) with its exact depth and the true neighbour poses."""
    from apps.io.sequence import open_sequence
    from apps.synth import SynthOptions, make_trajectory, render_sequence
    from frontend.training.adapt_data import Sample

    root = render_sequence(tmp_path_factory.mktemp("kp_adapt"), make_trajectory("kitti-like", 40, seed=3), None,
                           SynthOptions(seed=3, noise=1.0, width=320, height=96), name="00")
    seq = open_sequence(root)
    gt = seq.gt_world_from_cam
    frames = list(range(1, len(seq) - 1, 2))
    depth_samples = [Sample(np.zeros((3, 96, 320), np.float32),
                            np.stack([np.linalg.inv(gt[j]) @ gt[p] for j in (p - 1, p + 1)]),
                            np.zeros((96, 320), np.float32), p) for p in frames]
    depth = np.stack([seq.depth(p).astype(np.float32) for p in frames])
    return keypoint_samples(seq, depth_samples, (-1, 1), depth, 320, 96), seq.intrinsics.K


def _net():
    from frontend.models import load_checkpoint

    if not KEYPOINT_CKPT.is_file():
        pytest.skip("committed KeypointNet checkpoint not in the checkout")
    return load_checkpoint(KEYPOINT_CKPT, expected_kind="keypoint")[0]


def test_the_warp_is_the_given_geometry(render_samples):
    """With the true poses and depth the target keypoints land on the sources' (match ratio ~0.9, KP2D
    location ~1.3 px); with identity poses they do not (0.68, 1.9 px)."""
    samples, K = render_samples
    net, options = _net(), KeypointAdaptOptions()
    exact = evaluate_keypoint_samples(net, samples, K, options)
    still = [KeypointSample(s.images, np.repeat(np.eye(4)[None], 2, axis=0), s.depth) for s in samples]
    wrong = evaluate_keypoint_samples(net, still, K, options)
    assert exact["mv_match_ratio"] > 0.85 and exact["mv_match_ratio"] > wrong["mv_match_ratio"] + 0.1, (exact, wrong)
    assert exact["multiview"] < 0.7 * wrong["multiview"], (exact, wrong)
    assert exact["homography"] == pytest.approx(wrong["homography"])  # same pairs: the poses do not enter


def test_finetuning_lowers_the_multiview_loss(render_samples):
    samples, K = render_samples
    torch.set_num_threads(2)
    net, options = _net(), KeypointAdaptOptions(steps=20, lr=1e-4)
    before = evaluate_keypoint_samples(net, samples, K, options)
    first = {k: v.detach().clone() for k, v in net.state_dict().items()}
    last = finetune_keypoints(net, samples, K, options, seed=0)
    after = evaluate_keypoint_samples(net, samples, K, options)
    assert set(last) >= {"loss", "multiview", "homography", "mv_match_ratio"}
    assert after["multiview"] < 0.99 * before["multiview"], (before, after)  # measured -3 %
    assert after["homography"] < before["homography"] * 1.02, (before, after)  # the training objective holds
    changed = [k for k, v in net.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, first[k])]
    assert changed
    # BatchNorm statistics are kept (one sequence, batches of 2).
    assert all(torch.equal(v, first[k]) for k, v in net.state_dict().items() if "running_" in k)
