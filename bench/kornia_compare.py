"""kornia against the frontend's hand-written pieces: agreement and CPU time (issue 13, item 4).

    .venv/bin/python -P bench/kornia_compare.py [--threads 1] [--repeats 30]   (-P: bench/frontend.py must not
    shadow the frontend package)

Prints one row per piece: max |ours - kornia| on the same inputs, gradient agreement where it matters,
and the median CPU time (``time.process_time``) of each over ``--repeats`` calls at training sizes.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def cpu_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return 1e3 * statistics.median(times)


# ----------------------------------------------------------------------------- the former hand-written code
# (frontend/geometry.py before kornia replaced it; kept here as the reference of the measurement)
def former_skew(v: torch.Tensor) -> torch.Tensor:
    """(B, 3) -> (B, 3, 3) cross-product matrices ``[v]_x``."""
    zero = torch.zeros_like(v[:, 0])
    return torch.stack([zero, -v[:, 2], v[:, 1],
                        v[:, 2], zero, -v[:, 0],
                        -v[:, 1], v[:, 0], zero], dim=1).view(-1, 3, 3)


def former_axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula. ``axis_angle``: (B, 3) radians -> (B, 3, 3) rotation matrices.

    Uses Taylor expansions below 1e-4 rad so the map and its gradient are smooth at zero.
    """
    theta2 = (axis_angle * axis_angle).sum(dim=1)
    theta = torch.sqrt(theta2.clamp_min(1e-12))
    small = theta2 < 1e-8
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / theta2.clamp_min(1e-12))
    K = former_skew(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device).expand_as(K)
    return eye + a[:, None, None] * K + b[:, None, None] * (K @ K)


