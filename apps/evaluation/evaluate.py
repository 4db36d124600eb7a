"""Score one estimated trajectory against ground truth: KITTI t_rel/r_rel, ATE, RPE.

Order of operations (``evaluate_trajectory``):

1. association: by time (evo ``associate_trajectories``) when both timestamp arrays are given,
   else by index, which requires equal counts, except that with ``truncate_gt=True`` a longer
   ground truth is cut to its first N poses (KITTI pose files cover the whole drive; an estimate
   of the first N frames pairs with the first N poses). The default is strict (no truncation): an
   estimate that silently lost frames would otherwise be scored against the wrong poses.
2. ``max_frames``: keep only the first M associated pairs (e.g. the 300 development frames).
3. alignment (``apps.evaluation.alignment``), fitted on the pairs kept.
4. metrics on the aligned estimate: KITTI devkit t_rel [%] / r_rel [deg/100 m] with the per-length
   breakdown, ATE (translation APE RMSE, m), RPE over 1 frame (translation RMSE m, rotation RMSE deg),
   the local scale over 100 m windows of path (``apps.evaluation.scale_drift``).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from evo.core import metrics

from apps.evaluation.alignment import ALIGN_MODES, Alignment, align_trajectory, associate_by_time, to_evo
from apps.evaluation.error_split import error_split
from apps.evaluation.kitti_metric import (ARITHMETICS, DEG_PER_RAD, KITTI_LENGTHS_M, KITTI_STEP_FRAMES, KittiErrors,
                                          kitti_errors)
from apps.evaluation.scale_drift import ScaleDrift, scale_drift
from apps.io.poses import check_poses

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EvaluateOptions:
    """How to score a trajectory (defaults: KITTI devkit metric after KP3D's scale-only alignment)."""

    align: str = "scale"                  # "none" | "scale" | "se3" | "sim3"
    lengths: tuple[int, ...] = KITTI_LENGTHS_M  # KITTI segment lengths, metres
    step: int = KITTI_STEP_FRAMES         # segment start stride, frames
    truncate_gt: bool = False             # by-index: allow a longer GT, use its first N poses
    max_frames: int | None = None         # score only the first M associated frames (None: all)
    max_time_diff: float = 0.01           # time association tolerance, seconds
    arithmetic: str = "devkit"            # "devkit" (float32, bit-exact) | "float64"
    deg_per_rad: float = DEG_PER_RAD      # r_rel conversion (KP3D's stats files used 57.3)
    error_split: bool = False             # also score the estimate with each part of its frame-to-frame
                                          # motion taken from the ground truth (apps.evaluation.error_split)

    def check(self) -> "EvaluateOptions":
        if self.align not in ALIGN_MODES:
            raise ValueError(f"align: expected one of {ALIGN_MODES}, got {self.align!r}")
        if self.arithmetic not in ARITHMETICS:
            raise ValueError(f"arithmetic: expected one of {ARITHMETICS}, got {self.arithmetic!r}")
        if self.max_frames is not None and (isinstance(self.max_frames, bool)
                                            or int(self.max_frames) != self.max_frames
                                            or self.max_frames < 2):
            raise ValueError(f"max_frames: expected an integer >= 2 or None, got {self.max_frames!r}")
        if not (self.max_time_diff > 0 and math.isfinite(self.max_time_diff)):
            raise ValueError(f"max_time_diff: expected a positive number of seconds, "
                             f"got {self.max_time_diff!r}")
        if isinstance(self.step, bool) or int(self.step) != self.step or self.step < 1:
            raise ValueError(f"step: expected a positive integer, got {self.step!r}")
        if not self.lengths or any(not (float(x) > 0) for x in self.lengths):
            raise ValueError(f"lengths: expected positive metres, got {self.lengths!r}")
        if not (self.deg_per_rad > 0):
            raise ValueError(f"deg_per_rad: expected a positive number, got {self.deg_per_rad!r}")
        return self


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """Scores of one trajectory.

    t_rel: KITTI translation error, % (NaN when the trajectory is shorter than every segment).
    r_rel: KITTI rotation error, deg/100 m (NaN likewise).
    ate_rmse: translation APE RMSE after alignment, metres.
    rpe_trans_rmse: RPE (1 frame) translation RMSE after alignment, metres.
    rpe_rot_rmse: RPE (1 frame) rotation-angle RMSE, degrees (evo's definition, see
        ``rpe_rotation_rmse_deg``).
    scale: scale of the alignment (1.0 for "none"/"se3").
    local_scale: estimated / true path length over 100 m windows of path after the alignment
        (``apps.evaluation.scale_drift``; percentiles and the worst window), None on a shorter path.
    align: alignment mode used; alignment: the full Alignment.
    n_frames: associated frames scored; n_gt_poses / n_est_poses: poses in the inputs.
    kitti: KittiErrors (per-length breakdown, used/skipped lengths).
    est_aligned_world_from_cam / gt_world_from_cam: (n_frames, 4, 4) float64 poses scored.
    timestamps: (n_frames,) float64 seconds of the scored frames, or None when unknown.
    """

    t_rel: float
    r_rel: float
    ate_rmse: float
    rpe_trans_rmse: float
    rpe_rot_rmse: float
    scale: float
    align: str
    n_frames: int
    n_gt_poses: int
    n_est_poses: int
    association: str
    kitti: KittiErrors
    alignment: Alignment = dataclasses.field(repr=False)
    gt_world_from_cam: np.ndarray = dataclasses.field(repr=False, compare=False)
    est_aligned_world_from_cam: np.ndarray = dataclasses.field(repr=False, compare=False)
    timestamps: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)
    name: str = ""
    gt_path: str | None = None
    est_path: str | None = None
    local_scale: ScaleDrift | None = None
    error_split: dict[str, Any] | None = None  # EvaluateOptions.error_split: apps.evaluation.error_split's dict

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN -> None). Units: t_rel %, r_rel deg/100m, ATE/RPE-trans m,
        RPE-rot deg."""
        k = self.kitti
        return {
            "name": self.name,
            "gt": self.gt_path,
            "est": self.est_path,
            "t_rel": _nan_to_none(self.t_rel),
            "r_rel": _nan_to_none(self.r_rel),
            "ate_rmse": _nan_to_none(self.ate_rmse),
            "rpe_trans_rmse": _nan_to_none(self.rpe_trans_rmse),
            "rpe_rot_rmse": _nan_to_none(self.rpe_rot_rmse),
            "scale": _nan_to_none(self.scale),
            "local_scale": None if self.local_scale is None else self.local_scale.to_dict(),
            "align": self.align,
            "association": self.association,
            "n_frames": self.n_frames,
            "n_gt_poses": self.n_gt_poses,
            "n_est_poses": self.n_est_poses,
            "n_segments": k.n_segments,
            "gt_path_length": k.gt_path_length,
            "used_lengths": list(k.used_lengths),
            "skipped_lengths": list(k.skipped_lengths),
            "per_length": {str(length): {"t_rel": e.t_rel, "r_rel": e.r_rel,
                                         "n_segments": e.n_segments}
                           for length, e in k.per_length.items()},
            "units": {"t_rel": "%", "r_rel": "deg/100m", "ate_rmse": "m", "rpe_trans_rmse": "m",
                      "rpe_rot_rmse": "deg", "local_scale": "estimated / true path length"},
            **({} if self.error_split is None else {"error_split": _split_to_json(self.error_split)}),
        }


def _split_to_json(split: dict[str, Any]) -> dict[str, Any]:
    return {name: {k: _nan_to_none(v) for k, v in scores.items()} for name, scores in split.items()}


def _split_scores(opts: EvaluateOptions):
    """``score(gt, est) -> {t_rel, r_rel, ate_rmse}`` after ``opts``' alignment, for the error split."""
    def score(gt: np.ndarray, est: np.ndarray) -> dict[str, float]:
        aligned, _ = align_trajectory(gt, est, opts.align)
        k = kitti_errors(gt, aligned, lengths=opts.lengths, step=opts.step, arithmetic=opts.arithmetic,
                         deg_per_rad=opts.deg_per_rad)
        ate = float(np.sqrt(np.mean(np.sum((aligned[:, :3, 3] - gt[:, :3, 3]) ** 2, axis=1))))
        return {"t_rel": k.t_rel, "r_rel": k.r_rel, "ate_rmse": ate}
    return score


