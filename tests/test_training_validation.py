"""Held-out validation during training (``validation:`` of a training config -> RUN_DIR/validation.csv)."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from frontend.training.config import config_from_dict
from frontend.training.engine import Trainer
from training_helpers import TINY_DEPTH, TINY_KP, TINY_POSE, texture

def _render(root, n=6, h=128, w=256):
    """A KITTI-layout sequence with exact depth: a road-like ramp (near at the bottom) under a texture."""
    from apps.io.camera import Intrinsics
    from apps.io.kitti import write_calib, write_times

    seq = root / "sequences" / "00"
    (seq / "image_0").mkdir(parents=True)
    (seq / "depth_0").mkdir()
    ramp = np.linspace(40.0, 4.0, h, dtype=np.float32)[:, None].repeat(w, 1)
    for i in range(n):
        cv2.imwrite(str(seq / "image_0" / f"{i:06d}.png"), (texture(h, w, i) * 255).astype(np.uint8))
        np.save(seq / "depth_0" / f"{i:06d}.npy", ramp)
    write_calib(seq / "calib.txt", Intrinsics(200.0, 200.0, 128.0, 64.0, w, h))
    write_times(seq / "times.txt", np.arange(n) * 0.1)
    return seq


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _depth_config(render, every=1, steps=2):
    return config_from_dict({
        "task": "depth",
        "data": {"sources": [{"kind": "sequences", "path": str(render)}], "image_size": [64, 128],
                 "offsets": [-1, 1]},
        "models": {"depth": TINY_DEPTH, "pose": TINY_POSE},
        "loss": {"pose_source": "posenet", "render_depth_weight": 1.0},
        "optim": {"lr": 1e-3, "warmup_steps": 1, "total_steps": 10},
        "run": {"max_steps": steps, "batch_size": 2, "checkpoint_every": 1, "log_every": 1, "seed": 1},
        "validation": {"every": every, "renders": [str(render)], "max_frames": 4}})


def test_depth_validation_rows_are_the_networks_held_out_errors(tmp_path):
    from apps.io.sequence import open_sequence
    from frontend.training.evaluate import evaluate_depth_checkpoint

    render = _render(tmp_path / "data")
    run = tmp_path / "run"
    trainer = Trainer(_depth_config(render), run, device="cpu", progress=False, open_sequence=open_sequence)
    trainer.train()
    rows = _rows(run / "validation.csv")
    assert [int(r["step"]) for r in rows] == [1, 2]
    # The last row is the saved network's AbsRel on the render (4 frames) at the training input size.
    expected = evaluate_depth_checkpoint(run / "depth_net.pt", open_sequence(render, resize=(128, 64), max_frames=4))
    assert float(rows[-1]["abs_rel"]) == pytest.approx(expected["abs_rel"], rel=1e-4)
    assert float(rows[-1]["a1"]) == pytest.approx(expected["a1"], rel=1e-4, abs=1e-6)
    assert 0 < float(rows[-1]["abs_rel"]) < 5
    assert trainer.module.training  # back in train mode after validating

    # Resuming from step 1 drops the rows after it, as for metrics.csv.
    (run / "validation.csv").write_text("step,abs_rel,rmse,a1\n1,0.5,1,0.5\n7,0.4,1,0.6\n", encoding="utf-8")
    Trainer(_depth_config(render, steps=3), run, device="cpu", progress=False, open_sequence=open_sequence,
            resume=True).train()
    assert [int(r["step"]) for r in _rows(run / "validation.csv")] == [1, 3]  # 2 was the checkpoint


def test_keypoint_validation_rows_are_the_protocols_numbers(tmp_path):
    from frontend.hpatches import NetworkDetector, evaluate_detector, synthetic_pairs
    from frontend.models import load_checkpoint

    images = tmp_path / "held_out"
    images.mkdir()
    for i in range(3):
        cv2.imwrite(str(images / f"{i}.png"), (texture(200, 300, 10 + i) * 255).astype(np.uint8))
    cfg = config_from_dict({
        "task": "keypoints",
        "data": {"sources": [{"kind": "skimage"}], "image_size": [64, 64], "scale_range": [1.0, 1.2]},
        "models": {"keypoint": TINY_KP, "io": {"width": 16, "blocks": 1}},
        "loss": {"io_top_k": 32},
        "optim": {"lr": 1e-3, "warmup_steps": 2, "total_steps": 10},
        "run": {"max_steps": 3, "batch_size": 2, "checkpoint_every": 2, "log_every": 1, "seed": 1},
        "validation": {"every": 2, "images": str(images), "pairs": 3, "size": [128, 96], "top_k": 50}})
    run = tmp_path / "run"
    Trainer(cfg, run, device="cpu", progress=False).train()
    rows = _rows(run / "validation.csv")
    assert [int(r["step"]) for r in rows] == [2, 3]  # every 2nd step and the last
    net, _ = load_checkpoint(run / "keypoint_net.pt", expected_kind="keypoint")
    expected = evaluate_detector(NetworkDetector(net, 50, net.config.border_cells, 8),
                                 synthetic_pairs(images, 128, 96, 3, 0)).to_dict()
    for key in ("repeatability", "localization", "c1", "c3", "c5", "mscore"):
        assert float(rows[-1][key]) == pytest.approx(expected[key], rel=1e-4, abs=1e-6), key
    assert 0 <= float(rows[-1]["repeatability"]) <= 1


def test_validation_errors_name_the_key_and_the_path(tmp_path):
    from apps.io.sequence import open_sequence

    render = _render(tmp_path / "data", n=4)
    with pytest.raises(ValueError, match=r"validation: size must be \(W, H\), multiples of 32, got \(100, 96\)"):
        config_from_dict({"task": "keypoints", "data": {"sources": [{"kind": "skimage"}]},
                          "validation": {"every": 1, "images": "x", "size": [100, 96]}})
    with pytest.raises(ValueError, match="every > 0 needs held-out data"):
        config_from_dict({"task": "depth", "data": {"sources": [{"kind": "skimage"}]}, "validation": {"every": 5}})
    cfg = _depth_config(render)
    cfg.validation.renders = [str(tmp_path / "nowhere")]
    with pytest.raises(FileNotFoundError, match="validation.renders.*nowhere"):
        Trainer(cfg, tmp_path / "run", device="cpu", progress=False, open_sequence=open_sequence)
    plain = tmp_path / "plain"
    _render(plain, n=4)
    for f in (plain / "sequences" / "00" / "depth_0").iterdir():
        f.unlink()
    (plain / "sequences" / "00" / "depth_0").rmdir()
    cfg.validation.renders = [str(plain / "sequences" / "00")]
    with pytest.raises(ValueError, match="no depth_0"):
        Trainer(cfg, tmp_path / "run2", device="cpu", progress=False, open_sequence=open_sequence)


def test_real_sequence_validation_rows_are_the_networks_errors_on_triangulated_points(tmp_path):
    from apps.io.sequence import open_sequence
    from apps.synth import SynthOptions, make_trajectory, render_sequence
    from frontend.models import load_checkpoint
    from frontend.sparse_depth import build_references
    from frontend.training.evaluate import real_depth_net_errors

    # A render stands in for a real sequence: its poses are read, its depth maps are not.
    posed = render_sequence(tmp_path / "posed", make_trajectory("kitti-like", 10, seed=3), None,
                            SynthOptions(width=640, height=192, seed=3), name="00")
    render = _render(tmp_path / "data")
    cfg = _depth_config(render)
    cfg.validation.renders = []
    cfg.validation.sequences = [str(posed)]
    cfg.validation.max_frames = 10
    run = tmp_path / "run"
    Trainer(cfg, run, device="cpu", progress=False, open_sequence=open_sequence).train()
    rows = _rows(run / "validation.csv")
    assert [int(r["step"]) for r in rows] == [1, 2]
    assert "abs_rel" not in rows[-1]  # no renders given
    seq = open_sequence(posed, resize=(640, 192), max_frames=10)
    refs = build_references(seq.image, seq.gt_world_from_cam, seq.intrinsics.K)
    net, _ = load_checkpoint(run / "depth_net.pt", expected_kind="depth")
    expected = real_depth_net_errors(net, refs, seq.image, (128, 64))
    assert float(rows[-1]["real_abs_rel"]) == pytest.approx(expected["abs_rel"], rel=1e-4)
    assert float(rows[-1]["real_shape_bias"]) == pytest.approx(expected["shape_bias"], rel=1e-4, abs=1e-6)
    assert float(rows[-1]["real_unit_std"]) == pytest.approx(expected["unit_log_std"], rel=1e-4, abs=1e-6)
    assert 0 < float(rows[-1]["real_abs_rel"]) < 5 and 0 <= float(rows[-1]["real_a1"]) <= 1

    cfg.validation.sequences = [str(render)]  # a sequence without ground-truth poses
    with pytest.raises(ValueError, match="validation.sequences: no ground truth for .*00"):
        Trainer(cfg, tmp_path / "run2", device="cpu", progress=False, open_sequence=open_sequence)
    cfg.validation.sequences = [str(tmp_path / "nowhere")]
    with pytest.raises(FileNotFoundError, match="validation.sequences: .*nowhere not found"):
        Trainer(cfg, tmp_path / "run3", device="cpu", progress=False, open_sequence=open_sequence)
    with pytest.raises(ValueError, match=r"sequence_size must be \(W, H\), each >= 32"):
        config_from_dict({"task": "depth", "data": {"sources": [{"kind": "skimage"}]},
                          "validation": {"every": 1, "sequences": ["x"], "sequence_size": [16, 16]}})
