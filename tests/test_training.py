"""Trainers: tiny overfits, data pipeline, checkpoint/resume reproducibility, 2-process DDP (gloo)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from frontend.geometry import warp_image_homography
from frontend.losses.depth import DepthLossOptions
from frontend.losses.keypoint import KeypointLossOptions
from frontend.models import build_depth_net, build_keypoint_net, build_pose_net
from frontend.models.io_net import IONet, IONetConfig
from frontend.training.augment import PhotometricOptions
from frontend.training.config import config_from_dict
from frontend.training.data import HomographyPairDataset, PairOptions, SnippetDataset, SnippetOptions
from frontend.training.engine import Trainer, learning_rate
from frontend.training.homography import HomographyOptions, sample_homography
from frontend.training.modules import (DepthModule, DepthTaskOptions, HomographyModule, MultiViewModule,
                                       MultiViewOptions)
from training_helpers import TINY_DEPTH, TINY_KP, TINY_POSE
from training_helpers import texture as _texture

REPO = Path(__file__).resolve().parents[1]
NO_AUG = PhotometricOptions(probability=0.0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: the CI machine is shared, and OpenMP spinning on busy cores is slow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _overfit(module, batch, steps, lr):
    torch.manual_seed(0)
    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        out = module(batch)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    return losses, out


def _homography_batch(b=2, h=64, w=64):
    imgs, tgts, Hs = [], [], []
    for i in range(b):
        src = _texture(h, w, i)
        H = sample_homography(h, w, np.random.default_rng(i), HomographyOptions(max_angle_rad=0.2))
        imgs.append(src[None])
        tgts.append(cv2.warpPerspective(src, H, (w, h))[None])
        Hs.append(H.astype(np.float32))
    return {"source": torch.tensor(np.stack(imgs)), "target": torch.tensor(np.stack(tgts)),
            "target_from_source": torch.tensor(np.stack(Hs))}


def test_homography_adaptation_overfits():
    torch.manual_seed(0)
    module = HomographyModule(build_keypoint_net(TINY_KP), IONet(IONetConfig(width=16, blocks=1)),
                              KeypointLossOptions(io_top_k=32))
    losses, out = _overfit(module, _homography_batch(), 25, 3e-3)
    assert losses[-1] < 0.8 * losses[0], losses
    for k in ("location", "descriptor", "score", "io"):
        assert torch.isfinite(out[k])


def _snippet_batch(b=2, h=64, w=128, shift=2):
    """A textured fronto-parallel plane seen by a camera translating sideways: frames shift by `shift` px."""
    big = _texture(h, w + 4 * shift, 3)
    frames = [big[:, 2 * shift + d * shift: 2 * shift + d * shift + w] for d in (0, -1, 1)]
    images = torch.tensor(np.stack(frames))[None, :, None].expand(b, -1, -1, -1, -1).contiguous()
    K = torch.tensor([[60.0, 0, (w - 1) / 2], [0, 60.0, (h - 1) / 2], [0, 0, 1]]).expand(b, 3, 3).contiguous()
    batch = {"images": images, "images_aug": images.clone(), "K": K}
    batch.update({k: v[:b] for k, v in _homography_batch(b, h, w).items()})
    return batch


def test_depth_training_overfits():
    torch.manual_seed(0)
    module = DepthModule(build_depth_net(TINY_DEPTH), build_pose_net(TINY_POSE),
                         DepthTaskOptions(depth=DepthLossOptions(max_depth=50.0)))
    losses, out = _overfit(module, _snippet_batch(), 25, 2e-3)
    assert min(losses[-5:]) < 0.85 * losses[0], losses
    assert 0.0 <= out["automask_ratio"].item() <= 1.0


def test_depth_training_with_geometry_consistency_falls_and_reports_it():
    """The snippet's depths are made consistent by the term (SC-SfMLearner's geometry consistency):
    it is reported, finite, and falls with the rest of the loss under training."""
    torch.manual_seed(0)
    opts = DepthTaskOptions(depth=DepthLossOptions(max_depth=50.0), geometry_consistency_weight=1.0)
    module = DepthModule(build_depth_net(TINY_DEPTH), build_pose_net(TINY_POSE), opts)
    batch = _snippet_batch()
    first = module(batch)
    assert 0.0 <= first["geometry_consistency"].item() < 1.0
    losses, out = _overfit(module, batch, 25, 2e-3)
    assert min(losses[-5:]) < 0.85 * losses[0], losses
    assert out["geometry_consistency"].item() < first["geometry_consistency"].item()
    with pytest.raises(ValueError, match="geometry_consistency_weight"):
        DepthTaskOptions(geometry_consistency_weight=-0.1)


def test_depth_training_adds_the_camera_height_term_it_reports(monkeypatch):
    """loss.camera_height_weight adds weight x the road-height variance to the loss and reports it; the
    variance is that of the finest disparity's road planes (a road at 1.65 m and one at 1.98 m: (log 1.2 / 2)^2)."""
    import dataclasses

    import frontend.training.modules as modules
    from frontend.models import disp_to_depth

    torch.manual_seed(0)
    opts = DepthTaskOptions(depth=DepthLossOptions(max_depth=50.0), camera_height_weight=3.0)
    module = DepthModule(build_depth_net(TINY_DEPTH), build_pose_net(TINY_POSE), opts).eval()
    # the term on two road disparities (1, 1, 48, 160) through the module's own depth conversion
    h, w, f = 48, 160, 90.0
    K = torch.tensor([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]]).expand(2, 3, 3)
    ray = ((torch.arange(h, dtype=torch.float32) - (h - 1) / 2) / f)[:, None].expand(h, w)
    roads = [torch.where(ray > 0.02, height / ray.clamp_min(0.02), torch.full_like(ray, 40.0)).clamp(max=40.0)
             for height in (1.65, 1.65 * 1.2)]
    min_disp, max_disp = 1 / opts.depth.max_depth, 1 / opts.depth.min_depth
    disp = torch.stack([(1 / d - min_disp) / (max_disp - min_disp) for d in roads])[:, None]
    assert torch.allclose(disp_to_depth(disp, opts.depth.min_depth, opts.depth.max_depth)[1][:, 0], torch.stack(roads))
    ch, used = module._camera_height_loss(disp, K, (h, w))
    assert int(used) == 2 and ch.item() == pytest.approx((np.log(1.2) / 2) ** 2, rel=1e-3)
    # the forward pass adds it with its weight (the term itself stubbed: the tiny net's random depth has no road)
    monkeypatch.setattr(modules, "camera_height_consistency_loss", lambda depth, K: (depth.sum() * 0 + 0.25, torch.tensor(2)))
    batch = _snippet_batch()
    with torch.no_grad():
        out = module(batch)
        module.options = dataclasses.replace(opts, camera_height_weight=0.0)
        plain = module(batch)
    assert "camera_height" not in plain and out["camera_height"].item() == 0.25
    assert out["loss"].item() == pytest.approx(plain["loss"].item() + 3.0 * 0.25, rel=1e-6)
    with pytest.raises(ValueError, match="camera_height_weight"):
        DepthTaskOptions(camera_height_weight=-1.0)


