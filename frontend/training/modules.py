"""Training modules: ``forward(batch) -> dict of scalar losses`` (``"loss"`` = total to minimise).

One module holds every network a task trains, so DistributedDataParallel wraps one object and each
step is one forward/backward. Batches are the dicts produced by ``frontend.training.data``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from frontend.geometry import (backproject_points, in_image, pose_vec_to_matrix, project_points, transform_points,
                               warp_points_homography)
from frontend.losses.depth import (DepthLossOptions, camera_height_consistency_loss, geometry_consistency_loss,
                                   multiscale_photometric_loss, sparse_scale_invariant_loss)
from frontend.losses.keypoint import KeypointLossOptions, pair_losses
from frontend.losses.multiview import depth_consistency_loss, keypoint_pose, sample_depth, upsample_to


def keypoint_outputs(net: nn.Module, images: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Run KeypointNet on (B, 1, H, W); flatten to ``coords (B, N, 2)``, ``scores (B, N)``,
    ``desc (B, N, D)`` (descriptors sampled at the keypoints); also return the dense descriptor map."""
    from frontend.keypoints import sample_descriptors

    score, coord, desc_map = net(images)
    B = images.shape[0]
    coords = coord.flatten(2).transpose(1, 2)
    out = {"coords": coords, "scores": score.flatten(1),
           "desc": sample_descriptors(desc_map, coords, tuple(images.shape[-2:]))}
    return out, desc_map


def _split(d: dict[str, torch.Tensor], n: int) -> list[dict[str, torch.Tensor]]:
    parts = {k: v.chunk(n, dim=0) for k, v in d.items()}
    return [{k: parts[k][i] for k in d} for i in range(n)]


def homography_losses(keypoint_net: nn.Module, io_net: nn.Module | None, source: torch.Tensor, target: torch.Tensor,
                      target_from_source: torch.Tensor, options: KeypointLossOptions) -> dict[str, torch.Tensor]:
    """KP2D losses of (B, 1, H, W) source/target images related by (B, 3, 3) homographies."""
    from frontend.keypoints import sample_descriptors

    size = tuple(source.shape[-2:])
    outs, desc_map = keypoint_outputs(keypoint_net, torch.cat([source, target], dim=0))
    src, tgt = _split(outs, 2)
    tgt_map = desc_map.chunk(2, dim=0)[1]
    warped = warp_points_homography(src["coords"], target_from_source)
    positive = sample_descriptors(tgt_map, warped, size)
    return pair_losses(src, tgt, warped, positive, size, options, io_net)


class HomographyModule(nn.Module):
    """KP2D homography adaptation of a KeypointNet (+ IO-Net)."""

    def __init__(self, keypoint_net: nn.Module, io_net: nn.Module | None, options: KeypointLossOptions):
        super().__init__()
        self.keypoint_net, self.io_net, self.options = keypoint_net, io_net, options

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return homography_losses(self.keypoint_net, self.io_net, batch["source"], batch["target"],
                                 batch["target_from_source"], self.options)


@dataclass
class DepthTaskOptions:
    depth: DepthLossOptions = field(default_factory=DepthLossOptions)
    pose_source: str = "posenet"     # "posenet" | "keypoints" (frozen KeypointNet matches + Procrustes)
    keypoint_top_k: int = 300        # matches used by the keypoint pose
    # Scale-invariant log loss (Eigen) on the exact depth of render samples (batch "depth" > 0; KITTI
    # items carry none): teaches the depth *profile* (no near/far compression) that the photometric
    # loss leaves loose. 0 = off (photometric only, as the shipped nets were trained).
    render_depth_weight: float = 0.0
    render_depth_max_m: float = 80.0       # render depths beyond this (sky, horizon) are not targets
    render_depth_variance_weight: float = 1.0   # 1 = profile only (the unit stays the network's); < 1 pulls it to metres
    # Dense depth consistency across the snippet (SC-SfMLearner's geometry consistency, finest scale): one
    # depth unit from frame to frame. Costs a DepthNet pass on every source frame. 0 = off.
    geometry_consistency_weight: float = 0.0
    # One depth unit across the batch's images, measured on the road: the variance of log(camera height above
    # a plane fitted to the lower-middle image) over the batch (losses.depth.camera_height_consistency_loss).
    # For car-mounted footage only (KITTI and the renders: one camera height). 0 = off.
    camera_height_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.pose_source not in ("posenet", "keypoints"):
            raise ValueError(f"pose_source must be 'posenet' or 'keypoints', got {self.pose_source!r}")
        if self.render_depth_weight < 0 or self.render_depth_max_m <= 0 \
                or not 0.0 <= self.render_depth_variance_weight <= 1.0 or not self.geometry_consistency_weight >= 0 \
                or not self.camera_height_weight >= 0:
            raise ValueError("DepthTaskOptions: render_depth_weight >= 0, render_depth_max_m > 0, "
                             "render_depth_variance_weight in [0, 1], geometry_consistency_weight >= 0 and "
                             "camera_height_weight >= 0 are required")


