"""Differentiable camera geometry for self-supervised training (torch, batched, device-agnostic).

Conventions (docs/ARCHITECTURE.md): pinhole camera, x right / y down / z forward, pixel (0, 0) is
the centre of the top-left pixel, depth is metric z-depth, poses are ``(B, 4, 4)`` rigid transforms
named ``dst_from_src`` (they map points in the ``src`` camera to the ``dst`` camera). Pose vectors
are ``(B, 6)``: axis-angle rotation (radians) followed by translation (metres).

Contents: axis-angle <-> rotation matrix (kornia), pose vectors, back-projection with depth, projection,
pixel <-> ``grid_sample`` coordinates, image warping with depth + pose and with homographies, and a
differentiable weighted Procrustes (Kabsch) solver for rigid 3D-3D alignment.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.geometry.conversions import axis_angle_to_rotation_matrix, rotation_matrix_to_axis_angle
from kornia.geometry.linalg import transform_points as _transform_points_homography


def _check(t: torch.Tensor, name: str, shape: tuple) -> None:
    """Raise ValueError unless ``t`` matches ``shape`` (None = any size)."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dim() != len(shape) or any(s is not None and s != d for s, d in zip(shape, t.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {tuple(t.shape)}")


# ----------------------------------------------------------------------------- rotations
# SO(3) conversions come from kornia (measured against the former hand-written Rodrigues in
# bench/kornia_compare.py: same matrices to 2e-16, same gradient at 0, exact inverse near pi).
def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula. ``axis_angle``: (B, 3) radians -> (B, 3, 3) rotation matrices.

    Smooth at zero (finite, exact gradient at the identity).
    """
    _check(axis_angle, "axis_angle", (None, 3))
    return axis_angle_to_rotation_matrix(axis_angle)


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) rotation matrices -> (B, 3) axis-angle (radians, angle in [0, pi])."""
    _check(R, "R", (None, 3, 3))
    return rotation_matrix_to_axis_angle(R)


def pose_vec_to_matrix(pose_vec: torch.Tensor) -> torch.Tensor:
    """(B, 6) [axis-angle (rad), translation (m)] -> (B, 4, 4) rigid transform."""
    _check(pose_vec, "pose_vec", (None, 6))
    T = torch.zeros(pose_vec.shape[0], 4, 4, dtype=pose_vec.dtype, device=pose_vec.device)
    T[:, :3, :3] = axis_angle_to_matrix(pose_vec[:, :3])
    T[:, :3, 3] = pose_vec[:, 3:]
    T[:, 3, 3] = 1.0
    return T


def matrix_to_pose_vec(T: torch.Tensor) -> torch.Tensor:
    """(B, 4, 4) rigid transform -> (B, 6) [axis-angle, translation]."""
    _check(T, "T", (None, 4, 4))
    return torch.cat([matrix_to_axis_angle(T[:, :3, :3]), T[:, :3, 3]], dim=1)


def invert_pose(T: torch.Tensor) -> torch.Tensor:
    """Inverse of rigid (B, 4, 4) transforms (``a_from_b`` -> ``b_from_a``)."""
    _check(T, "T", (None, 4, 4))
    R_t = T[:, :3, :3].transpose(1, 2)
    out = torch.zeros_like(T)
    out[:, :3, :3] = R_t
    out[:, :3, 3] = -(R_t @ T[:, :3, 3:]).squeeze(2)
    out[:, 3, 3] = 1.0
    return out


