"""bench/path_renders.py: path specs, the table's means over seeds, and bad input."""
from __future__ import annotations

import pytest

from bench_helpers import load_bench


def test_path_specs():
    m = load_bench("path_renders")
    assert m.parse_path("01") == ("01", 0, None, "01")
    assert m.parse_path("08:0:1550") == ("08", 0, 1550, "08_0_1550")
    assert m.parse_path("08:100") == ("08", 100, None, "08_100_all")
    for bad in ("", ":3", "08:x", "08:0:1", "08:-1:10", "08:0:10:5"):
        with pytest.raises(ValueError, match="--paths"):
            m.parse_path(bad)


def _row(seq, mode, seed, t_rel, p5, p95):
    return {"sequence": seq, "mode": mode, "seed": seed, "frames": 1101, "keyframes": 500 + seed, "t_rel": t_rel,
            "r_rel": 0.1, "rpe_trans_rmse": 0.05, "ate_rmse": 3.0, "cpu_s": 90.0,
            "local_scale": {"p5": p5, "p95": p95}}


def test_table_means_over_seeds():
    m = load_bench("path_renders")
    rows = [_row("01", "dsdso", 0, 0.8, 0.96, 1.04), _row("01", "dsdso", 1, 1.0, 0.94, 1.06),
            _row("01", "dso", 0, 4.4, 0.80, 1.30)]
    lines = m.table(rows).splitlines()
    assert len(lines) == 4  # header, rule, one line per (path, mode)
    dsdso = next(line for line in lines if "| dsdso |" in line)
    assert "| 2 | 1101 | 500 | 0.90 |" in dsdso and "0.950-1.050" in dsdso
    assert "| dso | 1 |" in next(line for line in lines if "| dso |" in line)


def test_missing_pose_file_is_a_clear_error(tmp_path, capsys):
    m = load_bench("path_renders")
    assert m.main(["--renders", str(tmp_path / "r"), "--poses-dir", str(tmp_path), "--paths", "42"]) == 2
    assert "no KITTI pose file" in capsys.readouterr().err


def test_traffic_renders_have_their_own_names_and_flags():
    m = load_bench("path_renders")
    assert m.traffic_args(0, False) == ((), "")
    assert m.traffic_args(6, True) == (("--traffic", "6", "--lead-car"), "_t6l")
    assert m.traffic_args(0, True) == (("--lead-car",), "_l")
    with pytest.raises(ValueError, match="--traffic"):
        m.traffic_args(-1, False)
