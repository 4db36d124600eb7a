"""A backend or network variant against the default, on every clip kind, over selector seeds.

    .venv/bin/python bench/variant_suite.py build --kitti ../shared/data/kitti --out DIR [--no-renders]
    .venv/bin/python bench/variant_suite.py run --suite DIR --name NAME [--config VARIANT.yaml]
        [--seeds 0 1 2] [--clips core] [--jobs 2]
    .venv/bin/python bench/variant_suite.py compare BASE NAME ... --suite DIR [--seeds 0 1 2] [--clips core]

Single runs move by +-0.5 pp t_rel with the selector seed, and a default tuned on KITTI 00 / 02 from frame 0
can lose elsewhere (bench/RESULTS.md). So a variant is judged on several clip kinds, each over seeds. The
geometric mean of a clip's mean over the base's is the score; below 1 is better.

``build`` writes the clips into DIR. They come from the KITTI frames in ``../shared/data`` (nothing from
there is copied into the project) and from the path renders:
- ``late``: 00 / 02 from frames 50, 100 and 200, and 07 from frame 60 (``bench/clip_variants.py``).
- ``every``: every 2nd and 3rd frame (00s2, 02s2, 02s3, 07s2, 07s3).
- ``walk`` / ``flicker``: exposure steps and flicker (00e, 00f, 02e, 02f, 07e, 07f).
- ``render``: 300 rendered frames along KITTI 05, 08 and 10 (``bench/path_renders.py``; r05, r08, r10).

The clip sets (``--clips``):
- ``core``: 00, 00m100, 02, 02m50, 02m100 and 07. These are the six that the 2026-12-06/07 sections of
  bench/RESULTS.md screen with.
- ``broad``: the 14 clips of every other kind.
- ``all``: both, plus 00m50, 00m200, 02m200 and 07m60.
- Clip names may also be given one by one.

``run`` runs ``kp3d-vo run`` once per (clip, seed). The run config is VARIANT.yaml, deep-merged with
``backend: {selector: {seed: S}}``; without ``--config`` the run is the default. Runs go to
``DIR/runs/NAME/<clip>_s<seed>``, ``--jobs`` at a time. A run whose ``summary.json`` exists is kept, so an
interrupted suite resumes. CPU times from parallel runs are not speed numbers: ``bench/pipeline.py`` runs
one at a time for those.

``compare`` prints a Markdown table with, per clip, each name's mean over the seeds and the single runs. The
metric is t_rel % where the clip has 100 m segments, otherwise ATE m (07's 91 m). The table also gives the
mean RPE-1 m, then each name's ratios to BASE and their geometric mean.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

CORE = ("00", "00m100", "02", "02m50", "02m100", "07")
BROAD = ("00s2", "02s2", "02s3", "07s2", "07s3", "00e", "00f", "02e", "02f", "07e", "07f", "r05", "r08", "r10")
EXTRA = ("00m50", "00m200", "02m200", "07m60")
LATE_STARTS = {"00": (50, 100, 200), "02": (50, 100, 200), "07": (60,)}
EVERY = {"00": (2,), "02": (2, 3), "07": (2, 3)}
RENDERS = {"r05": "05:0:300", "r08": "08:100:300", "r10": "10:0:300"}


def clip_set(names: list[str]) -> list[str]:
    """``core`` / ``broad`` / ``all`` expanded; other names kept, in order, without repeats."""
    sets = {"core": CORE, "broad": BROAD, "all": CORE + BROAD + EXTRA}
    out: list[str] = []
    for n in names:
        for c in sets.get(n, (n,)):
            if c not in out:
                out.append(c)
    return out


def build(kitti: Path, out: Path, renders: bool = True) -> dict[str, dict[str, str]]:
    """Writes the clips into ``out`` and ``out/suite.json`` (clip -> sequence folder and ground truth)."""
    from clip_variants import make_clip

    if not (kitti / "sequences").is_dir() or not (kitti / "poses").is_dir():
        raise FileNotFoundError(f"--kitti: {kitti} has no sequences/ and poses/ (KITTI odometry layout)")

    def entry(sequence: Path, gt: Path) -> dict[str, str]:
        return {"sequence": str(sequence.resolve()), "gt": str(gt.resolve())}

    def made(clip: Path) -> None:
        clips[clip.name] = entry(clip, out / "poses" / f"{clip.name}.txt")

    clips = {seq: entry(kitti / "sequences" / seq, kitti / "poses" / f"{seq}.txt") for seq in ("00", "02", "07")}
    frames = {"00": 300, "02": 300, "07": 160}
    for seq, starts in LATE_STARTS.items():
        for start in starts:
            made(make_clip(kitti, seq, "late", frames[seq], out, late_start=start, name=f"{seq}m{start}"))
    for seq, steps in EVERY.items():
        for k in steps:
            made(make_clip(kitti, seq, "every", frames[seq], out, every=k))
    for seq in ("00", "02", "07"):
        for kind in ("walk", "flicker"):
            made(make_clip(kitti, seq, kind, frames[seq], out))
    if renders:
        from path_renders import render

        for name, spec in RENDERS.items():
            seq = render(kitti / "poses", out / "renders", spec)
            clips[name] = entry(out / "renders" / "sequences" / seq, out / "renders" / "poses" / f"{seq}.txt")
    (out / "suite.json").write_text(json.dumps({"kitti": str(kitti.resolve()), "clips": clips}, indent=2) + "\n")
    return clips


def load_suite(suite: Path) -> dict[str, dict[str, str]]:
    path = suite / "suite.json"
    if not path.is_file():
        raise FileNotFoundError(f"--suite: {path} missing (make the clips with `variant_suite.py build`)")
    return json.loads(path.read_text())["clips"]


def merged_config(variant: dict[str, Any] | None, seed: int) -> dict[str, Any]:
    """``variant`` (a run config's mapping) with ``backend.selector.seed`` set, merged key by key."""
    def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        return out

    if variant is not None and not isinstance(variant, dict):
        raise ValueError(f"--config: expected a mapping at the top, got {type(variant).__name__}")
    return merge(variant or {}, {"backend": {"selector": {"seed": int(seed)}}})


def run(suite: Path, name: str, config: Path | None, seeds: list[int], clips: list[str], jobs: int = 2) -> list[Path]:
    """Every (clip, seed) through ``kp3d-vo run``; returns the run folders (existing ones are kept)."""
    import yaml

    known = load_suite(suite)
    unknown = [c for c in clips if c not in known]
    if unknown:
        raise ValueError(f"--clips: {unknown} not in {suite / 'suite.json'} (have: {sorted(known)})")
    variant = yaml.safe_load(config.read_text()) if config is not None else None
    base = suite / "runs" / name
    base.mkdir(parents=True, exist_ok=True)
    todo = []
    for clip in clips:
        for seed in seeds:
            out = base / f"{clip}_s{seed}"
            if (out / "summary.json").is_file():
                continue
            cfg = base / f"config_{clip}_s{seed}.yaml"
            cfg.write_text(yaml.safe_dump(merged_config(variant, seed), sort_keys=False))
            cmd = [sys.executable, "-m", "apps.cli", "run", known[clip]["sequence"], "--output", str(out),
                   "--config", str(cfg), "--gt", known[clip]["gt"], "--no-progress"]
            todo.append((cmd, base / f"{clip}_s{seed}.log"))

    def one(item: tuple[list[str], Path]) -> int:
        cmd, log = item
        with open(log, "w") as f:
            return subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=os.environ.copy()).returncode

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        codes = list(pool.map(one, todo))
    failed = [str(log) for (_, log), rc in zip(todo, codes) if rc != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} run(s) failed, see {failed[:3]}")
    return [base / f"{c}_s{s}" for c in clips for s in seeds]


