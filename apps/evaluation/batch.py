"""Batch evaluation: several (ground truth, estimate) pairs -> one table with means.

``run_batch(entries, options, evaluate_entry=...)`` is the library entry point; entries come from
``entries_from_dirs`` (matching ``NN.txt`` files) or ``load_batch_config`` (YAML). To produce the
estimate first (e.g. run VO), pass an ``evaluate_entry`` callable that does so and then calls
:func:`apps.evaluation.evaluate.evaluate_trajectory` / ``evaluate_files``.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from apps.evaluation.alignment import ALIGN_MODES
from apps.evaluation.evaluate import EvaluateOptions, EvaluationResult, evaluate_files
from frontend.common.paths import require_dir
from frontend.common.typed_config import load_dataclass
from frontend.common.yaml_file import read_yaml

logger = logging.getLogger(__name__)

#: Metrics averaged over sequences in a batch (plain mean over the sequences where finite).
MEAN_KEYS: tuple[str, ...] = ("t_rel", "r_rel", "ate_rmse", "rpe_trans_rmse", "rpe_rot_rmse")


@dataclasses.dataclass(frozen=True)
class BatchEntry:
    """One trajectory to score. Optional fields override the batch-wide EvaluateOptions."""

    name: str
    gt: Path                         # ground-truth trajectory file (KITTI or TUM)
    est: Path                        # estimated trajectory file (KITTI or TUM)
    align: str | None = None         # "none" | "scale" | "se3" | "sim3"; None: batch default
    max_frames: int | None = None    # None: batch default
    truncate_gt: bool | None = None  # None: batch default
    gt_times: Path | None = None     # optional times.txt of the ground truth

    def options(self, base: EvaluateOptions) -> EvaluateOptions:
        """``base`` with this entry's overrides applied (validated)."""
        overrides = {k: getattr(self, k) for k in ("align", "max_frames", "truncate_gt")
                     if getattr(self, k) is not None}
        return dataclasses.replace(base, **overrides).check()


@dataclasses.dataclass(frozen=True)
class BatchEntrySpec:
    """One entry of a batch YAML file as written (paths relative to the file; typed by the config loader)."""

    gt: str
    est: str
    name: str | int | None = None    # a bare YAML 00 is the int 0
    align: str | None = None
    max_frames: int | None = None
    truncate_gt: bool | None = None
    gt_times: str | None = None

    def entry(self, base_dir: Path, where: str) -> BatchEntry:
        """The ``BatchEntry`` with paths resolved against ``base_dir``; ``where`` names it in errors."""
        if self.align is not None and self.align not in ALIGN_MODES:
            raise ValueError(f"{where}: align must be one of {ALIGN_MODES}, got {self.align!r}")
        for key in ("gt", "est"):
            if not getattr(self, key):
                raise ValueError(f"{where}: {key} must be a non-empty path")

        def path(value: str | None) -> Path | None:
            if value is None:
                return None
            p = Path(os.path.expanduser(value))
            return p if p.is_absolute() else base_dir / p

        est = path(self.est)
        name = str(self.name) if self.name is not None and str(self.name) else est.stem
        return BatchEntry(name=name, gt=path(self.gt), est=est, align=self.align, max_frames=self.max_frames,
                          truncate_gt=self.truncate_gt, gt_times=path(self.gt_times))


@dataclasses.dataclass(frozen=True)
class BatchFile(EvaluateOptions):
    """A batch YAML file in its mapping form: batch-wide ``EvaluateOptions`` fields + ``entries``."""

    entries: list[BatchEntrySpec] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """results: scored entries in order; failures: (name, message) of entries that failed
    (only with keep_going); mean: metric -> mean over the sequences where it is finite (None if
    none); mean_counts: metric -> number of sequences in that mean."""

    results: list[EvaluationResult]
    failures: list[tuple[str, str]]
    mean: dict[str, float | None]
    mean_counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequences": [r.to_dict() for r in self.results],
            "mean": dict(self.mean),
            "mean_counts": dict(self.mean_counts),
            "failures": [{"name": n, "error": m} for n, m in self.failures],
        }


def batch_means(results: Sequence[EvaluationResult]) -> tuple[dict[str, float | None], dict[str, int]]:
    """Mean of each ``MEAN_KEYS`` metric over the results where it is finite."""
    means: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for key in MEAN_KEYS:
        values = [getattr(r, key) for r in results if math.isfinite(getattr(r, key))]
        counts[key] = len(values)
        means[key] = float(sum(values) / len(values)) if values else None
    return means, counts


