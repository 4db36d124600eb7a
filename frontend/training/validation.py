"""Held-out validation during training: ``RUN_DIR/validation.csv`` beside ``metrics.csv``.

A training config's ``validation:`` section (all optional; ``every: 0`` turns it off)::

    validation:
      every: 500        # steps between validations; also after a run's last step
      renders: [runs/synth_eval/sequences/00]   # DepthNet: held-out renders with exact depth (depth_0/)
      sequences: [../shared/data/kitti/sequences/07]  # DepthNet: held-out real sequences with true poses
      sequence_size: [640, 192]  # (W, H) at which their points are tracked and triangulated
      images: ../shared/data/kitti/sequences/07/image_0   # KeypointNet: random-homography pairs of these images
      pairs: 20         # homography pairs of ``images``
      size: [320, 256]  # (W, H) of the pairs (multiples of 32)
      top_k: 300        # keypoints per image
      max_frames: 60    # frames per render or sequence

Depth (tasks ``depth`` and ``multiview``): AbsRel, RMSE [m] and a1 at the training input size (median scaling per
frame, ``frontend.training.evaluate.evaluate_depth_net``), the mean over the renders, and each render's AbsRel as
``abs_rel_<name>``. On the real ``sequences`` (no depth maps): tracked points triangulated with the true poses
(``frontend.sparse_depth``), built once; the DepthNet's ``real_abs_rel`` / ``real_a1`` after per-frame median
scaling, ``real_shape_bias`` (upper two thirds against the bottom third, log; > 0 = structures too far) and
``real_unit_std`` (the per-frame unit's spread), each sequence's AbsRel as ``real_abs_rel_<name>`` when there are
several (``bench/real_depth.py`` scores exported networks the same way). Keypoints (``keypoints`` and
``multiview``): repeatability, localisation error [px], corner correctness C1 / C3 / C5 and matching score of the
network's top-k on the pairs (``frontend.hpatches``, the HPatches protocol of ``kp3d-vo eval-keypoints --images``).
``frontend.training.plot_metrics`` draws the columns with markers beside the training curves, so a reader sees
whether the held-out numbers still improve.

Validation sources must not be training sources (KITTI 07 is validation only; the held-out renders of
``bench/make_depth_renders.sh`` are never listed as sources).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from frontend.common.typed_config import check_ranges

logger = logging.getLogger(__name__)
VALIDATION_FILE = "validation.csv"


@dataclass
class ValidationOptions:
    """The ``validation:`` section of a training config (module docstring)."""

    every: int = 0                                      # steps between validations (0 = off)
    renders: list[str] = field(default_factory=list)    # depth: held-out renders (relative to the repository)
    sequences: list[str] = field(default_factory=list)  # depth: held-out real sequences with true poses
    sequence_size: tuple[int, int] = (640, 192)         # (W, H) of their triangulation
    images: str = ""                                    # keypoints: held-out image folder
    pairs: int = 20                                     # homography pairs of ``images``
    size: tuple[int, int] = (320, 256)                  # (W, H) of the keypoint pairs
    top_k: int = 300                                    # keypoints per image
    max_frames: int = 60                                # frames per render or sequence
    seed: int = 0                                       # homographies of the pairs

    def __post_init__(self) -> None:
        check_ranges("validation", {
            "every": (self.every, self.every >= 0, ">= 0"),
            "pairs": (self.pairs, self.pairs >= 1, ">= 1"),
            "size": (self.size, len(self.size) == 2 and all(v >= 32 and v % 32 == 0 for v in self.size),
                     "(W, H), multiples of 32"),
            "top_k": (self.top_k, self.top_k >= 1, ">= 1"),
            "max_frames": (self.max_frames, self.max_frames >= 1, ">= 1"),
            "sequence_size": (self.sequence_size, len(self.sequence_size) == 2
                              and all(v >= 32 for v in self.sequence_size), "(W, H), each >= 32")})
        if self.every > 0 and not (self.renders or self.sequences or self.images):
            raise ValueError("validation: every > 0 needs held-out data: renders or sequences (DepthNet) and/or "
                             "images (KeypointNet)")

    @property
    def enabled(self) -> bool:
        return self.every > 0  # __post_init__ requires held-out data then


class Validator:
    """Held-out metrics of a task's networks (``{"depth": net, "keypoint": net, ...}``) at a training step.

    Sources are opened once, at construction, so that a missing folder fails before the first step.
    ``open_sequence`` reads the renders resized to ``depth_size``, the DepthNet's training input ``(W, H)``
    (``apps.io.sequence.open_sequence``, which ``kp3d-vo train`` passes).
    """

    def __init__(self, options: ValidationOptions, task: str, depth_size: tuple[int, int],
                 open_sequence: Callable[..., Any] | None, resolve: Callable[[str], Path] = Path):
        from frontend.hpatches import synthetic_pairs

        self.options, self.depth_size = options, (int(depth_size[0]), int(depth_size[1]))
        self.renders: list[tuple[str, Any]] = []
        self.pairs: list = []
        if options.renders and task in ("depth", "multiview"):
            if open_sequence is None:
                raise ValueError("validation.renders needs a sequence reader (kp3d-vo train passes one)")
            for r in options.renders:
                path = resolve(r)
                if not path.exists():
                    raise FileNotFoundError(f"validation.renders: {path} not found (expected a render folder with "
                                            "depth_0/, e.g. made by bench/make_depth_renders.sh)")
                # at the DepthNet's input size, as bench/depth_snapshots.py and the model card measure
                seq = open_sequence(path, gt=False, max_frames=options.max_frames, resize=self.depth_size)
                if not seq.has_depth:
                    raise ValueError(f"validation.renders: {path} has no depth_0/ (exact depth of a render)")
                self.renders.append((path.name, seq))
        self.sequences: list[tuple[str, Any, list]] = []  # (name, sequence, reference frames)
        if options.sequences and task in ("depth", "multiview"):
            self._open_real_sequences(open_sequence, resolve)
        if options.images and task in ("keypoints", "multiview"):
            width, height = options.size
            self.pairs = synthetic_pairs(resolve(options.images), width, height, options.pairs, options.seed)
        sources = (("renders", options.renders, self.renders), ("sequences", options.sequences, self.sequences),
                   ("images", options.images, self.pairs))
        unused = [k for k, given, used in sources if given and not used]
        if unused:
            logger.warning("validation: %s not used by a %s run (renders, sequences: depth and multiview; images: "
                           "keypoints and multiview)", " and ".join(unused), task)

    def _open_real_sequences(self, open_sequence: Callable[..., Any] | None, resolve: Callable[[str], Path]) -> None:
        from frontend.sparse_depth import build_references

        if open_sequence is None:
            raise ValueError("validation.sequences needs a sequence reader (kp3d-vo train passes one)")
        for entry in self.options.sequences:
            path = resolve(entry)
            if not path.exists():
                raise FileNotFoundError(f"validation.sequences: {path} not found (expected a sequence with "
                                        "ground-truth poses, e.g. ../shared/data/kitti/sequences/07)")
            try:
                seq = open_sequence(path, gt=True, max_frames=self.options.max_frames,
                                    resize=tuple(self.options.sequence_size))
            except FileNotFoundError as exc:  # the reader's message names where it looked for the poses
                raise ValueError(f"validation.sequences: {exc}") from exc
            if seq.gt_world_from_cam is None:
                raise ValueError(f"validation.sequences: {path} has no ground-truth poses (needed to triangulate "
                                 "its reference depths)")
            refs = build_references(seq.image, seq.gt_world_from_cam, seq.intrinsics.K)
            if not refs:
                raise ValueError(f"validation.sequences: {path}: no point could be triangulated in its first "
                                 f"{self.options.max_frames} frames (too little motion?)")
            self.sequences.append((path.name, seq, refs))

    def __call__(self, nets: dict[str, nn.Module], step: int) -> dict[str, float]:
        """``{"step", metric: value}``; the networks are back in train mode afterwards."""
        row: dict[str, float] = {"step": step}
        with torch.no_grad():
            if self.renders and "depth" in nets:
                row.update(self._depth(nets["depth"]))
            if self.sequences and "depth" in nets:
                row.update(self._real_depth(nets["depth"]))
            if self.pairs and "keypoint" in nets:
                row.update(self._keypoints(nets["keypoint"]))
        for net in nets.values():
            net.train()
        return row

    def _depth(self, net: nn.Module) -> dict[str, float]:
        from frontend.training.evaluate import evaluate_depth_net

        each = {name: evaluate_depth_net(net, seq) for name, seq in self.renders}
        out = {k: sum(e[k] for e in each.values()) / len(each) for k in ("abs_rel", "rmse", "a1")}
        if len(each) > 1:
            out.update({f"abs_rel_{name}": e["abs_rel"] for name, e in each.items()})
        return out

    def _real_depth(self, net: nn.Module) -> dict[str, float]:
        from frontend.training.evaluate import real_depth_net_errors

        each = {name: real_depth_net_errors(net, refs, seq.image, self.depth_size)
                for name, seq, refs in self.sequences}
        out = {f"real_{k}": sum(e[k] for e in each.values()) / len(each) for k in ("abs_rel", "a1", "shape_bias")}
        out["real_unit_std"] = sum(e["unit_log_std"] for e in each.values()) / len(each)
        if len(each) > 1:
            out.update({f"real_abs_rel_{name}": e["abs_rel"] for name, e in each.items()})
        return out

    def _keypoints(self, net: nn.Module) -> dict[str, float]:
        from frontend.hpatches import NetworkDetector, evaluate_detector
        from frontend.models.keypoint_net import CELL

        device = next(net.parameters()).device
        detector = NetworkDetector(net, self.options.top_k, net.config.border_cells, CELL, device)
        summary = evaluate_detector(detector, self.pairs).to_dict()
        return {k: float(summary[k]) for k in ("repeatability", "localization", "c1", "c3", "c5", "mscore")}