def test_multiview_adaptation_overfits():
    torch.manual_seed(0)
    opts = MultiViewOptions(keypoint=KeypointLossOptions(io_top_k=32), top_k=32)
    module = MultiViewModule(build_keypoint_net(TINY_KP), build_depth_net(TINY_DEPTH),
                             IONet(IONetConfig(width=16, blocks=1)), None, opts)
    losses, out = _overfit(module, _snippet_batch(), 20, 2e-3)
    assert losses[-1] < 0.85 * losses[0], losses
    for k in ("homography", "multiview", "photometric", "depth_consistency", "mv_location"):
        assert torch.isfinite(out[k]), k


def test_homography_pairs_are_consistent_with_their_homography():
    readers = [lambda: (_texture(200, 300, 7) * 255).astype(np.uint8)]
    ds = HomographyPairDataset(readers, PairOptions(image_size=(64, 96), photometric=NO_AUG), seed=3)
    item = ds[0]
    assert item["source"].shape == (1, 64, 96) and item["target"].dtype == torch.float32
    warped, valid = warp_image_homography(item["source"][None], item["target_from_source"][None])
    inner = cv2.erode(valid[0, 0].numpy(), np.ones((5, 5))) > 0
    err = (warped[0, 0] - item["target"][0])[torch.from_numpy(inner)].abs()
    assert err.mean().item() < 0.01
    np.testing.assert_array_equal(ds[0]["target"].numpy(), item["target"].numpy())  # seeded


