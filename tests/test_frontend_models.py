"""Shapes, value ranges and conventions of the frontend networks and keypoint helpers."""
from __future__ import annotations

import math

import pytest
import torch

from frontend.geometry import pose_vec_to_matrix
from frontend.keypoints import mutual_nn_match, sample_descriptors, select_topk
from frontend.models import (CELL, DepthNetConfig, KeypointNetConfig, ResNetEncoder, build_depth_net,
                             build_keypoint_net, build_pose_net, disp_to_depth, load_checkpoint,
                             load_config_file, save_checkpoint)

VARIANTS = ["resnet18", "light"]
SIZES = [(192, 640), (256, 320)]


@pytest.fixture(scope="module")
def image_batch():
    g = torch.Generator().manual_seed(0)
    return {size: torch.rand(2, 1, *size, generator=g) for size in SIZES}


@pytest.fixture(scope="module", params=VARIANTS)
def keypoint_net(request):
    torch.manual_seed(0)
    return build_keypoint_net(load_config_file(f"keypoint_{request.param}")).eval()


@pytest.fixture(scope="module", params=VARIANTS)
def depth_net(request):
    torch.manual_seed(0)
    return build_depth_net(load_config_file(f"depth_{request.param}")).eval()


def test_encoder_strides_and_channels():
    enc = ResNetEncoder(18, width_mult=0.5, in_channels=1).eval()
    with torch.inference_mode():
        feats = enc(torch.rand(1, 1, 64, 96))
    assert enc.num_ch_enc == [32, 32, 64, 128, 256]
    for i, f in enumerate(feats):
        assert f.shape == (1, enc.num_ch_enc[i], 64 >> (i + 1), 96 >> (i + 1))
    # zero-init residual: every block starts as identity + ReLU
    blocks = [m for m in enc.modules() if type(m).__name__ == "BasicBlock"]
    assert len(blocks) == 8 and all(float(b.bn2.weight.detach().abs().sum()) == 0.0 for b in blocks)
    with pytest.raises(ValueError, match="depth"):
        ResNetEncoder(19)


