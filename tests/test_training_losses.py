"""Hand-checked cases of the self-supervised losses and the homography sampler."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from frontend.losses import keypoint as kl
from frontend.losses.photometric import min_reprojection, photometric_error, smoothness_loss, ssim
from frontend.training.homography import HomographyOptions, sample_homography


def test_ssim_and_photometric_error_on_constant_images():
    a, b = 0.5, 0.6
    x, y = torch.full((1, 1, 8, 8), a, dtype=torch.float64), torch.full((1, 1, 8, 8), b, dtype=torch.float64)
    expected_ssim = (2 * a * b + 1e-4) / (a * a + b * b + 1e-4)
    assert ssim(x, y).mean().item() == pytest.approx(expected_ssim, rel=1e-5)
    assert ssim(x, x).mean().item() == pytest.approx(1.0, abs=1e-6)
    err = photometric_error(x, y)
    assert err.shape == (1, 1, 8, 8)
    assert err.mean().item() == pytest.approx(0.85 * (1 - expected_ssim) / 2 + 0.15 * 0.1, rel=1e-5)
    assert photometric_error(x, x).abs().max().item() < 1e-6


def test_min_reprojection_and_automask_hand_case():
    t = lambda *v: torch.tensor(v, dtype=torch.float32).view(1, 1, 1, len(v))  # noqa: E731
    warped = [t(0.2, 0.5, 0.3), t(0.3, 0.1, 0.4)]
    identity = [t(0.1, 0.9, 0.9), t(0.4, 0.9, 0.35)]
    loss, mask = min_reprojection(warped, identity, tie_noise=0.0)
    np.testing.assert_allclose(loss.flatten().numpy(), [0.1, 0.1, 0.3], atol=1e-7)
    np.testing.assert_array_equal(mask.flatten().numpy(), [0, 1, 1])
    loss_nomask, mask_all = min_reprojection(warped, None)
    np.testing.assert_allclose(loss_nomask.flatten().numpy(), [0.2, 0.1, 0.3], atol=1e-7)
    assert mask_all.min() == 1
    # Static pixel (warped == identity): the tie-breaking noise makes the warped source win... never:
    loss_tie, mask_tie = min_reprojection([t(0.2)], [t(0.2)], tie_noise=1e-5)
    assert mask_tie.item() == 1.0  # identity + positive noise > warped, so the pixel is kept


def test_smoothness_is_zero_for_constant_disparity_and_edge_aware():
    img = torch.rand(1, 1, 16, 16)
    assert smoothness_loss(torch.full((1, 1, 16, 16), 0.3), img).item() == pytest.approx(0.0, abs=1e-7)
    disp = torch.zeros(1, 1, 16, 16)
    disp[..., 8:] = 1.0
    flat, edge = torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 16, 16)
    edge[..., 8:] = 1.0  # image edge where the disparity jumps
    assert smoothness_loss(disp + 0.1, edge).item() < smoothness_loss(disp + 0.1, flat).item()


def _unit(v):
    return torch.nn.functional.normalize(torch.tensor(v, dtype=torch.float32), dim=-1)


def test_keypoint_losses_on_exact_correspondence():
    src_xy = torch.tensor([[[10.0, 10.0], [30.0, 12.0], [20.0, 25.0]]])
    shift = torch.tensor([2.0, -1.0])
    tgt_xy = src_xy + shift
    desc = _unit([[[1, 0, 0], [0, 1, 0], [0, 0, 1]]])
    scores = torch.tensor([[0.9, 0.5, 0.2]])
    src = {"coords": src_xy, "scores": scores, "desc": desc}
    tgt = {"coords": tgt_xy, "scores": scores.clone(), "desc": desc.clone()}
    opts = kl.KeypointLossOptions(border_px=0.0, io_weight=0.0)
    out = kl.pair_losses(src, tgt, src_xy + shift, desc, (40, 48), opts)
    assert out["location"].item() == pytest.approx(0.0, abs=1e-6)
    assert out["descriptor"].item() == pytest.approx(0.0, abs=1e-6)  # d_pos 0, d_neg sqrt(2) > margin
    assert out["score"].item() == pytest.approx(0.0, abs=1e-6)        # equal distances, equal scores
    assert out["match_ratio"].item() == 1.0
    # Confusable descriptors: every negative equals its anchor -> loss = margin + d_pos = 0.2.
    same = _unit([[[1, 0, 0]] * 3])
    out2 = kl.pair_losses({**src, "desc": same}, {**tgt, "desc": same}, src_xy + shift, same, (40, 48), opts)
    assert out2["descriptor"].item() == pytest.approx(0.2, abs=1e-3)


def test_location_and_score_loss_hand_values():
    dist = torch.tensor([[1.0, 3.0, 10.0]])
    mask = torch.tensor([[True, True, False]])
    assert kl.location_loss(dist, mask).item() == pytest.approx(2.0)
    s_src, s_tgt = torch.tensor([[0.8, 0.4, 0.5]]), torch.tensor([[0.6, 0.4, 0.1]])
    idx = torch.tensor([[0, 1, 2]])
    # mean d = 2: usp = (0.7 * -1 + 0.4 * 1) / 2, mse = (0.04 + 0) / 2
    expected = ((0.7 * -1.0 + 0.04) + (0.4 * 1.0 + 0.0)) / 2
    assert kl.score_loss(s_src, s_tgt, dist, idx, mask).item() == pytest.approx(expected, rel=1e-5)


def test_io_net_loss_labels_follow_the_known_correspondence():
    from frontend.models.io_net import IONet, IONetConfig

    torch.manual_seed(0)
    n = 16
    xy = torch.rand(1, n, 2) * 60
    desc = torch.nn.functional.normalize(torch.randn(1, n, 8), dim=-1)
    perm = torch.arange(n)
    perm[:4] = torch.tensor([1, 0, 3, 2])  # 4 wrong matches (outliers)
    tgt_desc = desc[:, perm]
    net = IONet(IONetConfig(width=16, blocks=1))
    valid = torch.ones(1, n, dtype=torch.bool)
    loss, diag = kl.io_net_loss(net, xy, torch.rand(1, n), desc, xy, valid, xy, tgt_desc, (64, 64), 16, 1.0)
    assert diag["io_inlier_ratio"].item() == pytest.approx(12 / 16)
    assert torch.isfinite(loss)


def test_homography_sampler_is_seeded_and_keeps_coverage():
    o = HomographyOptions()
    a = sample_homography(96, 320, np.random.default_rng(5), o)
    b = sample_homography(96, 320, np.random.default_rng(5), o)
    np.testing.assert_array_equal(a, b)
    from frontend.training.homography import _coverage

    for s in range(20):
        H = sample_homography(96, 320, np.random.default_rng(s), o)
        assert _coverage(H, 96, 320) >= o.min_coverage
    ident = HomographyOptions(perspective=0.0, scale=(1.0, 1.0), max_angle_rad=0.0, translation=0.0)
    np.testing.assert_allclose(sample_homography(96, 320, np.random.default_rng(0), ident), np.eye(3), atol=1e-12)
    with pytest.raises(ValueError, match="scale"):
        HomographyOptions(scale=(2.0, 1.0))


def test_depth_errors_hand_case_and_median_scaling():
    from frontend.training.evaluate import depth_errors

    gt = np.full((10, 10), 10.0)
    gt[0, 0] = 0.0  # unknown
    assert depth_errors(gt * 0.5, gt)["abs_rel"] == pytest.approx(0.0, abs=1e-12)  # scale recovered
    e = depth_errors(np.full((10, 10), 12.0), gt, median_scaling=False)
    assert e["abs_rel"] == pytest.approx(0.2) and e["rmse"] == pytest.approx(2.0) and e["a1"] == 1.0
    with pytest.raises(ValueError, match="equal"):
        depth_errors(np.ones((3, 3)), np.ones((4, 4)))


def test_geometry_consistency_of_a_wall_seen_from_one_metre_closer():
    """A fronto-parallel wall 10 m from the target camera, 9 m from the source camera 1 m ahead: the
    source's depth 9 m agrees (loss 0); a source depth 10 % too large is off by |9 - 9.9| / 18.9 everywhere."""
    from frontend.geometry import intrinsics_matrix
    from frontend.losses.depth import geometry_consistency_loss

    H, W = 24, 32
    K = intrinsics_matrix(30.0, 30.0, 15.5, 11.5, dtype=torch.float64).reshape(1, 3, 3)
    source_from_target = torch.eye(4, dtype=torch.float64)[None].clone()
    source_from_target[0, 2, 3] = -1.0  # the source camera is 1 m further along z
    target = torch.full((1, 1, H, W), 10.0, dtype=torch.float64, requires_grad=True)
    exact = torch.full((1, 1, H, W), 9.0, dtype=torch.float64)
    assert geometry_consistency_loss(target, [exact], [source_from_target], K).item() == pytest.approx(0.0, abs=1e-9)
    loss = geometry_consistency_loss(target, [exact * 1.1], [source_from_target], K)
    assert loss.item() == pytest.approx(0.9 / 18.9, rel=1e-6)
    loss.backward()
    assert target.grad is not None and torch.isfinite(target.grad).all() and target.grad.abs().sum() > 0
    # a pose that takes every pixel out of the source: no pixel counts, the loss is 0 (not NaN)
    away = torch.eye(4, dtype=torch.float64)[None].clone()
    away[0, 0, 3] = 50.0
    assert geometry_consistency_loss(target, [exact], [away], K).item() == 0.0
    with pytest.raises(ValueError, match="one pose per source"):
        geometry_consistency_loss(target, [exact, exact], [source_from_target], K)


