"""Camera trajectories for the synthetic renderer (KITTI convention: x right, y down, z forward).

All functions return ``world_from_cam: (N, 4, 4) float64``; the world frame is the first camera
frame (as in KITTI pose files), so the road lies at y = +camera_height below the first camera.
Generated kinds drive on a road along arc length ``s``: the heading turns with a curvature
profile ``kappa(s)`` (1/m, positive = turning right, i.e. towards +x), and frames are taken at
a speed in metres per frame (KITTI: ~1 m/frame at 10 Hz).
"""
from __future__ import annotations

import os

import numpy as np

TRAJECTORY_KINDS = ("straight", "turns", "kitti-like", "loop")
_DS = 0.05  # integration step along the path, metres


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _smooth_noise(rng: np.random.Generator, n: int, length: float) -> np.ndarray:
    """``(n,)`` zero-mean unit-std noise smoothed with a Gaussian of ``length`` samples."""
    pad = int(4 * length) + 1
    white = rng.standard_normal(n + 2 * pad)
    k = np.exp(-0.5 * (np.arange(-pad, pad + 1) / max(length, 1e-6)) ** 2)
    out = np.convolve(white, k / k.sum(), mode="same")[pad:pad + n]
    return out / max(out.std(), 1e-12)


def _drive(kappa: np.ndarray, s_frames: np.ndarray, grade: np.ndarray | None = None,
           pitch: np.ndarray | None = None, roll: np.ndarray | None = None) -> np.ndarray:
    """Integrate a curvature profile sampled every ``_DS`` m and take frames at arc lengths ``s_frames``.

    kappa, grade: ``(M,)`` per integration step (grade = rise per metre, uphill positive);
    pitch, roll: ``(N,)`` extra camera rotation per frame in radians. Returns ``(N, 4, 4)``.
    """
    heading = np.concatenate([[0.0], np.cumsum(kappa * _DS)])[:-1]
    x = np.concatenate([[0.0], np.cumsum(np.sin(heading) * _DS)])[:-1]
    z = np.concatenate([[0.0], np.cumsum(np.cos(heading) * _DS)])[:-1]
    g = np.zeros_like(kappa) if grade is None else grade
    y = -np.concatenate([[0.0], np.cumsum(g * _DS)])[:-1]
    s_grid = np.arange(kappa.size) * _DS
    psi = np.interp(s_frames, s_grid, heading)
    rot = _rot_y(psi) @ _rot_x(np.arctan(np.interp(s_frames, s_grid, g)))
    if pitch is not None:
        rot = rot @ _rot_x(pitch)
    if roll is not None:
        rot = rot @ _rot_z(roll)
    poses = np.tile(np.eye(4), (s_frames.size, 1, 1))
    poses[:, :3, :3] = rot
    poses[:, :3, 3] = np.stack([np.interp(s_frames, s_grid, c) for c in (x, y, z)], -1)
    # Re-express relative to the first frame so the first pose is the identity.
    return np.linalg.inv(poses[0]) @ poses


def _turns_kappa(rng: np.random.Generator, length: float) -> np.ndarray:
    """Straight stretches of 30-80 m joined by 90-degree turns of radius 12-20 m."""
    kappa = []
    total = 0.0
    while total < length:
        straight = rng.uniform(30.0, 80.0)
        radius = rng.uniform(12.0, 20.0)
        arc = 0.5 * np.pi * radius
        sign = rng.choice([-1.0, 1.0])
        kappa.append(np.zeros(int(straight / _DS)))
        kappa.append(np.full(int(round(arc / _DS)), sign / radius))
        total += straight + arc
    return np.concatenate(kappa)


def _loop_kappa(perimeter: float) -> np.ndarray:
    """A closed rounded rectangle (clockwise seen from above, i.e. turning right) of ``perimeter`` m."""
    radius = float(np.clip(perimeter / 16.0, 5.0, 15.0))
    straight = max(0.0, perimeter - 2.0 * np.pi * radius) / 2.0
    if straight == 0.0:
        radius = perimeter / (2.0 * np.pi)
    long_side, short_side = 0.65 * straight, 0.35 * straight
    arc = int(round(0.5 * np.pi * radius / _DS))
    parts = []
    for side in (long_side, short_side, long_side, short_side):
        parts += [np.zeros(int(round(side / _DS))), np.full(arc, 1.0 / radius)]
    return np.concatenate(parts)


