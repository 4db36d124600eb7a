"""`kp3d-vo adapt`, KeypointNet part: KP2D losses across the user's own frames, warped by the backend.

KP3D's multi-view adaptation warps each target keypoint into the neighbouring frames with the DepthNet's
depth and a pose from keypoint Procrustes. Here the pose is the backend's (optimised over many frames,
in the DepthNet's internal unit after ``adapt.align_to_network``) and the depth the DepthNet's *after*
its own adaptation (fitted to the backend's sparse depths and poses), so the correspondences are the
backend's geometry. On each correspondence the KP2D losses (``frontend.losses.keypoint.pair_losses``:
location, descriptor triplet, score) train the KeypointNet, plus the KP2D homography losses on the same
frames (the training objective, so the network does not drift from it on one sequence).

Samples are at the KeypointNet's input size (the exported frontend's ``input``), independent of the
DepthNet's (whose depth is upsampled).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np
import torch
from torch import nn

from frontend.common.typed_config import check_ranges
from frontend.losses.keypoint import KeypointLossOptions
from frontend.training.adapt_data import FrameSequence, Sample, grey_reader
from frontend.training.augment import PhotometricOptions, photometric_augment
from frontend.training.homography import HomographyOptions


def warmup_cosine_lr(step: int, steps: int, warmup_steps: int, lr: float) -> float:
    """Learning rate at ``step``: linear warm-up to ``lr``, then cosine down to lr / 10 at ``steps``."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(steps - warmup_steps, 1)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class KeypointAdaptOptions:
    """How `kp3d-vo adapt` fine-tunes the KeypointNet (``steps`` 0: copied unchanged)."""

    steps: int = 0                     # optimisation steps per iteration (0 = KeypointNet not adapted)
    batch_size: int = 2
    lr: float = 5e-5                   # peak learning rate (AdamW), cosine to lr/10 over the steps
    warmup_steps: int = 10
    grad_clip: float = 5.0             # max global gradient norm
    homography_weight: float = 1.0     # KP2D homography losses on the target frames
    min_depth_ratio: float = 0.02      # warp only keypoints with depth in [ratio, 1/ratio] x the median
    max_eval_samples: int = 32         # before/after losses on at most this many samples (evenly spaced)
    loss: KeypointLossOptions = field(default_factory=KeypointLossOptions)
    homography: HomographyOptions = field(default_factory=HomographyOptions)
    photometric: PhotometricOptions = field(default_factory=lambda: PhotometricOptions(
        probability=0.8, brightness=0.2, contrast=0.2, noise_std=0.0, blur_probability=0.0))

    def check(self) -> "KeypointAdaptOptions":
        check_ranges("KeypointAdaptOptions", {
            "steps (--keypoint-steps)": (self.steps, self.steps >= 0, ">= 0"),
            "batch_size": (self.batch_size, self.batch_size >= 1, ">= 1"),
            "lr": (self.lr, self.lr > 0, "> 0"),
            "warmup_steps": (self.warmup_steps, self.warmup_steps >= 0, ">= 0"),
            "grad_clip": (self.grad_clip, self.grad_clip >= 0, ">= 0"),
            "homography_weight": (self.homography_weight, self.homography_weight >= 0, ">= 0"),
            "min_depth_ratio": (self.min_depth_ratio, 0 < self.min_depth_ratio < 1, "in (0, 1)"),
            "max_eval_samples": (self.max_eval_samples, self.max_eval_samples >= 1, ">= 1")})
        return self


@dataclass
class KeypointSample:
    """One target at the KeypointNet's input size (H, W).

    images: (S + 1, H, W) float32 in [0, 1]: target, then the sources.
    source_from_target: (S, 4, 4) float64 poses (the DepthNet's internal unit).
    depth: (H, W) float32 the adapted DepthNet's depth of the target (same unit).
    """

    images: np.ndarray
    source_from_target: np.ndarray
    depth: np.ndarray


