"""`kp3d-vo adapt`: fine-tune the DepthNet on the user's own sequence with what the backend learned.

One iteration:

1. run the backend over the sequence (DS-DSO with the current networks, or pure DSO on the first
   iteration) and keep its optimised poses and window points (``frontend.training.adapt_data``);
2. bring the backend's unit to the network's internal depth unit (median ratio of network depth to
   backend depth at the backend points) so the exported metric factor stays meaningful;
3. fine-tune the DepthNet (a few hundred steps, CPU) on the sequence's frames with the monodepth2
   photometric loss on the backend's poses (no PoseNet: the poses are the backend's, optimised over
   many frames) plus a scale-invariant log loss on the backend's sparse depths;
4. with ``keypoint.steps`` > 0, fine-tune the KeypointNet with the KP2D losses on the same frames, each
   target keypoint warped into its neighbours by the backend's pose and the adapted depth
   (``frontend.training.adapt_keypoints``); otherwise it is copied unchanged;
5. export the networks (same format and sizes as the base frontend) to the output folder; the next
   iteration's backend run uses them.
When the sequence has ground-truth poses (KITTI, a render), ``adapt.json`` also holds the DepthNet's errors on
the sequence's tracked points triangulated with them (``frontend.sparse_depth``) before the first and after
each iteration: a measurement of the adaptation that does not use the backend's own depths.
The output folder also holds the networks in checkpoint format (``checkpoints/``, so it can be adapted
again) and ``adapt.json`` (what each iteration measured).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from frontend.common.paths import portable_label, require_file, require_writable_dir
from frontend.common.typed_config import check_ranges
from frontend.losses.depth import DepthLossOptions, multiscale_photometric_loss, sparse_scale_invariant_loss
from frontend.training.adapt_data import BackendRun, FrameSequence, Sample, build_samples, sparse_depths
from frontend.training.adapt_keypoints import (KeypointAdaptOptions, evaluate_keypoint_samples, finetune_keypoints,
                                               keypoint_samples, train_mode, warmup_cosine_lr)
from frontend.training.augment import PhotometricOptions, photometric_augment
from frontend.training.evaluate import real_depth_net_errors

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT_DIR = "checkpoints"
REPORT_FILE = "adapt.json"
FLIP_X = np.diag([-1.0, 1.0, 1.0, 1.0])


@dataclass
class AdaptOptions:
    """How `kp3d-vo adapt` fine-tunes (defaults: ~2-4 CPU minutes per iteration for ~150 frames)."""

    iterations: int = 1                  # backend run + fine-tuning rounds
    first_mode: str = "dsdso"            # backend of the first round: "dsdso" (current nets) or "dso";
                                         # later rounds run DS-DSO with the adapted networks
    steps: int = 300                     # optimisation steps per iteration
    batch_size: int = 4
    lr: float = 1e-4                     # peak learning rate (AdamW), cosine to lr/10 over the steps
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 5.0               # max global gradient norm
    sparse_weight: float = 0.5           # weight of the scale-invariant loss on the backend depths
    variance_weight: float = 0.85        # lambda of the scale-invariant log loss (1 = fully invariant)
    offsets: tuple[int, ...] = (-1, 1)   # source frames (in processed order) of each target frame
    settle_keyframes: int = 2            # backend window snapshot used for a frame: this many keyframes later
    max_sparse_ratio: float = 2.0        # drop backend depths off the network's (median-scaled) by more
    # True: each frame's poses and depths are brought to the network's unit by that frame's own median
    # ratio, so the network learns the backend's shape and motion directions but not its per-frame unit
    # (a backend whose unit moves at the start would teach the network to move it again); False: one
    # factor for the whole sequence.
    per_frame_unit: bool = False
    min_baseline_ratio: float = 0.2      # skip targets moving less than this x the median baseline
    freeze_batchnorm: bool = True        # keep the encoder's BatchNorm statistics (small batches, one scene)
    flip_probability: float = 0.5        # horizontal flip of a sample (poses mirrored)
    photometric: PhotometricOptions = field(default_factory=lambda: PhotometricOptions(
        probability=0.8, brightness=0.2, contrast=0.2, noise_std=0.0, blur_probability=0.0))
    depth: DepthLossOptions = field(default_factory=DepthLossOptions)  # photometric loss; min/max depth
                                                                       # are replaced by the network's
    seed: int = 0                        # sample order, flips, augmentation
    num_threads: int = 0                 # torch.set_num_threads (0 = leave torch's default)
    keypoint: KeypointAdaptOptions = field(default_factory=KeypointAdaptOptions)  # steps 0: KeypointNet copied

    def check(self) -> "AdaptOptions":
        check_ranges("AdaptOptions", {
            "iterations (--iterations)": (self.iterations, self.iterations >= 1, ">= 1"),
            "steps (--steps)": (self.steps, self.steps >= 0, ">= 0"),
            "first_mode (--first-mode)": (self.first_mode, self.first_mode in ("dsdso", "dso"), "'dsdso' or 'dso'"),
            "num_threads (--threads)": (self.num_threads, self.num_threads >= 0, ">= 0"),
            "batch_size": (self.batch_size, self.batch_size >= 1, ">= 1"),
            "lr": (self.lr, self.lr > 0, "> 0"),
            "sparse_weight": (self.sparse_weight, self.sparse_weight >= 0, ">= 0"),
            "variance_weight": (self.variance_weight, 0 <= self.variance_weight <= 1, "in [0, 1]"),
            "max_sparse_ratio": (self.max_sparse_ratio, self.max_sparse_ratio > 1, "> 1"),
            "offsets": (self.offsets, bool(self.offsets) and 0 not in self.offsets, "non-empty without 0"),
            "settle_keyframes": (self.settle_keyframes, self.settle_keyframes >= 0, ">= 0"),
            "flip_probability": (self.flip_probability, 0 <= self.flip_probability <= 1, "in [0, 1]"),
            "min_baseline_ratio": (self.min_baseline_ratio, self.min_baseline_ratio >= 0, ">= 0"),
            "grad_clip": (self.grad_clip, self.grad_clip >= 0, ">= 0")})
        self.keypoint.check()
        return self


# ----------------------------------------------------------------------------- base networks
def resolve_base_checkpoints(model_dir: str | os.PathLike, meta: dict[str, Any], keypoint: str | None = None,
                             depth: str | None = None) -> tuple[Path, Path]:
    """Checkpoint files (``frontend.models`` format) of an exported frontend's two networks.

    Looked up in order: the explicit paths; ``MODEL_DIR/checkpoints/`` (an adapted folder); the source
    checkpoints recorded in ``frontend.json`` (as recorded, then relative to the repository).
    """
    found = []
    for kind, explicit in (("keypoint", keypoint), ("depth", depth)):
        candidates = [Path(explicit)] if explicit else []
        if not explicit:
            candidates.append(Path(model_dir) / CHECKPOINT_DIR / f"{kind}_net.pt")
            recorded = ((meta.get(kind) or {}).get("source") or {}).get("checkpoint")
            if recorded:
                candidates.append(Path(recorded))
                parts = Path(recorded).parts
                if "frontend" in parts:
                    candidates.append(REPO_ROOT.joinpath(*parts[parts.index("frontend"):]))
        if explicit:
            path = require_file(explicit, f"adapt: --{kind}-checkpoint")
        else:
            path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise FileNotFoundError(f"adapt: no {kind} network checkpoint for {model_dir} (tried "
                                    f"{', '.join(map(str, candidates))}); pass --{kind}-checkpoint")
        found.append(path)
    return found[0], found[1]


def export_options_from_meta(meta: dict[str, Any]):
    """``frontend.export.ExportOptions`` reproducing an exported frontend's sizes, scale, prior and top-k."""
    from frontend.export import ExportOptions

    depth_input = meta["depth"].get("input", meta["input"])
    scale = float((meta["depth"].get("scale") or {}).get("factor", 1.0))
    return ExportOptions(width=int(meta["input"]["width"]), height=int(meta["input"]["height"]),
                         method=(meta.get("export") or {}).get("method", "trace"), top_k=int(meta["keypoint"]["top_k"]),
                         depth_width=int(depth_input["width"]), depth_height=int(depth_input["height"]),
                         depth_scale=scale, depth_prior_sigma=meta["depth"].get("prior_relative_sigma"))