def associate_poses(gt: np.ndarray, est: np.ndarray, gt_timestamps, est_timestamps,
                    opts: EvaluateOptions, gt_name: str, est_name: str):
    """Pair ground-truth and estimated poses: the one rule of ``evaluate`` and ``plot``.

    By time when both timestamp arrays are given, else by index: equal counts, or a longer ground
    truth cut to its first N poses only with ``opts.truncate_gt``; anything else is a ValueError
    naming both. Returns (gt (M,4,4), est (M,4,4), timestamps (M,) | None, association description).
    """
    if gt_timestamps is not None and est_timestamps is not None:
        stamps, gt_m, est_m = associate_by_time(gt_timestamps, gt, est_timestamps, est,
                                           max_diff=opts.max_time_diff)
        desc = f"time (max diff {opts.max_time_diff} s): {gt_m.shape[0]} pairs"
        if gt_m.shape[0] < min(gt.shape[0], est.shape[0]):
            logger.warning("time association of %s and %s: %d of %d estimated poses matched",
                           gt_name, est_name, gt_m.shape[0], est.shape[0])
        return gt_m, est_m, stamps, desc
    n_gt, n_est = gt.shape[0], est.shape[0]
    if n_gt == n_est:
        return gt, est, None, f"index: {n_est} frames"
    if n_gt > n_est and opts.truncate_gt:
        logger.info("using the first %d of %d ground-truth poses of %s (truncate_gt)",
                    n_est, n_gt, gt_name)
        return gt[:n_est], est, None, f"index: first {n_est} of {n_gt} ground-truth poses"
    hint = (" (pass truncate_gt / --truncate-gt to score against the first "
            f"{n_est} ground-truth poses)" if n_gt > n_est else
            " (an estimate cannot have more poses than the ground truth)")
    raise ValueError(f"pose count mismatch: ground truth {gt_name} has {n_gt} poses, estimate "
                     f"{est_name} has {n_est}{hint}")


