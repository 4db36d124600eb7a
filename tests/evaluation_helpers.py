"""Synthetic trajectories with known geometry for the evaluation tests."""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def rot_y(angle_rad: float) -> np.ndarray:
    """(3, 3) rotation about the camera y axis (yaw for KITTI's y-down camera)."""
    return Rotation.from_rotvec([0.0, angle_rad, 0.0]).as_matrix()


def straight(n_frames: int, step_m: float = 1.0) -> np.ndarray:
    """(N, 4, 4) world_from_cam driving straight along +z, ``step_m`` metres per frame."""
    poses = np.tile(np.eye(4), (n_frames, 1, 1))
    poses[:, 2, 3] = step_m * np.arange(n_frames)
    return poses


def curvy(n_frames: int, seed: int = 0) -> np.ndarray:
    """(N, 4, 4) KITTI-like drive: ~1 m/frame, smoothly varying yaw, small pitch and height."""
    rng = np.random.default_rng(seed)
    yaw_rate = 0.02 * np.sin(np.linspace(0, 6 * np.pi, n_frames) + rng.uniform(0, 6))
    yaw = np.cumsum(yaw_rate)
    pitch = 0.01 * np.sin(np.linspace(0, 4 * np.pi, n_frames))
    poses = np.tile(np.eye(4), (n_frames, 1, 1))
    poses[:, :3, :3] = Rotation.from_euler("YX", np.stack([yaw, pitch], axis=1)).as_matrix()
    forward = poses[:, :3, 2] * (1.0 + 0.2 * rng.uniform(size=(n_frames, 1)))
    poses[1:, :3, 3] = np.cumsum(forward[:-1], axis=0)
    return poses


def apply_sim3(poses: np.ndarray, scale: float, rotation: np.ndarray, translation) -> np.ndarray:
    """Poses seen in another world: rotations ``R @ R_k``, positions ``s R p_k + t``."""
    out = poses.copy()
    out[:, :3, :3] = rotation @ poses[:, :3, :3]
    out[:, :3, 3] = scale * poses[:, :3, 3] @ rotation.T + np.asarray(translation)
    return out