def _write_sequence(root: Path, n=5, h=120, w=400):
    from apps.io.camera import Intrinsics
    from apps.io.kitti import write_calib, write_times

    seq = root / "sequences" / "00"
    (seq / "image_0").mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(seq / "image_0" / f"{i:06d}.png"), (_texture(h, w, i) * 255).astype(np.uint8))
    write_calib(seq / "calib.txt", Intrinsics(200.0, 200.0, 180.0, 60.0, w, h))
    write_times(seq / "times.txt", np.arange(n) * 0.1)
    return root


def test_snippets_adjust_intrinsics_for_resize_crop_and_flip(tmp_path):
    from apps.io.sequence import open_sequence
    from frontend.training.data import DataSource, open_source_sequences

    seqs = open_source_sequences(DataSource(kind="sequences", path=str(_write_sequence(tmp_path))), open_sequence)
    opts = SnippetOptions(image_size=(64, 128), scale_range=(1.0, 1.0), flip_probability=0.0, photometric=NO_AUG)
    item = SnippetDataset(seqs, opts)[0]
    assert item["images"].shape == (3, 1, 64, 128)
    # cover 64x128 from 120x400: height-limited scale 64/120 -> 64x213 (rounded), then a horizontal crop
    K = item["K"].numpy()
    assert K[0, 0] == pytest.approx(200 * 213 / 400, rel=1e-5)
    assert K[1, 1] == pytest.approx(200 * 64 / 120, rel=1e-5)
    flipped = SnippetDataset(seqs, SnippetOptions(image_size=(64, 128), scale_range=(1.0, 1.0), flip_probability=1.0,
                                                  photometric=NO_AUG))[0]
    assert flipped["K"][0, 2].item() == pytest.approx(127 - K[0, 2], abs=1e-4)
    np.testing.assert_allclose(flipped["images"].numpy(), item["images"].numpy()[..., ::-1])


def _tiny_config(steps=4, **run):
    return config_from_dict({
        "task": "keypoints",
        "data": {"sources": [{"kind": "skimage"}], "image_size": [64, 64], "scale_range": [1.0, 1.2]},
        "models": {"keypoint": TINY_KP, "io": {"width": 16, "blocks": 1}},
        "loss": {"io_top_k": 32},
        "optim": {"lr": 1e-3, "warmup_steps": 2, "total_steps": 10},
        "run": {"max_steps": steps, "batch_size": 2, "checkpoint_every": 2, "log_every": 1, "seed": 1, **run},
    })


def test_run_and_optim_errors_name_the_key_and_the_value():
    with pytest.raises(ValueError, match=r"run: batch_size \(--batch-size\) must be >= 1, got 0$"):
        _tiny_config(batch_size=0)
    with pytest.raises(ValueError, match=r"optim: lr must be > 0, got -1"):
        config_from_dict({"task": "keypoints", "optim": {"lr": -1}})


