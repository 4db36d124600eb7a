"""Where a trajectory's error comes from: each part of its frame-to-frame motion replaced by the truth's.

The estimate's relative poses ``cam_prev_from_cam_cur`` are chained again with one part taken from the
ground truth's relative pose of the same frames, and every variant is scored like the estimate (KITTI
t_rel / r_rel, ATE after the same alignment):

* ``gt_rotation``: the truth's rotation (what is left: our translation, length and direction);
* ``gt_translation``: the truth's translation vector (left: our rotation);
* ``gt_length``: the truth's translation length, our direction (left: rotation and direction);
* ``gt_direction``: the truth's translation direction, our length (left: rotation and the per-frame scale).

A variant whose error drops most names the part to fix first; the parts interact, so the drops do not add
up. Also per frame: the rotation error about the camera's x (pitch), y (yaw) and z (roll) axes in degrees,
the angle between our translation direction and the truth's, and the ratio of our translation length to the
truth's (after the alignment's scale). Pure numpy on ``(N, 4, 4)`` float64 ``world_from_cam`` arrays,
associated frame by frame; nothing here reads files.
"""
from __future__ import annotations

import numpy as np

PARTS = ("rotation", "translation", "length", "direction")
#: ground-truth steps shorter than this (metres) carry no direction: left out of the per-frame statistics
MIN_STEP_M = 0.05


def relative_poses(world_from_cam: np.ndarray) -> np.ndarray:
    """``(N, 4, 4)`` world_from_cam -> ``(N-1, 4, 4)`` cam_prev_from_cam_cur of consecutive frames."""
    T = np.asarray(world_from_cam, dtype=np.float64)
    return np.linalg.inv(T[:-1]) @ T[1:]


def chain(first_world_from_cam: np.ndarray, rels: np.ndarray) -> np.ndarray:
    """``(N, 4, 4)`` world_from_cam from the first pose and ``(N-1, 4, 4)`` cam_prev_from_cam_cur."""
    out = np.empty((len(rels) + 1, 4, 4))
    out[0] = first_world_from_cam
    for i, rel in enumerate(rels):
        out[i + 1] = out[i] @ rel
    return out


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12), n


def substitute(rels: np.ndarray, gt_rels: np.ndarray, part: str) -> np.ndarray:
    """Copy of ``rels (K, 4, 4)`` with ``part`` (one of ``PARTS``) taken from ``gt_rels (K, 4, 4)``."""
    if part not in PARTS:
        raise ValueError(f"error split: part must be one of {PARTS}, got {part!r}")
    out = np.array(rels, dtype=np.float64, copy=True)
    t, t_gt = out[:, :3, 3], np.asarray(gt_rels, np.float64)[:, :3, 3]
    if part == "rotation":
        out[:, :3, :3] = gt_rels[:, :3, :3]
    elif part == "translation":
        out[:, :3, 3] = t_gt
    elif part == "length":
        direction, _ = _unit(t)
        out[:, :3, 3] = direction * np.linalg.norm(t_gt, axis=1, keepdims=True)
    else:  # direction
        direction_gt, _ = _unit(t_gt)
        out[:, :3, 3] = direction_gt * np.linalg.norm(t, axis=1, keepdims=True)
    return out


def _slope(y: np.ndarray, x: np.ndarray) -> float:
    """Least-squares slope of ``y`` on ``x`` through the origin; NaN when ``x`` is all zero."""
    xx = float(np.sum(x * x))
    return float(np.sum(x * y) / xx) if xx > 0 else float("nan")


