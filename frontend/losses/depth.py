"""Monodepth2-style self-supervised depth loss over a snippet (target + source frames)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from frontend.geometry import backproject, in_image, project_points, sample_image, transform_points, warp_with_depth
from frontend.losses.photometric import min_reprojection, photometric_error, smoothness_loss


@dataclass
class DepthLossOptions:
    ssim_weight: float = 0.85        # alpha of alpha * (1 - SSIM) / 2 + (1 - alpha) * L1
    smoothness_weight: float = 1e-3  # edge-aware smoothness weight (divided by 2^scale)
    automask: bool = True            # monodepth2 identity-reprojection auto-masking
    min_depth: float = 0.1           # metres, passed to disp_to_depth
    max_depth: float = 100.0         # metres

    def __post_init__(self) -> None:
        if not 0 <= self.ssim_weight <= 1 or self.smoothness_weight < 0 or not 0 < self.min_depth < self.max_depth:
            raise ValueError(f"DepthLossOptions: invalid {self}")


def multiscale_photometric_loss(disparities: list[torch.Tensor], target: torch.Tensor, sources: list[torch.Tensor],
                                source_from_target: list[torch.Tensor], K: torch.Tensor, options: DepthLossOptions
                                ) -> dict[str, torch.Tensor]:
    """Photometric + smoothness loss of monodepth2, averaged over scales.

    Args:
        disparities: sigmoid disparities (B, 1, H/2^s, W/2^s), s = 0..S-1 (DepthNet output).
        target: (B, C, H, W) target image; sources: list of (B, C, H, W) source images.
        source_from_target: list of (B, 4, 4) poses, one per source.
        K: (B, 3, 3) intrinsics at full resolution.
    Returns:
        dict with ``photometric``, ``smoothness``, ``loss`` (weighted sum) and ``automask_ratio``.
    """
    from frontend.models import disp_to_depth

    if len(sources) != len(source_from_target) or not sources:
        raise ValueError(f"need one pose per source frame, got {len(sources)} sources, {len(source_from_target)} poses")
    H, W = target.shape[-2:]
    identity = [photometric_error(s, target, options.ssim_weight) for s in sources] if options.automask else None
    photo, smooth, mask_ratio = 0.0, 0.0, 0.0
    for s, disp in enumerate(disparities):
        up = F.interpolate(disp, size=(H, W), mode="bilinear", align_corners=False)
        _, depth = disp_to_depth(up, options.min_depth, options.max_depth)
        errors = [photometric_error(warp_with_depth(src, depth, T, K)[0], target, options.ssim_weight)
                  for src, T in zip(sources, source_from_target)]
        loss_map, mask = min_reprojection(errors, identity, tie_noise=1e-5 if options.automask else 0.0)
        photo = photo + loss_map.mean()
        mask_ratio = mask_ratio + mask.mean().detach()
        small = F.interpolate(target, size=disp.shape[-2:], mode="area") if disp.shape[-2:] != (H, W) else target
        smooth = smooth + smoothness_loss(disp, small) / (2 ** s)
    n = len(disparities)
    out = {"photometric": photo / n, "smoothness": smooth / n, "automask_ratio": mask_ratio / n}
    out["loss"] = out["photometric"] + options.smoothness_weight * out["smoothness"]
    return out


def sparse_scale_invariant_loss(depth: torch.Tensor, target: torch.Tensor, variance_weight: float = 0.85,
                                min_points: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale-invariant log loss (Eigen et al.) of a dense depth against sparse target depths, per image.

    ``d = log(depth) - log(target)`` over the pixels where ``target > 0``; per image
    ``mean(d^2) - variance_weight * mean(d)^2`` (1: only the spread of the log ratio counts, i.e. fully
    scale-invariant; 0: the plain squared log error), averaged over the images with at least ``min_points``
    targets. The depths may be in different units: a global factor between them changes nothing when
    ``variance_weight`` is 1 and little when it is close to 1.

    Args:
        depth: (B, 1, H, W) positive predicted depth (any unit).
        target: (B, 1, H, W) sparse target depth (0 = no target), e.g. backend points projected into the frame.
    Returns:
        (loss scalar, number of images used (scalar tensor)); the loss is 0 (with a gradient path) when
        no image has enough targets.
    """
    if depth.shape != target.shape or depth.dim() != 4 or depth.shape[1] != 1:
        raise ValueError(f"sparse_scale_invariant_loss: depth {tuple(depth.shape)} and target {tuple(target.shape)} "
                         "must both be (B, 1, H, W)")
    if not 0.0 <= variance_weight <= 1.0:
        raise ValueError(f"variance_weight must be in [0, 1], got {variance_weight}")
    valid = (target > 0).flatten(1)
    count = valid.sum(dim=1)
    d = (torch.log(depth.clamp_min(1e-6)) - torch.log(target.clamp_min(1e-6))).flatten(1) * valid
    n = count.clamp_min(1).to(depth.dtype)
    per_image = (d * d).sum(dim=1) / n - variance_weight * (d.sum(dim=1) / n) ** 2
    used = count >= min_points
    if not bool(used.any()):
        return depth.sum() * 0.0, used.sum()
    return per_image[used].mean(), used.sum()