# ----------------------------------------------------------------------------- scale and filtering
@torch.no_grad()
def network_depth(depth_net: nn.Module, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """Internal-unit depth (N, H, W) float32 of the DepthNet (eval mode) for images (N, H, W) in [0, 1]."""
    from frontend.models import disp_to_depth

    depth_net.eval()
    cfg = depth_net.config
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch]))[:, None]
        out.append(disp_to_depth(depth_net(x)[0], cfg.min_depth, cfg.max_depth)[1][:, 0].numpy())
    return np.concatenate(out).astype(np.float32)


def align_to_network(depth_net: nn.Module, samples: list[Sample], max_ratio: float,
                     per_frame: bool = False) -> dict[str, float]:
    """Bring the samples' poses and sparse depths from the backend's unit to the network's, in place.

    Per frame, backend depths whose ratio to the network depth is off the frame's median ratio by more
    than ``max_ratio`` are dropped (occluded or badly converged points; also the network's gross errors,
    which the photometric loss handles). The factor is the median of the kept ratios: of all frames, or
    with ``per_frame`` of each frame's own (frames without points take the overall one). Returns
    ``{"backend_to_network", "sparse_points", "sparse_dropped", "frames_with_points"}``.
    """
    pred = network_depth(depth_net, np.stack([s.images[0] for s in samples]))
    ratios, kept, dropped, frames = [], 0, 0, 0
    own: dict[int, float] = {}
    for k, (s, d) in enumerate(zip(samples, pred)):
        m = s.sparse_depth > 0
        if m.sum() == 0:
            continue
        r = d[m] / s.sparse_depth[m]
        med = float(np.median(r))
        ok = (r > med / max_ratio) & (r < med * max_ratio)
        sparse = np.zeros_like(s.sparse_depth)
        sparse[np.nonzero(m)[0][ok], np.nonzero(m)[1][ok]] = s.sparse_depth[m][ok]
        s.sparse_depth = sparse
        ratios.append(r[ok])
        own[k] = float(np.median(r[ok]))
        kept += int(ok.sum())
        dropped += int((~ok).sum())
        frames += 1
    if not ratios:
        raise ValueError("adapt: no backend point projects into any training frame (is the sequence too short?)")
    factor = float(np.median(np.concatenate(ratios)))
    for k, s in enumerate(samples):
        f = own.get(k, factor) if per_frame else factor
        s.sparse_depth = s.sparse_depth * np.float32(f)
        s.source_from_target = s.source_from_target.copy()
        s.source_from_target[:, :3, 3] *= f
    return {"backend_to_network": factor, "sparse_points": kept, "sparse_dropped": dropped, "frames_with_points": frames}