# ----------------------------------------------------------------------------- cameras
def intrinsics_matrix(fx, fy, cx, cy, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """Build (B, 3, 3) K from per-batch (B,) tensors or floats (then B = 1)."""
    vals = [torch.as_tensor(v, dtype=dtype, device=device).reshape(-1) for v in (fx, fy, cx, cy)]
    n = max(v.numel() for v in vals)
    fx, fy, cx, cy = (v.expand(n) for v in vals)
    K = torch.zeros(n, 3, 3, dtype=dtype, device=device)
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = fx, fy, cx, cy, 1.0
    return K


def scale_intrinsics(K: torch.Tensor, scale_x: float, scale_y: float) -> torch.Tensor:
    """K of an image resized by (scale_x, scale_y), pixel-centre convention x' = (x + .5) s - .5."""
    _check(K, "K", (None, 3, 3))
    out = K.clone()
    out[:, 0, 0] = K[:, 0, 0] * scale_x
    out[:, 1, 1] = K[:, 1, 1] * scale_y
    out[:, 0, 2] = (K[:, 0, 2] + 0.5) * scale_x - 0.5
    out[:, 1, 2] = (K[:, 1, 2] + 0.5) * scale_y - 0.5
    return out


def pixel_grid(height: int, width: int, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """(2, H, W) pixel coordinates (x, y) of the pixel centres."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype, device=device),
                            torch.arange(width, dtype=dtype, device=device), indexing="ij")
    return torch.stack([xs, ys], dim=0)


def backproject(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Lift every pixel to 3D. ``depth``: (B, 1, H, W) metres, ``K``: (B, 3, 3) -> (B, 3, H, W) points."""
    _check(depth, "depth", (None, 1, None, None))
    _check(K, "K", (depth.shape[0], 3, 3))
    B, _, H, W = depth.shape
    pix = pixel_grid(H, W, dtype=depth.dtype, device=depth.device).view(1, 2, -1).expand(B, 2, H * W)
    ones = torch.ones_like(pix[:, :1])
    rays = torch.linalg.solve(K, torch.cat([pix, ones], dim=1))  # (B, 3, HW)
    return (rays * depth.view(B, 1, -1)).view(B, 3, H, W)


def backproject_points(pixels: torch.Tensor, depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Lift sparse pixels. ``pixels``: (B, N, 2) (x, y), ``depth``: (B, N) -> (B, N, 3) camera points."""
    _check(pixels, "pixels", (None, None, 2))
    _check(depth, "depth", tuple(pixels.shape[:2]))
    x = (pixels[..., 0] - K[:, None, 0, 2]) / K[:, None, 0, 0]
    y = (pixels[..., 1] - K[:, None, 1, 2]) / K[:, None, 1, 1]
    return torch.stack([x * depth, y * depth, depth], dim=-1)


def transform_points(T: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Apply (B, 4, 4) ``dst_from_src`` to (B, N, 3) points -> (B, N, 3)."""
    _check(T, "T", (None, 4, 4))
    _check(points, "points", (T.shape[0], None, 3))
    return points @ T[:, :3, :3].transpose(1, 2) + T[:, None, :3, 3]


def project_points(points: torch.Tensor, K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, 3) camera points -> pixels (B, N, 2) and z (B, N); z is clamped >= 1e-3 for the division."""
    _check(points, "points", (None, None, 3))
    z = points[..., 2]
    zc = z.clamp_min(1e-3)
    u = K[:, None, 0, 0] * points[..., 0] / zc + K[:, None, 0, 2]
    v = K[:, None, 1, 1] * points[..., 1] / zc + K[:, None, 1, 2]
    return torch.stack([u, v], dim=-1), z


def pixels_to_grid(pixels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel coordinates (..., 2) -> ``grid_sample`` coordinates in [-1, 1] (align_corners=True)."""
    scale = pixels.new_tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
    return pixels * scale - 1.0


def sample_image(image: torch.Tensor, pixels: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Sample (B, C, H, W) at pixels (B, h, w, 2) -> (B, C, h, w); zero outside the image."""
    _check(image, "image", (None, None, None, None))
    grid = pixels_to_grid(pixels, image.shape[2], image.shape[3]).to(image.dtype)
    return F.grid_sample(image, grid, mode=mode, padding_mode="zeros", align_corners=True)


def in_image(pixels: torch.Tensor, height: int, width: int, border: float = 0.0, tol: float = 1e-3) -> torch.Tensor:
    """Boolean mask (...,) of pixels inside [border, size - 1 - border] (``tol`` pixels of slack)."""
    x, y = pixels[..., 0], pixels[..., 1]
    lo = border - tol
    return (x >= lo) & (x <= width - 1 - lo) & (y >= lo) & (y <= height - 1 - lo)


def warp_with_depth(source_image: torch.Tensor, target_depth: torch.Tensor, source_from_target: torch.Tensor,
                    K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthesise the target view from the source image (inverse warping).

    Args:
        source_image: (B, C, H, W) source frame.
        target_depth: (B, 1, H, W) metric depth of the target frame.
        source_from_target: (B, 4, 4) pose of the target camera in the source camera.
        K: (B, 3, 3) intrinsics shared by both frames.
    Returns:
        warped: (B, C, H, W) source sampled at the projections of the target pixels.
        valid: (B, 1, H, W) float mask, 1 where the projection lands inside the source with z > 0.
    """
    _check(target_depth, "target_depth", (source_image.shape[0], 1, source_image.shape[2], source_image.shape[3]))
    B, _, H, W = target_depth.shape
    pts = backproject(target_depth, K).view(B, 3, -1).transpose(1, 2)
    pix, z = project_points(transform_points(source_from_target, pts), K)
    pix = pix.view(B, H, W, 2)
    valid = (in_image(pix, H, W) & (z.view(B, H, W) > 1e-3)).unsqueeze(1).to(source_image.dtype)
    return sample_image(source_image, pix), valid


# ----------------------------------------------------------------------------- homographies
def warp_points_homography(points: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """Map (B, N, 2) pixels through (B, 3, 3) homographies ``dst_from_src`` -> (B, N, 2)."""
    _check(points, "points", (None, None, 2))
    _check(H, "H", (points.shape[0], 3, 3))
    return _transform_points_homography(H, points)  # kornia; points at infinity (|w| <= 1e-8) stay unscaled


def warp_image_homography(image: torch.Tensor, target_from_source: torch.Tensor,
                          out_size: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Warp (B, C, H, W) images by homographies (B, 3, 3) ``target_from_source``.

    Returns the target image (B, C, h, w) (``out_size`` = (h, w), default the input size) and its
    (B, 1, h, w) validity mask (1 where the source was sampled inside the image).
    """
    _check(image, "image", (None, None, None, None))
    B, _, H, W = image.shape
    h, w = out_size or (H, W)
    grid = pixel_grid(h, w, dtype=image.dtype, device=image.device).view(1, 2, -1).transpose(1, 2).expand(B, -1, -1)
    src = warp_points_homography(grid, torch.linalg.inv(target_from_source.to(image.dtype))).view(B, h, w, 2)
    valid = in_image(src, H, W).unsqueeze(1).to(image.dtype)
    return sample_image(image, src), valid


# ----------------------------------------------------------------------------- Procrustes
def weighted_procrustes(source_points: torch.Tensor, target_points: torch.Tensor,
                        weights: torch.Tensor | None = None) -> torch.Tensor:
    """Rigid transform minimising sum_i w_i |R s_i + t - d_i|^2 (Kabsch with reflection correction).

    Args:
        source_points: (B, N, 3) points ``s_i`` in the source frame.
        target_points: (B, N, 3) corresponding points ``d_i`` in the target frame.
        weights: (B, N) non-negative weights (default all ones); at least 3 non-collinear points
            must carry weight.
    Returns:
        (B, 4, 4) ``target_from_source``. Differentiable through ``torch.linalg.svd``; the gradient
        is finite when the weighted cross-covariance has distinct singular values.
    """
    _check(source_points, "source_points", (None, None, 3))
    _check(target_points, "target_points", tuple(source_points.shape))
    B, N, _ = source_points.shape
    if N < 3:
        raise ValueError(f"weighted_procrustes: need at least 3 point pairs, got {N}")
    if weights is None:
        weights = source_points.new_ones(B, N)
    _check(weights, "weights", (B, N))
    w = weights.clamp_min(0.0)
    w = w / w.sum(dim=1, keepdim=True).clamp_min(1e-12)
    mu_s = (w[..., None] * source_points).sum(dim=1, keepdim=True)
    mu_d = (w[..., None] * target_points).sum(dim=1, keepdim=True)
    cov = (w[..., None] * (source_points - mu_s)).transpose(1, 2) @ (target_points - mu_d)  # (B, 3, 3)
    U, _, Vh = torch.linalg.svd(cov)
    V = Vh.transpose(1, 2)
    d = torch.sign(torch.det(V @ U.transpose(1, 2))).detach()
    d = torch.where(d == 0, torch.ones_like(d), d)
    D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], dim=1))
    R = V @ D @ U.transpose(1, 2)
    t = mu_d.squeeze(1) - (R @ mu_s.transpose(1, 2)).squeeze(2)
    T = torch.zeros(B, 4, 4, dtype=R.dtype, device=R.device)
    T[:, :3, :3] = R
    T[:, :3, 3] = t
    T[:, 3, 3] = 1.0
    return T