def _rmse(metric: metrics.PE) -> float:
    return float(metric.get_statistic(metrics.StatisticsType.rmse))


def rotation_angle_rad(rotation: np.ndarray) -> np.ndarray:
    """Angles (M,) float64 radians of (M, 3, 3) rotations, ``atan2(|axis part|, cos part)``:
    accurate for tiny angles and tolerant of slightly non-orthonormal input."""
    skew = rotation - np.swapaxes(rotation, 1, 2)
    sin_part = 0.5 * np.linalg.norm(np.stack([skew[:, 2, 1], skew[:, 0, 2], skew[:, 1, 0]], 1), axis=1)
    cos_part = 0.5 * (np.trace(rotation, axis1=1, axis2=2) - 1.0)
    return np.arctan2(sin_part, cos_part)


def rpe_rotation_rmse_deg(gt: np.ndarray, est: np.ndarray, delta: int = 1) -> float:
    """RMSE (degrees) of the rotation angle of evo's RPE error ``inv(inv(G_i) G_j) inv(E_i) E_j``,
    j = i + delta. Same definition as evo's ``RPE(rotation_angle_deg)``, vectorised; evo's version
    rejects the slightly non-orthonormal rotations of published trajectory files (is_so3 check).
    gt, est: (N, 4, 4) float64."""
    rel_gt = np.linalg.solve(gt[:-delta], gt[delta:])
    rel_est = np.linalg.solve(est[:-delta], est[delta:])
    err = np.linalg.solve(rel_gt, rel_est)
    return float(np.degrees(np.sqrt(np.mean(rotation_angle_rad(err[:, :3, :3]) ** 2))))


