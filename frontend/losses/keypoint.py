"""KP2D-style keypoint losses for a pair of views with known point correspondence.

The caller provides, per view, the flattened network outputs of all N = (H/8)(W/8) cells:
``coords (B, N, 2)`` full-image pixels (x, y), ``scores (B, N)`` in [0, 1] and L2-normalised
``descriptors (B, N, D)`` sampled at the coords; plus the source keypoints mapped into the target
view (``warped (B, N, 2)``, by a homography or by depth + pose) and the target descriptor map
sampled at those warped positions (``positive_descriptors (B, N, D)``).

Losses (Tang et al., "Neural Outlier Rejection for Self-Supervised Keypoint Learning", ICLR 2020):
* location: distance from each warped source keypoint to its nearest target keypoint, over pairs
  closer than ``match_radius_px``;
* descriptor: triplet loss with the positive at the warped position and the hardest negative among
  target keypoint descriptors farther than ``negative_radius_px`` from it;
* score: UnsuperPoint-style "(s_s + s_t) / 2 * (d - mean d)" plus the squared score difference of
  corresponding pairs (high scores where the location error is small, consistent across views);
* IO-Net: source keypoints matched to target keypoints by descriptor distance, each pair
  classified inlier/outlier by a point-pair network; labels from the known correspondence. The
  network's inputs (coordinates, descriptor distances) carry gradient back into the keypoint net.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class KeypointLossOptions:
    location_weight: float = 1.0        # weight of the location loss
    descriptor_weight: float = 2.0      # weight of the triplet descriptor loss
    score_weight: float = 1.0           # weight of the score loss
    io_weight: float = 1.0              # weight of the IO-Net loss (0 disables IO-Net)
    match_radius_px: float = 4.0        # warped source / target keypoints closer than this correspond
    negative_radius_px: float = 8.0     # negatives must lie farther than this from the positive
    triplet_margin: float = 0.2         # margin of the triplet loss (on descriptor L2 distance)
    border_px: float = 4.0              # warped keypoints closer than this to the border are ignored
    io_top_k: int = 300                 # source keypoints (highest score) fed to IO-Net
    io_inlier_px: float = 4.0           # IO-Net label: inlier if the match lands within this radius

    def __post_init__(self) -> None:
        for name in ("location_weight", "descriptor_weight", "score_weight", "io_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"KeypointLossOptions.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("match_radius_px", "negative_radius_px", "io_inlier_px"):
            if getattr(self, name) <= 0:
                raise ValueError(f"KeypointLossOptions.{name} must be > 0, got {getattr(self, name)}")
        if self.triplet_margin < 0 or self.border_px < 0 or self.io_top_k < 8:
            raise ValueError("KeypointLossOptions: triplet_margin and border_px must be >= 0, io_top_k >= 8")


def descriptor_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise L2 distance of unit descriptors (B, N, D) x (B, M, D) -> (B, N, M), via sqrt(2 - 2 cos)."""
    return (2.0 - 2.0 * (a @ b.transpose(1, 2))).clamp_min(1e-6).sqrt()


def nearest_keypoints(warped: torch.Tensor, target_coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each warped source point (B, N, 2) the nearest target keypoint (B, M, 2): (distance (B, N), index (B, N))."""
    dist, idx = torch.cdist(warped, target_coords).min(dim=2)
    return dist, idx


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(x.dtype)
    return (x * mask).sum() / mask.sum().clamp_min(1.0)


def location_loss(dist: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean distance (pixels) of corresponding pairs. ``dist``, ``mask``: (B, N)."""
    return _masked_mean(dist, mask)


def descriptor_triplet_loss(source_desc: torch.Tensor, positive_desc: torch.Tensor, target_desc: torch.Tensor,
                            warped: torch.Tensor, target_coords: torch.Tensor, mask: torch.Tensor,
                            margin: float, negative_radius_px: float) -> torch.Tensor:
    """Triplet loss with hardest negatives.

    Args:
        source_desc: (B, N, D) source keypoint descriptors.
        positive_desc: (B, N, D) target descriptor map sampled at the warped source keypoints.
        target_desc: (B, M, D) descriptors of the target keypoints (negative candidates).
        warped: (B, N, 2) warped source keypoints; target_coords: (B, M, 2) target keypoints.
        mask: (B, N) bool, pairs that take part.
    """
    d_pos = (2.0 - 2.0 * (source_desc * positive_desc).sum(-1)).clamp_min(1e-6).sqrt()
    d_all = descriptor_distance(source_desc, target_desc)
    near = torch.cdist(warped, target_coords) < negative_radius_px
    d_neg = d_all.masked_fill(near, 4.0).min(dim=2)[0]
    return _masked_mean(F.relu(d_pos - d_neg + margin), mask)


def score_loss(source_scores: torch.Tensor, target_scores: torch.Tensor, dist: torch.Tensor, idx: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:
    """Score consistency weighted by location error. Scores (B, N)/(B, M); dist, idx, mask (B, N)."""
    matched = torch.gather(target_scores, 1, idx)
    m = mask.to(dist.dtype)
    n = m.sum(dim=1, keepdim=True).clamp_min(1.0)
    d_mean = ((dist * m).sum(dim=1, keepdim=True) / n).detach()
    usp = (source_scores + matched) / 2.0 * (dist.detach() - d_mean)
    return _masked_mean(usp + (source_scores - matched) ** 2, mask)


def io_net_inputs(source_coords: torch.Tensor, matched_coords: torch.Tensor, desc_dist: torch.Tensor,
                  image_size: tuple[int, int]) -> torch.Tensor:
    """IO-Net point-pair features (B, 5, K): source (x, y), target (x, y) in [-1, 1], descriptor distance."""
    h, w = image_size
    scale = source_coords.new_tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)])
    feats = torch.cat([source_coords * scale - 1.0, matched_coords * scale - 1.0, desc_dist[..., None]], dim=-1)
    return feats.transpose(1, 2)


