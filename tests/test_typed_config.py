"""The one typed config loader (frontend.common.typed_config) and every config kind that uses it:
a value of the wrong type is an error naming the file, the key and the expected type."""
from __future__ import annotations

import dataclasses
import math
from typing import Optional

import pytest

from frontend.common.device import resolve_device
from frontend.common.typed_config import ConfigError, load_dataclass, load_yaml_dataclass


@dataclasses.dataclass
class _Inner:
    count: int = 3
    ratio: float = 0.5
    pair: tuple[float, float] = (1.0, 2.0)

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count}")


@dataclasses.dataclass
class _Outer:
    name: str
    sizes: tuple[int, ...] = (1,)
    flag: bool = False
    layers: Optional[tuple[int, ...]] = None
    inner: _Inner = dataclasses.field(default_factory=_Inner)
    items: list[_Inner] = dataclasses.field(default_factory=list)


def test_loader_converts_yaml_values_and_checks_types(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("name: a\nsizes: [4, 5]\nlayers: [1, 2]\ninner: {ratio: 2, pair: [3, 4.5]}\nitems: [{count: 7}]\n")
    out = load_yaml_dataclass(_Outer, cfg)
    assert out.sizes == (4, 5) and out.layers == (1, 2) and out.items[0].count == 7
    assert out.inner.ratio == 2.0 and isinstance(out.inner.ratio, float) and out.inner.pair == (3.0, 4.5)
    assert load_dataclass(_Outer, {"name": "b", "inner": None}, "x").inner == _Inner()  # empty section: defaults
    assert load_yaml_dataclass(_Outer, cfg, overrides={"name": "c", "flag": None}).name == "c"
    assert math.isnan(load_dataclass(_Inner, {"ratio": float("nan")}, "x").ratio)
    cases = {
        "name: 3\n": "name: expected str, got int 3",
        "name: a\nflag: yes\nsizes: [1, '2']\n": "sizes[1]: expected int, got str '2'",
        "name: a\nflag: 1\n": "flag: expected bool, got int 1",
        "name: a\ninner: {count: true}\n": "inner.count: expected int, got bool True",
        "name: a\ninner: {count: 2.5}\n": "inner.count: expected int, got float 2.5",
        "name: a\ninner: {ratio: '1e-3'}\n": "inner.ratio: expected float, got str '1e-3'",
        "name: a\ninner: {cuont: 2}\n": "inner.cuont: unknown key; allowed: count, pair, ratio",
        "name: a\nitems: [{}, {count: -1}]\n": "items[1]: count must be >= 0, got -1",
        "name: a\ninner: 5\n": "inner: expected a mapping, got int 5",
        "name: a\nlayers: 3\n": "layers: expected a list, got int 3",
        "sizes: [1]\n": "name: missing required key",
        "- 1\n": "expected a YAML mapping at top level, got list [1]",
    }
    for text, message in cases.items():
        cfg.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_yaml_dataclass(_Outer, cfg)
        assert str(info.value).startswith(f"{cfg}: ") and message in str(info.value), (text, str(info.value))
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_yaml_dataclass(_Outer, tmp_path / "nope.yaml")


def test_run_config_type_errors_name_file_and_key(tmp_path):
    from apps.pipeline.config import RunConfig, load_config

    cfg = tmp_path / "config.yaml"
    cfg.write_text('width: "640"\n')
    with pytest.raises(ValueError, match=r"config\.yaml: width: expected int, got str '640'$"):
        load_config(cfg)
    cfg.write_text("f2f: {min_matches: 12.5}\n")
    with pytest.raises(ValueError, match=r"config\.yaml: f2f\.min_matches: expected int, got float 12\.5"):
        load_config(cfg)
    cfg.write_text("mode: dso\nbackend: {points: {desired_active_points: '800'}}\n")
    with pytest.raises(ValueError, match=r"config\.yaml: backend: points\.desired_active_points: expected int, "
                                         r"got str '800'"):
        load_config(cfg)
    cfg.write_text("mode: dso\nwidth: 320\nheight: 96\nbackend: {points: {desired_active_points: 800}}\n")
    loaded = load_config(cfg, top_k=None)
    assert isinstance(loaded, RunConfig) and (loaded.width, loaded.height) == (320, 96)
    assert loaded.backend["points"]["desired_active_points"] == 800


def test_training_configs_type_errors(tmp_path):
    from frontend.training.config import TrainRunOptions, config_from_dict, load_train_config

    cfg = tmp_path / "train.yaml"
    cfg.write_text("task: depth\noptim: {lr: 1e-3}\n")  # a float as in YAML 1.2 (PyYAML's 1.1: a string)
    assert load_train_config(cfg).optim.lr == pytest.approx(1e-3)
    cfg.write_text("task: depth\noptim: {lr: '1e-3'}\n")
    with pytest.raises(ValueError, match=r"train\.yaml: optim\.lr: expected float, got str '1e-3'"):
        load_train_config(cfg)
    cfg.write_text("task: depth\nrun: {batch_size: '8'}\noptim:\n")
    with pytest.raises(ValueError, match=r"run\.batch_size: expected int, got str '8'"):
        load_train_config(cfg)
    ok = config_from_dict({"task": "depth", "optim": None, "data": None}, "t")  # empty sections: defaults
    assert isinstance(ok.run, TrainRunOptions) and ok.data == {} and ok.optim.lr == 5e-4


def test_training_task_sections_type_errors():
    from frontend.training.data import SnippetOptions

    opts = load_dataclass(SnippetOptions, {"image_size": [64, 128], "homography": {}}, "data")
    assert opts.image_size == (64, 128) and opts.homography is not None
    with pytest.raises(ConfigError, match=r"^data: photometric\.gamma\[0\]: expected float, got str 'x'"):
        load_dataclass(SnippetOptions, {"photometric": {"gamma": ["x", 1.2]}}, "data")


def test_model_config_type_errors(tmp_path):
    from frontend.models import load_config_file
    from frontend.models.depth_net import DepthNetConfig

    path = tmp_path / "depth.yaml"
    path.write_text("kind: depth\nwidth_mult: '0.5'\n")
    with pytest.raises(ValueError, match=r"model config .*depth\.yaml: width_mult: expected float, got str '0\.5'"):
        load_config_file(path)
    path.write_text("kind: depth\nencoder_layers: [1, 1, 2, 1]\nwidth_mult: 0.5\n")
    assert load_config_file(path).encoder_layers == (1, 1, 2, 1)
    with pytest.raises(ValueError, match=r"DepthNetConfig: encoder_depth: expected int, got bool True"):
        DepthNetConfig.from_dict({"encoder_depth": True})


def test_evaluation_batch_type_errors(tmp_path):
    from apps.evaluation.batch import load_batch_config

    path = tmp_path / "b.yaml"
    path.write_text("max_time_diff: '0.1'\nentries:\n  - {gt: g.txt, est: e.txt}\n")
    with pytest.raises(ValueError, match=r"b\.yaml: max_time_diff: expected float, got str '0\.1'"):
        load_batch_config(path)
    path.write_text("- {name: 00, gt: g.txt, est: e.txt, max_frames: '300'}\n")
    with pytest.raises(ValueError, match=r"b\.yaml: entries\[0\]\.max_frames: expected int, got str '300'"):
        load_batch_config(path)
    path.write_text("lengths: [100, 200]\nentries:\n  - {name: 0, gt: g.txt, est: e.txt, max_frames: 300}\n")
    entries, overrides = load_batch_config(path)
    assert overrides == {"lengths": (100, 200)} and entries[0].name == "0" and entries[0].max_frames == 300


def test_vo_batch_type_errors(tmp_path):
    from apps.pipeline.batch import load_vo_batch

    path = tmp_path / "vo.yaml"
    path.write_text("output: out\njobs: '2'\nsequences:\n  - {path: seq/00}\n")
    with pytest.raises(ValueError, match=r"vo\.yaml: jobs: expected int, got str '2'"):
        load_vo_batch(path)
    path.write_text("output: out\nsequences:\n  - {path: seq/00, max_frame: 3}\n")
    with pytest.raises(ValueError, match=r"vo\.yaml: sequences\[0\]\.max_frame: unknown key; allowed: calib, "
                                         r"max_frames, name, path"):
        load_vo_batch(path)
    (tmp_path / "ref").mkdir()
    path.write_text("output: out\nmodes:\nsequences:\n  - {path: seq/00, max_frames: 30}\n"
                    "references: [{name: r, dir: ref}]\n")
    cfg = load_vo_batch(path)
    assert cfg.modes == ["dsdso", "dso", "f2f"] and cfg.sequences[0].name == "00"
    assert cfg.sequences[0].path == (tmp_path / "seq/00").resolve() and cfg.references[0][0] == "r"


def test_viewer_and_backend_option_type_errors(tmp_path):
    from apps.viewer.open3d_viewer import Open3DViewer
    from dso_bridge.options import load_options, options_from_dict

    with pytest.raises(ValueError, match=r"viewer options: width: expected int, got str '640'"):
        Open3DViewer(width="640", headless=True)
    path = tmp_path / "backend.yaml"
    path.write_text("backend: {ba: {max_iterations: 3.5}}\n")
    with pytest.raises(ValueError, match=r"backend\.yaml: ba\.max_iterations: expected int, got float 3\.5"):
        load_options(path)
    with pytest.raises(ValueError, match=r"use_depth_prior: expected bool, got int 1"):
        options_from_dict({"use_depth_prior": 1})
    assert options_from_dict({"points": {"default_prior_relative_sigma": 1}}).points.default_prior_relative_sigma == 1.0


def test_every_shipped_yaml_config_loads():
    from pathlib import Path

    from apps.evaluation.batch import load_batch_config
    from apps.pipeline.batch import load_vo_batch
    from apps.pipeline.config import load_config
    from frontend.models import load_config_file
    from frontend.training.config import load_train_config

    root = Path(__file__).resolve().parents[1] / "configs"
    loaded = [load_config(p) for p in sorted((root / "run").glob("*.yaml"))]
    loaded += [load_train_config(p) for p in sorted((root / "train").glob("*.yaml"))]
    loaded += [load_train_config(p) for p in sorted((root.parent / "frontend" / "models" / "checkpoints").glob("*/config.yaml"))]
    loaded += [load_config_file(p) for p in sorted((root / "models").glob("*.yaml"))]
    for p in sorted((root / "batch").glob("*.yaml")):
        loaded.append(load_vo_batch(p) if "sequences" in p.read_text() else load_batch_config(p))
    assert len(loaded) >= 14


def test_one_resolve_device():
    import torch

    assert resolve_device(None) == resolve_device("auto") == resolve_device("")
    assert resolve_device("cpu") == torch.device("cpu") == resolve_device(torch.device("cpu"))
    for bad in ("tpu", "gpu0", 3.5):
        with pytest.raises(ValueError, match="device must be 'auto', 'cpu' or 'cuda"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:0")