@pytest.mark.parametrize("size", SIZES)
def test_keypoint_heads(keypoint_net, image_batch, size):
    h, w = size
    with torch.inference_mode():
        score, coord, desc = keypoint_net(image_batch[size])
    cfg = keypoint_net.config
    assert score.shape == (2, 1, h // 8, w // 8) and coord.shape == (2, 2, h // 8, w // 8)
    assert desc.shape == (2, cfg.desc_dim, h // cfg.desc_stride, w // cfg.desc_stride)
    assert float(score.min()) >= 0.0 and float(score.max()) <= 1.0
    # coordinates within cross_ratio/2 cells of their cell centre (pixel-centre convention) and in the image
    ys, xs = torch.meshgrid(torch.arange(h // 8), torch.arange(w // 8), indexing="ij")
    centre = torch.stack([xs * CELL + 3.5, ys * CELL + 3.5]).float()
    max_off = CELL * cfg.cross_ratio / 2
    assert float((coord - centre).abs().max()) <= max_off + 1e-4
    assert float(coord[:, 0].min()) >= 0 and float(coord[:, 0].max()) <= w - 1
    assert float(coord[:, 1].min()) >= 0 and float(coord[:, 1].max()) <= h - 1
    assert torch.allclose(desc.norm(dim=1), torch.ones(1), atol=1e-4)
    kps, scores, descs = select_topk(score, coord, desc, 300, border_cells=cfg.border_cells)
    assert kps.shape == (2, 300, 2) and scores.shape == (2, 300) and descs.shape == (2, 300, cfg.desc_dim)
    assert torch.all(scores[:, :-1] >= scores[:, 1:])  # best first
    assert torch.allclose(descs.norm(dim=2), torch.ones(1), atol=1e-5)


@pytest.mark.parametrize("size", SIZES)
def test_depth_heads(depth_net, image_batch, size):
    h, w = size
    with torch.inference_mode():
        disps = depth_net(image_batch[size])
    assert len(disps) == 4
    for s, d in enumerate(disps):
        assert d.shape == (2, 1, h >> s, w >> s)
        assert float(d.min()) > 0.0 and float(d.max()) < 1.0


def test_disp_to_depth_range():
    disp = torch.tensor([0.0, 0.5, 1.0])
    scaled, depth = disp_to_depth(disp, 0.1, 100.0)
    assert torch.allclose(depth[[0, 2]], torch.tensor([100.0, 0.1]))
    assert math.isclose(float(scaled[1]), 0.01 + 0.5 * (10.0 - 0.01), rel_tol=1e-6)


def test_pose_net_output_and_matrix():
    torch.manual_seed(0)
    net = build_pose_net({"width_mult": 0.25, "encoder_layers": [1, 1, 1, 1], "decoder_channels": 32}).eval()
    a, b = torch.rand(2, 1, 1, 64, 96)
    with torch.inference_mode():
        pose = net(a, b)
    assert pose.shape == (1, 6) and float(pose.abs().max()) < 0.5  # small output scaling
    vec = torch.tensor([[0.0, math.pi / 2, 0.0, 1.0, 2.0, 3.0]])
    m = pose_vec_to_matrix(vec)[0]
    expected = torch.tensor([[0.0, 0, 1, 1], [0, 1, 0, 2], [-1, 0, 0, 3], [0, 0, 0, 1]])
    assert torch.allclose(m, expected, atol=1e-6)
    assert torch.allclose(pose_vec_to_matrix(torch.zeros(1, 6))[0], torch.eye(4))


def test_sample_descriptors_pixel_centre_convention():
    # A stride-4 map whose channel 0 holds the x pixel coordinate of each map cell centre.
    h, w = 32, 64
    x_centres = torch.arange(w // 4).float() * 4 + 1.5
    ch0 = x_centres.view(1, 1, 1, -1).expand(1, 1, h // 4, w // 4)
    desc_map = torch.cat([ch0, torch.full_like(ch0, 0.0)], dim=1)
    coords = torch.tensor([[[1.5, 5.0], [9.5, 5.0], [11.5, 3.0], [7.5, 12.0]]])
    out = sample_descriptors(desc_map, coords, (h, w))
    assert torch.allclose(out[..., 0], torch.ones(1, 4))  # normalised: only channel 0 is non-zero
    raw = torch.nn.functional.grid_sample(desc_map, ((coords + 0.5) / torch.tensor([w, h]) * 2 - 1).unsqueeze(1),
                                          align_corners=False)
    assert torch.allclose(raw[0, 0, 0], torch.tensor([1.5, 9.5, 11.5, 7.5]))


def test_select_topk_border_and_order():
    score = torch.zeros(1, 1, 4, 5)
    score[0, 0, 0, 0] = 1.0  # border cell: must be dropped
    score[0, 0, 1, 2] = 0.9
    score[0, 0, 2, 3] = 0.8
    coord = torch.rand(1, 2, 4, 5) * 30
    desc = torch.nn.functional.normalize(torch.rand(1, 8, 8, 10), dim=1)
    kps, scores, _ = select_topk(score, coord, desc, 2, border_cells=1)
    assert torch.allclose(scores, torch.tensor([[0.9, 0.8]]))
    assert torch.allclose(kps[0, 0], coord[0, :, 1, 2]) and torch.allclose(kps[0, 1], coord[0, :, 2, 3])
    kps, _, _ = select_topk(score, coord, desc, 100, border_cells=1)
    assert kps.shape[1] == 6  # only the 2x3 interior cells


def test_mutual_nn_match():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    b = torch.tensor([[0.0, 1.0], [1.0, 0.3], [0.9, 0.0]])
    # a0 -> b2 (0.1 away), b2 -> a0: mutual; a1 <-> b0 mutual; a2 -> b1 but b1 -> a0 (b1 nearer a0)
    pairs = mutual_nn_match(a, b)
    assert pairs.tolist() == [[0, 2], [1, 0]]
    assert mutual_nn_match(a, b, max_distance=0.05).tolist() == [[1, 0]]


def test_config_validation_and_checkpoint_round_trip(tmp_path):
    with pytest.raises(ValueError, match="desc_stride"):
        KeypointNetConfig(desc_stride=2)
    with pytest.raises(ValueError, match="DepthNetConfig: max_depht: unknown key"):
        DepthNetConfig.from_dict({"max_depht": 80})
    with pytest.raises(ValueError, match="kind"):
        build_keypoint_net({"kind": "depth"})
    torch.manual_seed(1)
    net = build_depth_net(load_config_file("depth_light")).eval()
    path = tmp_path / "depth.ckpt"
    save_checkpoint(path, net, step=7, note="x")
    loaded, cfg = load_checkpoint(path, expected_kind="depth")
    assert cfg == net.config and torch.load(path, weights_only=False)["step"] == 7
    x = torch.rand(1, 1, 64, 64)
    with torch.inference_mode():
        assert torch.equal(loaded(x)[0], net(x)[0])
    with pytest.raises(ValueError, match="expected keypoint"):
        load_checkpoint(path, expected_kind="keypoint")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.ckpt")
