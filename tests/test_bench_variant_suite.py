"""bench/variant_suite.py: clip sets, the seed merged into a variant's config, the metric and the comparison."""
from __future__ import annotations

import json
import math

import pytest

from bench_helpers import load_bench


def test_clip_sets_and_the_merged_config():
    m = load_bench("variant_suite")
    assert m.clip_set(["core"]) == list(m.CORE) and len(m.clip_set(["all"])) == 24
    assert m.clip_set(["02s3", "core", "02"]) == ["02s3", *m.CORE]  # in order, no repeats
    variant = {"model_dir": "A", "backend": {"selector": {"seed": 7, "x": 1}, "ba": {"y": 2}}}
    merged = m.merged_config(variant, 3)
    assert merged == {"model_dir": "A", "backend": {"selector": {"seed": 3, "x": 1}, "ba": {"y": 2}}}
    assert variant["backend"]["selector"]["seed"] == 7  # the variant itself is left as it was
    assert m.merged_config(None, 1) == {"backend": {"selector": {"seed": 1}}}
    with pytest.raises(ValueError, match="mapping"):
        m.merged_config(["not", "a", "mapping"], 0)


def _summary(path, t_rel, ate, rpe):
    path.mkdir(parents=True)
    (path / "summary.json").write_text(json.dumps(
        {"evaluation": {"t_rel": t_rel, "ate_rmse": ate, "rpe_trans_rmse": rpe}}))


def test_compare_takes_t_rel_or_ate_and_the_geometric_mean(tmp_path):
    m = load_bench("variant_suite")
    runs = tmp_path / "runs"
    for s, (a, b) in enumerate([(1.0, 2.0), (3.0, 2.0)]):
        _summary(runs / "base" / f"02_s{s}", a, 9.0, 0.04)
        _summary(runs / "v" / f"02_s{s}", b * 0.5, 9.0, 0.03)  # mean 1.0 against 2.0: ratio 0.5
        _summary(runs / "base" / f"07_s{s}", float("nan"), 0.2, 0.02)  # no 100 m segment: ATE
        _summary(runs / "v" / f"07_s{s}", None, 0.4, 0.02)  # ratio 2
    assert m.metric({"evaluation": {"t_rel": float("nan"), "ate_rmse": 0.3}})[:2] == (0.3, "ate")
    table = m.compare(tmp_path, ["base", "v"], [0, 1], ["02", "07", "00"])
    assert "| 02 | t_rel | 2.000 (1.00 / 3.00; RPE-1 0.040) | 1.000 (1.00 / 1.00; RPE-1 0.030) |" in table
    assert "| 07 | ate |" in table and "| 00 | – | – | – |" in table
    assert f"geometric mean **{math.sqrt(0.5 * 2.0):.3f}** over 2 clips" in table


def test_run_names_what_is_missing(tmp_path):
    m = load_bench("variant_suite")
    with pytest.raises(FileNotFoundError, match="suite.json"):
        m.run(tmp_path, "x", None, [0], ["02"])
    (tmp_path / "suite.json").write_text(json.dumps({"kitti": "k", "clips": {"02": {"sequence": "s", "gt": "g"}}}))
    with pytest.raises(ValueError, match=r"\['99'\] not in"):
        m.run(tmp_path, "x", None, [0], ["02", "99"])
    with pytest.raises(FileNotFoundError, match="KITTI odometry layout"):
        m.build(tmp_path / "nowhere", tmp_path / "out")