def evaluate_trajectory(
    gt: np.ndarray,
    est: np.ndarray,
    align: str = "scale",
    timestamps: np.ndarray | None = None,
    lengths: Sequence[int] = KITTI_LENGTHS_M,
    step: int = KITTI_STEP_FRAMES,
    *,
    gt_timestamps: np.ndarray | None = None,
    est_timestamps: np.ndarray | None = None,
    options: EvaluateOptions | None = None,
    gt_name: str = "gt",
    est_name: str = "est",
    name: str = "",
) -> EvaluationResult:
    """Score an estimated trajectory against ground truth. Inputs are never modified.

    gt: (N, 4, 4) float64 ground-truth world_from_cam; est: (M, 4, 4) float64 estimate.
    align: "none" | "scale" | "se3" | "sim3" (ignored when ``options`` is given).
    timestamps: optional (M,) seconds of the index-associated frames (kept in the result).
    lengths, step: KITTI segment lengths (m) and stride (frames) (ignored when ``options`` given).
    gt_timestamps, est_timestamps: when both are given, poses are associated by time.
    options: full EvaluateOptions (truncate_gt, max_frames, arithmetic, ...).
    gt_name, est_name: labels (file paths) used in error messages.
    """
    opts = (options or EvaluateOptions(align=align, lengths=tuple(lengths), step=step)).check()
    gt_arr = check_poses(gt, f"ground truth {gt_name}", min_poses=1, rigid=True)
    est_arr = check_poses(est, f"estimate {est_name}", min_poses=1, rigid=True)
    gt_m, est_m, stamps, association = associate_poses(gt_arr, est_arr, gt_timestamps, est_timestamps,
                                                        opts, gt_name, est_name)
    if timestamps is not None and stamps is None:
        stamps = np.array(timestamps, dtype=np.float64).reshape(-1)
        if stamps.shape[0] != est_m.shape[0]:
            raise ValueError(f"timestamps: {stamps.shape[0]} values for {est_m.shape[0]} "
                             f"associated poses of {est_name}")
    if opts.max_frames is not None and est_m.shape[0] > opts.max_frames:
        gt_m, est_m = gt_m[: opts.max_frames], est_m[: opts.max_frames]
        stamps = None if stamps is None else stamps[: opts.max_frames]
        association += f", first {opts.max_frames} kept"
    if est_m.shape[0] < 2:
        raise ValueError(f"{est_name}: only {est_m.shape[0]} associated pose(s), need at least 2")

    est_aligned, alignment = align_trajectory(gt_m, est_m, opts.align)
    kitti = kitti_errors(gt_m, est_aligned, lengths=opts.lengths, step=opts.step,
                         arithmetic=opts.arithmetic, deg_per_rad=opts.deg_per_rad)

    pair = (to_evo(gt_m, name=gt_name), to_evo(est_aligned, name=est_name))  # copies
    ape = metrics.APE(metrics.PoseRelation.translation_part)
    ape.process_data(pair)
    rpe_t = metrics.RPE(metrics.PoseRelation.translation_part, delta=1,
                        delta_unit=metrics.Unit.frames)
    rpe_t.process_data(pair)

    return EvaluationResult(
        t_rel=kitti.t_rel, r_rel=kitti.r_rel, ate_rmse=_rmse(ape),
        rpe_trans_rmse=_rmse(rpe_t), rpe_rot_rmse=rpe_rotation_rmse_deg(gt_m, est_aligned), scale=alignment.scale,
        align=opts.align, n_frames=int(est_m.shape[0]), n_gt_poses=int(gt_arr.shape[0]),
        n_est_poses=int(est_arr.shape[0]), association=association, kitti=kitti,
        alignment=alignment, gt_world_from_cam=gt_m, est_aligned_world_from_cam=est_aligned,
        timestamps=stamps, name=name, local_scale=scale_drift(gt_m, est_aligned),
        error_split=error_split(gt_m, est_aligned, _split_scores(opts)) if opts.error_split else None,
    )


