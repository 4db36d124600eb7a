"""Re-projection consistency of rendered frames: warp one frame into another with exact depth and poses."""
from __future__ import annotations

import numpy as np

from apps.io.camera import Intrinsics


def bilinear(img: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``img: (H, W)`` at float pixel coordinates (float64, no border handling)."""
    x0, y0 = np.floor(u).astype(int), np.floor(v).astype(int)
    fx, fy = u - x0, v - y0
    im = img.astype(np.float64)
    top = (1 - fx) * im[y0, x0] + fx * im[y0, x0 + 1]
    bottom = (1 - fx) * im[y0 + 1, x0] + fx * im[y0 + 1, x0 + 1]
    return (1 - fy) * top + fy * bottom


def reproject(image_i: np.ndarray, depth_i: np.ndarray, pose_i: np.ndarray, image_j: np.ndarray,
              depth_j: np.ndarray, pose_j: np.ndarray, K: Intrinsics, *, occlusion_tol: float = 0.01):
    """Warp frame i into frame j with its exact depth and the poses (world_from_cam, (4, 4)).

    images: ``(H, W)`` grey, depths: ``(H, W)`` metres (0 = none). Returns ``(intensity_error (M,),
    depth_rel_error (M,))`` float64 over the pixels of frame i that have a surface, land inside
    frame j away from its border, are visible there (predicted depth within ``occlusion_tol`` of
    frame j's depth) and do not straddle a depth edge in frame j.
    """
    for name, arr in (("image_i", image_i), ("depth_i", depth_i), ("image_j", image_j), ("depth_j", depth_j)):
        if np.shape(arr) != (K.height, K.width):
            raise ValueError(f"{name} must have shape ({K.height}, {K.width}), got {np.shape(arr)}")
    h, w = depth_i.shape
    ys, xs = np.nonzero(depth_i > 0)
    z = depth_i[ys, xs].astype(np.float64)
    pts = np.stack([(xs - K.cx) / K.fx * z, (ys - K.cy) / K.fy * z, z], -1)
    j_from_i = np.linalg.inv(pose_j) @ pose_i
    q = pts @ j_from_i[:3, :3].T + j_from_i[:3, 3]
    front = q[:, 2] > 0.1
    u = K.fx * q[:, 0] / np.where(front, q[:, 2], 1) + K.cx
    v = K.fy * q[:, 1] / np.where(front, q[:, 2], 1) + K.cy
    ok = front & (u >= 1) & (u <= w - 3) & (v >= 1) & (v <= h - 3)
    u, v, zq, src = u[ok], v[ok], q[ok, 2], image_i[ys[ok], xs[ok]].astype(np.float64)
    dj = depth_j.astype(np.float64)
    # Neighbouring depths of frame j: all four must exist and agree (no depth edge under the sample).
    x0, y0 = np.floor(u).astype(int), np.floor(v).astype(int)
    quad = np.stack([dj[y0, x0], dj[y0, x0 + 1], dj[y0 + 1, x0], dj[y0 + 1, x0 + 1]], -1).astype(np.float64)
    smooth = (quad.min(1) > 0) & (quad.max(1) < quad.min(1) * (1 + 0.02))
    # Depth on a plane is not bilinear in the pixel grid, inverse depth is: interpolate 1/z.
    inv = np.zeros_like(dj)
    inv[dj > 0] = 1.0 / dj[dj > 0]
    zj = 1.0 / np.maximum(bilinear(inv, u, v), 1e-12)
    visible = smooth & (np.abs(zq - zj) < occlusion_tol * zq)
    ij = bilinear(image_j, u, v)
    return np.abs(ij - src)[visible], (np.abs(zq - zj) / zq)[visible]