def geometry_consistency_loss(target_depth: torch.Tensor, source_depths: list[torch.Tensor],
                              source_from_target: list[torch.Tensor], K: torch.Tensor) -> torch.Tensor:
    """Dense depth consistency between neighbouring frames (the geometry consistency of SC-SfMLearner,
    Bian et al. 2019): every target pixel is lifted with its depth, moved into each source camera, and
    its depth there, ``z``, is compared with the source frame's own predicted depth at the projection,
    ``d``: ``|z - d| / (z + d)``, averaged over the pixels that land inside the source with ``z > 0``.
    The photometric loss constrains each frame's depth only up to a scale that may differ from frame to
    frame; this term asks the network for one scale along the snippet (what frame-to-frame PnP and the
    backend's prior need).

    Args:
        target_depth: (B, 1, H, W) depth of the target frame (any positive unit).
        source_depths: one (B, 1, H, W) depth per source frame, the same unit.
        source_from_target: one (B, 4, 4) pose per source frame (its translation in that unit).
        K: (B, 3, 3) intrinsics at (H, W).
    Returns:
        scalar loss (0 with a gradient path when no pixel lands inside a source).
    """
    if len(source_depths) != len(source_from_target) or not source_depths:
        raise ValueError(f"need one pose per source depth, got {len(source_depths)} depths, "
                         f"{len(source_from_target)} poses")
    B, _, H, W = target_depth.shape
    points = backproject(target_depth, K).view(B, 3, -1).transpose(1, 2)
    total, count = target_depth.sum() * 0.0, target_depth.new_zeros(())
    for depth, T in zip(source_depths, source_from_target):
        if depth.shape != target_depth.shape:
            raise ValueError(f"source depth {tuple(depth.shape)} must match the target's {tuple(target_depth.shape)}")
        pix, z = project_points(transform_points(T, points), K)
        pix = pix.view(B, H, W, 2)
        valid = (in_image(pix, H, W) & (z.view(B, H, W) > 1e-3)).unsqueeze(1).to(target_depth.dtype)
        d = sample_image(depth, pix)
        z = z.view(B, 1, H, W)
        err = (z - d).abs() / (z.clamp_min(1e-3) + d).clamp_min(1e-6)
        total = total + (err * valid).sum()
        count = count + valid.sum()
    return total / count.clamp_min(1.0)


@dataclass
class RoadRegion:
    """The image region taken as road in front of a car-mounted camera (fractions of the image; the region
    of the runtime's RANSAC fit, ``frontend.ground_scale.GroundScaleOptions``)."""

    top: float = 0.6      # rows from this fraction of the height ...
    bottom: float = 0.95  # ... to this one
    width: float = 0.6    # central fraction of the columns
    stride: int = 2       # pixel subsampling
    inlier_band: float = 0.05   # robust weights: residual scale, this fraction of the plane's distance
    max_tilt_deg: float = 25.0  # planes tilted more than this from the camera's y axis are not used

    def __post_init__(self) -> None:
        if not (0 <= self.top < self.bottom <= 1 and 0 < self.width <= 1 and self.stride >= 1
                and 0 < self.inlier_band < 1 and 0 < self.max_tilt_deg < 90):
            raise ValueError(f"RoadRegion: invalid {self}")


