"""Keypoint selection, descriptor sampling and mutual nearest-neighbour matching (pure torch).

Pixel convention everywhere: full-image pixel coordinates ``(x, y)``, the centre of the top-left
pixel is (0, 0) (as ``frontend.common.camera.Intrinsics``). The functions are TorchScript-compatible.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def pixels_to_grid(coords: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """``(..., 2)`` pixel ``(x, y)`` -> ``grid_sample`` coordinates in [-1, 1] for ``align_corners=False``.

    With ``align_corners=False`` -1 and 1 are the outer edges of the image, so the pixel centre
    ``x`` maps to ``(2 x + 1) / width - 1`` -- whatever the stride of the sampled map, as long as the
    map covers the image exactly (``width = stride * map_width``).
    """
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=coords.dtype, device=coords.device)
    return (coords + 0.5) * scale - 1.0


def sample_descriptors(desc_map: torch.Tensor, coords: torch.Tensor, image_size: Tuple[int, int]) -> torch.Tensor:
    """Bilinear descriptors at keypoints, L2-normalised.

    Args:
        desc_map: ``(B, D, h, w)`` dense descriptors covering the whole image (any stride).
        coords: ``(B, N, 2)`` full-image pixel ``(x, y)``.
        image_size: ``(height, width)`` of the image in pixels.
    Returns:
        ``(B, N, D)`` unit-length descriptors (border-clamped outside the image).
    """
    if desc_map.dim() != 4 or coords.dim() != 3 or coords.shape[2] != 2 or coords.shape[0] != desc_map.shape[0]:
        raise ValueError(f"sample_descriptors: need desc_map (B, D, h, w) and coords (B, N, 2), "
                         f"got {list(desc_map.shape)} and {list(coords.shape)}")
    grid = pixels_to_grid(coords.to(desc_map.dtype), int(image_size[1]), int(image_size[0])).unsqueeze(1)
    sampled = F.grid_sample(desc_map, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return F.normalize(sampled.squeeze(2).transpose(1, 2), p=2.0, dim=2)


def border_mask(hc: int, wc: int, border_cells: int, device: torch.device) -> torch.Tensor:
    """``(hc, wc)`` bool, False on the ``border_cells`` outer rings of cells."""
    mask = torch.zeros(hc, wc, dtype=torch.bool, device=device)
    if 2 * border_cells < hc and 2 * border_cells < wc:
        mask[border_cells:hc - border_cells, border_cells:wc - border_cells] = True
    return mask


def select_topk(score: torch.Tensor, coord: torch.Tensor, desc_map: torch.Tensor, k: int,
                border_cells: int = 1, cell: int = 8) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``k`` highest-scoring cells (one keypoint per cell), best first.

    Args:
        score: ``(B, 1, hc, wc)`` in [0, 1]; coord: ``(B, 2, hc, wc)`` full-image pixels;
        desc_map: ``(B, D, h, w)``; k: keypoint budget; border_cells: outer rings of cells ignored;
        cell: cell size in pixels (the image is ``cell * (hc, wc)``).
    Returns:
        ``keypoints (B, K, 2)``, ``scores (B, K)``, ``descriptors (B, K, D)`` with
        ``K = min(k, number of non-border cells)``.
    """
    if score.dim() != 4 or score.shape[1] != 1 or coord.dim() != 4 or coord.shape[1] != 2:
        raise ValueError(f"select_topk: need score (B, 1, hc, wc) and coord (B, 2, hc, wc), "
                         f"got {list(score.shape)} and {list(coord.shape)}")
    if k < 1:
        raise ValueError(f"select_topk: k must be >= 1, got {k}")
    b, _, hc, wc = score.shape
    valid = border_mask(hc, wc, border_cells, score.device).view(-1)
    idx_valid = torch.nonzero(valid).view(-1)
    flat_score = score.view(b, -1)[:, idx_valid]
    k_eff = min(k, int(idx_valid.numel()))
    top_scores, top = torch.topk(flat_score, k_eff, dim=1, largest=True, sorted=True)
    cell_idx = idx_valid[top]  # (B, K)
    flat_coord = coord.reshape(b, 2, -1)
    keypoints = torch.gather(flat_coord, 2, cell_idx.unsqueeze(1).expand(b, 2, k_eff)).transpose(1, 2)
    image_size = (hc * cell, wc * cell)
    descriptors = sample_descriptors(desc_map, keypoints, image_size)
    return keypoints.contiguous(), top_scores, descriptors


def mutual_nn_match(desc_a: torch.Tensor, desc_b: torch.Tensor,
                    max_distance: Optional[float] = None) -> torch.Tensor:
    """Mutual nearest neighbours in Euclidean descriptor distance.

    Args:
        desc_a: ``(N, D)``; desc_b: ``(M, D)``; max_distance: optional bound on the distance.
    Returns:
        ``(P, 2) int64`` pairs ``(i, j)`` such that ``j`` is the nearest neighbour of ``i`` in
        ``desc_b`` and ``i`` that of ``j`` in ``desc_a``, sorted by ``i``.
    """
    if desc_a.dim() != 2 or desc_b.dim() != 2 or desc_a.shape[1] != desc_b.shape[1]:
        raise ValueError(f"mutual_nn_match: need (N, D) and (M, D), got {list(desc_a.shape)} and {list(desc_b.shape)}")
    if desc_a.shape[0] == 0 or desc_b.shape[0] == 0:
        return torch.zeros(0, 2, dtype=torch.long, device=desc_a.device)
    dist = torch.cdist(desc_a.unsqueeze(0).float(), desc_b.unsqueeze(0).float()).squeeze(0)
    nn_ab = dist.argmin(dim=1)
    nn_ba = dist.argmin(dim=0)
    idx_a = torch.arange(desc_a.shape[0], device=desc_a.device)
    keep = nn_ba[nn_ab] == idx_a
    if max_distance is not None:
        keep = keep & (dist[idx_a, nn_ab] <= max_distance)
    return torch.stack([idx_a[keep], nn_ab[keep]], dim=1)
