"""Trajectory alignment through evo (Umeyama), never modifying the caller's arrays.

Modes (``ALIGN_MODES``):

* ``"none"``  – the estimate is used as it is.
* ``"scale"`` – KP3D's protocol for monocular VO: a Sim(3) Umeyama fit of the estimated positions
  to the ground-truth positions, of which only the scale is applied (evo's
  ``correct_only_scale=True``): every estimated translation is multiplied by ``s``, rotations and
  the origin stay. For a degenerate (collinear, e.g. a straight drive) trajectory, where evo
  refuses the fit, the same Umeyama scale ``trace(D)/sigma_x`` is computed directly.
* ``"se3"``   – rigid Umeyama fit (rotation + translation), applied.
* ``"sim3"``  – similarity Umeyama fit (scale + rotation + translation), applied.

evo 1.38's ``PosePath3D.align`` and ``main_ape.ape`` / ``main_rpe.rpe`` change the trajectories
passed to them in place; everything here works on deep copies.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
from evo.core import geometry, lie_algebra, sync
from evo.core.trajectory import PosePath3D, PoseTrajectory3D

from apps.io.poses import check_poses

logger = logging.getLogger(__name__)

ALIGN_MODES: tuple[str, ...] = ("none", "scale", "se3", "sim3")


@dataclasses.dataclass(frozen=True)
class Alignment:
    """A similarity ``x -> scale * rotation @ x + translation`` applied to the estimate's world.

    mode: one of ``ALIGN_MODES``.
    rotation: (3, 3) float64; translation: (3,) float64 metres; scale: float (1.0 = none).
    For mode ``"scale"`` rotation is identity and translation zero.
    """

    mode: str
    rotation: np.ndarray
    translation: np.ndarray
    scale: float

    @property
    def matrix(self) -> np.ndarray:
        """(4, 4) float64 Sim(3) matrix of the alignment."""
        return lie_algebra.sim3(self.rotation, self.translation, self.scale)

    def apply(self, world_from_cam: np.ndarray) -> np.ndarray:
        """Aligned copy of (N, 4, 4) poses: rotations ``R_a @ R``, positions ``s R_a t + t_a``."""
        poses = check_poses(world_from_cam, "world_from_cam", min_poses=1, rigid=True).copy()
        poses[:, :3, 3] = self.scale * poses[:, :3, 3] @ self.rotation.T + self.translation
        poses[:, :3, :3] = self.rotation @ poses[:, :3, :3]
        return poses


def identity_alignment() -> Alignment:
    return Alignment("none", np.eye(3), np.zeros(3), 1.0)


def to_evo(world_from_cam: np.ndarray, timestamps: np.ndarray | None = None,
           name: str | None = None) -> PosePath3D | PoseTrajectory3D:
    """evo trajectory built from a COPY of (N, 4, 4) poses (and (N,) timestamps, seconds)."""
    poses = check_poses(world_from_cam, name or "world_from_cam", min_poses=1, rigid=True).copy()
    if timestamps is None:
        return PosePath3D(poses_se3=list(poses), name=name)
    stamps = np.array(timestamps, dtype=np.float64).reshape(-1)
    if stamps.shape[0] != poses.shape[0]:
        raise ValueError(f"{name or 'trajectory'}: {stamps.shape[0]} timestamps for "
                         f"{poses.shape[0]} poses")
    return PoseTrajectory3D(poses_se3=list(poses), timestamps=stamps, name=name)


def from_evo(traj: PosePath3D) -> np.ndarray:
    """(N, 4, 4) float64 copy of an evo trajectory's poses."""
    return np.array(traj.poses_se3, dtype=np.float64)


def _umeyama_scale_degenerate(est_xyz: np.ndarray, gt_xyz: np.ndarray) -> float:
    """Umeyama's scale ``trace(D S) / sigma_x`` for collinear points (rank(cov) <= 1, S irrelevant)."""
    est_c = est_xyz - est_xyz.mean(axis=0)
    gt_c = gt_xyz - gt_xyz.mean(axis=0)
    sigma_x = float(np.mean(np.sum(est_c**2, axis=1)))
    if sigma_x <= 0.0:
        raise ValueError("alignment: the estimated positions do not move (all identical), "
                         "the scale cannot be estimated")
    if not np.any(gt_c):
        raise ValueError("alignment: the ground-truth positions do not move (all identical), "
                         "the scale cannot be estimated")
    cov = gt_c.T @ est_c / est_xyz.shape[0]
    return float(np.linalg.svd(cov, compute_uv=False).sum() / sigma_x)