def _road_depth(height: float, pitch_rad: float, H: int = 48, W: int = 160, f: float = 90.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Depth (1, 1, H, W) float64 of a flat road ``height`` below a camera pitched down by ``pitch_rad`` (sky
    at 80), and its K (1, 3, 3)."""
    from frontend.geometry import intrinsics_matrix

    K = intrinsics_matrix(f, f, (W - 1) / 2, (H - 1) / 2, dtype=torch.float64).reshape(1, 3, 3)
    v = torch.arange(H, dtype=torch.float64)[:, None].expand(H, W)
    ray_down = (v - (H - 1) / 2) / f * np.cos(pitch_rad) + np.sin(pitch_rad)  # y component of the ray in the road frame
    depth = torch.where(ray_down > 1e-3, height / ray_down.clamp_min(1e-3), torch.full_like(v, 80.0)).clamp(max=80.0)
    return depth[None, None], K


def test_road_plane_height_of_a_pitched_camera_and_a_car_on_the_road():
    """A flat road 1.65 m below a camera pitched down by 2 deg: the fitted plane's distance is 1.65 (a level-
    camera reading of y alone would be off by several per cent); a box (a car 6 m ahead) over a fifth of the
    region moves it by < 1 %; a batch of two heights has the variance of their logs (halved: about the mean)."""
    from frontend.losses.depth import camera_height_consistency_loss, road_plane_heights

    depth, K = _road_depth(1.65, np.deg2rad(2.0))
    h, ok = road_plane_heights(depth, K)
    assert bool(ok[0]) and h.item() == pytest.approx(1.65, rel=1e-6)
    with_car = depth.clone()
    with_car[..., 30:40, 60:100] = 6.0
    assert road_plane_heights(with_car, K)[0].item() == pytest.approx(1.65, rel=0.01)
    batch = torch.cat([depth, _road_depth(1.65 * 1.2, np.deg2rad(-1.0))[0]]).requires_grad_(True)
    loss, used = camera_height_consistency_loss(batch, K.expand(2, 3, 3))
    assert int(used) == 2 and loss.item() == pytest.approx((np.log(1.2) / 2) ** 2, rel=1e-5)
    loss.backward()
    assert torch.isfinite(batch.grad).all() and batch.grad.abs().sum() > 0
    # one image with a road is not a batch: no loss (0, not NaN), and a wall (no road) is no road
    wall = torch.full_like(depth, 5.0)
    assert not bool(road_plane_heights(wall, K)[1][0])
    assert camera_height_consistency_loss(depth, K)[0].item() == 0.0