class DepthModule(nn.Module):
    """Monodepth2-style DepthNet (+ PoseNet) training on snippets; pose from PoseNet or keypoints."""

    def __init__(self, depth_net: nn.Module, pose_net: nn.Module | None, options: DepthTaskOptions,
                 keypoint_net: nn.Module | None = None):
        super().__init__()
        if options.pose_source == "posenet" and pose_net is None:
            raise ValueError("pose_source 'posenet' needs a pose network")
        if options.pose_source == "keypoints" and keypoint_net is None:
            raise ValueError("pose_source 'keypoints' needs a (pretrained) keypoint network: set init.keypoint")
        self.depth_net, self.pose_net, self.options = depth_net, pose_net, options
        self.keypoint_net = keypoint_net
        if keypoint_net is not None:
            keypoint_net.requires_grad_(False)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        images, images_aug, K = batch["images"], batch["images_aug"], batch["K"]
        B, F1 = images.shape[:2]
        target, sources = images[:, 0], [images[:, j] for j in range(1, F1)]
        source_disp = None  # finest disparities of the source frames (B, F1 - 1, 1, h, w), when needed
        if self.options.pose_source == "posenet":
            if self.options.geometry_consistency_weight > 0:  # one DepthNet pass over the whole snippet
                all_disps = self.depth_net(images_aug.reshape(-1, *images.shape[2:]))
                disps = [d.view(B, F1, *d.shape[1:])[:, 0] for d in all_disps]
                source_disp = all_disps[0].view(B, F1, *all_disps[0].shape[1:])[:, 1:]
            else:
                disps = self.depth_net(images_aug[:, 0])
            tgt_rep = images_aug[:, :1].expand(-1, F1 - 1, -1, -1, -1).reshape(-1, *images.shape[2:])
            src_all = images_aug[:, 1:].reshape(-1, *images.shape[2:])
            poses = pose_vec_to_matrix(self.pose_net(tgt_rep, src_all)).view(B, F1 - 1, 4, 4)
            source_from_target = [poses[:, j] for j in range(F1 - 1)]
        else:
            all_disps = self.depth_net(images_aug.reshape(-1, *images.shape[2:]))
            disps = [d.view(B, F1, *d.shape[1:])[:, 0] for d in all_disps]
            source_disp = all_disps[0].view(B, F1, *all_disps[0].shape[1:])[:, 1:]
            source_from_target = self._keypoint_poses(images_aug, all_disps[0].view(B, F1, *all_disps[0].shape[1:]), K)
        out = multiscale_photometric_loss(list(disps), target, sources, source_from_target, K, self.options.depth)
        if self.options.geometry_consistency_weight > 0:
            gc = self._geometry_consistency(disps[0], source_disp, source_from_target, K, tuple(images.shape[-2:]))
            out["loss"] = out["loss"] + self.options.geometry_consistency_weight * gc
            out["geometry_consistency"] = gc.detach()
        if self.options.camera_height_weight > 0:
            ch, used = self._camera_height_loss(disps[0], K, tuple(images.shape[-2:]))
            out["loss"] = out["loss"] + self.options.camera_height_weight * ch
            out["camera_height"], out["camera_height_images"] = ch.detach(), used.float()
        if self.options.render_depth_weight > 0 and "depth" in batch:
            si, used = self._render_depth_loss(disps[0], batch["depth"])
            out["loss"] = out["loss"] + self.options.render_depth_weight * si
            out["render_si"], out["render_images"] = si.detach(), used.float()
        return out

    def _geometry_consistency(self, disp: torch.Tensor, source_disp: torch.Tensor,
                              source_from_target: list[torch.Tensor], K: torch.Tensor,
                              size: tuple[int, int]) -> torch.Tensor:
        """:func:`geometry_consistency_loss` of the finest target disparity ``(B, 1, h, w)`` against the
        sources' ``(B, S, 1, h, w)``, upsampled to the images' ``size`` (``K`` is at that size)."""
        return geometry_consistency_loss(
            self._depth_at(disp, size), [self._depth_at(source_disp[:, j], size) for j in range(source_disp.shape[1])],
            source_from_target, K)

    def _depth_at(self, disp: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Depth ``(B, 1, *size)`` of a disparity ``(B, 1, h, w)`` upsampled to ``size`` (the loss's depth range)."""
        from frontend.models import disp_to_depth

        o = self.options.depth
        return disp_to_depth(upsample_to(disp, size), o.min_depth, o.max_depth)[1]

    def _camera_height_loss(self, disp: torch.Tensor, K: torch.Tensor, size: tuple[int, int]
                            ) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`camera_height_consistency_loss` of the finest disparity ``(B, 1, h, w)`` upsampled to the
        images' ``size`` (``K`` is at that size)."""
        return camera_height_consistency_loss(self._depth_at(disp, size), K)

    def _render_depth_loss(self, disp: torch.Tensor, exact_depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scale-invariant log loss of the finest disparity ``(B, 1, h, w)`` against exact depth ``(B, 1, H, W)``
        metres (0 = none; items without any are skipped by the loss)."""
        o = self.options
        depth = self._depth_at(disp, tuple(exact_depth.shape[-2:]))
        target = torch.where(exact_depth < o.render_depth_max_m, exact_depth, torch.zeros_like(exact_depth))
        return sparse_scale_invariant_loss(depth, target, o.render_depth_variance_weight)

    def _keypoint_poses(self, images_aug: torch.Tensor, disp0: torch.Tensor, K: torch.Tensor) -> list[torch.Tensor]:
        from frontend.models import disp_to_depth

        B, F1 = images_aug.shape[:2]
        with torch.no_grad():
            self.keypoint_net.eval()
            kps, _ = keypoint_outputs(self.keypoint_net, images_aug.reshape(-1, *images_aug.shape[2:]))
        kps = {k: v.view(B, F1, *v.shape[1:]) for k, v in kps.items()}
        o = self.options.depth
        depth = disp_to_depth(disp0, o.min_depth, o.max_depth)[1]
        frame = lambda j: {k: v[:, j] for k, v in kps.items()}  # noqa: E731
        return [keypoint_pose(frame(0), frame(j), depth[:, 0], depth[:, j], K, top_k=self.options.keypoint_top_k)[0]
                for j in range(1, F1)]


@dataclass
class MultiViewOptions:
    keypoint: KeypointLossOptions = field(default_factory=KeypointLossOptions)
    depth: DepthLossOptions = field(default_factory=DepthLossOptions)
    homography_weight: float = 1.0     # KP2D homography losses on the target frame
    multiview_weight: float = 1.0      # KP2D losses across frames (depth + pose warp)
    photometric_weight: float = 1.0    # monodepth2 photometric loss with the keypoint pose
    depth_consistency_weight: float = 0.1  # sparse depth consistency of keypoints across frames
    top_k: int = 300                   # keypoint matches fed to Procrustes
    pose_source: str = "keypoints"     # "keypoints" (Procrustes, KP3D) | "posenet"

    def __post_init__(self) -> None:
        if self.pose_source not in ("posenet", "keypoints"):
            raise ValueError(f"pose_source must be 'posenet' or 'keypoints', got {self.pose_source!r}")
        if min(self.homography_weight, self.multiview_weight, self.photometric_weight,
               self.depth_consistency_weight) < 0 or self.top_k < 8:
            raise ValueError(f"MultiViewOptions: weights must be >= 0 and top_k >= 8, got {self}")


class MultiViewModule(nn.Module):
    """KP3D multi-view adaptation of KeypointNet + DepthNet (+ IO-Net, optional PoseNet).

    Batch: a snippet (``images``, ``images_aug``, ``K``) plus a homography pair of the target
    (``source``, ``target``, ``target_from_source``) for the KP2D losses.
    """

    def __init__(self, keypoint_net: nn.Module, depth_net: nn.Module, io_net: nn.Module | None,
                 pose_net: nn.Module | None, options: MultiViewOptions):
        super().__init__()
        if options.pose_source == "posenet" and pose_net is None:
            raise ValueError("pose_source 'posenet' needs a pose network")
        self.keypoint_net, self.depth_net, self.io_net, self.pose_net = keypoint_net, depth_net, io_net, pose_net
        self.options = options

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        from frontend.keypoints import sample_descriptors
        from frontend.models import disp_to_depth

        o = self.options
        images, images_aug, K = batch["images"], batch["images_aug"], batch["K"]
        B, F1 = images.shape[:2]
        size = tuple(images.shape[-2:])
        flat_aug = images_aug.reshape(-1, *images.shape[2:])
        disps = [d.view(B, F1, *d.shape[1:]) for d in self.depth_net(flat_aug)]
        depth = disp_to_depth(upsample_to(disps[0].flatten(0, 1), size), o.depth.min_depth, o.depth.max_depth)[1]
        depth = depth.view(B, F1, 1, *size)
        kps, desc_maps = keypoint_outputs(self.keypoint_net, flat_aug)
        kps = {k: v.view(B, F1, *v.shape[1:]) for k, v in kps.items()}
        desc_maps = desc_maps.view(B, F1, *desc_maps.shape[1:])
        frame = lambda j: {k: v[:, j] for k, v in kps.items()}  # noqa: E731
        target = frame(0)
        out: dict[str, torch.Tensor] = {}
        poses, mv_terms, dc_terms = [], [], []
        for j in range(1, F1):
            if o.pose_source == "keypoints":
                T, diag = keypoint_pose(target, frame(j), depth[:, 0], depth[:, j], K, top_k=o.top_k,
                                        io_net=self.io_net, image_size=size)
                out["mutual_ratio"] = diag["mutual_ratio"]
            else:
                T = pose_vec_to_matrix(self.pose_net(images_aug[:, 0], images_aug[:, j]))
            poses.append(T)
            # Sparse KP2D losses across frames: every target cell warped with depth + pose.
            z_t = sample_depth(depth[:, 0], target["coords"])
            pts = transform_points(T, backproject_points(target["coords"], z_t, K))
            warped, z_proj = project_points(pts, K)
            positive = sample_descriptors(desc_maps[:, j], warped, size)
            pl = pair_losses(target, frame(j), warped, positive, size, o.keypoint, None, extra_valid=z_proj > 1e-3)
            mv_terms.append(pl)
            d_src = sample_depth(depth[:, j], warped)
            inside = (z_proj > 1e-3) & (d_src > 0) & in_image(warped, size[0], size[1])
            dc_terms.append(depth_consistency_loss(z_proj, d_src, inside))
        photo = multiscale_photometric_loss([d[:, 0] for d in disps], images[:, 0], [images[:, j] for j in range(1, F1)],
                                            poses, K, o.depth)
        homo = homography_losses(self.keypoint_net, self.io_net, batch["source"], batch["target"],
                                 batch["target_from_source"], o.keypoint)
        n = F1 - 1
        mv = {k: sum(t[k] for t in mv_terms) / n for k in ("loss", "location", "descriptor", "score", "match_ratio")}
        dc = sum(dc_terms) / n
        out.update({"homography": homo["loss"], "multiview": mv["loss"], "mv_location": mv["location"],
                    "mv_descriptor": mv["descriptor"], "mv_match_ratio": mv["match_ratio"],
                    "photometric": photo["photometric"], "smoothness": photo["smoothness"],
                    "depth_consistency": dc, "location": homo["location"], "descriptor": homo["descriptor"],
                    "score": homo["score"]})
        if "io" in homo:
            out["io"] = homo["io"]
        out["loss"] = (o.homography_weight * homo["loss"] + o.multiview_weight * mv["loss"]
                       + o.photometric_weight * photo["loss"] + o.depth_consistency_weight * dc)
        return out
