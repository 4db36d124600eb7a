"""Trajectory plots against ground truth with evo (top-down xz, xyz over time, local scale, APE along the path),
and a run's per-frame log (tracking RMSE, points, PnP) over the frames.

Library entry points: :func:`plot_trajectories`, :func:`plot_frame_log`. Figures are drawn on Agg canvases created here
(no pyplot state, no global backend switch), and every file is written atomically.
Poses are ``world_from_cam`` ``(N, 4, 4) float64``; pose ``i`` of an estimate corresponds to
pose ``i`` of the ground truth (KITTI convention: one pose per frame, same frames).
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from apps.io.atomic import atomic_open
from apps.io.poses import check_poses

logger = logging.getLogger(__name__)

ALIGN_MODES = ("scale", "none", "se3", "sim3")
FORMATS = ("png", "pdf", "svg")
GT_COLOR = "#444444"
PNG_DPI = 150


def match_gt_length(gt: np.ndarray, est: np.ndarray, gt_name: str, est_name: str) -> np.ndarray:
    """The ground-truth poses matching ``est`` frame by frame.

    A shorter estimate is compared with the first ``len(est)`` GT poses (GT files often cover
    the whole sequence; logged at INFO); a longer one is a ValueError naming both.
    """
    if len(est) > len(gt):
        raise ValueError(f"{est_name} has {len(est)} poses, more than the {len(gt)} poses of {gt_name}; "
                         "they must describe the same frames")
    if len(est) < len(gt):
        logger.info("%s has %d poses, %s has %d: using the first %d ground-truth poses",
                    est_name, len(est), gt_name, len(gt), len(est))
    return gt[: len(est)]


def aligned_ape(gt: np.ndarray, est: np.ndarray, align: str = "scale") -> tuple[np.ndarray, np.ndarray, float]:
    """Align ``est`` to ``gt`` (both (N, 4, 4), same frames) and measure its translation error.

    Alignment is ``apps.evaluation.alignment.align_trajectory`` (evo Umeyama on copies; "scale"
    also works for straight, collinear paths). Inputs are not modified.
    Returns (aligned estimate (N, 4, 4) float64, APE translation errors (N,) float64 metres,
    scale factor applied (1.0 for "none"/"se3")). Raises ValueError for a degenerate estimate.
    """
    from apps.evaluation.alignment import align_trajectory

    aligned, alignment = align_trajectory(gt, est, align)
    return aligned, ape_translation(gt, aligned), float(alignment.scale)


def ape_translation(gt: np.ndarray, est_aligned: np.ndarray) -> np.ndarray:
    """Per-pose translation error ``|t_est - t_gt|`` (N,) float64 metres (evo APE, translation part)."""
    from evo.core import metrics
    from evo.core.trajectory import PosePath3D

    ape = metrics.APE(metrics.PoseRelation.translation_part)
    ape.process_data((PosePath3D(poses_se3=list(np.array(gt, copy=True))),
                      PosePath3D(poses_se3=list(np.array(est_aligned, copy=True)))))
    return np.asarray(ape.error, dtype=np.float64)


def _check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """``formats`` as a tuple; ValueError unless it is a non-empty subset of :data:`FORMATS`."""
    formats = tuple(formats)
    if not formats or any(f not in FORMATS for f in formats):
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {list(formats)}")
    return formats


def _safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "run"


def _save(fig, out_dir: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # Agg canvas for this figure only (no global backend change)
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format=fmt, dpi=PNG_DPI, bbox_inches=None)  # constrained layout already fits
        written.append(path)
    return written


def _path(poses: np.ndarray, timestamps: np.ndarray | None):
    from evo.core.trajectory import PosePath3D, PoseTrajectory3D

    if timestamps is None:
        return PosePath3D(poses_se3=list(np.array(poses, copy=True)))
    return PoseTrajectory3D(poses_se3=list(np.array(poses, copy=True)), timestamps=np.array(timestamps[: len(poses)]))


def _xz_axis(fig, subplot=111):
    ax = fig.add_subplot(subplot)
    ax.set_xlabel("$x$ (m)")
    ax.set_ylabel("$z$ (m)")
    return ax


def plot_trajectories(gt: np.ndarray, estimates: Mapping[str, np.ndarray], out_dir: str | os.PathLike,
                      align: str = "scale", formats: Sequence[str] = ("png", "pdf"), *,
                      timestamps: np.ndarray | None = None, title: str | None = None) -> list[Path]:
    """Plot one or more estimated trajectories against ground truth; returns the written files.

    gt: (N, 4, 4) float64 ground-truth ``world_from_cam``.
    estimates: label -> (N_i, 4, 4) estimated ``world_from_cam`` with N_i <= N (the first N_i
        GT poses are used when shorter). Inputs are not modified.
    out_dir: folder for the figures (created).
    align: "scale" (default; monocular), "none", "se3" or "sim3"; each estimate is aligned to
        its GT poses with evo before plotting and scoring.
    formats: file formats among ("png", "pdf", "svg").
    timestamps: (N,) float64 seconds of the GT poses for the xyz plot's time axis (frame index without).
    title: prefix of the figure titles.
    Files (for each format): ``trajectories_xz``: top-down view (x right, z forward);
    ``trajectories_xyz``: x, y, z over time; ``local_scale``: estimated / true path length over
    100 m windows of path (only when an estimate covers 100 m; ``apps.evaluation.scale_drift``);
    ``ape_<label>``: the aligned estimate coloured by its translation error (APE) in metres, with
    the RMSE in the title.
    Raises ValueError for bad shapes/lengths/options (naming the label) or degenerate alignment.
    """
    from evo.tools import plot as evo_plot
    from matplotlib.figure import Figure

    if align not in ALIGN_MODES:
        raise ValueError(f"align must be one of {ALIGN_MODES}, got {align!r}")
    formats = _check_formats(formats)
    if not estimates:
        raise ValueError("estimates: at least one estimated trajectory is needed")
    gt = check_poses(gt, "ground truth", min_poses=2).copy()
    if timestamps is not None:
        timestamps = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        if len(timestamps) != len(gt):
            raise ValueError(f"timestamps: expected {len(gt)} values (one per GT pose), got {len(timestamps)}")
    stems = [_safe_name(label) for label in estimates]
    if len(set(stems)) != len(stems):
        raise ValueError(f"estimate labels must differ after file-name sanitising, got {list(estimates)}")

    runs = []  # (label, stem, gt prefix, aligned estimate, errors, scale)
    for (label, est), stem in zip(estimates.items(), stems):
        est = check_poses(est, f"estimate {label!r}", min_poses=2).copy()
        gt_i = match_gt_length(gt, est, "the ground truth", f"estimate {label!r}")
        try:
            aligned, errors, scale = aligned_ape(gt_i, est, align)
        except ValueError as exc:
            raise ValueError(f"estimate {label!r}: {exc}") from None
        rmse = float(np.sqrt(np.mean(errors ** 2)))
        logger.info("%s: %d poses, %s alignment (scale %.4g), APE RMSE %.3f m", label, len(est), align, scale, rmse)
        runs.append((label, stem, gt_i, aligned, errors, scale))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{title}: " if title else ""
    colors = evo_plot.color_cycle()
    n_used = max(len(r[2]) for r in runs)
    gt_path = _path(gt[:n_used], timestamps)
    written: list[Path] = []

    fig = Figure(figsize=(7, 6), layout="constrained")
    ax = _xz_axis(fig)
    evo_plot.traj(ax, evo_plot.PlotMode.xz, gt_path, "--", GT_COLOR, "ground truth")
    for i, (label, _, _, aligned, _, _) in enumerate(runs):
        evo_plot.traj(ax, evo_plot.PlotMode.xz, _path(aligned, None), "-", colors[i % len(colors)], label,
                      plot_start_end_markers=True)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{prefix}top-down (x-z), {align} alignment")
    written += _save(fig, out_dir, "trajectories_xz", formats)

    fig = Figure(figsize=(8, 7), layout="constrained")
    axarr = fig.subplots(3, sharex=True)
    evo_plot.traj_xyz(axarr, gt_path, "--", GT_COLOR, "ground truth")
    for i, (label, _, _, aligned, _, _) in enumerate(runs):
        evo_plot.traj_xyz(axarr, _path(aligned, timestamps), "-", colors[i % len(colors)], label)
    axarr[0].set_title(f"{prefix}position over time, {align} alignment")
    written += _save(fig, out_dir, "trajectories_xyz", formats)

    written += _plot_local_scale(runs, out_dir, formats, prefix, colors)

    for label, stem, gt_i, aligned, errors, scale in runs:
        fig = Figure(figsize=(7, 6), layout="constrained")
        ax = _xz_axis(fig)
        evo_plot.traj(ax, evo_plot.PlotMode.xz, _path(gt_i, None), "--", GT_COLOR, "ground truth")
        lo, hi = float(errors.min()), float(errors.max())
        rmse = float(np.sqrt(np.mean(errors ** 2)))
        evo_plot.traj_colormap(ax, _path(aligned, None), errors, evo_plot.PlotMode.xz, min_map=lo,
                               max_map=max(hi, lo + 1e-9), fig=fig,
                               title=f"{prefix}{label}: APE (m), RMSE {rmse:.3f} m, {align} alignment"
                                     + (f" (scale {scale:.3g})" if align in ("scale", "sim3") else ""))
        ax.set_aspect("equal", adjustable="datalim")
        written += _save(fig, out_dir, f"ape_{stem}", formats)
    return written


def _plot_local_scale(runs, out_dir: Path, formats: Sequence[str], prefix: str, colors) -> list[Path]:
    """``local_scale``: each aligned estimate's path length / the true one over 100 m windows of path,
    against the distance along the ground truth (window centres); nothing when no run is that long."""
    from matplotlib.figure import Figure

    from apps.evaluation.scale_drift import DEFAULT_WINDOW_M, path_distances, scale_drift_ratios

    curves = []
    for i, (label, _, gt_i, aligned, _, _) in enumerate(runs):
        ratios = scale_drift_ratios(gt_i, aligned, DEFAULT_WINDOW_M)
        if ratios.size:
            centres = path_distances(gt_i)[: ratios.size] + DEFAULT_WINDOW_M / 2
            curves.append((label, colors[i % len(colors)], centres, ratios))
    if not curves:
        return []
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.add_subplot(111)
    ax.axhline(1.0, color=GT_COLOR, linestyle="--", linewidth=1.0, label="no scale drift")
    for label, color, centres, ratios in curves:
        ax.plot(centres, ratios, "-", color=color, label=label)
    ax.set_xlabel(f"distance along the ground truth (m), centre of a {DEFAULT_WINDOW_M:.0f} m window")
    ax.set_ylabel("estimated / true path length")
    ax.set_title(f"{prefix}local scale over {DEFAULT_WINDOW_M:.0f} m of path")
    ax.legend(loc="best")
    ax.grid(True, alpha=0.3)
    return _save(fig, out_dir, "local_scale", formats)



# frame statuses shaded behind the frame log's panels (tracked and keyframe frames are not shaded)
_STATUS_SHADES = {"initializing": ("#bbbbbb", "initialising"), "lost": ("#e06666", "lost"),
                  "recovered": ("#f6b26b", "recovered"), "skipped": ("#222222", "skipped (unreadable)")}


def plot_frame_log(rows: Sequence[Mapping[str, object]], out_dir: str | os.PathLike,
                   formats: Sequence[str] = ("png", "pdf"), *, title: str | None = None) -> list[Path]:
    """``frames``: a run's per-frame log (``apps.pipeline.outputs.read_frame_log`` rows, or ``RunResult.frame_log``)
    over the input frames: the tracker's photometric RMSE (grey levels); active and candidate points; the
    tracked rotation against the constant-velocity prediction (deg) and, where the PnP pose started the
    tracker, its inliers. Frames that were not tracked are shaded by status; keyframes are ticks at the top.
    Returns the written files; ValueError for no rows, a row without frame / status, or bad formats.
    """
    from matplotlib.figure import Figure

    formats = _check_formats(formats)
    if not rows:
        raise ValueError("frame log: no rows to plot")
    if any(r.get("frame") is None or r.get("status") is None for r in rows):
        raise ValueError("frame log: every row needs its 'frame' and 'status'")

    def column(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) in (None, "") else float(r[key]) for r in rows], np.float64)

    frames = column("frame")
    status = [str(r["status"]) for r in rows]
    fig = Figure(figsize=(9, 7), layout="constrained")
    ax_rmse, ax_pts, ax_rot = fig.subplots(3, sharex=True)
    for ax in (ax_rmse, ax_pts, ax_rot):
        for name, (color, label) in _STATUS_SHADES.items():
            idx = frames[[s == name for s in status]]
            for i, f in enumerate(idx):
                ax.axvspan(f - 0.5, f + 0.5, color=color, alpha=0.35, linewidth=0,
                           label=label if ax is ax_rmse and i == 0 else None)
        ax.grid(True, alpha=0.3)
    tracked = np.array([s in ("tracked", "keyframe") for s in status])
    rmse = np.where(tracked, column("tracking_rmse"), np.nan)
    ax_rmse.plot(frames, rmse, "-", color="#1f77b4", linewidth=1.0, label="tracking RMSE")
    keyframes = frames[[s == "keyframe" for s in status]]
    if keyframes.size:
        ax_rmse.plot(keyframes, np.full(keyframes.size, 1.0), "|", color="#2ca02c", markersize=6,
                     transform=ax_rmse.get_xaxis_transform(), clip_on=False, label="keyframe")
    ax_rmse.set_ylabel("RMSE (grey levels)")
    ax_rmse.legend(loc="upper left", fontsize="small", ncols=3)
    ax_pts.plot(frames, column("active_points"), "-", color="#9467bd", label="active points")
    ax_pts.plot(frames, column("immature_points"), "-", color="#bcbd22", linewidth=0.8, label="candidates")
    ax_pts.set_ylabel("points")
    ax_pts.legend(loc="upper left", fontsize="small")
    rot = column("rotation_change_deg")
    ax_rot.plot(frames, np.where(rot >= 0, rot, np.nan), "-", color="#d62728", linewidth=1.0,
                label="rotation vs prediction")
    ax_rot.set_ylabel("rotation (deg)")
    ax_rot.set_xlabel("input frame")
    inliers = column("pnp_inliers")
    if np.isfinite(inliers).any():
        twin = ax_rot.twinx()
        twin.plot(frames, inliers, ".", color="#7f7f7f", markersize=2, label="PnP inliers")
        twin.set_ylabel("PnP inliers")
        twin.legend(loc="upper right", fontsize="small")
    ax_rot.legend(loc="upper left", fontsize="small")
    n_kf = int(keyframes.size)
    lost = sum(s == "lost" for s in status)
    ax_rmse.set_title(f"{title + ': ' if title else ''}{len(rows)} frames, {n_kf} keyframes, {lost} lost")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _save(fig, out_dir, "frames", formats)
