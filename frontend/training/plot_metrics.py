"""Training curves: a run's ``metrics.csv`` (and ``validation.csv`` when present) -> one PNG.

    python -m frontend.training.plot_metrics RUN_DIR [RUN_DIR ...] [--out FILE.png]

Every numeric column except ``step``/``wall_s`` gets its own panel against the step: the logged values
(thin) and their moving average (thick), so a reader sees whether a run still improves. Columns of
``validation.csv`` (held-out metrics, e.g. depth AbsRel on a render) are drawn with markers.
The trainer calls :func:`plot_run` at every checkpoint (``RUN_DIR/metrics.png``).
"""
from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np

from frontend.common.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)
SKIP_COLUMNS = ("step", "wall_s", "skipped")


def read_metrics(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Columns of a metrics CSV as float64 arrays (non-numeric cells -> NaN); needs a ``step`` column."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"metrics file {p} not found (expected RUN_DIR/metrics.csv written by kp3d-vo train)")
    with open(p, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "step" not in rows[0]:
        raise ValueError(f"{p}: expected a CSV with a header containing 'step' and at least one row")

    def num(v: str | None) -> float:
        try:
            return float(v) if v not in (None, "") else math.nan
        except ValueError:
            return math.nan

    return {k: np.array([num(r.get(k)) for r in rows]) for k in rows[0]}


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` samples (NaNs ignored), same length as ``values``."""
    out = np.full(len(values), np.nan)
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1):i + 1]
        chunk = chunk[np.isfinite(chunk)]
        if len(chunk):
            out[i] = chunk.mean()
    return out


def plot_run(run_dirs: list[str | os.PathLike] | str | os.PathLike, out_path: str | os.PathLike | None = None,
             window: int = 20, columns: list[str] | None = None) -> Path:
    """Draw the curves of one or more runs (same task) into ``out_path`` (default RUN_DIR/metrics.png).

    Returns the PNG path. Raises FileNotFoundError/ValueError for a missing or malformed metrics.csv.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    dirs = [Path(d) for d in (run_dirs if isinstance(run_dirs, (list, tuple)) else [run_dirs])]
    if not dirs:
        raise ValueError("plot_run: no run directory given")
    train = {d: read_metrics(d / "metrics.csv") for d in dirs}
    val = {d: read_metrics(d / "validation.csv") for d in dirs if (d / "validation.csv").is_file()}
    names: list[tuple[str, str]] = []
    for source, tables in (("train", train), ("val", val)):
        for table in tables.values():
            for k in table:
                if k not in SKIP_COLUMNS and (columns is None or k in columns) and (source, k) not in names:
                    names.append((source, k))
    if not names:
        raise ValueError(f"plot_run: no metric columns to plot in {', '.join(map(str, dirs))}")
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 2.8 * nrows), dpi=100)
    for i, (source, key) in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        for j, d in enumerate(dirs):
            table = (train if source == "train" else val).get(d)
            if table is None or key not in table:
                continue
            colour = f"C{j}"
            label = d.name if len(dirs) > 1 else None
            if source == "val":
                ax.plot(table["step"], table[key], "o-", color=colour, ms=3, label=label)
            else:
                ax.plot(table["step"], table[key], color=colour, alpha=0.25, lw=0.7)
                ax.plot(table["step"], moving_average(table[key], window), color=colour, lw=1.6, label=label)
        positive = [t[key][np.isfinite(t[key])] for t in (train if source == "train" else val).values() if key in t]
        if key != "lr" and positive and all(len(v) and v.min() > 0 for v in positive):
            vals = np.concatenate(positive)
            if vals.max() / vals.min() > 20:
                ax.set_yscale("log")
        ax.set_title(f"{'validation: ' if source == 'val' else ''}{key}", fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if label is not None and i == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(out_path) if out_path else dirs[0] / "metrics.png"
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(out, buf.getvalue())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frontend.training.plot_metrics", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories (each with metrics.csv)")
    parser.add_argument("--out", help="PNG file (default: FIRST_RUN/metrics.png)")
    parser.add_argument("--window", type=int, default=20, help="moving-average window in logged rows (default 20)")
    parser.add_argument("--columns", nargs="+", help="only these metric columns")
    args = parser.parse_args(argv)
    try:
        print(plot_run(args.runs, args.out, args.window, args.columns))
    except (FileNotFoundError, ValueError) as exc:
        print(f"plot_metrics: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