def make_trajectory(kind: str, n_frames: int, seed: int = 0, speed: float = 1.0) -> np.ndarray:
    """A synthetic driving trajectory, ``(n_frames, 4, 4) float64`` world_from_cam (first = identity).

    kind: ``"straight"`` (constant speed along +z), ``"turns"`` (straight stretches with 90-degree
    turns of 12-20 m radius), ``"kitti-like"`` (smoothly varying curvature and speed with small
    pitch/roll vibration and road grade), ``"loop"`` (a closed rounded rectangle whose perimeter
    is ``n_frames * speed``, so the last frame is one step before the start).
    speed: metres per frame (mean speed for ``"kitti-like"``). seed: randomness of the profile.
    """
    if kind not in TRAJECTORY_KINDS:
        raise ValueError(f"trajectory kind must be one of {', '.join(TRAJECTORY_KINDS)}, got {kind!r}")
    if int(n_frames) < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if not np.isfinite(speed) or speed <= 0:
        raise ValueError(f"speed must be a positive number of metres per frame, got {speed}")
    n = int(n_frames)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7A7]))
    if kind == "straight":
        s = np.arange(n) * speed
        return _drive(np.zeros(int(s[-1] / _DS) + 2), s)
    if kind == "turns":
        s = np.arange(n) * speed
        return _drive(_turns_kappa(rng, s[-1] + 1.0), s)
    if kind == "loop":
        perimeter = n * speed
        kappa = _loop_kappa(perimeter)
        s = np.arange(n) * (kappa.size * _DS / n)
        return _drive(kappa, s)
    # kitti-like: speed 0.55..1.45 x mean, curvature mostly gentle with occasional bends.
    v = speed * (1.0 + 0.3 * np.tanh(_smooth_noise(rng, n, 25.0)))
    s = np.concatenate([[0.0], np.cumsum(v[:-1])])
    m = int(s[-1] / _DS) + 2
    bends = _smooth_noise(rng, m, 15.0 / _DS)
    kappa = 0.012 * bends + 0.05 * np.tanh(2.0 * np.maximum(np.abs(bends) - 1.2, 0.0)) * np.sign(bends)
    grade = 0.02 * _smooth_noise(rng, m, 40.0 / _DS)
    pitch = np.deg2rad(0.4) * _smooth_noise(rng, n, 2.0)
    roll = np.deg2rad(0.3) * _smooth_noise(rng, n, 3.0)
    return _drive(kappa, s, grade=grade, pitch=pitch, roll=roll)


def load_kitti_trajectory(path: str | os.PathLike, n_frames: int | None = None, start: int = 0,
                          stride: int = 1, rebase: bool = True) -> np.ndarray:
    """Poses ``start, start+stride, ...`` (at most ``n_frames``) of a KITTI pose file.

    Returns ``(N, 4, 4) float64`` world_from_cam; with ``rebase`` they are re-expressed relative to
    the first selected frame (first pose = identity, as in KITTI files).
    """
    from apps.io.trajectory import check_poses, read_kitti_poses

    if start < 0 or stride < 1:
        raise ValueError(f"start must be >= 0 and stride >= 1, got start={start}, stride={stride}")
    if n_frames is not None and n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    from apps.synth.sequence import RENDER_ROTATION_TOL

    poses = check_poses(read_kitti_poses(path), str(path), rigid=True, rotation_tol=RENDER_ROTATION_TOL)
    if start >= len(poses):
        raise ValueError(f"start frame {start} is beyond the {len(poses)} poses in {path}")
    poses = poses[start::stride]
    if n_frames is not None:
        if n_frames > len(poses):
            raise ValueError(f"{path} has only {len(poses)} poses from frame {start} with stride {stride}, "
                             f"{n_frames} requested")
        poses = poses[:n_frames]
    if rebase:
        poses = np.linalg.inv(poses[0]) @ poses
    return poses


