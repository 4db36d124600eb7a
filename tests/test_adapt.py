"""`kp3d-vo adapt`: sparse backend depths, the losses, scale alignment, and end to end on a small render."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from frontend.losses.depth import sparse_scale_invariant_loss
from frontend.training.adapt import AdaptOptions, align_to_network, network_depth
from frontend.training.adapt_data import BackendRun, Sample, build_samples, project_to_grid, sparse_depths

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "frontend" / "models" / "shipped"
K_SMALL = np.array([[50.0, 0.0, 15.5], [0.0, 50.0, 7.5], [0.0, 0.0, 1.0]])


def _pose(z: float) -> np.ndarray:
    T = np.eye(4)
    T[2, 3] = z
    return T


def test_project_to_grid_keeps_the_nearest_point_per_pixel():
    pts = np.array([[0.0, 0.0, 10.0], [0.0, 0.0, 5.0], [0.0, 0.0, 20.0],   # same pixel: 5 m wins
                    [1.0, 0.0, 10.0],                                       # u = 15.5 + 5 = 20.5 -> 20 (round half to even)
                    [0.0, 0.0, -3.0], [100.0, 0.0, 10.0]], np.float32)      # behind / outside
    grid = project_to_grid(pts, np.eye(4), K_SMALL, 32, 16)
    assert grid[8, 16] == pytest.approx(5.0) and grid[8, 20] == pytest.approx(10.0)
    assert np.count_nonzero(grid) == 2
    moved = project_to_grid(pts, _pose(2.0), K_SMALL, 32, 16)  # camera 2 m forward: depths shrink by 2
    assert sorted(moved[moved > 0].tolist()) == pytest.approx([3.0, 8.0])


def test_sparse_depths_use_a_later_snapshot_and_leave_early_frames_empty():
    pts = np.array([[0.0, 0.0, 10.0]], np.float32)
    traj = np.stack([_pose(0.5 * i) for i in range(6)])
    run = BackendRun(traj, ["initializing", "keyframe", "tracked", "keyframe", "tracked", "keyframe"], [1, 3, 5],
                     [(2, pts, traj[:2]), (4, pts * 2, traj[:4]), (6, pts * 3, traj[:6])])
    depths = sparse_depths(run, K_SMALL, 32, 16, settle_keyframes=1)
    # frame 0 -> first snapshot containing it is #0, +1 -> #1 (points at z = 20)
    assert depths[0].max() == pytest.approx(20.0)
    assert depths[2].max() == pytest.approx(30.0 - 1.0)  # snapshot #2 (z = 30) seen from z = 1
    assert depths[5].max() == pytest.approx(30.0 - 2.5)  # last snapshot for the last frames
    with pytest.raises(ValueError, match="settle_keyframes"):
        sparse_depths(run, K_SMALL, 32, 16, settle_keyframes=-1)


def test_sparse_scale_invariant_loss():
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(2, 1, 8, 8, generator=g) + 0.5
    target = torch.zeros_like(pred)
    target[:, :, ::2, ::2] = pred[:, :, ::2, ::2] * 3.0     # the same up to a factor
    loss, used = sparse_scale_invariant_loss(pred, target, variance_weight=1.0)
    assert float(loss) == pytest.approx(0.0, abs=1e-6) and int(used) == 2
    noisy = target.clone()
    noisy[:, :, ::2, ::2] *= torch.exp(0.2 * torch.randn(2, 1, 4, 4, generator=g))
    loss_noisy, _ = sparse_scale_invariant_loss(pred, noisy, variance_weight=1.0)
    assert 0.01 < float(loss_noisy) < 0.1                    # ~ variance of the log noise (0.04)
    empty, used = sparse_scale_invariant_loss(pred.requires_grad_(), torch.zeros_like(pred))
    assert float(empty) == 0.0 and int(used) == 0
    empty.backward()                                         # still differentiable
    with pytest.raises(ValueError, match="variance_weight"):
        sparse_scale_invariant_loss(pred, target, variance_weight=2.0)


class _Frames:
    def __init__(self, n):
        self.images = [np.full((12, 40), 10 * i, np.uint8) for i in range(n)]

    def __len__(self):
        return len(self.images)

    def image(self, i):
        return self.images[i]


def test_build_samples_skips_untracked_and_static_frames():
    traj = np.stack([_pose(z) for z in (0, 1, 2, 3, 3.01, 3.02, 4, 5)])
    statuses = ["initializing", "tracked", "keyframe", "tracked", "tracked", "tracked", "lost", "tracked"]
    run = BackendRun(traj, statuses, [2], [])
    depths = [np.zeros((3, 10), np.float32)] * len(traj)
    samples = build_samples(_Frames(len(traj)), run, depths, 10, 3, offsets=(-1, 1), min_baseline_ratio=0.2)
    # 1 has an untracked neighbour (0); 5 a lost one (6); 4 hardly moves (0.01 m vs a median of 1 m)
    assert [s.frame for s in samples] == [2, 3]
    s = samples[0]
    assert s.images.shape == (3, 3, 10) and s.images.dtype == np.float32
    assert s.source_from_target[0][2, 3] == pytest.approx(1.0)  # target 1 m ahead of source t-1
    assert s.source_from_target[1][2, 3] == pytest.approx(-1.0)


def test_align_to_network_recovers_the_unit_and_drops_outliers():
    from frontend.models import build_depth_net

    torch.manual_seed(0)
    net = build_depth_net({"encoder_layers": [1, 1, 1, 1], "width_mult": 0.25,
                           "decoder_channels": [4, 8, 8, 16, 16]}).eval()
    rng = np.random.default_rng(0)
    images = rng.random((3, 3, 64, 128)).astype(np.float32)
    pred = network_depth(net, images[:, 0])
    samples = []
    for im, d in zip(images, pred):
        sparse = np.zeros_like(d)
        ys, xs = rng.integers(0, 64, 40), rng.integers(0, 128, 40)
        sparse[ys, xs] = d[ys, xs] * 4.0          # backend unit = 4 x the network's
        sparse[ys[0], xs[0]] = d[ys[0], xs[0]] * 40.0  # one gross outlier
        T = np.stack([np.eye(4)] * 2)
        T[:, 2, 3] = [4.0, -4.0]
        samples.append(Sample(im, T, sparse, 0))
    info = align_to_network(net, samples, max_ratio=2.0)
    assert info["backend_to_network"] == pytest.approx(0.25, rel=1e-4)
    assert info["sparse_dropped"] == 3 and info["frames_with_points"] == 3
    s = samples[0]
    m = s.sparse_depth > 0
    assert np.allclose(s.sparse_depth[m], pred[0][m], rtol=1e-4)
    assert s.source_from_target[0][2, 3] == pytest.approx(1.0)
    # a backend whose unit moves from frame to frame (4, 5, 6 x the network's): one factor for the
    # sequence keeps the movement, per_frame takes it out
    def moving_unit():
        out = []
        for k, (im, d) in enumerate(zip(images, pred)):
            sparse = np.zeros_like(d)
            sparse[10:20, 10:20] = d[10:20, 10:20] * (4.0 + k)
            T = np.stack([np.eye(4)] * 2)
            T[:, 2, 3] = 4.0 + k
            out.append(Sample(im, T, sparse, 0))
        return out

    whole, own = moving_unit(), moving_unit()
    assert align_to_network(net, whole, max_ratio=2.0)["backend_to_network"] == pytest.approx(0.2, rel=1e-4)
    assert [x.source_from_target[0][2, 3] for x in whole] == pytest.approx([0.8, 1.0, 1.2], rel=1e-4)
    align_to_network(net, own, max_ratio=2.0, per_frame=True)
    assert [x.source_from_target[0][2, 3] for x in own] == pytest.approx([1.0, 1.0, 1.0], rel=1e-4)
    m = own[2].sparse_depth > 0
    assert np.allclose(own[2].sparse_depth[m], pred[2][m], rtol=1e-4)


def test_adapt_options_check():
    AdaptOptions().check()
    for bad in ({"iterations": 0}, {"first_mode": "f2f"}, {"offsets": (0, 1)}, {"max_sparse_ratio": 1.0}):
        with pytest.raises(ValueError):
            AdaptOptions(**bad).check()


def test_adapt_option_errors_name_the_flag_and_the_value():
    from frontend.training.adapt_keypoints import KeypointAdaptOptions

    with pytest.raises(ValueError, match=r"^AdaptOptions: iterations \(--iterations\) must be >= 1, got 0$"):
        AdaptOptions(iterations=0).check()
    with pytest.raises(ValueError, match=r"^AdaptOptions: num_threads \(--threads\) must be >= 0, got -1$"):
        AdaptOptions(num_threads=-1).check()
    with pytest.raises(ValueError, match=r"^KeypointAdaptOptions: steps \(--keypoint-steps\) must be >= 0, got -4$"):
        AdaptOptions(keypoint=KeypointAdaptOptions(steps=-4)).check()


@pytest.mark.skipif(not (SHIPPED / "frontend.json").is_file(), reason="shipped networks not in the checkout")
def test_adapt_checks_out_and_checkpoints_before_running_anything(tmp_path):
    from frontend.training.adapt import adapt_frontend

    def never(*_):
        raise AssertionError("the backend ran")

    with pytest.raises(ValueError, match=r"--out .* is the starting frontend \(--model-dir"):
        adapt_frontend(None, SHIPPED, SHIPPED, never)
    with pytest.raises(ValueError, match=r"--out .*sub is inside the starting frontend"):
        adapt_frontend(None, SHIPPED / "sub", SHIPPED, never)
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match=r"adapt: --out .*file exists and is not a folder"):
        adapt_frontend(None, tmp_path / "file", SHIPPED, never)
    with pytest.raises(PermissionError, match=r"adapt: --out /sys/kp3d_out cannot be written"):
        adapt_frontend(None, "/sys/kp3d_out", SHIPPED, never)
    with pytest.raises(FileNotFoundError, match=r"adapt: --keypoint-checkpoint not found: .*nope\.pt"):
        adapt_frontend(None, tmp_path / "out", SHIPPED, never, keypoint_checkpoint=str(tmp_path / "nope.pt"))


# ----------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def small_render(tmp_path_factory):
    from apps.synth import SynthOptions, make_trajectory, render_sequence

    root = tmp_path_factory.mktemp("adapt_render")
    poses = make_trajectory("kitti-like", 45, seed=3)
    return render_sequence(root, poses, None, SynthOptions(seed=3, noise=1.0), name="00")


@pytest.mark.skipif(not (SHIPPED / "frontend.json").is_file(), reason="shipped networks not in the checkout")
def test_adapt_end_to_end_improves_depth_on_a_render(small_render, tmp_path):
    """The user's situation on a render with exact depth: adapt to the sequence (DepthNet and KeypointNet),
    then depth on its frames is clearly better than the shipped net's, and `kp3d-vo run --model-dir` uses
    the result."""
    from apps.cli import main
    from apps.io.sequence import open_sequence
    from frontend.training.evaluate import evaluate_depth_checkpoint

    torch.set_num_threads(2)
    out = tmp_path / "adapted"
    rc = main(["adapt", str(small_render), "--out", str(out), "--steps", "60", "--seed", "0", "--keypoint-steps", "10"])
    assert rc == 0
    meta = json.loads((out / "frontend.json").read_text())
    shipped = json.loads((SHIPPED / "frontend.json").read_text())
    assert meta["depth"]["input"] == shipped["depth"]["input"]
    assert meta["depth"]["scale"]["factor"] == pytest.approx(shipped["depth"]["scale"]["factor"])
    assert meta["depth"]["source"]["iterations"] == 1
    report = json.loads((out / "adapt.json").read_text())
    it = report["iterations"][0]
    assert it["samples"] >= 40 and it["sparse_points"] > 10000
    assert it["losses_after"]["sparse_si"] < it["losses_before"]["sparse_si"]
    # The render has true poses: depth on its triangulated points is reported before and after, and improves.
    real_before, real_after = report["real_depth_before"], it["real_depth"]
    assert real_before["points"] == real_after["points"] > 1000
    assert real_after["abs_rel"] < real_before["abs_rel"], (real_before, real_after)
    # The KeypointNet was fine-tuned too (tests/test_adapt_keypoints.py checks what it learns) and is the
    # exported one.
    assert it["keypoint"]["steps"] == 10 and it["keypoint"]["losses_after"]["mv_match_ratio"] > 0.5
    assert meta["keypoint"]["source"]["adapted"] is True
    assert meta["keypoint"]["source"]["checkpoint"].endswith("checkpoints/keypoint_net.pt")
    frames = open_sequence(small_render, resize=(320, 96), gt=False)
    base = evaluate_depth_checkpoint(report["base_checkpoints"]["depth"], frames)
    adapted = evaluate_depth_checkpoint(out / "checkpoints" / "depth_net.pt", frames)
    assert adapted["abs_rel"] < 0.9 * base["abs_rel"], (base, adapted)
    assert adapted["a1"] > base["a1"]
    run_dir = tmp_path / "run"
    assert main(["run", str(small_render), "--output", str(run_dir), "--model-dir", str(out), "--max-frames", "30",
                 "--no-progress"]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["frames"] == 30 and summary["config"]["model_dir"] == str(out)
    assert summary["evaluation"]["ate_rmse"] < 1.0
