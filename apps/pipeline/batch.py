"""Batch VO evaluation: run several sequences x modes, score them, one markdown + CSV table with means.

A batch YAML (see ``configs/batch/kitti_dev.yaml``)::

    output: ../../runs/batch_kitti_dev      # relative paths are relative to the YAML file
    modes: [dsdso, dso, f2f]
    config: null                            # optional run config YAML applied to every mode
    sequences:
      - {name: "00", path: ../../../shared/data/kitti/sequences/00, max_frames: 300}
    references:                             # published trajectories scored on the same frames
      - {name: ds-dso-published, dir: ../../../shared/data/kp3d_reference/ds_dso_kitti_00_10}

Each (sequence, mode) run writes ``OUTPUT/<sequence>/<mode>/`` through ``kp3d-vo run`` in its own
process (``jobs`` in parallel); when the batch is resumed, a finished run is reused only if its output
set verifies and it was made from the same resolved sequence path, run config and model files
(``batch_key.json`` beside it, see :func:`run_key`). References (``dir/<sequence>.txt``) are truncated to the frames of the clip and
aligned the same way (scale only), as KP3D evaluated.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from apps.io.atomic import atomic_write_text
from frontend.common.paths import check_folder_name, check_output_folder, require_dir

logger = logging.getLogger(__name__)


@dataclass
class SequenceSpec:
    name: str
    path: Path
    max_frames: int | None = None
    calib: Path | None = None


@dataclass
class VOBatchConfig:
    output: Path
    sequences: list[SequenceSpec]
    modes: list[str] = field(default_factory=lambda: ["dsdso", "dso", "f2f"])
    config: Path | None = None
    references: list[tuple[str, Path]] = field(default_factory=list)
    jobs: int = 1
    align: str = "scale"


@dataclass
class _SequenceEntry:
    """``sequences[i]`` of a VO batch YAML as written (paths relative to the file)."""

    path: str
    name: str | int | None = None    # a bare YAML 00 is the int 0
    max_frames: int | None = None
    calib: str | None = None


@dataclass
class _ReferenceEntry:
    name: str
    dir: str


@dataclass
class _VOBatchFile:
    """A VO batch YAML as written; typed by ``frontend.common.typed_config``."""

    output: str
    sequences: list[_SequenceEntry]
    modes: list[str] = field(default_factory=lambda: ["dsdso", "dso", "f2f"])
    config: str | None = None
    references: list[_ReferenceEntry] = field(default_factory=list)
    jobs: int = 1
    align: str = "scale"


def is_vo_batch(data: Any) -> bool:
    return isinstance(data, dict) and "sequences" in data


def load_vo_batch(path: str | os.PathLike) -> VOBatchConfig:
    from apps.io.yaml_file import read_yaml
    from frontend.common.typed_config import load_dataclass

    path = Path(path)
    data = read_yaml(path, "batch config")
    if not is_vo_batch(data):
        raise ValueError(f"{path}: a VO batch needs a mapping with 'sequences' (and 'output', 'modes')")
    spec = load_dataclass(_VOBatchFile, data, str(path))
    base = path.parent

    def rel(p):
        if p is None:
            return None
        p = Path(os.path.expanduser(str(p)))
        return p if p.is_absolute() else (base / p).resolve()

    seqs = [SequenceSpec(check_folder_name(str(s.name) if s.name is not None and str(s.name)
                                           else Path(s.path).name, f"{path}: sequences[{i}].name"),
                         rel(s.path), s.max_frames, rel(s.calib)) for i, s in enumerate(spec.sequences)]
    if not seqs:
        raise ValueError(f"{path}: 'sequences' is empty")
    modes = spec.modes or ["dsdso", "dso", "f2f"]
    bad = [m for m in modes if m not in ("dsdso", "dso", "f2f")]
    if bad:
        raise ValueError(f"{path}: unknown mode(s) {bad}; use dsdso, dso, f2f")
    refs = [(r.name, require_dir(rel(r.dir), f"{path}: references[{i}].dir"))
            for i, r in enumerate(spec.references)]
    if spec.jobs < 1:
        raise ValueError(f"{path}: jobs must be >= 1, got {spec.jobs}")
    output = check_output_folder(rel(spec.output), f"{path}: output")
    return VOBatchConfig(output, seqs, modes, rel(spec.config), refs, spec.jobs, spec.align)


KEY_FILE = "batch_key.json"


def _file_sha256(path: Path) -> str:
    from apps.pipeline.outputs import file_sha256

    return file_sha256(path)


def _model_hashes(model_dir: Path) -> dict[str, str]:
    """SHA-256 of frontend.json and of every model file it lists (what the runs' networks are)."""
    meta_path = model_dir / "frontend.json"
    if not meta_path.is_file():
        return {"frontend.json": "missing"}
    out = {"frontend.json": _file_sha256(meta_path)}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        files = [meta["keypoint"]["file"], meta["depth"]["file"]]
    except (ValueError, KeyError, TypeError):
        return out
    for name in files:
        p = model_dir / str(name)
        out[str(name)] = _file_sha256(p) if p.is_file() else "missing"
    return out


def run_key(spec: SequenceSpec, mode: str, cfg: VOBatchConfig) -> dict[str, Any]:
    """What a cached run must match to be reused: the resolved sequence path, frame count and
    calibration, the mode, the full run config and (modes with networks) the model files' hashes."""
    from apps.pipeline.config import load_config

    config = load_config(cfg.config, mode=mode)
    key: dict[str, Any] = {
        "sequence": str(Path(spec.path).resolve()),
        "max_frames": spec.max_frames,
        "calib": None if spec.calib is None else {"path": str(Path(spec.calib).resolve()),
                                                  "sha256": _file_sha256(Path(spec.calib))},
        "mode": mode,
        "config": json.loads(json.dumps(config.to_dict(), default=str)),
    }
    if mode != "dso":
        key["models"] = _model_hashes(config.resolved_model_dir.resolve())
    return key


def _run_done(run_dir: Path, expected_frames: int, key: dict[str, Any]) -> bool:
    """True when ``run_dir`` holds a complete, finished output set made with exactly ``key``."""
    from apps.pipeline.outputs import verify_run_outputs

    try:
        s = verify_run_outputs(run_dir)
        stored = json.loads((run_dir / KEY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (stored.get("key") == key and stored.get("run_id") == s.get("run_id")
            and not s.get("interrupted") and s.get("frames") == expected_frames)


def _run_one(spec: SequenceSpec, mode: str, cfg: VOBatchConfig, n_frames: int) -> tuple[str, str, str]:
    run_dir = cfg.output / spec.name / mode
    key = run_key(spec, mode, cfg)
    if _run_done(run_dir, n_frames, key):
        return spec.name, mode, "cached"
    (run_dir / KEY_FILE).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "apps.cli", "run", str(spec.path), "--output", str(run_dir), "--mode", mode,
           "--no-progress"]
    if spec.max_frames:
        cmd += ["--max-frames", str(spec.max_frames)]
    if spec.calib:
        cmd += ["--calib", str(spec.calib)]
    if cfg.config:
        cmd += ["--config", str(cfg.config)]
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if cfg.jobs > 1:  # share the cores between parallel runs
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) // cfg.jobs)))
    with open(run_dir / "log.txt", "w") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        return spec.name, mode, f"failed (exit {rc}, see {run_dir / 'log.txt'})"
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    atomic_write_text(run_dir / KEY_FILE, json.dumps({"key": key, "run_id": summary.get("run_id")}, indent=2) + "\n")
    return spec.name, mode, "ran"


def run_vo_batch(cfg: VOBatchConfig, keep_going: bool = False) -> dict[str, Any]:
    """Run (or resume) every sequence x mode, score, write ``results.md``/``results.csv``/plots.

    A finished run is reused only when its outputs verify and its key (:func:`run_key`) matches.
    Without ``keep_going`` the first sequence that cannot be opened or run stops the batch
    (ValueError naming it; runs already started finish); with it, failures become table rows.
    Returns ``{"rows": [...], "means": {...}, "status": {...}}``.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from apps.evaluation.evaluate import evaluate_covered
    from apps.io.sequence import gt_covered, open_sequence
    from apps.io.trajectory import read_kitti_poses

    names = [s.name for s in cfg.sequences]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"batch: several sequences are named {duplicates} (their runs would share a folder); "
                         "give each a distinct 'name'")
    gts: dict[str, np.ndarray] = {}
    status: dict[str, str] = {}
    for spec in cfg.sequences:
        try:
            seq = open_sequence(spec.path, calib=spec.calib, max_frames=spec.max_frames)
            if seq.gt_world_from_cam is None:
                raise ValueError(f"{spec.path} has no ground truth to score against")
        except (ValueError, OSError) as exc:
            if not keep_going:
                raise ValueError(f"batch sequence {spec.name}: {exc} (--keep-going scores the others)") from exc
            logger.error("batch sequence %s: %s", spec.name, exc)
            for mode in cfg.modes:
                status[f"{spec.name}/{mode}"] = f"failed (cannot open: {exc})"
            continue
        gts[spec.name] = seq.gt_world_from_cam
    tasks = [(s, m) for s in cfg.sequences for m in cfg.modes if s.name in gts]
    failed_run = None
    with ThreadPoolExecutor(max_workers=max(1, cfg.jobs)) as pool:
        pending = {pool.submit(_run_one, s, m, cfg, len(gts[s.name])) for s, m in tasks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                name, mode, st = fut.result()
                status[f"{name}/{mode}"] = st
                logger.info("%s/%s: %s", name, mode, st)
                if st.startswith("failed") and not keep_going and failed_run is None:
                    failed_run = f"{name}/{mode}: {st}"
                    for other in pending:
                        other.cancel()
            pending = {f for f in pending if not f.cancelled()}
    if failed_run is not None:
        raise ValueError(f"batch run {failed_run} (--keep-going runs and scores the others)")

    rows: list[dict[str, Any]] = []
    for spec in cfg.sequences:
        if spec.name not in gts:
            for mode in cfg.modes:
                rows.append({"sequence": spec.name, "method": mode, "error": status[f"{spec.name}/{mode}"]})
            continue
        gt = gts[spec.name]
        estimates: dict[str, np.ndarray] = {}
        for mode in cfg.modes:
            run_dir = cfg.output / spec.name / mode
            if not (run_dir / "poses_kitti.txt").is_file() or status[f"{spec.name}/{mode}"].startswith("failed"):
                rows.append({"sequence": spec.name, "method": mode, "error": status[f"{spec.name}/{mode}"]})
                continue
            est = read_kitti_poses(run_dir / "poses_kitti.txt")
            summary = json.loads((run_dir / "summary.json").read_text())
            try:
                res = evaluate_covered(gt[: len(est)], est, align=cfg.align)
            except ValueError as exc:  # e.g. an estimate that never moved cannot be aligned
                rows.append({"sequence": spec.name, "method": mode, "error": f"not scorable: {exc}",
                             "fps": summary.get("fps"), "frames": len(est)})
                continue
            estimates[mode] = est
            rows.append({"sequence": spec.name, "method": mode, "t_rel": res.t_rel, "r_rel": res.r_rel,
                         "ate_rmse": res.ate_rmse, "fps": summary.get("fps"), "frames": len(est)})
        for ref_name, ref_dir in cfg.references:
            ref_file = ref_dir / f"{spec.name}.txt"
            if not ref_file.is_file():
                continue
            est = read_kitti_poses(ref_file)[: len(gt)]
            res = evaluate_covered(gt[: len(est)], est, align=cfg.align)
            estimates[ref_name] = est
            rows.append({"sequence": spec.name, "method": ref_name, "t_rel": res.t_rel, "r_rel": res.r_rel,
                         "ate_rmse": res.ate_rmse, "fps": None, "frames": len(est)})
        if estimates and not gt_covered(gt).all():  # index-paired plots need every frame's ground truth
            logger.info("plots for %s skipped: its ground truth covers only part of the frames (kp3d-vo plot pairs "
                        "the runs' poses_tum.txt with it by time)", spec.name)
        elif estimates:
            try:
                from apps.plotting import plot_trajectories

                plot_trajectories(gt, estimates, cfg.output / spec.name / "plots", align=cfg.align)
            except Exception as exc:  # plots are a convenience: never lose the table over them
                logger.warning("plots for %s failed: %s", spec.name, exc)
    means = _means(rows)
    atomic_write_text(cfg.output / "results.md", format_markdown(rows, means, cfg))
    atomic_write_text(cfg.output / "results.csv", format_csv(rows, means))
    out = {"rows": rows, "means": means, "status": status}
    atomic_write_text(cfg.output / "results.json", format_json(out))
    return out


def _means(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        sel = [r for r in rows if r["method"] == method and "error" not in r]
        out[method] = {}
        for key in ("t_rel", "r_rel", "ate_rmse", "fps"):
            vals = [r[key] for r in sel if r.get(key) is not None and np.isfinite(r[key])]
            out[method][key] = float(np.mean(vals)) if vals else None
    return out


def _f(v, digits=2):
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{digits}f}"


def format_markdown(rows, means, cfg: VOBatchConfig) -> str:
    lines = [f"Devkit t_rel [%] / r_rel [deg/100m], ATE [m] after {cfg.align} alignment; fps = whole pipeline.",
             "", "| sequence | method | t_rel | r_rel | ATE | fps | frames |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['sequence']} | {r['method']} | {r['error']} | | | | |")
        else:
            lines.append(f"| {r['sequence']} | {r['method']} | {_f(r['t_rel'])} | {_f(r['r_rel'])} | "
                         f"{_f(r['ate_rmse'], 3)} | {_f(r['fps'], 1)} | {r['frames']} |")
    for method, m in means.items():
        lines.append(f"| **mean** | {method} | {_f(m['t_rel'])} | {_f(m['r_rel'])} | {_f(m['ate_rmse'], 3)} | "
                     f"{_f(m['fps'], 1)} | |")
    return "\n".join(lines) + "\n"


def format_json(out: dict[str, Any]) -> str:
    """``run_vo_batch``'s result as the text of ``results.json``."""
    return json.dumps(out, indent=2, default=float) + "\n"


def format_csv(rows, means) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["sequence", "method", "t_rel", "r_rel", "ate_rmse", "fps", "frames", "error"])
    w.writeheader()
    for r in rows:
        w.writerow(r)
    for method, m in means.items():
        w.writerow({"sequence": "mean", "method": method, **m})
    return buf.getvalue()
