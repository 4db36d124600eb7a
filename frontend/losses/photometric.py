"""Photometric losses of monodepth2-style self-supervised depth training.

All images are ``(B, C, H, W)`` float tensors in [0, 1]; per-pixel errors are ``(B, 1, H, W)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

SSIM_C1 = 0.01 ** 2
SSIM_C2 = 0.03 ** 2


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Structural similarity over 3x3 windows (reflection padding), (B, C, H, W) -> (B, C, H, W) in [-1, 1]."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim: expected two (B, C, H, W) tensors of equal shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    x = F.pad(x, (1, 1, 1, 1), mode="reflect")
    y = F.pad(y, (1, 1, 1, 1), mode="reflect")
    mu_x, mu_y = F.avg_pool2d(x, 3, 1), F.avg_pool2d(y, 3, 1)
    sigma_x = F.avg_pool2d(x * x, 3, 1) - mu_x ** 2
    sigma_y = F.avg_pool2d(y * y, 3, 1) - mu_y ** 2
    sigma_xy = F.avg_pool2d(x * y, 3, 1) - mu_x * mu_y
    num = (2 * mu_x * mu_y + SSIM_C1) * (2 * sigma_xy + SSIM_C2)
    den = (mu_x ** 2 + mu_y ** 2 + SSIM_C1) * (sigma_x + sigma_y + SSIM_C2)
    return num / den


def photometric_error(pred: torch.Tensor, target: torch.Tensor, alpha: float = 0.85) -> torch.Tensor:
    """alpha * (1 - SSIM) / 2 + (1 - alpha) * |pred - target|, averaged over channels -> (B, 1, H, W)."""
    l1 = (pred - target).abs().mean(dim=1, keepdim=True)
    dssim = ((1.0 - ssim(pred, target)) / 2.0).clamp(0.0, 1.0).mean(dim=1, keepdim=True)
    return alpha * dssim + (1.0 - alpha) * l1


def min_reprojection(warped_errors: list[torch.Tensor], identity_errors: list[torch.Tensor] | None = None,
                     *, tie_noise: float = 1e-5, generator: torch.Generator | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel minimum over source frames with monodepth2 auto-masking.

    Args:
        warped_errors: per source frame, (B, 1, H, W) photometric error of the warped source.
        identity_errors: per source frame, (B, 1, H, W) error of the *unwarped* source, or None
            to disable auto-masking. A tiny random offset (``tie_noise``) breaks ties so that static
            pixels (identical warped and identity errors) are masked consistently.
    Returns:
        loss_map: (B, 1, H, W) per-pixel minimum error (the identity errors take part in the minimum,
            so masked pixels contribute their identity error, as in monodepth2).
        auto_mask: (B, 1, H, W) float, 1 where a warped source achieves the minimum.
    """
    if not warped_errors:
        raise ValueError("min_reprojection: need at least one source frame")
    warped = torch.cat(warped_errors, dim=1)
    if identity_errors is None:
        return warped.min(dim=1, keepdim=True)[0], torch.ones_like(warped[:, :1])
    if len(identity_errors) != len(warped_errors):
        raise ValueError(f"min_reprojection: {len(identity_errors)} identity errors for {len(warped_errors)} sources")
    identity = torch.cat(identity_errors, dim=1)
    if tie_noise > 0:
        noise = torch.rand(identity.shape, generator=generator, dtype=identity.dtype,
                           device="cpu" if generator is None else generator.device).to(identity.device)
        identity = identity + tie_noise * noise
    combined = torch.cat([identity, warped], dim=1)
    loss_map, idx = combined.min(dim=1, keepdim=True)
    return loss_map, (idx >= identity.shape[1]).to(warped.dtype)


def smoothness_loss(disp: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Edge-aware first-order smoothness of mean-normalised disparity (scalar).

    ``disp``: (B, 1, H, W); ``image``: (B, C, H, W) at the same resolution.
    """
    if disp.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"smoothness_loss: disp {tuple(disp.shape)} and image {tuple(image.shape)} differ in size")
    disp = disp / disp.mean(dim=(2, 3), keepdim=True).clamp_min(1e-7)
    dx = (disp[..., :, 1:] - disp[..., :, :-1]).abs()
    dy = (disp[..., 1:, :] - disp[..., :-1, :]).abs()
    wx = torch.exp(-(image[..., :, 1:] - image[..., :, :-1]).abs().mean(dim=1, keepdim=True))
    wy = torch.exp(-(image[..., 1:, :] - image[..., :-1, :]).abs().mean(dim=1, keepdim=True))
    return (dx * wx).mean() + (dy * wy).mean()