def align_trajectory(gt_world_from_cam: np.ndarray, est_world_from_cam: np.ndarray,
                     mode: str = "scale", n_to_align: int = -1) -> tuple[np.ndarray, Alignment]:
    """Align an estimate to ground truth (same frames) with evo's Umeyama; inputs are untouched.

    gt_world_from_cam, est_world_from_cam: (N, 4, 4) float64, associated frame by frame.
    mode: one of ``ALIGN_MODES`` (see module docstring).
    n_to_align: fit on the first n poses only (-1: all).
    Returns (aligned estimate (N, 4, 4) float64, Alignment).
    """
    if mode not in ALIGN_MODES:
        raise ValueError(f"align: expected one of {ALIGN_MODES}, got {mode!r}")
    gt = check_poses(gt_world_from_cam, "gt_world_from_cam", min_poses=1, rigid=True)
    est = check_poses(est_world_from_cam, "est_world_from_cam", min_poses=1, rigid=True)
    if gt.shape[0] != est.shape[0]:
        raise ValueError(f"align: gt has {gt.shape[0]} poses but est has {est.shape[0]}")
    if mode == "none":
        return est.copy(), identity_alignment()
    if n_to_align != -1 and not 2 <= n_to_align <= gt.shape[0]:
        raise ValueError(f"n_to_align: expected -1 or 2..{gt.shape[0]}, got {n_to_align}")
    if gt.shape[0] < 2:
        raise ValueError(f"align={mode!r} needs at least 2 poses, got {gt.shape[0]}")
    traj_ref = to_evo(gt, name="gt")
    traj_est = to_evo(est, name="est")  # to_evo copies: evo's align() works in place
    try:
        rotation, translation, scale = traj_est.align(
            traj_ref, correct_scale=(mode == "sim3"), correct_only_scale=(mode == "scale"),
            n=n_to_align)
    except geometry.GeometryException as exc:
        if mode != "scale":
            raise ValueError(f"align={mode!r}: Umeyama alignment failed ({exc}); the trajectory is "
                             "degenerate (e.g. a straight line), use align='scale' or 'none'") from None
        n = gt.shape[0] if n_to_align == -1 else n_to_align
        scale = _umeyama_scale_degenerate(est[:n, :3, 3], gt[:n, :3, 3])
        logger.info("align='scale': collinear trajectory, Umeyama scale computed directly: %.6f",
                    scale)
        aligned = est.copy()
        aligned[:, :3, 3] *= scale
        return aligned, Alignment("scale", np.eye(3), np.zeros(3), scale)
    if mode == "scale":
        alignment = Alignment(mode, np.eye(3), np.zeros(3), float(scale))
    elif mode == "se3":
        alignment = Alignment(mode, np.asarray(rotation), np.asarray(translation), 1.0)
    else:
        alignment = Alignment(mode, np.asarray(rotation), np.asarray(translation), float(scale))
    if not (np.isfinite(alignment.scale) and alignment.scale > 0):
        raise ValueError(f"align={mode!r}: Umeyama gave an invalid scale {alignment.scale}")
    return from_evo(traj_est), alignment


def associate_by_time(gt_timestamps: np.ndarray, gt_world_from_cam: np.ndarray,
                      est_timestamps: np.ndarray, est_world_from_cam: np.ndarray,
                      max_diff: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair poses with nearest timestamps within ``max_diff`` seconds (evo ``associate_trajectories``).

    Returns (timestamps (M,) of the estimate, gt (M, 4, 4), est (M, 4, 4)); inputs are untouched.
    Raises ValueError when no timestamps match.
    """
    traj_gt = to_evo(gt_world_from_cam, gt_timestamps, name="gt")
    traj_est = to_evo(est_world_from_cam, est_timestamps, name="est")
    try:
        gt_sync, est_sync = sync.associate_trajectories(traj_gt, traj_est, max_diff=max_diff)
    except sync.SyncException as exc:
        raise ValueError(f"time association: {exc}") from None
    return np.array(est_sync.timestamps), from_evo(gt_sync), from_evo(est_sync)

