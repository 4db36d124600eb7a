"""KP3D multi-view adaptation: keypoints lifted with depth, matched across frames, and a
differentiable Procrustes pose; sparse depth consistency."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from frontend.geometry import backproject_points, sample_image, weighted_procrustes
from frontend.losses.keypoint import descriptor_distance, io_net_inputs


def sample_depth(depth: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Bilinear depth (B, 1, H, W) at pixels (B, N, 2) -> (B, N) (0 outside the image)."""
    return sample_image(depth, pixels[:, :, None, :]).squeeze(-1).squeeze(1)


def keypoint_pose(target: dict[str, torch.Tensor], source: dict[str, torch.Tensor], target_depth: torch.Tensor,
                  source_depth: torch.Tensor, K: torch.Tensor, *, top_k: int = 300, io_net: torch.nn.Module | None = None,
                  image_size: tuple[int, int] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``source_from_target`` (B, 4, 4) from descriptor matches lifted to 3D (weighted Procrustes).

    The ``top_k`` best target keypoints (``coords (B, N, 2)``, ``scores (B, N)``, ``desc (B, N, D)``)
    are matched to their nearest source descriptors; both ends are lifted with their frame's depth
    (B, 1, H, W). Weights: target score x source score x mutual-match indicator (x IO-Net inlier
    probability when ``io_net`` is given). Returns the pose and diagnostics (``mutual_ratio``).
    """
    k = min(top_k, target["scores"].shape[1])
    sel = target["scores"].detach().topk(k, dim=1)[1]
    gather = lambda t, i: torch.gather(t, 1, i[..., None].expand(-1, -1, t.shape[-1]))  # noqa: E731
    t_xy, t_desc, t_score = gather(target["coords"], sel), gather(target["desc"], sel), torch.gather(target["scores"], 1, sel)
    d = descriptor_distance(t_desc, source["desc"])
    nn_dist, nn_idx = d.min(dim=2)
    back = descriptor_distance(source["desc"], target["desc"]).min(dim=2)[1]  # source -> target (all cells)
    mutual = (torch.gather(back, 1, nn_idx) == sel).to(t_score.dtype)
    s_xy = gather(source["coords"], nn_idx)
    s_score = torch.gather(source["scores"], 1, nn_idx)
    z_t, z_s = sample_depth(target_depth, t_xy), sample_depth(source_depth, s_xy)
    weights = t_score * s_score * mutual * (z_t > 0).to(z_t.dtype) * (z_s > 0).to(z_s.dtype)
    if io_net is not None:
        size = image_size or tuple(target_depth.shape[-2:])
        weights = weights * torch.sigmoid(io_net(io_net_inputs(t_xy, s_xy, nn_dist, size)).squeeze(1))
    weights = weights + 1e-6  # never all zero
    pose = weighted_procrustes(backproject_points(t_xy, z_t, K), backproject_points(s_xy, z_s, K), weights)
    return pose, {"mutual_ratio": mutual.mean().detach()}


def depth_consistency_loss(projected_z: torch.Tensor, source_depth_at_proj: torch.Tensor,
                           mask: torch.Tensor) -> torch.Tensor:
    """Sparse depth consistency: |z_proj - D_s(p)| / (z_proj + D_s(p)) over ``mask`` (all (B, N))."""
    err = (projected_z - source_depth_at_proj).abs() / (projected_z + source_depth_at_proj).clamp_min(1e-6)
    m = mask.to(err.dtype)
    return (err * m).sum() / m.sum().clamp_min(1.0)


def upsample_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return x if x.shape[-2:] == size else F.interpolate(x, size=size, mode="bilinear", align_corners=False)
