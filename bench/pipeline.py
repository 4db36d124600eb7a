"""Whole-pipeline benchmark: `kp3d-vo run` as a separate process per run, one process at a time.

    .venv/bin/python bench/pipeline.py [--root ../shared/data/kitti/sequences] [--seqs 00 02]
        [--modes dso dsdso] [--max-frames 300] [--repeats 1] [--configs default A.yaml ...]
        [--pin-backend] [--json OUT] [-- EXTRA RUN ARGS]

For every (sequence, mode, repeat) the CLI runs in a fresh Python process (``python -c`` calling
``apps.cli.main``), and the parent collects:

* ``cpu_s``: user + system CPU seconds of the whole child process (``os.wait4`` resource usage:
  every thread, the imports, the networks, the evaluation) -- the number to compare on a shared machine;
* ``wall_s``: wall seconds of the whole process, and ``fps`` = frames / loop wall seconds (``summary.json``);
* ``peak_rss_mb``: the child's peak resident memory (``ru_maxrss`` of ``wait4``), and the run's own
  ``summary.json`` ``peak_rss_mb`` (read at the end of the loop, before the evaluation);
* ``stage_ms``: per processed frame, from ``summary.json`` (``decode``: image I/O; ``frontend``: the
  networks in the prefetch thread; ``backend``: ``track()``; ``observer``: map copies + observer calls);
* keyframes, t_rel (%), r_rel (deg/100 m), RPE-1 translation (m) / rotation (deg) and the local scale
  over 100 m of path (``apps.evaluation.scale_drift``: p5-p95 of estimated / true length), and for a run in
  metres its t_rel / r_rel / ATE without alignment (``in_metres``) from the run's
  evaluation, which heavy modules the child had imported (torch, open3d, matplotlib, evo, scipy), and
  the per-frame statuses (``--json`` only; the keyframe pattern for issue 11's "run the DepthNet only
  on keyframes").

Load average is recorded before and after each run: wall numbers on a loaded machine are upper bounds.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data" / "kitti" / "sequences"
PROBED_MODULES = ("torch", "open3d", "matplotlib", "evo", "scipy", "cv2", "tqdm", "pandas")

# The child: runs the CLI, then records which heavy modules it loaded (argv[1] = JSON path, rest = CLI args).
# The per-frame statuses are taken from run_sequence's result (the run command imports it at call time).
CHILD = """
import json, sys
import apps.pipeline.runner as runner
from apps.cli import main
probe, argv = sys.argv[1], sys.argv[2:]
seen = {}
def run_sequence(*args, _run=runner.run_sequence, **kwargs):
    result = _run(*args, **kwargs)
    seen["statuses"] = list(result.statuses)
    return result
runner.run_sequence = run_sequence
rc = main(argv)
with open(probe, "w") as f:
    json.dump({"rc": rc, "modules": {m: m in sys.modules for m in %r}, "statuses": seen.get("statuses")}, f)
