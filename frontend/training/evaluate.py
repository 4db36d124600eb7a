"""Quick quality checks of trained networks: monocular depth errors against exact depth."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

if TYPE_CHECKING:
    from frontend.training.data import FrameSequence

DEPTH_METRICS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3")


def depth_errors(pred: np.ndarray, gt: np.ndarray, *, min_depth: float = 1e-3, max_depth: float = 80.0,
                 median_scaling: bool = True) -> dict[str, float]:
    """Standard monocular depth errors (Eigen et al.) over pixels with ``min_depth < gt < max_depth``.

    Args:
        pred, gt: (H, W) depth in metres (gt 0 = unknown).
        median_scaling: scale ``pred`` by median(gt) / median(pred) first (monocular scale ambiguity).
    Returns: abs_rel, sq_rel, rmse (m), rmse_log, a1/a2/a3 (ratios < 1.25^k), and the ``scale`` applied.
    """
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f"depth_errors: pred {pred.shape} and gt {gt.shape} must be equal (H, W) arrays")
    m = (gt > min_depth) & (gt < max_depth) & np.isfinite(gt)
    if m.sum() < 10:
        raise ValueError("depth_errors: fewer than 10 pixels with valid ground truth")
    p, g = pred[m].astype(np.float64), gt[m].astype(np.float64)
    scale = float(np.median(g) / np.median(p)) if median_scaling else 1.0
    p = np.clip(p * scale, min_depth, max_depth)
    ratio = np.maximum(p / g, g / p)
    return {"abs_rel": float(np.mean(np.abs(p - g) / g)), "sq_rel": float(np.mean((p - g) ** 2 / g)),
            "rmse": float(np.sqrt(np.mean((p - g) ** 2))),
            "rmse_log": float(np.sqrt(np.mean((np.log(p) - np.log(g)) ** 2))),
            "a1": float(np.mean(ratio < 1.25)), "a2": float(np.mean(ratio < 1.25 ** 2)),
            "a3": float(np.mean(ratio < 1.25 ** 3)), "scale": scale}


@torch.no_grad()
def evaluate_depth_checkpoint(checkpoint: str | os.PathLike, sequence: FrameSequence, *, device: str = "cpu",
                              max_depth: float = 80.0) -> dict[str, float]:
    """Mean depth errors (median scaling per frame) of a DepthNet checkpoint on a sequence with depth.

    ``sequence`` (a :class:`frontend.training.data.FrameSequence` with ``has_depth``, e.g.
    ``apps.io.sequence.open_sequence(folder, resize=(320, 96))``) gives the network input frames as they
    are: ``image(i)`` ``(H, W) uint8`` at the network's input size and ``depth(i)`` ``(H, W) float32`` metres.
    """
    from frontend.models import load_checkpoint

    net, _ = load_checkpoint(checkpoint, expected_kind="depth")
    return evaluate_depth_net(net.to(device), sequence, max_depth=max_depth)


@torch.no_grad()
def evaluate_depth_net(net: torch.nn.Module, sequence: FrameSequence, *, max_depth: float = 80.0) -> dict[str, float]:
    """:func:`evaluate_depth_checkpoint` for a DepthNet in memory (its ``config`` gives min/max depth); the
    frames must be at the network's input size. The network is left in eval mode."""
    if not sequence.has_depth:
        raise ValueError("evaluate_depth_net: the sequence has no depth maps (expected the depth_0/*.npy "
                         "of a synthetic render)")
    if len(sequence) == 0:
        raise ValueError("evaluate_depth_net: the sequence has no frames")
    net.eval()
    rows = [depth_errors(_net_depth(net, sequence.image(i).astype(np.float32) / 255.0), sequence.depth(i),
                         max_depth=max_depth) for i in range(len(sequence))]
    out = {k: float(np.mean([r[k] for r in rows])) for k in (*DEPTH_METRICS, "scale")}
    out["scale_median"] = float(np.median([r["scale"] for r in rows]))
    out["frames"] = len(rows)
    return out


@torch.no_grad()
def real_depth_net_errors(net: torch.nn.Module, references: list, image: Callable[[int], np.ndarray],
                          input_size: tuple[int, int]) -> dict[str, float]:
    """Errors of a DepthNet in memory on real frames against triangulated reference depths.

    references: ``frontend.sparse_depth.SparseDepthFrame`` list (points of ``image(i)``'s pixels);
    image: ``i -> (H, W) uint8`` frame i, resized here to the network's ``input_size`` (W, H). The depth is
    the network's own unit, so only the unit-free errors mean something (``frontend.sparse_depth.
    sparse_depth_errors``: ``abs_rel`` and ``a1`` after per-frame median scaling, ``shape_bias``,
    ``unit_log_std``). The network is left in eval mode.
    """
    from frontend.sparse_depth import sparse_depth_errors
    from frontend.training.adapt_data import resize_grey

    net.eval()
    return sparse_depth_errors(references, lambda i: _net_depth(net, resize_grey(image(i), *input_size)))


def _net_depth(net: torch.nn.Module, grey: np.ndarray) -> np.ndarray:
    """Depth ``(H, W)`` float32 (the network's unit) of a DepthNet in eval mode for ``grey (H, W)`` float32 in
    [0, 1] at its input size (its ``config`` gives min/max depth)."""
    from frontend.models import disp_to_depth

    x = torch.from_numpy(grey)[None, None].to(next(net.parameters()).device)
    _, depth = disp_to_depth(net(x)[0], net.config.min_depth, net.config.max_depth)
    return depth[0, 0].cpu().numpy()


def calibrate_depth_scale(checkpoint: str | os.PathLike, sequence: FrameSequence, *,
                          label: str) -> dict[str, float | str]:
    """Metric scale of a monocular DepthNet from a sequence with exact depth (e.g. a synthetic render).

    Self-supervised monocular training fixes depth only up to one unknown factor. On a render made with
    the target camera's intrinsics and mounting (``kp3d-vo synth`` uses KITTI's), the median over frames
    of median(gt) / median(pred) is that factor; multiplying the network depth by it (``kp3d-vo export
    --calibrate-depth SEQ``) gives approximately metric depth on similar footage.

    ``sequence`` as for :func:`evaluate_depth_checkpoint` (frames at the network input size); ``label``
    names it in the result (recorded in ``frontend.json``: give a path relative to the repository, not
    one of this machine). Returns ``{"factor", "calibrated_on", "frames", "abs_rel"}``.
    """
    errors = evaluate_depth_checkpoint(checkpoint, sequence)
    return {"factor": errors["scale_median"], "calibrated_on": str(label),
            "frames": int(errors["frames"]), "abs_rel": errors["abs_rel"]}
