"""bench/gpu_session.sh helpers: scaled KITTI calibration, the training configs it writes, step planning."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench_helpers import load_bench

REPO = Path(__file__).resolve().parents[1]
CALIB = ("P0: 7.188560000000e+02 0.000000000000e+00 6.071928000000e+02 0.000000000000e+00 0.000000000000e+00 "
         "7.188560000000e+02 1.852157000000e+02 0.000000000000e+00 0.000000000000e+00 0.000000000000e+00 "
         "1.000000000000e+00 0.000000000000e+00\n"
         "P1: 7.188560000000e+02 0.000000000000e+00 6.071928000000e+02 -3.861448000000e+02 0.000000000000e+00 "
         "7.188560000000e+02 1.852157000000e+02 0.000000000000e+00 0.000000000000e+00 0.000000000000e+00 "
         "1.000000000000e+00 0.000000000000e+00\n")


def _tools():
    return load_bench("gpu_session_tools")


def test_scaled_calibration_matches_intrinsics_scaled():
    from frontend.common.camera import Intrinsics

    tools = _tools()
    sx, sy = 384 / 1241, 116 / 376
    rows = {line.split(":")[0]: np.array(line.split()[1:], float).reshape(3, 4)
            for line in tools._scaled_calib(CALIB, sx, sy).splitlines()}
    ref = Intrinsics(fx=718.856, fy=718.856, cx=607.1928, cy=185.2157, width=1241, height=376).scaled(384, 116)
    assert rows["P0"][0, 0] == pytest.approx(ref.fx) and rows["P0"][1, 1] == pytest.approx(ref.fy)
    assert rows["P0"][0, 2] == pytest.approx(ref.cx) and rows["P0"][1, 2] == pytest.approx(ref.cy)
    assert rows["P1"][0, 3] / rows["P1"][0, 0] == pytest.approx(-386.1448 / 718.856)   # baseline kept


def test_config_starts_from_the_committed_weights_with_a_short_schedule(tmp_path):
    from frontend.training.config import load_train_config

    tools = _tools()
    for task, nets in (("depth", {"depth", "pose"}), ("keypoints", {"keypoint", "io"})):
        out = tmp_path / f"{task}.yaml"
        tools.write_config(task, out, steps=120, batch_size=16, workers=4, threads=2, warmup=50,
                           checkpoint_every=50, render_root=str(tmp_path / "renders"))
        cfg = load_train_config(out)
        assert set(cfg.init) == nets and all(Path(p).is_file() for p in cfg.init.values())
        assert cfg.optim.total_steps == cfg.run.max_steps == 120 and cfg.optim.warmup_steps == 50
        assert cfg.run.batch_size == 16 and cfg.run.workers == 4 and cfg.run.checkpoint_every == 50
        if task == "depth":
            assert str(tmp_path / "renders") in [s.get("path") for s in cfg.data["sources"]]
            assert "07" not in [q for s in cfg.data["sources"] for q in s.get("sequences", [])]  # validation only
    tools.write_config("depth", tmp_path / "rd.yaml", steps=10, batch_size=2, workers=0, threads=1, warmup=1,
                       checkpoint_every=5, render_root=str(tmp_path), render_depth_weight=1.0)
    assert load_train_config(tmp_path / "rd.yaml").loss["render_depth_weight"] == 1.0
    tools.write_config("depth", tmp_path / "rs.yaml", steps=10, batch_size=2, workers=0, threads=1, warmup=1,
                       checkpoint_every=5, render_root=str(tmp_path), render_seqs=["01", "11"])
    srcs = load_train_config(tmp_path / "rs.yaml").data["sources"]
    assert [s["sequences"] for s in srcs if s.get("path") == str(tmp_path)] == [["01", "11"]]
    tools.write_config("depth", tmp_path / "rv.yaml", steps=10, batch_size=2, workers=0, threads=1, warmup=1,
                       checkpoint_every=5, render_root=str(tmp_path), render_depth_weight=1.0,
                       render_depth_variance_weight=0.5)
    assert load_train_config(tmp_path / "rv.yaml").loss["render_depth_variance_weight"] == 0.5
    with pytest.raises(ValueError, match="depth task only"):
        tools.write_config("keypoints", tmp_path / "k.yaml", steps=10, batch_size=2, workers=0, threads=1, warmup=1,
                           checkpoint_every=5, render_root=str(tmp_path), render_depth_weight=1.0)


def test_plan_steps_fills_the_time_left(tmp_path):
    tools = _tools()
    (tmp_path / "summary.json").write_text(json.dumps({"step": 30, "wall_time_s": 15.0}))
    plan = tools.plan_steps(tmp_path, probe_wall_s=40.0, seconds_left=300.0, margin_s=20.0)
    assert plan["step_s"] == pytest.approx(0.5) and plan["overhead_s"] == pytest.approx(25.0)
    assert plan["steps"] == int((300 - 25 - 20) / 0.5)
    assert tools.plan_steps(tmp_path, probe_wall_s=40.0, seconds_left=30.0)["steps"] == 0


def test_plan_steps_uses_the_steady_rate_of_the_probe(tmp_path):
    """The first steps carry CUDA start-up: the step time is the rate between the logged rows."""
    tools = _tools()
    (tmp_path / "summary.json").write_text(json.dumps({"step": 20, "wall_time_s": 10.0}))
    (tmp_path / "metrics.csv").write_text("step,wall_s,loss\n10,8.0,0.1\n20,10.0,0.1\n")
    plan = tools.plan_steps(tmp_path, probe_wall_s=15.0, seconds_left=300.0, margin_s=20.0, steady_safety=1.0)
    # start-up outside the loop (15 - 10 s) + the first 10 steps' warm-up beyond the steady rate (8 - 10 x 0.2 s)
    assert plan["step_s"] == pytest.approx(0.2) and plan["overhead_s"] == pytest.approx(11.0)
    assert plan["steps"] == int((300 - 11 - 20) / 0.2)
    (tmp_path / "metrics.csv").write_text("step,wall_s,loss\n10,8.0,0.1\n")  # one row: whole-run mean
    assert tools.plan_steps(tmp_path, probe_wall_s=15.0, seconds_left=300.0)["step_s"] == pytest.approx(0.5)


def test_script_is_valid_bash_and_needs_out_without_dry_run():
    script = REPO / "bench" / "gpu_session.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    res = subprocess.run(["bash", str(script)], cwd=REPO, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert res.returncode != 0 and "OUT must name the output folder" in res.stderr