def keypoint_samples(sequence: FrameSequence, samples: list[Sample], offsets: tuple[int, ...],
                     target_depth: np.ndarray, width: int, height: int) -> list[KeypointSample]:
    """The depth samples' frames again at (width, height); ``target_depth`` (N, h, w) float32 is the
    adapted DepthNet's depth of each sample's target at the DepthNet's size (resized here)."""
    if len(target_depth) != len(samples):
        raise ValueError(f"keypoint_samples: {len(target_depth)} depth maps for {len(samples)} samples")
    grey = grey_reader(sequence, width, height)
    out = []
    for s, d in zip(samples, target_depth):
        images = np.stack([grey(s.frame)] + [grey(s.frame + o) for o in offsets])
        depth = cv2.resize(d, (width, height), interpolation=cv2.INTER_LINEAR)
        out.append(KeypointSample(images, s.source_from_target.copy(), depth.astype(np.float32)))
    return out


def _batch(samples: list[KeypointSample], idx: np.ndarray, K: np.ndarray, rng: np.random.Generator,
           options: KeypointAdaptOptions) -> dict[str, torch.Tensor]:
    from frontend.training.data import homography_pair

    images, aug, poses, depth, pairs = [], [], [], [], []
    for i in idx:
        s = samples[int(i)]
        images.append(np.stack([photometric_augment(im[None], rng, options.photometric)[0] for im in s.images]))
        poses.append(s.source_from_target)
        depth.append(s.depth[None])
        pairs.append(homography_pair(s.images[0], rng, options.homography, options.photometric))
    n = len(idx)
    return {"images": torch.from_numpy(np.stack(images)[:, :, None]).float(),
            "source_from_target": torch.from_numpy(np.stack(poses)).float(),
            "depth": torch.from_numpy(np.stack(depth)).float(),
            "K": torch.from_numpy(np.repeat(K[None], n, axis=0)).float(),
            "source": torch.stack([p["source"] for p in pairs]), "target": torch.stack([p["target"] for p in pairs]),
            "target_from_source": torch.stack([p["target_from_source"] for p in pairs])}


def keypoint_adapt_losses(keypoint_net: nn.Module, batch: dict[str, torch.Tensor], options: KeypointAdaptOptions
                          ) -> dict[str, torch.Tensor]:
    """KP2D losses of the target keypoints warped into each source (backend pose + adapted depth), plus
    the homography losses. batch: ``images (B, S+1, 1, H, W)``, ``source_from_target (B, S, 4, 4)``,
    ``depth (B, 1, H, W)``, ``K (B, 3, 3)``, ``source``/``target`` (B, 1, H, W), ``target_from_source (B, 3, 3)``."""
    from frontend.geometry import backproject_points, project_points, transform_points
    from frontend.keypoints import sample_descriptors
    from frontend.losses.keypoint import pair_losses
    from frontend.losses.multiview import sample_depth
    from frontend.training.modules import homography_losses, keypoint_outputs

    images, T, K = batch["images"], batch["source_from_target"], batch["K"]
    B, F1 = images.shape[:2]
    size = tuple(images.shape[-2:])
    kps, desc_maps = keypoint_outputs(keypoint_net, images.reshape(-1, *images.shape[2:]))
    kps = {k: v.view(B, F1, *v.shape[1:]) for k, v in kps.items()}
    desc_maps = desc_maps.view(B, F1, *desc_maps.shape[1:])
    frame = lambda j: {k: v[:, j] for k, v in kps.items()}  # noqa: E731
    target = frame(0)
    z = sample_depth(batch["depth"], target["coords"])  # (B, N)
    median = z.median(dim=1, keepdim=True).values
    depth_ok = (z > options.min_depth_ratio * median) & (z < median / options.min_depth_ratio)
    terms = []
    for j in range(1, F1):
        pts = transform_points(T[:, j - 1], backproject_points(target["coords"], z, K))
        warped, z_proj = project_points(pts, K)
        positive = sample_descriptors(desc_maps[:, j], warped, size)
        terms.append(pair_losses(target, frame(j), warped, positive, size, options.loss, None,
                                 extra_valid=depth_ok & (z_proj > 1e-3)))
    n = F1 - 1
    mv = {k: sum(t[k] for t in terms) / n for k in ("loss", "location", "descriptor", "score", "match_ratio")}
    homo = homography_losses(keypoint_net, None, batch["source"], batch["target"], batch["target_from_source"],
                             options.loss)
    return {"loss": mv["loss"] + options.homography_weight * homo["loss"], "multiview": mv["loss"],
            "mv_location": mv["location"], "mv_descriptor": mv["descriptor"], "mv_match_ratio": mv["match_ratio"],
            "homography": homo["loss"]}


