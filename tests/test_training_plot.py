"""Training curves: metrics.csv (+ validation.csv) -> PNG, the trainer's metrics.png."""
from __future__ import annotations

import numpy as np
import pytest

from frontend.training.plot_metrics import main, moving_average, plot_run, read_metrics


def _write_run(folder, steps=60, with_validation=True):
    folder.mkdir(parents=True)
    lines = ["step,wall_s,photometric,loss,lr,note"]
    for s in range(10, steps * 10 + 1, 10):
        lines.append(f"{s},{s * 0.5},{0.1 + 1 / s},{0.1 + 1 / s},{1e-4},x")
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    if with_validation:
        (folder / "validation.csv").write_text("step,abs_rel\n100,0.4\n300,0.3\n600,0.25\n")
    return folder


def test_read_metrics_and_moving_average(tmp_path):
    run = _write_run(tmp_path / "run")
    table = read_metrics(run / "metrics.csv")
    assert table["step"][0] == 10 and len(table["loss"]) == 60
    assert np.isnan(table["note"]).all()
    ma = moving_average(np.array([1.0, 3.0, np.nan, 5.0]), 2)
    assert ma.tolist() == [1.0, 2.0, 3.0, 5.0]
    with pytest.raises(FileNotFoundError, match="metrics.csv"):
        read_metrics(tmp_path / "none" / "metrics.csv")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="step"):
        read_metrics(tmp_path / "bad.csv")


def test_plot_run_writes_png(tmp_path):
    a = _write_run(tmp_path / "a")
    b = _write_run(tmp_path / "b", steps=30, with_validation=False)
    out = plot_run(a)
    assert out == a / "metrics.png" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    both = plot_run([a, b], tmp_path / "both.png", columns=["loss", "abs_rel"])
    assert both.stat().st_size > 5000
    with pytest.raises(ValueError, match="no metric columns"):
        plot_run(a, tmp_path / "x.png", columns=["missing"])
    assert main([str(a), "--out", str(tmp_path / "cli.png")]) == 0 and (tmp_path / "cli.png").is_file()
    assert main([str(tmp_path / "nothing")]) == 2