def smooth_road_profile(world_from_cam: np.ndarray, sigma_m: float = 20.0) -> np.ndarray:
    """Camera heights along a recorded path smoothed so that the road laid under it is smooth.

    The renderer lays the road ``camera_height`` under the camera path (along the mean camera y
    axis, "down"). A recorded ground truth such as KITTI's (GPS/INS) wiggles vertically by 1-6 cm
    over 5-10 m (KITTI 08 frames 500-799: 3.0 cm std about its 5 m Gaussian average), which that
    road turns into bumps of a few % grade: the camera's height above the road plane 6-12 m ahead,
    measured on the rendered depth, then scatters by 6.7 % (log std; 1.29-2.16 m for 1.65 m), far
    more than a car's suspension allows; with the default smoothing 2.6 %, most of it in sharp turns
    where that patch leaves the road. Here each camera's position along "down" is replaced by a
    Gaussian average over the travelled distance (``sigma_m`` metres; the path's linear trend is
    kept exactly, so constant grades are unchanged); horizontal positions and orientations are kept.

    Args:
        world_from_cam: ``(N, 4, 4) float64`` poses, N >= 1.
        sigma_m: Gaussian standard deviation in metres of travelled distance (> 0).

    Returns:
        ``(N, 4, 4) float64`` poses; the input is not modified.
    """
    from scipy.ndimage import gaussian_filter1d

    poses = np.array(world_from_cam, dtype=np.float64, copy=True)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4) or len(poses) == 0:
        raise ValueError(f"world_from_cam must be a non-empty (N, 4, 4) array, got shape {poses.shape}")
    if not (np.isfinite(sigma_m) and sigma_m > 0.0):
        raise ValueError(f"sigma_m must be a positive number of metres, got {sigma_m}")
    down = poses[:, :3, 1].mean(axis=0)
    down /= np.linalg.norm(down)
    t = poses[:, :3, 3]
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(t, axis=0), axis=1))])
    if s[-1] <= 0.0:
        return poses
    grid = np.linspace(0.0, s[-1], int(np.ceil(s[-1] / min(0.25, sigma_m / 8.0))) + 1)
    step = grid[1] - grid[0]
    # np.interp needs increasing abscissae: a standing camera's repeated distances map to its last sample.
    _, last = np.unique(s[::-1], return_index=True)
    keep = len(s) - 1 - last
    h = t @ down
    h_grid = np.interp(grid, s[keep], h[keep])
    trend = np.polyfit(grid, h_grid, 1)
    detrended = h_grid - np.polyval(trend, grid)
    smoothed = gaussian_filter1d(detrended, sigma_m / step, mode="reflect") + np.polyval(trend, grid)
    h_new = np.interp(s, grid, smoothed)
    poses[:, :3, 3] = t + np.outer(h_new - h, down)
    return poses


def level_revisits(world_from_cam: np.ndarray, sigma_m: float = 8.0, min_separation_m: float = 60.0) -> np.ndarray:
    """Camera heights made to agree where a recorded path passes the same place twice.

    A GPS/INS ground truth drifts vertically over a drive: KITTI 08 passes frames 220-255's street
    again from frame ~1560 about 2 m lower. The renderer lays each pass's road ``camera_height`` under
    its cameras and the ground between streets at the nearest pass's height, so one pass then drives
    under the other's ground. Here each camera's height along "down" becomes a weighted mean of its
    own height and the heights of the cameras of other passes nearby: weights ``exp(-d^2 / 2 sigma^2)``
    of the horizontal distance ``d``, other passes being cameras more than ``min_separation_m`` of travel
    away, the camera's own weight the sum of the weights of its own pass's neighbours. Where two passes
    overlap both get their mean height; away from other passes nothing changes; the transition is as
    wide as the passes take to separate by ~2 sigma. Horizontal positions and orientations are kept.

    Args:
        world_from_cam: ``(N, 4, 4) float64`` poses, N >= 1.
        sigma_m: horizontal Gaussian standard deviation in metres (> 0).
        min_separation_m: travelled distance beyond which a camera belongs to another pass (> 0).

    Returns:
        ``(N, 4, 4) float64`` poses; the input is not modified.
    """
    from scipy.spatial import cKDTree

    poses = np.array(world_from_cam, dtype=np.float64, copy=True)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4) or len(poses) == 0:
        raise ValueError(f"world_from_cam must be a non-empty (N, 4, 4) array, got shape {poses.shape}")
    for name, value in (("sigma_m", sigma_m), ("min_separation_m", min_separation_m)):
        if not (np.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be a positive number of metres, got {value}")
    down = poses[:, :3, 1].mean(axis=0)
    down /= np.linalg.norm(down)
    t = poses[:, :3, 3]
    h = t @ down
    horizontal = t - np.outer(h, down)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(t, axis=0), axis=1))])
    tree = cKDTree(horizontal)
    h_new = h.copy()
    for i, near in enumerate(tree.query_ball_point(horizontal, 3.0 * sigma_m)):
        near = np.asarray(near, dtype=np.int64)
        w = np.exp(-0.5 * (np.linalg.norm(horizontal[near] - horizontal[i], axis=1) / sigma_m) ** 2)
        other = np.abs(s[near] - s[i]) > min_separation_m
        if not other.any():
            continue
        own_weight = w[~other].sum()  # includes the camera itself (weight 1)
        h_new[i] = (own_weight * h[i] + w[other] @ h[near[other]]) / (own_weight + w[other].sum())
    poses[:, :3, 3] = t + np.outer(h_new - h, down)
    return poses