# ----------------------------------------------------------------------------- fine-tuning
def _batch(samples: list[Sample], idx: np.ndarray, K: np.ndarray, rng: np.random.Generator,
           options: AdaptOptions) -> dict[str, torch.Tensor]:
    images, poses, sparse, Ks, aug = [], [], [], [], []
    width = samples[0].images.shape[-1]
    for i in idx:
        s = samples[int(i)]
        im, T, d, k = s.images, s.source_from_target, s.sparse_depth, K.copy()
        if rng.random() < options.flip_probability:
            im, d = im[:, :, ::-1], d[:, ::-1]
            T = FLIP_X @ T @ FLIP_X
            k[0, 2] = width - 1 - k[0, 2]
        im = np.ascontiguousarray(im)
        images.append(im)
        aug.append(photometric_augment(im[:1], rng, options.photometric))
        poses.append(T)
        sparse.append(np.ascontiguousarray(d)[None])
        Ks.append(k)
    return {"images": torch.from_numpy(np.stack(images)[:, :, None]).float(),
            "target_aug": torch.from_numpy(np.stack(aug)).float(),
            "source_from_target": torch.from_numpy(np.stack(poses)).float(),
            "sparse": torch.from_numpy(np.stack(sparse)).float(), "K": torch.from_numpy(np.stack(Ks)).float()}