def train_mode(net: nn.Module, freeze_batchnorm: bool = True) -> None:
    """``net.train()``, with the BatchNorm layers kept in eval mode when ``freeze_batchnorm`` (one sequence,
    small batches: the encoder's statistics stay those of the full training)."""
    net.train()
    if freeze_batchnorm:
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()


def finetune_keypoints(keypoint_net: nn.Module, samples: list[KeypointSample], K: np.ndarray,
                       options: KeypointAdaptOptions, seed: int,
                       on_step: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, float]:
    """``options.steps`` AdamW steps of ``keypoint_adapt_losses``; in place. K: (3, 3) of the samples'
    size. Returns the mean metrics of the last 20 steps (empty without steps)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    params = [p for p in keypoint_net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=options.lr)
    history: list[dict[str, float]] = []
    for step in range(options.steps):
        for g in opt.param_groups:
            g["lr"] = warmup_cosine_lr(step, options.steps, options.warmup_steps, options.lr)
        train_mode(keypoint_net)
        idx = rng.choice(len(samples), size=options.batch_size, replace=len(samples) < options.batch_size)
        out = keypoint_adapt_losses(keypoint_net, _batch(samples, idx, K, rng, options), options)
        if not torch.isfinite(out["loss"]):
            raise RuntimeError(f"adapt: non-finite KeypointNet loss at step {step}: "
                               f"{ {k: float(v) for k, v in out.items()} }")
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, options.grad_clip if options.grad_clip > 0 else float("inf"))
        opt.step()
        history.append({k: float(v.detach()) for k, v in out.items()})
        if on_step is not None:
            on_step(step, history[-1])
    keypoint_net.eval()
    tail = history[-20:]
    return {k: float(np.mean([h[k] for h in tail])) for k in tail[0]} if tail else {}


@torch.no_grad()
def evaluate_keypoint_samples(keypoint_net: nn.Module, samples: list[KeypointSample], K: np.ndarray,
                              options: KeypointAdaptOptions, batch_size: int = 4) -> dict[str, float]:
    """Mean multi-view losses and match ratio over at most ``options.max_eval_samples`` evenly spaced
    samples (eval mode, no augmentation; the homography pairs are drawn with a fixed seed, so before and
    after compare the same pairs)."""
    keypoint_net.eval()
    if len(samples) > options.max_eval_samples:
        samples = [samples[int(i)] for i in np.linspace(0, len(samples) - 1, options.max_eval_samples).round()]
    plain = dataclasses.replace(options, photometric=PhotometricOptions(probability=0.0))
    rng = np.random.default_rng(0)
    sums: dict[str, float] = {}
    for i in range(0, len(samples), batch_size):
        idx = np.arange(i, min(i + batch_size, len(samples)))
        out = keypoint_adapt_losses(keypoint_net, _batch(samples, idx, K, rng, plain), plain)
        for k in ("multiview", "mv_location", "mv_match_ratio", "homography"):
            sums[k] = sums.get(k, 0.0) + float(out[k]) * len(idx)
    return {k: v / len(samples) for k, v in sums.items()}
