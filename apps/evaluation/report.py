"""Human- and machine-readable reports of evaluation results: text tables, JSON, CSV, markdown.

Writers are atomic (``apps.io.atomic``). Units: t_rel %, r_rel deg/100 m, ATE / RPE-trans metres,
RPE-rot degrees.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any, Sequence

from apps.evaluation.batch import MEAN_KEYS, BatchResult
from apps.evaluation.evaluate import EvaluationResult
from apps.evaluation.kitti_metric import KITTI_LENGTHS_M
from apps.io.atomic import atomic_write_text


def _fmt(x: float | None, digits: int) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _lengths_text(lengths: Sequence[int]) -> str:
    return " ".join(str(x) for x in lengths) if lengths else "none"


def _lengths_m_text(lengths: Sequence[int]) -> str:
    """``"100 200 m"``, or ``"none"`` (no unit) when there are none."""
    return f"{_lengths_text(lengths)} m" if lengths else "none"


def kitti_summary_line(result: EvaluationResult) -> str:
    """``t_rel 1.19 %   r_rel 0.26 deg/100m   (KITTI devkit metric, N segments; lengths used ...)``."""
    k = result.kitti
    if k.n_segments == 0:
        return (f"t_rel / r_rel n/a: the {k.gt_path_length:.1f} m ground-truth path is shorter than "
                f"every KITTI segment length ({_lengths_m_text(k.skipped_lengths)} skipped)")
    return (f"t_rel {_fmt(result.t_rel, 2)} %   r_rel {_fmt(result.r_rel, 2)} deg/100m   "
            f"(KITTI devkit metric, {k.n_segments} segments; lengths used: "
            f"{_lengths_m_text(k.used_lengths)}; skipped (trajectory too short): "
            f"{_lengths_m_text(k.skipped_lengths)})")


def format_result(result: EvaluationResult) -> str:
    """Per-length breakdown table followed by the summary lines of one trajectory."""
    k = result.kitti
    lines = []
    if result.est_path or result.gt_path:
        lines.append(f"estimate:     {result.est_path}")
        lines.append(f"ground truth: {result.gt_path}")
    lines.append(f"frames: {result.n_frames} ({result.association}); align: {result.align} "
                 f"(scale {result.scale:.6f})")
    lines.append("")
    lines.append(f"{'length [m]':>10}  {'segments':>8}  {'t_rel [%]':>9}  {'r_rel [deg/100m]':>16}")
    for length, e in k.per_length.items():
        lines.append(f"{length:>10d}  {e.n_segments:>8d}  {e.t_rel:>9.3f}  {e.r_rel:>16.3f}")
    lines.append(f"{'all':>10}  {k.n_segments:>8d}  {_fmt(result.t_rel, 3):>9}  "
                 f"{_fmt(result.r_rel, 3):>16}")
    lines.append("")
    lines.append(kitti_summary_line(result))
    lines.append(f"ATE RMSE {_fmt(result.ate_rmse, 4)} m   RPE (1 frame) RMSE "
                 f"{_fmt(result.rpe_trans_rmse, 4)} m / {_fmt(result.rpe_rot_rmse, 4)} deg")
    ls = result.local_scale
    if ls is not None:
        lines.append(f"local scale over {ls.window_m:.0f} m of path (estimated / true length): p5 {ls.p5:.3f}   "
                     f"median {ls.median:.3f}   p95 {ls.p95:.3f}   worst {ls.worst:.3f}   ({ls.n_windows} windows)")
    if result.error_split is not None:
        lines += [""] + format_error_split(result.error_split)
    return "\n".join(lines) + "\n"


_SPLIT_ROWS = (("estimated", "as estimated"), ("gt_rotation", "true rotation (our translation)"),
               ("gt_translation", "true translation (our rotation)"),
               ("gt_length", "true step length (our rotation, direction)"),
               ("gt_direction", "true step direction (our rotation, length)"))


def format_error_split(split: dict) -> list[str]:
    """Lines of the error split table (``apps.evaluation.error_split``)."""
    lines = ["error split: each part of the frame-to-frame motion from the ground truth in turn",
             f"{'':44}{'t_rel [%]':>10}{'r_rel':>8}{'ATE [m]':>9}"]
    for key, label in _SPLIT_ROWS:
        s = split[key]
        lines.append(f"{label:44}{_fmt(s['t_rel'], 3):>10}{_fmt(s['r_rel'], 3):>8}{_fmt(s['ate_rmse'], 3):>9}")
    f = split["per_frame"]
    lines.append("per frame: rotation error mean / std [deg] pitch {:+.3f} / {:.3f}, yaw {:+.3f} / {:.3f}, roll {:+.3f} / "
                 "{:.3f}; translation direction error median {:.2f} deg; length ratio median {:.3f}, IQR {:.3f}".format(
                     f["rot_mean_deg_x"], f["rot_std_deg_x"], f["rot_mean_deg_y"], f["rot_std_deg_y"],
                     f["rot_mean_deg_z"], f["rot_std_deg_z"], f["direction_error_deg_median"],
                     f["length_ratio_median"], f["length_ratio_iqr"]))
    if "rot_sum_deg_x" in f:
        lines.append("accumulated over the frames [deg]: pitch {:+.2f}, yaw {:+.2f}, roll {:+.2f}".format(
            f["rot_sum_deg_x"], f["rot_sum_deg_y"], f["rot_sum_deg_z"]))
    if "roll_per_yaw" in f:
        lines.append("camera frame tilted (x axis) against the truth's: roll error per radian of true yaw {:+.4f}, "
                     "motion's elevation error {:+.3f} deg (both ~ theta for a tilt theta); yaw error per radian "
                     "of yaw {:+.4f}".format(f["roll_per_yaw"], f["up_direction_error_deg_mean"], f["yaw_per_yaw"]))
    return lines


_BATCH_COLUMNS = (  # header, attribute, digits
    ("t_rel[%]", "t_rel", 2), ("r_rel[deg/100m]", "r_rel", 2), ("ATE[m]", "ate_rmse", 3),
    ("RPE_t[m]", "rpe_trans_rmse", 4), ("RPE_r[deg]", "rpe_rot_rmse", 4),
)


def _batch_rows(batch: BatchResult) -> tuple[list[str], list[list[str]]]:
    header = ["sequence", "frames", "align", "scale", *(c[0] for c in _BATCH_COLUMNS), "scale100m p5-p95",
              "lengths[m]"]
    rows = []
    for r in batch.results:
        ls = r.local_scale
        rows.append([r.name, str(r.n_frames), r.align, f"{r.scale:.4f}",
                     *(_fmt(getattr(r, attr), d) for _, attr, d in _BATCH_COLUMNS),
                     "-" if ls is None else f"{ls.p5:.3f}-{ls.p95:.3f}",
                     _lengths_text(r.kitti.used_lengths).replace(" ", ",")])
    n = len(batch.results)
    rows.append([f"mean ({n})", "", "", "",
                 *(_fmt(batch.mean[attr], d) for _, attr, d in _BATCH_COLUMNS), "", ""])
    return header, rows


def format_batch(batch: BatchResult) -> str:
    """One table over all sequences with a mean row (plain mean over sequences)."""
    header, rows = _batch_rows(batch)
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    out = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    for row in rows:
        if row[0].startswith("mean"):
            out.append("-" * len(out[0]))
        out.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    counts = batch.mean_counts
    out.append(f"means over sequences: t_rel/r_rel over {counts['t_rel']} sequence(s) with at least "
               f"one KITTI segment, ATE/RPE over {counts['ate_rmse']}")
    for name, message in batch.failures:
        out.append(f"FAILED {name}: {message}")
    return "\n".join(out) + "\n"


def format_markdown(batch_or_result: BatchResult | EvaluationResult) -> str:
    """Markdown table: per sequence + mean for a batch, per length + all for one result."""
    if isinstance(batch_or_result, EvaluationResult):
        r = batch_or_result
        lines = ["| length [m] | segments | t_rel [%] | r_rel [deg/100m] |", "|---:|---:|---:|---:|"]
        for length, e in r.kitti.per_length.items():
            lines.append(f"| {length} | {e.n_segments} | {e.t_rel:.3f} | {e.r_rel:.3f} |")
        lines.append(f"| **all** | {r.kitti.n_segments} | **{_fmt(r.t_rel, 2)}** | "
                     f"**{_fmt(r.r_rel, 2)}** |")
        lines.append("")
        lines.append(f"align: {r.align} (scale {r.scale:.4f}); ATE RMSE {_fmt(r.ate_rmse, 3)} m; "
                     f"skipped lengths: {_lengths_text(r.kitti.skipped_lengths)}")
        return "\n".join(lines) + "\n"
    header, rows = _batch_rows(batch_or_result)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for row in rows:
        cells = [f"**{c}**" if row[0].startswith("mean") and c else c for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_json(batch_or_result: BatchResult | EvaluationResult) -> str:
    """JSON text (NaN written as null)."""
    return json.dumps(batch_or_result.to_dict(), indent=2, allow_nan=False) + "\n"


def _csv_row(r: EvaluationResult, lengths: Sequence[int]) -> dict[str, Any]:
    d = r.to_dict()
    row = {k: d[k] for k in ("name", "gt", "est", "align", "n_frames", "scale", *MEAN_KEYS,
                              "n_segments")}
    row["used_lengths"] = " ".join(map(str, d["used_lengths"]))
    row["skipped_lengths"] = " ".join(map(str, d["skipped_lengths"]))
    for length in lengths:
        e = r.kitti.per_length.get(length)
        row[f"t_rel_{length}m"] = None if e is None else e.t_rel
        row[f"r_rel_{length}m"] = None if e is None else e.r_rel
    return row


def to_csv(batch_or_result: BatchResult | EvaluationResult) -> str:
    """CSV text: one row per trajectory (per-length columns empty where skipped); a batch adds a
    ``mean`` row."""
    results = (batch_or_result.results if isinstance(batch_or_result, BatchResult)
               else [batch_or_result])
    lengths = sorted({length for r in results for length in r.kitti.per_length} | set(KITTI_LENGTHS_M))
    rows = [_csv_row(r, lengths) for r in results]
    fields = list(rows[0]) if rows else ["name", *MEAN_KEYS]
    if isinstance(batch_or_result, BatchResult):
        rows.append({"name": "mean", **batch_or_result.mean})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def write_json(path: str | os.PathLike, batch_or_result: BatchResult | EvaluationResult) -> None:
    atomic_write_text(path, to_json(batch_or_result))


def write_csv(path: str | os.PathLike, batch_or_result: BatchResult | EvaluationResult) -> None:
    atomic_write_text(path, to_csv(batch_or_result))


def write_markdown(path: str | os.PathLike, batch_or_result: BatchResult | EvaluationResult) -> None:
    atomic_write_text(path, format_markdown(batch_or_result))
