"""TorchScript export round trip and the TorchScript-only FrontendRuntime."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from frontend.export import ExportOptions, export_checkpoints, export_frontend, make_random_model_dir, reference_image
from frontend.inference import FrontendRuntime, read_frontend_meta
from frontend.models import build_depth_net, build_keypoint_net, disp_to_depth, load_config_file, save_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.* deprecation notices

NET_W, NET_H = 128, 64  # small network input keeps the tests fast


@pytest.fixture(scope="module")
def nets():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        kp = build_keypoint_net(load_config_file("keypoint_light")).eval()
        dp = build_depth_net(load_config_file("depth_light")).eval()
    return kp, dp


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_random_model_dir(tmp_path_factory.mktemp("frontend"), width=NET_W, height=NET_H, seed=5)


@pytest.fixture(scope="module")
def runtime(model_dir):
    return FrontendRuntime(model_dir, device="cpu", top_k=50)


@pytest.mark.parametrize("method", ["trace", "script"])
def test_export_round_trip_matches_eager(nets, tmp_path, method):
    kp, dp = nets
    meta_path = export_frontend(kp, dp, tmp_path, ExportOptions(width=NET_W, height=NET_H, method=method))
    meta = json.loads(meta_path.read_text())
    assert meta["input"] == {"width": NET_W, "height": NET_H, "channels": 1, "range": [0.0, 1.0],
                             "layout": "(B, 1, H, W) float32 grey"}
    assert meta["keypoint"]["top_k"] == 1000 and meta["depth"]["max_depth"] == 100.0
    x = torch.rand(1, 1, NET_H, NET_W, generator=torch.Generator().manual_seed(9))
    kp_ts = torch.jit.load(str(tmp_path / "keypoint_net.pt"))
    dp_ts = torch.jit.load(str(tmp_path / "depth_net.pt"))
    with torch.inference_mode():
        for a, b in zip(kp_ts(x), kp(x)):
            assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
        depth_eager = disp_to_depth(dp(x)[0], 0.1, 100.0)[1]
        depth_ts = dp_ts(x)
    assert depth_ts.shape == (1, 1, NET_H, NET_W)
    assert torch.allclose(1.0 / depth_ts, 1.0 / depth_eager, atol=1e-4)
    assert float(depth_ts.min()) >= 0.1 - 1e-5 and float(depth_ts.max()) <= 100.0 + 1e-3
    # Exported on CPU, loaded anywhere: no device baked into the graph (torch.jit.trace records
    # torch.arange(device=...) as "cpu", which then failed on CUDA; seen on the H200 on 2026-12-04).
    for name, m in (("keypoint", kp_ts), ("depth", dp_ts)):
        baked = [ln.strip() for ln in str(m.inlined_graph).splitlines() if "Device = prim::Constant" in ln]
        assert not baked, f"{name} export holds device constants: {baked}"


def test_export_rejects_bad_options_and_mismatch(nets, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="multiple of 32"):
        ExportOptions(width=100)
    with pytest.raises(ValueError, match="method"):
        ExportOptions(method="onnx")
    kp, dp = nets
    # An exported module that disagrees with eager must raise, and write nothing.
    import frontend.export as export_mod
    real = export_mod._serialise

    def corrupt(module, *args):
        data = real(module, *args)
        loaded = torch.jit.load(__import__("io").BytesIO(data))
        for p in loaded.parameters():
            p.data.add_(0.5)
        return real(loaded, *args)

    monkeypatch.setattr(export_mod, "_serialise", corrupt)
    with pytest.raises(RuntimeError, match="differs from eager"):
        export_frontend(kp, dp, tmp_path / "bad", ExportOptions(width=NET_W, height=NET_H))
    assert not (tmp_path / "bad" / "frontend.json").exists()


def test_export_from_checkpoints(nets, tmp_path):
    kp, dp = nets
    save_checkpoint(tmp_path / "kp.ckpt", kp, step=11)
    save_checkpoint(tmp_path / "depth.ckpt", dp, step=12)
    meta = json.loads(export_checkpoints(tmp_path / "kp.ckpt", tmp_path / "depth.ckpt", tmp_path / "out",
                                         ExportOptions(width=NET_W, height=NET_H, top_k=50)).read_text())
    assert meta["keypoint"]["source"]["step"] == 11 and meta["depth"]["source"]["step"] == 12
    assert meta["keypoint"]["top_k"] == 50
    with pytest.raises(ValueError, match="expected keypoint"):
        export_checkpoints(tmp_path / "depth.ckpt", tmp_path / "depth.ckpt", tmp_path / "out2")


def test_runtime_outputs_in_full_image_pixels(runtime):
    rt = runtime
    h, w = 150, 500  # not the network size, aspect ratio differs
    rng = np.random.default_rng(0)
    image = (rng.random((h, w)) * 255).astype(np.uint8)
    out = rt(image)
    assert out.keypoints.shape == (50, 2) and out.keypoints.dtype == np.float32
    assert out.scores.shape == (50,) and out.scores.dtype == np.float32
    assert out.descriptors.shape == (50, 64) and out.descriptors.dtype == np.float32
    assert out.depth.shape == (h, w) and out.depth.dtype == np.float32
    assert np.allclose(np.linalg.norm(out.descriptors, axis=1), 1.0, atol=1e-4)
    assert np.all(np.diff(out.scores) <= 0)
    assert out.depth.min() >= 0.1 - 1e-4 and out.depth.max() <= 100.0 + 1e-2
    # Same frame at network size: keypoints map by x = (x_net + 0.5) * W / W_net - 0.5.
    import cv2
    small = cv2.resize(image.astype(np.float32) / 255.0, (NET_W, NET_H), interpolation=cv2.INTER_AREA)
    out_net = rt(small)
    sx, sy = w / NET_W, h / NET_H
    expected = (out_net.keypoints + 0.5) * np.array([sx, sy], np.float32) - 0.5
    np.testing.assert_allclose(out.keypoints, expected, atol=1e-3)
    np.testing.assert_allclose(out.scores, out_net.scores, atol=1e-6)
    assert 0 <= out.keypoints[:, 0].min() and out.keypoints[:, 0].max() <= w - 1 + 1e-3
    # depth at the full image: bilinear resize of inverse depth (pixel-centre convention)
    idepth = torch.from_numpy(1.0 / out_net.depth)[None, None]
    ref = 1.0 / torch.nn.functional.interpolate(idepth, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    np.testing.assert_allclose(out.depth, ref.numpy(), rtol=1e-4)
    # float32 input in [0, 1] gives the same result as uint8
    out_f = rt(image.astype(np.float32) / 255.0)
    np.testing.assert_allclose(out_f.keypoints, out.keypoints, atol=1e-4)


def test_runtime_computes_only_the_outputs_asked_for(model_dir, runtime, monkeypatch):
    image = (np.random.default_rng(1).random((96, 320)) * 255).astype(np.uint8)
    full = runtime(image)
    depth_only = FrontendRuntime(model_dir, device="cpu", top_k=50, outputs=("depth",))
    # The KeypointNet does not run at all (a call would fail), and the depth is the full runtime's.
    monkeypatch.setattr(depth_only, "keypoint_net", None)
    out = depth_only(image)
    np.testing.assert_array_equal(out.depth, full.depth)
    assert out.keypoints.shape == (0, 2) and out.scores.shape == (0,) and out.descriptors.shape == (0, 64)
    assert out.keypoints.dtype == out.scores.dtype == out.descriptors.dtype == np.float32
    kp_only = FrontendRuntime(model_dir, device="cpu", top_k=50, outputs=["keypoints"])
    monkeypatch.setattr(kp_only, "depth_net", None)
    out = kp_only(image)
    np.testing.assert_array_equal(out.keypoints, full.keypoints)
    np.testing.assert_array_equal(out.descriptors, full.descriptors)
    assert out.depth.shape == (0, 0) and out.depth.dtype == np.float32
    for bad in ((), ("depth", "flow"), "depth"):
        with pytest.raises(ValueError, match="outputs must be a non-empty subset"):
            FrontendRuntime(model_dir, device="cpu", outputs=bad)


def test_parallel_networks_give_the_same_outputs(model_dir, runtime):
    rng = np.random.default_rng(2)
    parallel = FrontendRuntime(model_dir, device="cpu", top_k=50, parallel=True)
    for _ in range(3):
        image = (rng.random((96, 320)) * 255).astype(np.uint8)
        a, b = runtime(image), parallel(image)
        for name in ("keypoints", "scores", "descriptors", "depth"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_depth_net_at_its_own_input_size(runtime, tmp_path):
    """A DepthNet exported at its (lower) training size runs there; its depth is resized to the image."""
    with pytest.raises(ValueError, match="depth_width"):
        ExportOptions(depth_width=100)
    model_dir = make_random_model_dir(tmp_path, width=NET_W, height=NET_H, seed=5, depth_width=96, depth_height=64)
    meta = read_frontend_meta(model_dir)
    assert meta["depth"]["input"] == {"width": 96, "height": 64}
    rt = FrontendRuntime(model_dir, device="cpu", top_k=50)
    assert rt.input_size == (NET_W, NET_H) and rt.depth_input_size == (96, 64)
    image = (np.random.default_rng(1).random((150, 500)) * 255).astype(np.uint8)
    out, same = rt(image), runtime(image)  # same seed: identical weights, keypoint net at the same size
    np.testing.assert_allclose(out.keypoints, same.keypoints, atol=1e-4)
    assert out.depth.shape == (150, 500)
    import cv2
    small = cv2.resize(image.astype(np.float32) / 255.0, (96, 64), interpolation=cv2.INTER_AREA)
    depth_small = torch.jit.load(str(model_dir / "depth_net.pt"))(torch.from_numpy(small)[None, None])
    ref = 1.0 / torch.nn.functional.interpolate(1.0 / depth_small, size=(150, 500), mode="bilinear",
                                                align_corners=False)[0, 0]
    np.testing.assert_allclose(out.depth, ref.detach().numpy(), rtol=1e-3)
    assert not np.allclose(out.depth, same.depth, rtol=1e-2)  # really a different network input


def test_runtime_optimize_modes_agree(model_dir, runtime):
    x = np.asarray(reference_image(NET_H, NET_W)[0, 0])
    ref = runtime(x)  # defaults: freeze + channels_last
    for optimize, channels_last in (("none", False), ("optimize_for_inference", False)):
        out = FrontendRuntime(model_dir, device="cpu", top_k=50, optimize=optimize, channels_last=channels_last)(x)
        np.testing.assert_allclose(out.scores, ref.scores, atol=1e-4)
        np.testing.assert_allclose(out.keypoints, ref.keypoints, atol=1e-3)
        np.testing.assert_allclose(out.descriptors, ref.descriptors, atol=1e-4)
        np.testing.assert_allclose(out.depth, ref.depth, rtol=1e-3)
    with pytest.raises(ValueError, match="optimize"):
        FrontendRuntime(model_dir, optimize="fast")


def test_runtime_errors(model_dir, runtime, tmp_path):
    rt = runtime
    with pytest.raises(ValueError, match="grey"):
        rt(np.zeros((64, 128, 3), np.uint8))
    with pytest.raises(ValueError, match="dtype"):
        rt(np.zeros((64, 128), np.float64))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rt(np.full((64, 128), 200.0, np.float32))
    with pytest.raises(FileNotFoundError, match="frontend.json"):
        FrontendRuntime(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "frontend.json").write_text((model_dir / "frontend.json").read_text())
    with pytest.raises(FileNotFoundError, match="keypoint_net.pt"):
        read_frontend_meta(broken)
    with pytest.raises(ValueError, match="device"):
        FrontendRuntime(model_dir, device="tpu")


@pytest.mark.cuda
def test_runtime_cuda_matches_cpu(model_dir):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x = np.asarray(reference_image(NET_H, NET_W)[0, 0])
    cpu = FrontendRuntime(model_dir, device="cpu")(x)
    gpu = FrontendRuntime(model_dir, device="cuda")(x)
    assert gpu.keypoints.dtype == np.float32 and gpu.depth.shape == (NET_H, NET_W)
    np.testing.assert_allclose(gpu.scores, cpu.scores, atol=1e-3)
    np.testing.assert_allclose(gpu.depth, cpu.depth, rtol=1e-2)


def test_depth_scale_calibration_makes_depth_metric(nets, tmp_path, synth_sequence):
    """``--calibrate-depth``: the median gt/pred ratio on exact depth becomes the exported depth factor."""
    from apps.cli import main
    from apps.io.sequence import open_sequence
    from frontend.training.evaluate import calibrate_depth_scale, evaluate_depth_checkpoint

    kp, dp = nets
    save_checkpoint(tmp_path / "kp.ckpt", kp, step=1)
    save_checkpoint(tmp_path / "depth.ckpt", dp, step=1)
    frames = open_sequence(synth_sequence, resize=(320, 96), gt=False, max_frames=6)
    cal = calibrate_depth_scale(tmp_path / "depth.ckpt", frames, label="synth/sequences/00")
    raw = evaluate_depth_checkpoint(tmp_path / "depth.ckpt", frames)
    assert cal["factor"] == pytest.approx(raw["scale_median"]) and cal["frames"] == 6
    with pytest.raises(ValueError, match="depth_scale"):
        ExportOptions(depth_scale=0.0)
    # Exported with the factor, the network depth is the eager depth times it, and min/max follow.
    meta = json.loads(export_checkpoints(tmp_path / "kp.ckpt", tmp_path / "depth.ckpt", tmp_path / "out",
                                         ExportOptions(width=320, height=96, depth_scale=cal["factor"]),
                                         cal).read_text())
    assert meta["depth"]["scale"]["factor"] == pytest.approx(cal["factor"])
    assert meta["depth"]["scale"]["calibrated_on"] == "synth/sequences/00"
    assert meta["depth"]["max_depth"] == pytest.approx(100.0 * cal["factor"])
    x = reference_image(96, 320)
    with torch.inference_mode():
        eager = disp_to_depth(dp(x)[0], 0.1, 100.0)[1]
        exported = torch.jit.load(str(tmp_path / "out" / "depth_net.pt"))(x)
    torch.testing.assert_close(exported, eager * cal["factor"], rtol=1e-4, atol=1e-4)
    # The CLI flag does the same and records it.
    assert main(["export", "--keypoint", str(tmp_path / "kp.ckpt"), "--depth", str(tmp_path / "depth.ckpt"),
                 "--out", str(tmp_path / "cli"), "--width", "320", "--height", "96",
                 "--calibrate-depth", str(synth_sequence)]) == 0
    cli_meta = read_frontend_meta(tmp_path / "cli")
    assert cli_meta["depth"]["scale"]["frames"] == 60 and cli_meta["depth"]["scale"]["factor"] > 0
    assert not cli_meta["depth"]["scale"]["calibrated_on"].startswith("/")  # nothing of this machine


def test_saturated_depth_is_reported_unknown(model_dir, runtime):
    """Depth at the network's min/max bound is a clamp, not a measurement: 0 (unknown) by default."""
    image = (np.random.default_rng(2).random((96, 200)) * 255).astype(np.uint8)
    raw_rt = FrontendRuntime(model_dir, device="cpu", top_k=50, saturation_margin=None)
    raw = raw_rt(image).depth
    assert raw.min() > 0
    # Pretend the network's lower bound sits at the 30th percentile of this frame's depth.
    masked_rt = FrontendRuntime(model_dir, device="cpu", top_k=50)
    masked_rt.min_depth = float(np.percentile(raw, 30)) / 1.02
    masked = masked_rt(image).depth
    expect_unknown = raw <= masked_rt.min_depth * 1.02
    assert 0.2 < expect_unknown.mean() < 0.4
    np.testing.assert_array_equal(masked == 0, expect_unknown)
    np.testing.assert_allclose(masked[~expect_unknown], raw[~expect_unknown], rtol=1e-6)
    with pytest.raises(ValueError, match="saturation_margin"):
        FrontendRuntime(model_dir, device="cpu", saturation_margin=1.5)


def test_export_records_the_depth_prior_sigma(nets, tmp_path):
    kp, dp = nets
    with pytest.raises(ValueError, match="depth_prior_sigma"):
        ExportOptions(depth_prior_sigma=0.0)
    meta = json.loads(export_frontend(kp, dp, tmp_path, ExportOptions(width=NET_W, height=NET_H,
                                                                      depth_prior_sigma=0.1)).read_text())
    assert meta["depth"]["prior_relative_sigma"] == 0.1
    meta = json.loads(export_frontend(kp, dp, tmp_path / "b", ExportOptions(width=NET_W, height=NET_H)).read_text())
    assert meta["depth"]["prior_relative_sigma"] is None