def per_frame_errors(gt_rels: np.ndarray, rels: np.ndarray) -> dict[str, float]:
    """Per-frame statistics of ``rels`` against ``gt_rels`` (both ``(K, 4, 4)``, the estimate aligned).

    ``rot_mean_deg_{x,y,z}`` / ``rot_std_deg_{x,y,z}``: rotation error ``R_gt^T R`` as a rotation vector in
    the camera frame (x pitch, y yaw, z roll), degrees; ``rot_sum_deg_{x,y,z}``: its sum over the frames, the
    drift accumulated about the camera's own axes (e.g. a roll error made in every turn, which becomes a pitch
    error of the absolute orientation after the turn); ``direction_error_deg_median``; ``length_ratio_median``
    and ``length_ratio_iqr`` (our / true translation length). Frames whose true step is under ``MIN_STEP_M``
    are left out of the translation statistics.

    Two readings of a camera frame tilted about its x axis against the truth's (an estimate seen through a
    principal point off by ``d`` pixels vertically is one, tilted by about ``d / fy`` radians):
    ``roll_per_yaw``, the least-squares slope of each frame's roll error on its true yaw (radians per radian;
    a yaw about a tilted axis has a roll part), and ``up_direction_error_deg_mean``, the mean difference of
    the direction of motion's elevation ``atan2(-t_y, t_z)`` (a forward motion in a tilted frame climbs or
    sinks). For a frame tilted by ``theta`` both are ``theta`` (the second in degrees); ``yaw_per_yaw`` is the
    slope of the yaw error on the true yaw (a yaw gain; e.g. a focal length off)."""
    import cv2

    rot = np.array([cv2.Rodrigues(g[:3, :3].T @ r[:3, :3])[0].reshape(3) for r, g in zip(rels, gt_rels)])
    rot = np.degrees(rot.reshape(-1, 3))
    d, n = _unit(np.asarray(rels, np.float64)[:, :3, 3])
    d_gt, n_gt = _unit(np.asarray(gt_rels, np.float64)[:, :3, 3])
    moving = n_gt[:, 0] > MIN_STEP_M
    angle = np.degrees(np.arccos(np.clip(np.sum(d * d_gt, axis=1), -1.0, 1.0)))[moving]
    ratio = (n[:, 0] / np.maximum(n_gt[:, 0], 1e-12))[moving]
    q25, q50, q75 = np.percentile(ratio, [25, 50, 75]) if len(ratio) else (np.nan,) * 3
    out = {f"rot_mean_deg_{a}": float(rot[:, k].mean()) for k, a in enumerate("xyz")}
    out.update({f"rot_sum_deg_{a}": float(rot[:, k].sum()) for k, a in enumerate("xyz")})
    out.update({f"rot_std_deg_{a}": float(rot[:, k].std()) for k, a in enumerate("xyz")})
    out.update(direction_error_deg_median=float(np.median(angle)) if len(angle) else float("nan"),
               length_ratio_median=float(q50), length_ratio_iqr=float(q75 - q25))
    yaw = np.array([cv2.Rodrigues(g[:3, :3])[0][1, 0] for g in gt_rels])
    out.update(roll_per_yaw=_slope(np.radians(rot[:, 2]), yaw), yaw_per_yaw=_slope(np.radians(rot[:, 1]), yaw))
    t, t_gt = np.asarray(rels, np.float64)[moving, :3, 3], np.asarray(gt_rels, np.float64)[moving, :3, 3]
    up = np.degrees(np.arctan2(-t[:, 1], t[:, 2]) - np.arctan2(-t_gt[:, 1], t_gt[:, 2]))
    out["up_direction_error_deg_mean"] = float(np.mean(up)) if len(up) else float("nan")
    return out


def error_split(gt_world_from_cam: np.ndarray, est_world_from_cam: np.ndarray, score) -> dict:
    """The estimate and its four substituted variants scored by ``score``, plus per-frame statistics.

    gt_world_from_cam, est_world_from_cam: ``(N, 4, 4)`` float64, associated frame by frame, the estimate
    already aligned (so that its per-frame lengths are comparable). ``score(gt, est) -> dict`` scores one
    trajectory (e.g. t_rel, r_rel, ate_rmse after the evaluation's alignment). Returns ``{"estimated": ...,
    "gt_rotation": ..., "gt_translation": ..., "gt_length": ..., "gt_direction": ..., "per_frame": {...}}``.
    """
    gt = np.asarray(gt_world_from_cam, np.float64)
    est = np.asarray(est_world_from_cam, np.float64)
    if gt.shape != est.shape or gt.ndim != 3 or gt.shape[1:] != (4, 4) or len(gt) < 2:
        raise ValueError(f"error split: expected two (N, 4, 4) trajectories with N >= 2 of equal length, got "
                         f"{gt.shape} and {est.shape}")
    rels, gt_rels = relative_poses(est), relative_poses(gt)
    out = {"estimated": score(gt, est)}
    for part in PARTS:
        out[f"gt_{part}"] = score(gt, chain(est[0], substitute(rels, gt_rels, part)))
    out["per_frame"] = per_frame_errors(gt_rels, rels)
    return out