def adapt_losses(depth_net: nn.Module, batch: dict[str, torch.Tensor], options: AdaptOptions
                 ) -> dict[str, torch.Tensor]:
    """Photometric loss on the backend poses + weighted scale-invariant loss on the backend depths.

    batch: ``images (B, S+1, 1, H, W)``, ``target_aug (B, 1, H, W)`` (network input),
    ``source_from_target (B, S, 4, 4)``, ``sparse (B, 1, H, W)``, ``K (B, 3, 3)``.
    """
    from frontend.models import disp_to_depth

    cfg = depth_net.config
    depth_opts = dataclasses.replace(options.depth, min_depth=cfg.min_depth, max_depth=cfg.max_depth)
    images, T = batch["images"], batch["source_from_target"]
    disps = list(depth_net(batch["target_aug"]))
    photo = multiscale_photometric_loss(disps, images[:, 0], [images[:, j] for j in range(1, images.shape[1])],
                                        [T[:, j - 1] for j in range(1, images.shape[1])], batch["K"], depth_opts)
    depth = disp_to_depth(disps[0], cfg.min_depth, cfg.max_depth)[1]
    sparse, used = sparse_scale_invariant_loss(depth, batch["sparse"], options.variance_weight)
    return {"loss": photo["loss"] + options.sparse_weight * sparse, "photometric": photo["photometric"],
            "sparse_si": sparse, "sparse_images": used.float(), "automask_ratio": photo["automask_ratio"]}


@torch.no_grad()
def evaluate_samples(depth_net: nn.Module, samples: list[Sample], K: np.ndarray, options: AdaptOptions,
                     batch_size: int = 8) -> dict[str, float]:
    """Mean losses over all samples (eval mode, no flips or augmentation)."""
    depth_net.eval()
    plain = dataclasses.replace(options, flip_probability=0.0, photometric=PhotometricOptions(probability=0.0))
    rng = np.random.default_rng(0)
    sums: dict[str, float] = {}
    for i in range(0, len(samples), batch_size):
        idx = np.arange(i, min(i + batch_size, len(samples)))
        out = adapt_losses(depth_net, _batch(samples, idx, K, rng, plain), plain)
        for k in ("photometric", "sparse_si"):
            sums[k] = sums.get(k, 0.0) + float(out[k]) * len(idx)
    return {k: v / len(samples) for k, v in sums.items()}