def evaluate_covered(gt: np.ndarray, est: np.ndarray, align: str = "scale", *,
                     timestamps: np.ndarray | None = None) -> EvaluationResult:
    """Score a run's estimate against its sequence's frame-indexed ground truth, which may cover only
    part of the frames (NaN rows: ``apps.io.ground_truth``; EuRoC's motion capture starts after the camera).

    gt: (N, 4, 4) float64 world_from_cam, row i = frame i, N >= M; est: (M, 4, 4) float64, row i = frame i.
    timestamps: optional (M,) seconds of the frames. The covered frames among the first M are scored
    (at least 2). With ``align`` "none" / "scale", when the first covered ground-truth pose is not the
    identity (a ground truth in its own world, a motion-capture room's, or one starting after the first
    frame), both trajectories are first taken relative to that frame; KITTI's first pose is the identity
    and is scored as it is (the same numbers as ``evaluate_trajectory``, the KP3D protocol).
    ``association`` names the coverage when frames are left out.
    """
    from apps.io.ground_truth import describe_coverage, gt_covered

    est_arr = check_poses(est, "estimate", min_poses=1, rigid=True)
    gt_arr = np.asarray(gt, dtype=np.float64)
    if gt_arr.ndim != 3 or gt_arr.shape[1:] != (4, 4) or gt_arr.shape[0] < est_arr.shape[0]:
        raise ValueError(f"ground truth: expected ({est_arr.shape[0]}+, 4, 4) poses for {est_arr.shape[0]} frames, "
                         f"got shape {gt_arr.shape}")
    covered = gt_covered(gt_arr[: est_arr.shape[0]])
    idx = np.flatnonzero(covered)
    if idx.size < 2:
        raise ValueError(f"ground truth covers {describe_coverage(covered)}: need at least 2 to score")
    gt_m, est_m = gt_arr[idx], est_arr[idx]
    if align in ("none", "scale") and not np.allclose(gt_m[0], np.eye(4), rtol=0.0, atol=1e-6):
        gt_m = np.linalg.inv(gt_m[0]) @ gt_m
        est_m = np.linalg.inv(est_m[0]) @ est_m
    stamps = None if timestamps is None else np.asarray(timestamps, np.float64).reshape(-1)[idx]
    result = evaluate_trajectory(gt_m, est_m, align=align, timestamps=stamps)
    if idx.size == covered.size:
        return result
    return dataclasses.replace(result, association=f"{result.association} with ground truth on "
                                                   f"{describe_coverage(covered)}")


def evaluate_files(
    gt_path: str | os.PathLike,
    est_path: str | os.PathLike,
    options: EvaluateOptions | None = None,
    *,
    gt_times: str | os.PathLike | None = None,
    name: str | None = None,
    body_from_cam: np.ndarray | None = None,
) -> EvaluationResult:
    """Read two trajectory files (KITTI 12 columns, TUM 8 columns, EuRoC CSV) and score them.

    Poses are associated by time when both carry timestamps (TUM / EuRoC files, or a KITTI ground truth
    with ``gt_times`` = its times.txt and a TUM estimate), else by index. ``body_from_cam`` ``(4, 4)``:
    the camera's pose on the body whose poses an EuRoC ground truth gives (its ``T_BS``); the ground
    truth then becomes the camera's. Errors name the files.
    """
    from apps.io.ground_truth import read_ground_truth  # lazy: keeps this module light to import
    from apps.io.kitti_format import read_times
    from apps.io.trajectory import read_trajectory

    opts = (options or EvaluateOptions()).check()
    if body_from_cam is None:
        gt_t, gt = read_trajectory(gt_path)  # as it is (EuRoC's body poses too, as evo_ape euroc)
    else:
        gt_t, gt = read_ground_truth(gt_path, body_from_cam)
    est_t, est = read_trajectory(est_path)
    if gt_times is not None:
        gt_t = read_times(gt_times)
        if gt_t.shape[0] < gt.shape[0]:
            raise ValueError(f"{gt_times}: {gt_t.shape[0]} timestamps for {gt.shape[0]} poses "
                             f"in {gt_path}")
        gt_t = gt_t[: gt.shape[0]]
    if (gt_t is None) != (est_t is None):
        logger.info("only one of %s and %s has timestamps: associating by index", gt_path, est_path)
    result = evaluate_trajectory(
        gt, est, gt_timestamps=gt_t, est_timestamps=est_t, options=opts,
        gt_name=str(gt_path), est_name=str(est_path),
        name=name if name is not None else Path(est_path).stem)
    return dataclasses.replace(result, gt_path=str(gt_path), est_path=str(est_path))