def road_plane_heights(depth: torch.Tensor, K: torch.Tensor, region: RoadRegion | None = None,
                       iterations: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """The camera's height above a plane fitted to the road region of ``depth``, per image.

    The plane ``y = a x + b z + c`` (camera frame, y down) is fitted by weighted least squares to the
    back-projected region; the weights (Cauchy, scale ``inlier_band`` x the current height, computed
    without gradient, starting from a level plane at the median y) leave cars and kerbs out. The height
    ``c / sqrt(1 + a^2 + b^2)`` is differentiable in the depth through the last fit.

    Args:
        depth: (B, 1, H, W) positive depth (any unit).
        K: (B, 3, 3) intrinsics at (H, W).
    Returns:
        heights (B,) in the depth's unit and valid (B,) bool (a plane below the camera, tilted less than
        ``max_tilt_deg``, fitted on enough weight).
    """
    region = region or RoadRegion()
    _, _, H, W = depth.shape
    y0, y1 = int(region.top * H), max(int(region.bottom * H), int(region.top * H) + 1)
    half = region.width * W / 2
    x0, x1 = int(W / 2 - half), math.ceil(W / 2 + half)
    points = backproject(depth, K)[:, :, y0:y1:region.stride, x0:x1:region.stride].flatten(2)  # (B, 3, N)
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    A = torch.stack([x, z, torch.ones_like(x)], dim=-1)  # (B, N, 3)

    def fit(weights: torch.Tensor) -> torch.Tensor:
        Aw = A * weights.unsqueeze(-1)
        lhs = Aw.transpose(1, 2) @ A + 1e-9 * torch.eye(3, dtype=A.dtype, device=A.device)
        return torch.linalg.solve(lhs, (Aw.transpose(1, 2) @ y.unsqueeze(-1))).squeeze(-1)  # (B, 3)

    with torch.no_grad():
        theta = torch.zeros(A.shape[0], 3, dtype=A.dtype, device=A.device)
        theta[:, 2] = y.median(dim=1).values
        for _ in range(iterations):
            height = theta[:, 2] / torch.sqrt(1 + theta[:, 0] ** 2 + theta[:, 1] ** 2)
            r = (y - (A @ theta.unsqueeze(-1)).squeeze(-1)) / (region.inlier_band * height.abs().clamp_min(1e-6))[:, None]
            weights = 1.0 / (1.0 + r * r)
            theta = fit(weights)
    theta = fit(weights)
    norm = torch.sqrt(1 + theta[:, 0] ** 2 + theta[:, 1] ** 2)
    heights = theta[:, 2] / norm
    tilt = torch.rad2deg(torch.acos((1.0 / norm).clamp(max=1.0)))
    valid = (heights > 0) & (tilt < region.max_tilt_deg) & (weights.mean(dim=1) > 0.3)
    return heights, valid.detach()


def camera_height_consistency_loss(depth: torch.Tensor, K: torch.Tensor, region: RoadRegion | None = None,
                                   min_images: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """One depth unit across a batch, measured on the road: the variance of log(camera height above the
    road plane) over the batch's images (:func:`road_plane_heights`). A car-mounted camera's height does
    not change, so the network's depth of the road in front of it should not either; the unit itself
    stays free (set at export, ``kp3d-vo export --calibrate-depth``).

    Args:
        depth: (B, 1, H, W) positive depth (any unit); K: (B, 3, 3) at (H, W).
    Returns:
        (loss scalar, number of images with a road plane); 0 with a gradient path below ``min_images``.
    """
    heights, valid = road_plane_heights(depth, K, region)
    if int(valid.sum()) < min_images:
        return depth.sum() * 0.0, valid.sum()
    log_h = torch.log(heights[valid].clamp_min(1e-6))
    return ((log_h - log_h.mean()) ** 2).mean(), valid.sum()