def former_matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) rotation matrices -> (B, 3) axis-angle (radians, angle in [0, pi]).

    Uses the skew part for small/medium angles and the symmetric part near pi.
    """
    cos = ((R.diagonal(dim1=1, dim2=2).sum(dim=1) - 1.0) / 2.0).clamp(-1.0, 1.0)
    theta = torch.acos(cos)
    w = torch.stack([R[:, 2, 1] - R[:, 1, 2], R[:, 0, 2] - R[:, 2, 0], R[:, 1, 0] - R[:, 0, 1]], dim=1)
    sin = torch.sin(theta)
    scale = torch.where(theta < 1e-4, 0.5 + theta * theta / 12.0, theta / (2.0 * sin.clamp_min(1e-12)))
    out = w * scale[:, None]
    near_pi = theta > 3.0
    if bool(near_pi.any()):
        # Symmetric part: (R + R^T) / 2 = cos I + (1 - cos) a a^T; its largest column gives the axis.
        Rn, c = R[near_pi], cos[near_pi][:, None, None]
        B = ((Rn + Rn.transpose(1, 2)) / 2.0 - c * torch.eye(3, dtype=R.dtype, device=R.device)) / (1.0 - c)
        col = B.diagonal(dim1=1, dim2=2).argmax(dim=1)
        axis = B[torch.arange(B.shape[0]), :, col]
        axis = axis / axis.norm(dim=1, keepdim=True).clamp_min(1e-12)
        sign = torch.sign((axis * w[near_pi]).sum(dim=1))
        sign = torch.where(sign == 0, torch.ones_like(sign), sign)
        out = out.clone()
        out[near_pi] = axis * (theta[near_pi] * sign)[:, None]
    return out


def former_warp_points_homography(points: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """Map (B, N, 2) pixels through (B, 3, 3) homographies ``dst_from_src`` -> (B, N, 2)."""
    ph = torch.cat([points, torch.ones_like(points[..., :1])], dim=-1) @ H.transpose(1, 2)
    w = ph[..., 2:]
    w = torch.where(w.abs() < 1e-7, torch.full_like(w, 1e-7), w)
    return ph[..., :2] / w


def rotations(repeats: int) -> list[str]:
    from kornia.geometry.conversions import axis_angle_to_rotation_matrix, rotation_matrix_to_axis_angle

    axis_angle_to_matrix, matrix_to_axis_angle = former_axis_angle_to_matrix, former_matrix_to_axis_angle
    g = torch.Generator().manual_seed(0)
    # PoseNet outputs: small rotations (<0.1 rad), a batch of 12 x 2 sources; plus edge cases 0 and near pi
    aa = 0.05 * torch.randn(24, 3, generator=g, dtype=torch.float64)
    edge = torch.tensor([[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [3.14159, 0.0, 0.0], [0.0, 2.0, 2.0]], dtype=torch.float64)
    both = torch.cat([aa, edge])
    rows = []
    R_ours, R_k = axis_angle_to_matrix(both), axis_angle_to_rotation_matrix(both)
    rows.append(f"axis_angle->R | max|dR| {float((R_ours - R_k).abs().max()):.1e}")
    x = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    for name, fn in (("ours", axis_angle_to_matrix), ("kornia", axis_angle_to_rotation_matrix)):
        (gx,) = torch.autograd.grad(fn(x)[0, 1, 0], x)
        rows.append(f"  d R[1,0] / d aa at 0 ({name}) = {gx.tolist()[0]} (exact: [0, 0, 1]); finite: "
                    f"{bool(torch.isfinite(gx).all())}")
    back_ours, back_k = matrix_to_axis_angle(R_ours), rotation_matrix_to_axis_angle(R_ours)
    rows.append(f"R->axis_angle | max err vs input: ours {float((back_ours - both).abs().max()):.1e}, "
                f"kornia {float((back_k - both).abs().max()):.1e}")
    a32 = aa.float()
    rows.append(f"  CPU ms (24 poses, float32) aa->R: ours {cpu_ms(lambda: axis_angle_to_matrix(a32), repeats):.3f}, "
                f"kornia {cpu_ms(lambda: axis_angle_to_rotation_matrix(a32), repeats):.3f}")
    R32 = R_ours[:24].float()
    rows.append(f"  CPU ms R->aa: ours {cpu_ms(lambda: matrix_to_axis_angle(R32), repeats):.3f}, "
                f"kornia {cpu_ms(lambda: rotation_matrix_to_axis_angle(R32), repeats):.3f}")
    return rows


def homography(repeats: int) -> list[str]:
    from kornia.geometry.linalg import transform_points
    from kornia.geometry.transform import warp_perspective

    from frontend.geometry import warp_image_homography

    warp_points_homography = former_warp_points_homography

    g = torch.Generator().manual_seed(1)
    B, H, W = 8, 128, 320  # KP2D training batch
    image = torch.rand(B, 1, H, W, generator=g)
    Hm = torch.eye(3).repeat(B, 1, 1) + 0.02 * torch.randn(B, 3, 3, generator=g)
    Hm[:, 2, :2] *= 0.01
    Hm[:, :2, 2] += 5.0 * torch.randn(B, 2, generator=g)
    ours, valid = warp_image_homography(image, Hm)
    k = warp_perspective(image, Hm, (H, W), mode="bilinear", padding_mode="zeros", align_corners=True)
    k_valid = warp_perspective(torch.ones_like(image), Hm, (H, W), mode="nearest", align_corners=True)
    inner = valid.bool() & F.max_pool2d(1 - valid, 3, 1, 1).eq(0)  # away from the border
    rows = [f"warp image | max|d| inside {float((ours - k)[inner].abs().max()):.1e}, valid masks differ on "
            f"{float((valid != k_valid).float().mean()) * 100:.2f} % of pixels (border)"]
    rows.append(f"  CPU ms ({B}x1x{H}x{W}): ours {cpu_ms(lambda: warp_image_homography(image, Hm), repeats):.2f}, "
                f"kornia image+mask {cpu_ms(lambda: (warp_perspective(image, Hm, (H, W)), warp_perspective(torch.ones_like(image), Hm, (H, W), mode='nearest')), repeats):.2f}, "
                f"kornia image only {cpu_ms(lambda: warp_perspective(image, Hm, (H, W)), repeats):.2f}")
    pts = torch.rand(B, 400, 2, generator=g) * torch.tensor([W, H])
    p_ours, p_k = warp_points_homography(pts, Hm), transform_points(Hm, pts)
    rows.append(f"warp points | max|d| {float((p_ours - p_k).abs().max()):.1e} px; CPU ms ({B}x400): "
                f"ours {cpu_ms(lambda: warp_points_homography(pts, Hm), repeats):.3f}, "
                f"kornia {cpu_ms(lambda: transform_points(Hm, pts), repeats):.3f}")
    return rows


def ssim_rows(repeats: int) -> list[str]:
    import kornia.metrics

    from frontend.losses.photometric import ssim

    g = torch.Generator().manual_seed(2)
    x = torch.rand(12, 1, 96, 320, generator=g)
    y = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    ours, k = ssim(x, y), kornia.metrics.ssim(x, y, 3)
    return [f"SSIM 3x3 | mean ours {float(ours.mean()):.4f} (box window, reflect pad: monodepth2) vs kornia "
            f"{float(k.mean()):.4f} (Gaussian window); max|d| {float((ours - k).abs().max()):.2f}",
            f"  CPU ms (12x1x96x320): ours {cpu_ms(lambda: ssim(x, y), repeats):.2f}, "
            f"kornia {cpu_ms(lambda: kornia.metrics.ssim(x, y, 3), repeats):.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import kornia

    print(f"torch {torch.__version__}, kornia {kornia.__version__}, {args.threads} thread(s)")
    for row in rotations(args.repeats) + homography(args.repeats) + ssim_rows(args.repeats):
        print(row)


if __name__ == "__main__":
    main()