sys.exit(rc)
""" % (PROBED_MODULES,)


def pin_backend(workdir: Path) -> dict[str, str]:
    """Copy the built ``dso_bridge`` package (Python wrappers + extension) into ``workdir``; returns the
    environment that makes a child (run with ``python -P``) import that copy, so that a rebuild of the
    extension during a long benchmark cannot mix two builds."""
    dest = workdir / "pinned" / "dso_bridge"
    shutil.copytree(REPO / "dso_bridge", dest, ignore=shutil.ignore_patterns("bindings", "__pycache__"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(dest.parent), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_once(sequence: Path, mode: str, max_frames: int, extra: list[str], workdir: Path,
             env: dict[str, str] | None = None) -> dict:
    """One `kp3d-vo run` in a child process; returns its measurements (see the module docstring).
    ``env``: from :func:`pin_backend` (the child then runs with ``python -P``), or None."""
    out = workdir / f"{sequence.name}_{mode}"
    probe = workdir / "probe.json"
    probe.unlink(missing_ok=True)
    cmd = [sys.executable, *(["-P"] if env is not None else []), "-c", CHILD, str(probe), "run", str(sequence), "--mode", mode, "--output", str(out),
           "--max-frames", str(max_frames), "--no-progress", *extra]
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    log = proc.stdout.read().decode(errors="replace")
    proc.stdout.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[cmd.index(CHILD) + 1:])} failed with exit {proc.returncode}:\n{log[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    probed = json.loads(probe.read_text())
    ev = summary.get("evaluation") or {}
    return {
        "sequence": sequence.name, "mode": mode, "frames": summary["frames"], "keyframes": summary["keyframes"],
        "cpu_s": usage.ru_utime + usage.ru_stime, "cpu_user_s": usage.ru_utime, "cpu_sys_s": usage.ru_stime,
        "wall_s": wall, "loop_wall_s": summary["wall_s"], "fps": summary["fps"],
        "peak_rss_mb": usage.ru_maxrss / 1024.0, "summary_peak_rss_mb": summary.get("peak_rss_mb"),
        "stage_ms": summary.get("stage_ms_per_frame", {}),
        "mapping_thread_ms": summary.get("mapping_thread_ms_per_frame"), "latency_ms": summary.get("latency_ms"),
        "t_rel": ev.get("t_rel"), "r_rel": ev.get("r_rel"), "ate_rmse": ev.get("ate_rmse"),
        "rpe_trans_rmse": ev.get("rpe_trans_rmse"), "rpe_rot_rmse": ev.get("rpe_rot_rmse"),
        "scale": ev.get("scale"), "local_scale": ev.get("local_scale"), "ground_height": summary.get("ground_height"),
        "in_metres": ev.get("in_metres"),
        "modules": probed["modules"], "load_before": load_before, "load_after": os.getloadavg()[0],
        "statuses": probed.get("statuses"),
    }


def seed_runs(root: Path, seqs: list[str], seeds: list[int], *, modes: tuple[str, ...] = ("dsdso",),
              max_frames: int = 300, extra: list[str] | None = None) -> list[dict]:
    """This benchmark in a child process (quiet) over selector seeds, one run config per seed; returns its
    rows, each with ``seed`` added. ``extra``: arguments for every ``kp3d-vo run`` (e.g. ``--model-dir``)."""
    with tempfile.TemporaryDirectory(prefix="kp3d-bench-seeds-") as tmp:
        configs = []
        for seed in seeds:
            cfg = Path(tmp) / f"seed{seed}.yaml"
            cfg.write_text(f"backend: {{selector: {{seed: {seed}}}}}\n")
            configs.append(str(cfg))
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--root", str(root), "--seqs", *seqs, "--modes", *modes,
               "--max-frames", str(max_frames), "--configs", *configs, "--json", str(out), "--", *(extra or [])]
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        rows = json.loads(out.read_text())
    for r in rows:
        r["seed"] = int(Path(r["config"]).stem.removeprefix("seed"))
        r.pop("statuses", None)
    return rows


def _fmt(v, spec: str = ".2f") -> str:
    return "–" if v is None else format(v, spec)


def _local_scale_text(ls: dict | None) -> str:
    return "–" if not ls else f"{ls['p5']:.3f}-{ls['p95']:.3f}"


def table(rows: list[dict]) -> str:
    lines = ["| seq | mode | config | CPU s | wall s | fps | peak MiB | decode / frontend / backend / observer ms | "
             "KF | t_rel | r_rel | RPE-1 m / deg | scale 100 m p5-p95 | torch loaded | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        st = r["stage_ms"]
        stages = " / ".join(_fmt(st.get(k), ".1f") for k in ("decode", "frontend", "backend", "observer"))
        lines.append(f"| {r['sequence']} | {r['mode']} | {Path(r.get('config') or 'default').stem} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | {r['fps']:.1f} | "
                     f"{r['peak_rss_mb']:.0f} | {stages} | {r['keyframes']}/{r['frames']} | {_fmt(r['t_rel'])} | "
                     f"{_fmt(r['r_rel'])} | {_fmt(r['rpe_trans_rmse'], '.3f')} / {_fmt(r['rpe_rot_rmse'], '.3f')} | "
                     f"{_local_scale_text(r.get('local_scale'))} | "
                     f"{'yes' if r['modules'].get('torch') else 'no'} | {r['load_before']:.1f}-{r['load_after']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder holding KITTI sequences NN/")
    p.add_argument("--seqs", nargs="+", default=["00", "02"])
    p.add_argument("--modes", nargs="+", default=["dso", "dsdso"], choices=("dso", "dsdso", "f2f"))
    p.add_argument("--max-frames", type=int, default=300)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--json", type=Path, help="write the rows as JSON here")
    p.add_argument("--configs", nargs="+", default=[None], metavar="YAML",
                   help="run configs to compare (each passed as --config; 'default' = none)")
    p.add_argument("--pin-backend", action="store_true",
                   help="run every child on a copy of the dso_bridge build taken at start (see pin_backend)")
    args = p.parse_args(argv)
    missing = [s for s in args.seqs if not (args.root / s).is_dir()]
    if missing:
        print(f"bench/pipeline.py: sequences {missing} not found under {args.root}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="kp3d-bench-pipeline-") as tmp:
        env = pin_backend(Path(tmp)) if args.pin_backend else None
        for rep in range(args.repeats):
            for seq in args.seqs:
                for mode in args.modes:
                    for config in args.configs:
                        cfg_args = [] if config in (None, "default") else ["--config", config]
                        row = run_once(args.root / seq, mode, args.max_frames, extra + cfg_args, Path(tmp), env)
                        row.update(repeat=rep, config=config or "default")
                        rows.append(row)
                        print(json.dumps({k: v for k, v in row.items() if k != "statuses"}), flush=True)
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, extra run args: {extra}")
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
