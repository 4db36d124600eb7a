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
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from apps.evaluation.alignment import ALIGN_MODES
from apps.evaluation.evaluate import EvaluateOptions, EvaluationResult, evaluate_files

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

    #: keys accepted in a YAML entry
    FIELDS = ("name", "gt", "est", "align", "max_frames", "truncate_gt", "gt_times")

    def options(self, base: EvaluateOptions) -> EvaluateOptions:
        """``base`` with this entry's overrides applied (validated)."""
        overrides = {k: getattr(self, k) for k in ("align", "max_frames", "truncate_gt")
                     if getattr(self, k) is not None}
        return dataclasses.replace(base, **overrides).check()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base_dir: Path, where: str) -> "BatchEntry":
        """Entry from a YAML mapping; relative paths are resolved against ``base_dir``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping with keys name, gt, est, got {data!r}")
        unknown = sorted(set(data) - set(cls.FIELDS))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {list(cls.FIELDS)}")
        missing = [k for k in ("gt", "est") if not data.get(k)]
        if missing:
            raise ValueError(f"{where}: missing required key(s) {missing}")

        def path(key: str) -> Path | None:
            value = data.get(key)
            if value is None:
                return None
            p = Path(os.path.expanduser(str(value)))
            return p if p.is_absolute() else base_dir / p

        align = data.get("align")
        if align is not None and align not in ALIGN_MODES:
            raise ValueError(f"{where}: align must be one of {ALIGN_MODES}, got {align!r}")
        est = path("est")
        return cls(name=str(data.get("name") or est.stem), gt=path("gt"), est=est, align=align,
                   max_frames=data.get("max_frames"), truncate_gt=data.get("truncate_gt"),
                   gt_times=path("gt_times"))


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
        except (ValueError, FileNotFoundError) as exc:
            if not keep_going:
                raise ValueError(f"batch entry {entry.name!r}: {exc}") from exc
            logger.error("batch entry %r failed: %s", entry.name, exc)
            failures.append((entry.name, str(exc)))
    means, counts = batch_means(results)
    return BatchResult(results=results, failures=failures, mean=means, mean_counts=counts)


def entries_from_dirs(gt_dir: str | os.PathLike, est_dir: str | os.PathLike,
                      sequences: Sequence[str] | None = None, *, check_files: bool = True) -> list[BatchEntry]:
    """Entries pairing ``est_dir/NN.txt`` with ``gt_dir/NN.txt``.

    sequences: names such as ["00", "03"]; None: every ``*.txt`` in est_dir except ``*_stats.txt``.
    check_files: raise for a sequence whose files are missing; False leaves that to ``run_batch``
    (so ``keep_going`` reports it as one failed entry and scores the others).
    Raises FileNotFoundError naming the missing folder or file.
    """
    gt_dir, est_dir = Path(gt_dir), Path(est_dir)
    for d, what in ((gt_dir, "ground-truth folder (--gt-dir)"), (est_dir, "estimate folder (--est-dir)")):
        if not d.is_dir():
            raise FileNotFoundError(f"{what} not found: {d}")
    if sequences is None:
        names = sorted(p.stem for p in est_dir.glob("*.txt") if not p.stem.endswith("_stats"))
        if not names:
            raise FileNotFoundError(f"no trajectory files (*.txt) in estimate folder {est_dir}")
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
    truncate_gt: ...}`` whose other keys are batch-wide EvaluateOptions fields. Each entry:
    ``{name, gt, est, align?, max_frames?, truncate_gt?, gt_times?}``; relative paths are relative
    to the YAML file. Returns (entries, option overrides).
    """
    from apps.io.yaml_file import read_yaml

    path = Path(path)
    data = read_yaml(path, "batch config")
    overrides: dict[str, Any] = {}
    if isinstance(data, Mapping):
        allowed = {"entries"} | {f.name for f in dataclasses.fields(EvaluateOptions)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"{path}: unknown top-level key(s) {unknown}; allowed: {sorted(allowed)}")
        overrides = {k: v for k, v in data.items() if k != "entries"}
        if "lengths" in overrides:
            overrides["lengths"] = tuple(overrides["lengths"])
        data = data.get("entries")
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path}: expected a non-empty list of entries {{name, gt, est, align?}} "
                         "(or a mapping with an 'entries' list)")
    entries = [BatchEntry.from_mapping(item, path.parent, f"{path}: entry {i}")
               for i, item in enumerate(data)]
    return entries, overrides