def test_resume_reproduces_the_next_step(tmp_path):
    full = Trainer(_tiny_config(), tmp_path / "a", device="cpu", progress=False)
    full.train(3)
    rows = list(csv.DictReader(open(tmp_path / "a" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    # A second run stopped at step 2 (its checkpoint), then resumed for step 3.
    first = Trainer(_tiny_config(), tmp_path / "b", device="cpu", progress=False)
    first.train(2)
    resumed = Trainer(_tiny_config(), tmp_path / "b", device="cpu", resume=True, progress=False)
    assert resumed.step == 2
    last = resumed.train(3)
    assert last["loss"] == pytest.approx(float(rows[2]["loss"]), rel=1e-4)
    assert len(list(csv.DictReader(open(tmp_path / "b" / "metrics.csv")))) == 3
    from frontend.models import load_checkpoint

    net, cfg = load_checkpoint(tmp_path / "b" / "keypoint_net.pt", expected_kind="keypoint")
    assert cfg.desc_dim == 16
    with pytest.raises(ValueError, match="--resume"):
        Trainer(_tiny_config(), tmp_path / "b", device="cpu", progress=False)


def test_learning_rate_schedule():
    cfg = _tiny_config().optim
    assert learning_rate(0, cfg) == pytest.approx(1e-5)
    assert learning_rate(2, cfg) == pytest.approx(1e-3)
    assert learning_rate(10, cfg) == pytest.approx(1e-3 * cfg.min_lr_ratio)


def test_two_process_ddp_on_gloo(tmp_path):
    import yaml

    cfg = _tiny_config().to_dict()
    cfg["run"]["batch_size"] = 1
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "apps.cli", "train", "keypoints", "--config", str(tmp_path / "tiny.yaml"),
           "--out", str(tmp_path / "run"), "--max-steps", "2", "--device", "cpu", "--no-progress"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["step"] == 2
    assert np.isfinite(summary["last"]["loss"])
    assert (tmp_path / "run" / "keypoint_net.pt").is_file()


def test_depth_with_keypoint_procrustes_pose_trains_depth_only():
    torch.manual_seed(0)
    kp = build_keypoint_net(TINY_KP)
    module = DepthModule(build_depth_net(TINY_DEPTH), None, DepthTaskOptions(pose_source="keypoints", keypoint_top_k=32),
                         keypoint_net=kp)
    out = module(_snippet_batch())
    out["loss"].backward()
    assert torch.isfinite(out["loss"])
    assert all(p.grad is None for p in kp.parameters())  # the keypoint net is frozen
    grads = [p.grad for p in module.depth_net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    with pytest.raises(ValueError, match="keypoint"):
        DepthModule(build_depth_net(TINY_DEPTH), None, DepthTaskOptions(pose_source="keypoints"))


def test_snippet_depth_when_any_sequence_has_it_zero_where_unknown(tmp_path):
    from torch.utils.data import default_collate

    from apps.io.sequence import open_sequence
    from frontend.training.data import DataSource, open_source_sequences

    root = _write_sequence(tmp_path)
    _write_sequence(tmp_path / "b")
    depth_dir = tmp_path / "b" / "sequences" / "00" / "depth_0"
    depth_dir.mkdir()
    for i in range(5):
        np.save(depth_dir / f"{i:06d}.npy", np.full((120, 400), 7.5, np.float32))
    plain = open_source_sequences(DataSource(kind="sequences", path=str(root)), open_sequence)
    with_depth = open_source_sequences(DataSource(kind="sequences", path=str(tmp_path / "b")), open_sequence)
    opts = SnippetOptions(image_size=(64, 128), photometric=NO_AUG)
    item = SnippetDataset(with_depth, opts)[0]
    assert item["depth"].shape == (1, 64, 128) and float(item["depth"].min()) == 7.5
    mixed = SnippetDataset(plain + with_depth, opts)
    batch = default_collate([mixed[0], mixed[len(mixed) - 1]])  # one item of each sequence
    assert batch["images"].shape == (2, 3, 1, 64, 128) and batch["depth"].shape == (2, 1, 64, 128)
    assert float(batch["depth"][0].abs().max()) == 0.0 and float(batch["depth"][1].min()) == 7.5
    assert "depth" not in SnippetDataset(plain, opts)[0]


def test_render_depth_loss_teaches_the_depth_profile_and_skips_items_without_depth():
    """The scale-invariant loss on exact depth (rows from 4 m at the bottom to 40 m at the top, in any
    unit) falls under training; the item with no depth (zeros) is not counted."""
    torch.manual_seed(0)
    batch = _snippet_batch()
    h, w = batch["images"].shape[-2:]
    ramp = torch.logspace(np.log10(40.0), np.log10(4.0), h)[:, None].expand(h, w)
    batch["depth"] = torch.stack([ramp[None], torch.zeros(1, h, w)])
    opts = DepthTaskOptions(depth=DepthLossOptions(max_depth=50.0), render_depth_weight=5.0)
    module = DepthModule(build_depth_net(TINY_DEPTH), build_pose_net(TINY_POSE), opts)
    first = module(batch)
    assert first["render_images"].item() == 1.0
    _, out = _overfit(module, batch, 30, 3e-3)
    assert out["render_si"].item() < 0.5 * first["render_si"].item(), (first["render_si"], out["render_si"])
    with pytest.raises(ValueError, match="render_depth"):
        DepthTaskOptions(render_depth_weight=-1.0)


@pytest.mark.parametrize("name", ["keypoints_light", "depth_light", "multiview_light", "keypoints_light_stage2",
                                  "depth_light_stage2", "depth_light_rd_stage3", "depth_light_gc",
                                  "depth_light_height", "depth_light_height_control", "depth_light_rd_many"])
def test_shipped_training_configs_load_and_their_init_weights_are_committed(name):
    """The recipes in configs/train parse, and every ``init:`` file is in the repository (a fresh
    checkout can continue training from the shipped weights)."""
    from frontend.training.config import REPO_ROOT, load_train_config, resolve_path
    from frontend.training.tasks import _networks

    cfg = load_train_config(REPO_ROOT / "configs" / "train" / f"{name}.yaml")
    for kind, path in cfg.init.items():
        p = resolve_path(path)
        assert p.is_file() and "runs" not in p.relative_to(REPO_ROOT).parts, f"init.{kind}: {path}"
    if cfg.init:
        _networks(cfg, ())  # loads the init weights: they fit the configured networks


def test_the_gpu_recipe_of_the_shipped_depth_net_loads():
    """configs/train/depth_light_rd.yaml starts from weights kept in git history (runs/init_step2000,
    see its header), so only its parsing and its render-depth loss are checked here."""
    from frontend.training.config import REPO_ROOT, load_train_config

    cfg = load_train_config(REPO_ROOT / "configs" / "train" / "depth_light_rd.yaml")
    assert cfg.loss["render_depth_weight"] == 1.0 and cfg.run.max_steps == 2242
    assert all(q != "07" for s in cfg.data["sources"] for q in s.get("sequences", []))


def test_a_repeated_sequence_source_weighs_more_in_the_depth_snippets(tmp_path):
    """``repeat`` of a ``sequences`` source lists its snippets that many times (it was read and ignored)."""
    from apps.io.sequence import open_sequence
    from frontend.training.tasks import build_task

    root = _write_sequence(tmp_path, n=6)

    def task(repeat):
        cfg = config_from_dict({
            "task": "depth",
            "data": {"sources": [{"kind": "sequences", "path": str(root), "repeat": repeat}],
                     "image_size": [64, 128], "offsets": [-1, 1]},
            "models": {"depth": {"encoder_layers": [1, 1, 1, 1], "width_mult": 0.25},
                       "pose": {"encoder_layers": [1, 1, 1, 1], "width_mult": 0.25}},
            "loss": {"pose_source": "posenet"},
            "run": {"max_steps": 1, "batch_size": 2}})
        return build_task(cfg, torch.device("cpu"), open_sequence)

    once, thrice = task(1).dataset, task(3).dataset
    assert len(once) == 4 and len(thrice) == 12  # frames 1..4 of 6 have both neighbours
    np.testing.assert_array_equal(thrice[5]["images"].numpy().shape, once[1]["images"].numpy().shape)
