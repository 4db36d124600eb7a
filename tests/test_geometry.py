"""Geometry round trips and the Procrustes solver (frontend/geometry.py)."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from frontend import geometry as g


def _K(B=1, fx=100.0, fy=90.0, cx=31.5, cy=23.5, dtype=torch.float64):
    return g.intrinsics_matrix([fx] * B, [fy] * B, [cx] * B, [cy] * B, dtype=dtype)


def test_axis_angle_matches_scipy_and_round_trips():
    rng = np.random.default_rng(0)
    aa = np.concatenate([rng.normal(size=(20, 3)), 1e-6 * rng.normal(size=(3, 3)), np.zeros((1, 3)),
                         [[math.pi - 1e-3, 0, 0], [0, 0.6 * (math.pi - 2e-3), 0.8 * (math.pi - 2e-3)]]])
    aa = aa[np.linalg.norm(aa, axis=1) < math.pi]
    R = g.axis_angle_to_matrix(torch.tensor(aa))
    np.testing.assert_allclose(R.numpy(), Rotation.from_rotvec(aa).as_matrix(), atol=1e-10)
    np.testing.assert_allclose(g.matrix_to_axis_angle(R).numpy(), aa, atol=1e-6)


def test_pose_vector_inverse_and_transform():
    vec = torch.tensor([[0.1, -0.2, 0.3, 1.0, -2.0, 0.5]], dtype=torch.float64)
    T = g.pose_vec_to_matrix(vec)
    np.testing.assert_allclose((g.invert_pose(T) @ T).numpy()[0], np.eye(4), atol=1e-12)
    np.testing.assert_allclose(g.matrix_to_pose_vec(T).numpy(), vec.numpy(), atol=1e-10)
    pts = torch.randn(1, 5, 3, dtype=torch.float64)
    back = g.transform_points(g.invert_pose(T), g.transform_points(T, pts))
    np.testing.assert_allclose(back.numpy(), pts.numpy(), atol=1e-12)


def test_backproject_then_project_is_identity():
    K = _K(2)
    depth = 1.0 + torch.rand(2, 1, 48, 64, dtype=torch.float64) * 20
    pts = g.backproject(depth, K)
    pix, z = g.project_points(pts.view(2, 3, -1).transpose(1, 2), K)
    grid = g.pixel_grid(48, 64, dtype=torch.float64).view(2, -1).T
    np.testing.assert_allclose(pix.numpy(), grid.expand(2, -1, -1).numpy(), atol=1e-9)
    np.testing.assert_allclose(z.numpy(), depth.view(2, -1).numpy(), atol=1e-12)
    sparse = g.backproject_points(pix, z, K)
    np.testing.assert_allclose(sparse.numpy(), pts.view(2, 3, -1).transpose(1, 2).numpy(), atol=1e-9)


def test_warp_with_identity_pose_returns_input():
    img = torch.rand(1, 1, 32, 48, dtype=torch.float64)
    depth = 2.0 + torch.rand(1, 1, 32, 48, dtype=torch.float64)
    warped, valid = g.warp_with_depth(img, depth, torch.eye(4, dtype=torch.float64)[None], _K())
    np.testing.assert_allclose(warped.numpy(), img.numpy(), atol=1e-9)
    assert valid.min() == 1.0


def test_warp_with_translation_shifts_a_fronto_parallel_plane():
    # Plane at Z = 10 m, source camera 0.4 m to the right of the target: target pixel x sees source x - fx*0.4/10.
    fx, Z, tx = 100.0, 10.0, 0.4
    src = torch.rand(1, 1, 32, 64, dtype=torch.float64)
    depth = torch.full((1, 1, 32, 64), Z, dtype=torch.float64)
    T = torch.eye(4, dtype=torch.float64)[None].clone()
    T[0, 0, 3] = -tx  # source_from_target: a point moves left in the source camera
    warped, valid = g.warp_with_depth(src, depth, T, _K(fx=fx))
    shift = int(fx * tx / Z)  # 4 px
    np.testing.assert_allclose(warped[..., shift:].numpy(), src[..., :-shift].numpy(), atol=1e-9)
    assert valid[..., :shift].sum() == 0 and valid[..., shift:].min() == 1


def test_homography_image_warp_matches_opencv():
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.random((40, 56)).astype(np.float64), (0, 0), 2.0)
    H = np.array([[1.05, 0.05, 2.0], [-0.03, 0.95, 1.5], [1e-4, -2e-4, 1.0]])
    ref = cv2.warpPerspective(img, H, (56, 40), flags=cv2.INTER_LINEAR)
    out, valid = g.warp_image_homography(torch.tensor(img)[None, None], torch.tensor(H)[None])
    m = valid[0, 0].numpy() > 0
    m[:2], m[-2:], m[:, :2], m[:, -2:] = False, False, False, False
    np.testing.assert_allclose(out[0, 0].numpy()[m], ref[m], atol=2e-3)
    p = torch.tensor([[[10.0, 20.0]]], dtype=torch.float64)
    q = g.warp_points_homography(p, torch.tensor(H)[None])
    ph = H @ np.array([10.0, 20.0, 1.0])
    np.testing.assert_allclose(q[0, 0].numpy(), ph[:2] / ph[2], atol=1e-12)


def _rigid(seed):
    rng = np.random.default_rng(seed)
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(rng.normal(size=3) * 0.7).as_matrix()
    T[:3, 3] = rng.normal(size=3) * 3
    return torch.tensor(T)[None]


def test_procrustes_recovers_exact_pose():
    T = _rigid(2)
    src = torch.randn(1, 50, 3, dtype=torch.float64) * 5
    dst = g.transform_points(T, src)
    est = g.weighted_procrustes(src, dst, torch.rand(1, 50, dtype=torch.float64) + 0.1)
    np.testing.assert_allclose(est.numpy(), T.numpy(), atol=1e-9)


def test_procrustes_planar_points_never_returns_a_reflection():
    # Coplanar points: the cross-covariance has rank 2 and plain Kabsch may return det(R) = -1.
    T = _rigid(3)
    xy = torch.randn(1, 30, 2, dtype=torch.float64) * 4
    src = torch.cat([xy, torch.zeros(1, 30, 1, dtype=torch.float64)], dim=2)
    dst = g.transform_points(T, src)
    est = g.weighted_procrustes(src, dst)
    assert torch.det(est[0, :3, :3]).item() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(est.numpy(), T.numpy(), atol=1e-9)
    # Mirrored target (a true reflection): the best proper rotation is returned, not the mirror.
    mirrored = dst * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    est_m = g.weighted_procrustes(src * torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64) + 0.3 * torch.randn_like(src),
                                  mirrored)
    assert torch.det(est_m[0, :3, :3]).item() == pytest.approx(1.0, abs=1e-9)


def test_procrustes_gradient_is_finite_and_correct():
    T = _rigid(4)
    src = (torch.randn(1, 8, 3, dtype=torch.float64) * 3).requires_grad_(True)
    dst = (g.transform_points(T, src.detach()) + 0.05 * torch.randn(1, 8, 3, dtype=torch.float64)).requires_grad_(True)
    w = (torch.rand(1, 8, dtype=torch.float64) + 0.5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b, c: g.weighted_procrustes(a, b, c), (src, dst, w), eps=1e-6, atol=1e-5)
    g.weighted_procrustes(src, dst, w).sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (src, dst, w))


def test_bad_shapes_raise_value_error():
    with pytest.raises(ValueError, match="depth"):
        g.backproject(torch.ones(1, 48, 64), _K())
    with pytest.raises(ValueError, match="at least 3"):
        g.weighted_procrustes(torch.ones(1, 2, 3), torch.ones(1, 2, 3))