def evaluate_entry(entry: BatchEntry, options: EvaluateOptions) -> EvaluationResult:
    """Default batch step: score ``entry.est`` against ``entry.gt``."""
    return evaluate_files(entry.gt, entry.est, options, gt_times=entry.gt_times, name=entry.name)


def run_batch(
    entries: Sequence[BatchEntry],
    options: EvaluateOptions | None = None,
    *,
    evaluate_entry: Callable[[BatchEntry, EvaluateOptions], EvaluationResult] = evaluate_entry,
    keep_going: bool = False,
) -> BatchResult:
    """Score every entry (entry fields override ``options``) and average over sequences.

    evaluate_entry: the per-entry step (default: read both files and score); replace it to e.g.
        run VO first. keep_going: record a failing entry in ``failures`` instead of raising.
    """
    base = (options or EvaluateOptions()).check()
    if not entries:
        raise ValueError("run_batch: no entries to evaluate")
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"run_batch: duplicate entry names {duplicates}")
    results: list[EvaluationResult] = []
    failures: list[tuple[str, str]] = []
    for entry in entries:
        try:
            results.append(evaluate_entry(entry, entry.options(base)))
        except (ValueError, OSError) as exc:
            if not keep_going:
                raise ValueError(f"batch entry {entry.name!r}: {exc}") from exc
            logger.error("batch entry %r failed: %s", entry.name, exc)
            failures.append((entry.name, str(exc)))
    means, counts = batch_means(results)
    return BatchResult(results=results, failures=failures, mean=means, mean_counts=counts)


def entries_from_dirs(gt_dir: str | os.PathLike, est_dir: str | os.PathLike,
                      sequences: Sequence[str] | None = None, *, check_files: bool = True) -> list[BatchEntry]:
    """Entries pairing ``est_dir/NN.txt`` with ``gt_dir/NN.txt``.

    sequences: names such as ["00", "03"]; None: every ``NN.txt`` (digits only) in est_dir.
    check_files: raise for a sequence whose files are missing; False leaves that to ``run_batch``
    (so ``keep_going`` reports it as one failed entry and scores the others).
    Raises FileNotFoundError naming the missing folder or file.
    """
    gt_dir = require_dir(gt_dir, "ground-truth folder (--gt-dir)")
    est_dir = require_dir(est_dir, "estimate folder (--est-dir)")
    if sequences is None:
        stems = sorted(p.stem for p in est_dir.glob("*.txt"))
        names = [n for n in stems if re.fullmatch(r"[0-9]+", n)]
        if len(names) < len(stems):
            logger.info("--est-dir %s: not sequences, left out: %s", est_dir,
                        ", ".join(f"{n}.txt" for n in stems if n not in names))
        if not names:
            raise FileNotFoundError(f"no trajectory files (NN.txt, e.g. 00.txt) in estimate folder {est_dir}")
    else:
        names = [str(s) for s in sequences]
    entries = []
    for name in names:
        gt, est = gt_dir / f"{name}.txt", est_dir / f"{name}.txt"
        if check_files and not est.is_file():
            raise FileNotFoundError(f"estimate for sequence {name} not found: {est}")
        if check_files and not gt.is_file():
            raise FileNotFoundError(f"ground truth for sequence {name} not found: {gt}")
        entries.append(BatchEntry(name=name, gt=gt, est=est))
    return entries


def load_batch_config(path: str | os.PathLike) -> tuple[list[BatchEntry], dict[str, Any]]:
    """Read a batch YAML file.

    Either a list of entries, or a mapping ``{entries: [...], align: ..., max_frames: ...,
    truncate_gt: ...}`` whose other keys are batch-wide EvaluateOptions fields (``BatchFile``). Each entry:
    ``{name, gt, est, align?, max_frames?, truncate_gt?, gt_times?}``; relative paths are relative
    to the YAML file. Returns (entries, option overrides).
    """
    path = Path(path)
    data = read_yaml(path, "batch config")
    listed = isinstance(data, list)
    if not (listed or isinstance(data, Mapping)) or not (data if listed else data.get("entries")):
        raise ValueError(f"{path}: expected a non-empty list of entries {{name, gt, est, align?}} "
                         "(or a mapping with an 'entries' list)")
    batch = load_dataclass(BatchFile, {"entries": data} if listed else data, str(path))
    overrides = {} if listed else {k: getattr(batch, k) for k in data if k != "entries"}
    entries = [spec.entry(path.parent, f"{path}: entries[{i}]") for i, spec in enumerate(batch.entries)]
    return entries, overrides