def finetune_depth(depth_net: nn.Module, samples: list[Sample], K: np.ndarray, options: AdaptOptions, seed: int,
                   on_step: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, float]:
    """``options.steps`` AdamW steps of ``adapt_losses`` on random batches of ``samples``; in place.

    K: (3, 3) intrinsics of the samples' (H, W). Returns the mean metrics of the last 20 steps.
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    params = [p for p in depth_net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=options.lr, weight_decay=options.weight_decay)
    history: list[dict[str, float]] = []
    for step in range(options.steps):
        lr = warmup_cosine_lr(step, options.steps, options.warmup_steps, options.lr)
        for g in opt.param_groups:
            g["lr"] = lr
        train_mode(depth_net, options.freeze_batchnorm)
        idx = rng.choice(len(samples), size=options.batch_size, replace=len(samples) < options.batch_size)
        out = adapt_losses(depth_net, _batch(samples, idx, K, rng, options), options)
        if not torch.isfinite(out["loss"]):
            raise RuntimeError(f"adapt: non-finite loss at step {step}: { {k: float(v) for k, v in out.items()} }")
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, options.grad_clip if options.grad_clip > 0 else float("inf"))
        opt.step()
        metrics = {k: float(v.detach()) for k, v in out.items()}
        history.append(metrics)
        if on_step is not None:
            on_step(step, metrics)
    depth_net.eval()
    tail = history[-20:]
    return {k: float(np.mean([h[k] for h in tail])) for k in tail[0]} if tail else {}


def _adapt_keypoints(keypoint_net: nn.Module, depth_net: nn.Module, sequence: FrameSequence, samples: list[Sample],
                     options: AdaptOptions, size: tuple[int, int], seed: int) -> dict[str, Any]:
    """Fine-tune the KeypointNet on the depth samples' frames at its input ``size`` (width, height),
    warped with the adapted DepthNet; returns what it measured."""
    target_depth = network_depth(depth_net, np.stack([s.images[0] for s in samples]))
    width, height = size
    kp_samples = keypoint_samples(sequence, samples, options.offsets, target_depth, width, height)
    K = sequence.intrinsics.scaled(width, height).K
    before = evaluate_keypoint_samples(keypoint_net, kp_samples, K, options.keypoint)
    last = finetune_keypoints(keypoint_net, kp_samples, K, options.keypoint, seed=seed)
    after = evaluate_keypoint_samples(keypoint_net, kp_samples, K, options.keypoint)
    logger.info("adapt KeypointNet: multi-view loss %.4f -> %.4f, match ratio %.3f -> %.3f",
                before["multiview"], after["multiview"], before["mv_match_ratio"], after["mv_match_ratio"])
    return {"steps": options.keypoint.steps, "losses_before": before, "losses_after": after, "last_steps": last}


# ----------------------------------------------------------------------------- driver
def adapt_frontend(sequence: FrameSequence, out_dir: str | os.PathLike, base_model_dir: str | os.PathLike,
                   run_backend: Callable[[Path, str], BackendRun], options: AdaptOptions | None = None, *,
                   keypoint_checkpoint: str | None = None, depth_checkpoint: str | None = None,
                   sequence_label: str = "", true_world_from_cam: np.ndarray | None = None) -> dict[str, Any]:
    """Adapt the exported frontend in ``base_model_dir`` to ``sequence``.

    sequence: the frames at the backend's processing size (``FrameSequence``: ``intrinsics``, ``image(i)``).
    run_backend: ``(model_dir, mode) -> BackendRun`` over the same frames (``apps.adapt.backend_runner``);
        called with ``options.first_mode`` on the first iteration and "dsdso" with the adapted folder after.
    true_world_from_cam: ``(N, 4, 4)`` ground-truth poses of the frames, if known; used only to measure the
        DepthNet before and after on points triangulated with them (``real_depth_before`` / ``real_depth``
        in the report), never for training.
    Writes ``out_dir`` (an exported frontend for ``kp3d-vo run --model-dir``, plus ``checkpoints/`` and
    ``adapt.json``) and returns the report that ``adapt.json`` holds.
    """
    from frontend.export import export_frontend
    from frontend.inference import read_frontend_meta
    from frontend.models import load_checkpoint, save_checkpoint

    options = (options or AdaptOptions()).check()
    base_dir, out = Path(base_model_dir), Path(out_dir)
    if base_dir.resolve() in (out.resolve(), *out.resolve().parents):
        where = "" if out.resolve() == base_dir.resolve() else "inside "
        raise ValueError(f"adapt: --out {out} is {where}the starting frontend (--model-dir {base_dir}) and would "
                         "overwrite it; give another folder")
    if options.num_threads:
        torch.set_num_threads(options.num_threads)
    meta = read_frontend_meta(base_dir)
    kp_path, depth_path = resolve_base_checkpoints(base_dir, meta, keypoint_checkpoint, depth_checkpoint)
    keypoint_net, _ = load_checkpoint(kp_path, expected_kind="keypoint")
    depth_net, _ = load_checkpoint(depth_path, expected_kind="depth")
    require_writable_dir(out, "adapt: --out")  # before the backend runs and the training, not after
    export_options = export_options_from_meta(meta)
    dw, dh = export_options.depth_size
    K = sequence.intrinsics.scaled(dw, dh).K
    report: dict[str, Any] = {"sequence": sequence_label, "frames": len(sequence),
                              "base_model_dir": portable_label(base_dir),
                              "base_checkpoints": {"keypoint": portable_label(kp_path),
                                                   "depth": portable_label(depth_path)},
                              "options": _jsonable(dataclasses.asdict(options)), "iterations": []}
    real = _real_depth_references(sequence, true_world_from_cam)
    if real is not None:  # the sequence has true poses: depth measured on its triangulated points as well
        report["real_depth_before"] = real_depth_net_errors(depth_net, real, sequence.image, (dw, dh))
    current_dir = base_dir
    for it in range(options.iterations):
        t0, c0 = time.perf_counter(), time.process_time()
        mode = options.first_mode if it == 0 else "dsdso"
        run = run_backend(current_dir, mode)
        depths = sparse_depths(run, K, dw, dh, options.settle_keyframes)
        samples = build_samples(sequence, run, depths, dw, dh, options.offsets, options.min_baseline_ratio)
        scale = align_to_network(depth_net, samples, options.max_sparse_ratio, options.per_frame_unit)
        before = evaluate_samples(depth_net, samples, K, options)
        last = finetune_depth(depth_net, samples, K, options, seed=options.seed + it)
        after = evaluate_samples(depth_net, samples, K, options)
        entry = {"iteration": it, "backend": run.summary, "samples": len(samples), **scale,
                 "losses_before": before, "losses_after": after, "last_steps": last, "steps": options.steps}
        if real is not None:
            entry["real_depth"] = real_depth_net_errors(depth_net, real, sequence.image, (dw, dh))
            logger.info("adapt iteration %d: depth on the sequence's triangulated points (true poses): AbsRel %.3f -> "
                        "%.3f, a1 %.3f -> %.3f", it, report["real_depth_before"]["abs_rel"],
                        entry["real_depth"]["abs_rel"], report["real_depth_before"]["a1"], entry["real_depth"]["a1"])
        if options.keypoint.steps > 0:
            entry["keypoint"] = _adapt_keypoints(keypoint_net, depth_net, sequence, samples, options,
                                              (export_options.width, export_options.height), seed=options.seed + it)
        entry.update(wall_s=round(time.perf_counter() - t0, 1), cpu_s=round(time.process_time() - c0, 1))
        logger.info("adapt iteration %d: %d samples, photometric %.4f -> %.4f, sparse SI %.4f -> %.4f (%.0f s)",
                    it, len(samples), before["photometric"], after["photometric"], before["sparse_si"],
                    after["sparse_si"], entry["wall_s"])
        report["iterations"].append(entry)
        adapt_source = {"adapted_from": portable_label(depth_path), "sequence": report["sequence"], "iterations": it + 1,
                        "steps_per_iteration": options.steps, "frames": len(sequence)}
        save_checkpoint(out / CHECKPOINT_DIR / "depth_net.pt", depth_net, step=(it + 1) * options.steps,
                        train_task="adapt", adapt=adapt_source)
        kp_adapted = options.keypoint.steps > 0
        if kp_adapted:
            save_checkpoint(out / CHECKPOINT_DIR / "keypoint_net.pt", keypoint_net,
                            step=(it + 1) * options.keypoint.steps, train_task="adapt",
                            adapt={**adapt_source, "adapted_from": portable_label(kp_path),
                                   "steps_per_iteration": options.keypoint.steps})
        else:
            save_checkpoint(out / CHECKPOINT_DIR / "keypoint_net.pt", keypoint_net, step=0, train_task="copied",
                            source=portable_label(kp_path))
        # Recorded portably (relative to the working directory, else the last path components): an
        # adapted folder may be committed or shared; its own checkpoints/ are found next to it.
        kp_source = portable_label(out / CHECKPOINT_DIR / "keypoint_net.pt" if kp_adapted else kp_path)
        sources = {"keypoint": {"checkpoint": kp_source, "adapted": kp_adapted},
                   "depth": {"checkpoint": portable_label(out / CHECKPOINT_DIR / "depth_net.pt"), **adapt_source},
                   "depth_scale": {k: v for k, v in (meta["depth"].get("scale") or {}).items() if k != "factor"}}
        export_frontend(keypoint_net, depth_net, out, export_options, sources)
        current_dir = out
    from frontend.common.atomic import atomic_write_text

    atomic_write_text(out / REPORT_FILE, json.dumps(_jsonable(report), indent=2) + "\n")
    return report


def _real_depth_references(sequence: FrameSequence, poses: np.ndarray | None) -> list | None:
    """Reference depths of the sequence's tracked points triangulated with its ground-truth ``poses``
    (``frontend.sparse_depth``), or None without poses or when no point passes: a user's own footage has
    none, KITTI (07 for validation) and the renders have them."""
    from frontend.sparse_depth import build_references

    if poses is None:
        return None
    poses = np.asarray(poses, dtype=np.float64)
    if poses.shape != (len(sequence), 4, 4):
        logger.info("adapt: %d ground-truth poses for %d frames; no depth measured on them", len(poses), len(sequence))
        return None
    refs = build_references(sequence.image, poses, sequence.intrinsics.K)
    return refs or None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    return obj