def io_net_loss(io_net: torch.nn.Module, source_coords: torch.Tensor, source_scores: torch.Tensor,
                source_desc: torch.Tensor, warped: torch.Tensor, valid: torch.Tensor,
                target_coords: torch.Tensor, target_desc: torch.Tensor, image_size: tuple[int, int],
                top_k: int, inlier_px: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """IO-Net outlier-rejection loss on descriptor matches of the ``top_k`` best valid source keypoints.

    Returns (binary cross-entropy on IO-Net logits, {"io_inlier_ratio", "io_accuracy"} detached).
    """
    k = min(top_k, source_scores.shape[1])
    ranking = source_scores.detach().masked_fill(~valid, -1.0)
    sel = ranking.topk(k, dim=1)[1]
    pick = lambda t: torch.gather(t, 1, sel[..., None].expand(-1, -1, t.shape[-1]))  # noqa: E731
    src_xy, src_desc, src_warped = pick(source_coords), pick(source_desc), pick(warped)
    sel_valid = torch.gather(valid, 1, sel)
    d = descriptor_distance(src_desc, target_desc)
    nn_dist, nn_idx = d.min(dim=2)
    matched_xy = torch.gather(target_coords, 1, nn_idx[..., None].expand(-1, -1, 2))
    labels = (((src_warped - matched_xy).norm(dim=-1) < inlier_px) & sel_valid).to(src_xy.dtype).detach()
    logits = io_net(io_net_inputs(src_xy, matched_xy, nn_dist, image_size)).squeeze(1)
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    with torch.no_grad():
        acc = ((logits > 0).to(labels.dtype) == labels).to(labels.dtype).mean()
    return loss, {"io_inlier_ratio": labels.mean(), "io_accuracy": acc}


def pair_losses(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor], warped: torch.Tensor,
                positive_desc: torch.Tensor, image_size: tuple[int, int], options: KeypointLossOptions,
                io_net: torch.nn.Module | None = None, extra_valid: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
    """All KP2D losses for one (source, target) pair.

    Args:
        source, target: dicts with ``coords (B, N, 2)``, ``scores (B, N)``, ``desc (B, N, D)``.
        warped: (B, N, 2) source keypoints mapped into the target image.
        positive_desc: (B, N, D) target descriptor map sampled at ``warped``.
        image_size: (H, W) of the target image in pixels.
        extra_valid: optional (B, N) bool (e.g. positive depth after a 3D warp).
    Returns:
        dict with ``loss`` (weighted total) and the parts ``location``, ``descriptor``, ``score``,
        ``io`` plus diagnostics (``match_ratio``, ``mean_match_dist``), all scalars.
    """
    h, w = image_size
    b = options.border_px
    x, y = warped[..., 0], warped[..., 1]
    valid = (x >= b) & (x <= w - 1 - b) & (y >= b) & (y <= h - 1 - b)
    if extra_valid is not None:
        valid = valid & extra_valid
    dist, idx = nearest_keypoints(warped, target["coords"])
    mask = valid & (dist < options.match_radius_px)
    out = {
        "location": location_loss(dist, mask),
        "descriptor": descriptor_triplet_loss(source["desc"], positive_desc, target["desc"], warped, target["coords"],
                                              valid, options.triplet_margin, options.negative_radius_px),
        "score": score_loss(source["scores"], target["scores"], dist, idx, mask),
    }
    total = (options.location_weight * out["location"] + options.descriptor_weight * out["descriptor"]
             + options.score_weight * out["score"])
    if io_net is not None and options.io_weight > 0:
        out["io"], diag = io_net_loss(io_net, source["coords"], source["scores"], source["desc"], warped, valid,
                                      target["coords"], target["desc"], image_size, options.io_top_k,
                                      options.io_inlier_px)
        out.update(diag)
        total = total + options.io_weight * out["io"]
    with torch.no_grad():
        out["match_ratio"] = mask.to(dist.dtype).sum() / valid.to(dist.dtype).sum().clamp_min(1.0)
        out["mean_match_dist"] = _masked_mean(dist, valid)
    out["loss"] = total
    return out