def metric(summary: dict[str, Any]) -> tuple[float, str, float | None]:
    """(value, "t_rel" or "ate", RPE-1 m) of a run's ``summary.json``: t_rel % where finite, else ATE m."""
    e = summary.get("evaluation") or {}
    t_rel = e.get("t_rel")
    rpe = e.get("rpe_trans_rmse")
    if t_rel is not None and math.isfinite(t_rel):
        return float(t_rel), "t_rel", rpe
    return float(e["ate_rmse"]), "ate", rpe


def compare(suite: Path, names: list[str], seeds: list[int], clips: list[str]) -> str:
    """Markdown: per clip each name's mean (single runs), then each name's ratios to ``names[0]``."""
    values: dict[tuple[str, str], tuple[list[float], str, float]] = {}
    for name in names:
        for clip in clips:
            runs = [suite / "runs" / name / f"{clip}_s{s}" / "summary.json" for s in seeds]
            if not all(p.is_file() for p in runs):
                continue
            ms = [metric(json.loads(p.read_text())) for p in runs]
            rpes = [m[2] for m in ms if m[2] is not None]
            values[name, clip] = ([m[0] for m in ms], ms[0][1], sum(rpes) / len(rpes) if rpes else float("nan"))
    lines = ["| clip | metric | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for clip in clips:
        cells, kind = [], ""
        for name in names:
            if (name, clip) not in values:
                cells.append("–")
                continue
            v, kind, rpe = values[name, clip]
            cells.append(f"{sum(v) / len(v):.3f} ({' / '.join(f'{x:.2f}' for x in v)}; RPE-1 {rpe:.3f})")
        lines.append(f"| {clip} | {kind or '–'} | " + " | ".join(cells) + " |")
    lines.append("")
    base = names[0]
    for name in names[1:]:
        ratios = [(c, sum(values[name, c][0]) / sum(values[base, c][0])) for c in clips
                  if (name, c) in values and (base, c) in values]
        if not ratios:
            lines.append(f"{name}: no clip run with seeds {seeds} by both")
            continue
        geo = math.exp(sum(math.log(r) for _, r in ratios) / len(ratios))
        lines.append(f"{name} / {base}: geometric mean **{geo:.3f}** over {len(ratios)} clips ("
                     + ", ".join(f"{c} {r:.2f}" for c, r in ratios) + ")")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the clips")
    b.add_argument("--kitti", type=Path, default=REPO.parent / "shared" / "data" / "kitti")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--no-renders", action="store_true", help="leave out the three path renders")
    r = sub.add_parser("run", help="run a variant over clips and seeds")
    r.add_argument("--suite", type=Path, required=True)
    r.add_argument("--name", required=True, help="runs go to SUITE/runs/NAME")
    r.add_argument("--config", type=Path, help="the variant's run config (YAML); none = the default")
    r.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    r.add_argument("--clips", nargs="+", default=["core"])
    r.add_argument("--jobs", type=int, default=2)
    c = sub.add_parser("compare", help="tabulate names against the first")
    c.add_argument("--suite", type=Path, required=True)
    c.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    c.add_argument("--clips", nargs="+", default=["core"])
    c.add_argument("names", nargs="+")
    args = p.parse_args(argv)
    if args.command == "build":
        clips = build(args.kitti, args.out, renders=not args.no_renders)
        print(f"{len(clips)} clips in {args.out / 'suite.json'}")
    elif args.command == "run":
        if args.config is not None and not args.config.is_file():
            p.error(f"--config: {args.config} is not a file")
        folders = run(args.suite, args.name, args.config, args.seeds, clip_set(args.clips), args.jobs)
        print(f"{len(folders)} runs in {args.suite / 'runs' / args.name}")
    else:
        print(compare(args.suite, args.names, args.seeds, clip_set(args.clips)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
