"""Renderer-independent geometry for the viewer: frustums, view cameras, point colours, sampling.

Pure numpy (no Open3D), so it is cheap to test. Conventions: poses are ``world_from_cam``
``(4, 4) float64``; camera axes x right, y down, z forward (KITTI/OpenCV, also the convention
of Open3D's pinhole view camera, whose extrinsic is ``cam_from_world``).
"""
from __future__ import annotations

import numpy as np

from apps.io import trajectory

# Line indices of one frustum drawn from 5 points: apex, then the 4 image-plane corners
# (top-left, top-right, bottom-right, bottom-left): 4 edges from the apex + the rectangle.
_FRUSTUM_LINES = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1]], dtype=np.int32)


def check_pose(world_from_cam: np.ndarray, name: str = "world_from_cam") -> np.ndarray:
    """(4, 4) finite float64 copy of ``world_from_cam``; ValueError naming ``name`` otherwise."""
    pose = np.asarray(world_from_cam, dtype=np.float64)
    if pose.shape != (4, 4):
        raise ValueError(f"{name} must have shape (4, 4), got {pose.shape}")
    if not np.all(np.isfinite(pose)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return pose.copy()


def check_poses(world_from_cam: np.ndarray, name: str = "world_from_cam") -> np.ndarray:
    """(N, 4, 4) finite float64 copy (N may be 0); ValueError naming ``name`` otherwise."""
    return trajectory.check_poses(world_from_cam, name).copy()


def check_gt_poses(gt_world_from_cam: np.ndarray, name: str = "gt_world_from_cam") -> np.ndarray:
    """Ground truth ``(N, 4, 4)`` float64 copy whose rows may be all-NaN (frames it does not cover,
    ``apps.io.ground_truth``); the other rows must be finite (ValueError naming ``name``)."""
    arr = np.array(gt_world_from_cam, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[1:] == (4, 4):
        uncovered = np.isnan(arr).all(axis=(1, 2))
        trajectory.check_poses(arr[~uncovered], name)
        return arr
    return check_poses(arr, name)


def check_points(xyz: np.ndarray, grey: np.ndarray, name: str,
                 max_points: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``xyz`` (N, 3) and ``grey`` (N,), keep at most ``max_points`` (every k-th), drop
    non-finite points.

    Returns (xyz (N', 3) float64, grey (N',) uint8) copies.
    """
    xyz = np.asarray(xyz)
    if xyz.size == 0:
        xyz = xyz.reshape(0, 3)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ValueError(f"{name}_xyz must have shape (N, 3), got {xyz.shape}")
    grey = np.asarray(grey).reshape(-1)
    if grey.shape[0] != xyz.shape[0]:
        raise ValueError(f"{name}_grey must have shape ({xyz.shape[0]},) to match {name}_xyz, got {grey.shape}")
    if max_points is not None:
        keep = stride_subsample(len(xyz), max_points)
        xyz, grey = xyz[keep], grey[keep]
    xyz = xyz.astype(np.float64)
    keep = np.all(np.isfinite(xyz), axis=1)
    return xyz[keep].copy(), np.clip(grey[keep], 0, 255).astype(np.uint8)


def frustum_lineset(world_from_cam: np.ndarray, size: float, half_width: float,
                    half_height: float) -> tuple[np.ndarray, np.ndarray]:
    """Line geometry of camera frustums.

    world_from_cam: (K, 4, 4) or (4, 4) poses.
    size: depth of the drawn image plane, world units.
    half_width, half_height: tangents of the half field of view, i.e. (W/2)/fx and (H/2)/fy.
    Returns (points (5K, 3) float64, lines (8K, 2) int32 indices into points).
    """
    poses = np.asarray(world_from_cam, dtype=np.float64).reshape(-1, 4, 4)
    x, y = half_width * size, half_height * size
    local = np.array([[0, 0, 0], [-x, -y, size], [x, -y, size], [x, y, size], [-x, y, size]], dtype=np.float64)
    points = np.einsum("kij,pj->kpi", poses[:, :3, :3], local) + poses[:, None, :3, 3]
    lines = _FRUSTUM_LINES[None, :, :] + 5 * np.arange(len(poses), dtype=np.int32)[:, None, None]
    return points.reshape(-1, 3), lines.reshape(-1, 2)


def polyline(points: np.ndarray) -> np.ndarray:
    """(N-1, 2) int32 segment indices joining consecutive points of an (N, 3) polyline."""
    n = len(points)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int32)
    idx = np.arange(n - 1, dtype=np.int32)
    return np.stack([idx, idx + 1], axis=1)


def look_at(eye: np.ndarray, target: np.ndarray, down_hint: np.ndarray) -> np.ndarray:
    """``cam_from_world`` (4, 4) of a view camera at ``eye`` looking at ``target``.

    The camera's y axis (image down) is as close as possible to ``down_hint`` (world vector).
    Raises ValueError when eye == target.
    """
    eye = np.asarray(eye, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - eye
    norm = np.linalg.norm(forward)
    if norm < 1e-12:
        raise ValueError("look_at: eye and target coincide")
    z = forward / norm
    down = np.asarray(down_hint, dtype=np.float64)
    x = np.cross(down, z)
    if np.linalg.norm(x) < 1e-9:  # looking along the hint: pick any perpendicular axis
        x = np.cross([0.0, 0.0, 1.0] if abs(z[2]) < 0.9 else [1.0, 0.0, 0.0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    cam_from_world = np.eye(4)
    cam_from_world[:3, :3] = np.stack([x, y, z])  # rows = camera axes in world
    cam_from_world[:3, 3] = -cam_from_world[:3, :3] @ eye
    return cam_from_world


def follow_view(world_from_cam: np.ndarray, scale: float, back: float, up: float, ahead: float) -> np.ndarray:
    """Follow camera: behind and above the tracked camera, looking along its z axis.

    "Above" is the camera's -y direction (y is down). ``back``, ``up``, ``ahead`` are in units
    of ``scale`` (world units). Returns the view's ``cam_from_world`` (4, 4).
    """
    pose = check_pose(world_from_cam)
    r, c = pose[:3, :3], pose[:3, 3]
    eye = c - back * scale * r[:, 2] - up * scale * r[:, 1]
    target = c + ahead * scale * r[:, 2]
    return look_at(eye, target, down_hint=r[:, 1])


def top_down_view(positions: np.ndarray, world_from_ref: np.ndarray, fov_y_rad: float,
                  aspect: float, min_extent: float, margin: float = 1.2) -> np.ndarray:
    """Top-down camera over the path, oriented by a fixed reference camera (e.g. the first pose).

    Looks along the reference camera's down axis (+y); image right is its +x and image up its
    forward +z (for KITTI, whose world frame is the first camera: x right, z up in the image).
    The view is centred on the bounding box of ``positions`` (N, 3) seen from above and high
    enough for all of it (at least ``min_extent`` across) to fit with ``margin``.
    Returns ``cam_from_world`` (4, 4).
    """
    pose = check_pose(world_from_ref, "world_from_ref")
    down, forward = pose[:3, 1], pose[:3, 2]
    right = np.cross(down, forward)
    pts = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    if len(pts) == 0:
        pts = pose[None, :3, 3]
    # extent in the horizontal plane spanned by right/forward
    u, v = pts @ right, pts @ forward
    centre = pose[:3, 3] + right * (0.5 * (u.max() + u.min()) - pose[:3, 3] @ right) \
        + forward * (0.5 * (v.max() + v.min()) - pose[:3, 3] @ forward)
    half_v = 0.5 * max(v.max() - v.min(), min_extent) * margin
    half_u = 0.5 * max(u.max() - u.min(), min_extent) * margin
    tan_y = np.tan(0.5 * fov_y_rad)
    height = max(half_v / tan_y, half_u / (tan_y * aspect))
    eye = centre - down * height
    # image "down" must be -forward so that forward points up in the image
    return look_at(eye, centre, down_hint=-forward)


def central_points(xyz: np.ndarray, low_pct: float = 10.0, high_pct: float = 90.0) -> np.ndarray:
    """The points of ``xyz`` (N, 3) inside the per-axis ``low_pct``..``high_pct`` percentile box: the bulk of
    a map without its far outliers (used to frame views). Returns (M, 3) float64 (M = 0 for N = 0)."""
    pts = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    if len(pts) == 0:
        return pts
    lo, hi = np.percentile(pts, low_pct, axis=0), np.percentile(pts, high_pct, axis=0)
    return pts[np.all((pts >= lo) & (pts <= hi), axis=1)]


def scene_scale(world_from_cam: np.ndarray, active_xyz: np.ndarray, trajectory_xyz: np.ndarray) -> float:
    """A length that sets the size of frustums and the follow-camera distance (world units).

    The median distance from the camera to the active points when there are at least 10 of
    them (monocular maps have arbitrary scale), else 20x the median step of the trajectory,
    else 1.
    """
    centre = np.asarray(world_from_cam, dtype=np.float64)[:3, 3]
    if len(active_xyz) >= 10:
        d = float(np.median(np.linalg.norm(np.asarray(active_xyz) - centre, axis=1)))
        if np.isfinite(d) and d > 1e-9:
            return d
    if len(trajectory_xyz) >= 2:
        steps = np.linalg.norm(np.diff(np.asarray(trajectory_xyz), axis=0), axis=1)
        steps = steps[steps > 1e-12]
        if len(steps):
            return 20.0 * float(np.median(steps))
    return 1.0


def path_length_ratio(est_xyz: np.ndarray, ref_xyz: np.ndarray) -> float:
    """Length of the path ``est_xyz`` (N, 3) over that of ``ref_xyz`` (N, 3); 1 when either is ~0."""
    est_len = float(np.linalg.norm(np.diff(est_xyz, axis=0), axis=1).sum()) if len(est_xyz) > 1 else 0.0
    ref_len = float(np.linalg.norm(np.diff(ref_xyz, axis=0), axis=1).sum()) if len(ref_xyz) > 1 else 0.0
    if est_len < 1e-9 or ref_len < 1e-9:
        return 1.0
    return est_len / ref_len


def stride_subsample(n: int, max_n: int) -> slice:
    """Every k-th element so that at most ``max_n`` of ``n`` remain (stable as n grows)."""
    if max_n <= 0:
        raise ValueError(f"max_n must be positive, got {max_n}")
    return slice(None, None, max(1, -(-n // max_n)))


def grey_colours(grey: np.ndarray, tint: tuple[float, float, float], floor: float = 0.25) -> np.ndarray:
    """(N, 3) float64 RGB in [0, 1]: ``tint`` modulated by the grey value (N,) uint8.

    ``floor`` keeps dark points visible against a dark background.
    """
    g = floor + (1.0 - floor) * (np.asarray(grey, dtype=np.float64).reshape(-1, 1) / 255.0)
    return g * np.asarray(tint, dtype=np.float64)[None, :]
