"""Selects a DepthNet training snapshot by what it does as the DS-DSO prior on footage it never saw.

    .venv/bin/python bench/depth_snapshots.py CKPT.pt [CKPT.pt ...] [--seqs 07] [--seeds 0 1 2]
        [--root ../shared/data/kitti/sequences] [--max-frames 300]
        [--keypoint frontend/models/checkpoints/keypoints_light/keypoint_net.pt]
        [--calibrate runs/synth_train/sequences/01] [--eval-render DIR [DIR ...]]
        [--out runs/depth_snapshots] [--json OUT]

A lower photometric training loss did not mean a better prior (frontend/models/MODEL_CARD.md: steps
3000-6000 of the first run were worse on KITTI than step 2000), so snapshots are compared on:

* the held-out renders with exact depth (``--eval-render``; default every render under runs/synth_eval/sequences,
  made by ``bench/make_depth_renders.sh``): AbsRel, RMSE, a1 at the export size (320x96), the mean over the
  renders, and each render's AbsRel;
* the default dsdso run (``bench/pipeline.py``: one process per run, one at a time) on each sequence of
  ``--seqs`` (validation: KITTI 07, never a training source) and selector seed: ATE [m], RPE-1 [m],
  t_rel/r_rel where the clip is >= 100 m, the fitted GT/estimate scale (1 = metric), CPU seconds.

Each checkpoint is exported as shipped (``kp3d-vo export`` with the given KeypointNet, depth at 320x96,
calibrated to metres on ``--calibrate``, prior sigma 0.1) into ``OUT/<checkpoint stem or snapshot>/model``.
Prints one Markdown table of per-checkpoint means over seeds; ``--json`` keeps every run.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))  # before bench/: bench/frontend.py must not shadow the frontend package
from pipeline import seed_runs  # noqa: E402  (bench/pipeline.py)

METRICS = ("ate_rmse", "rpe_trans_rmse", "t_rel", "r_rel", "scale", "cpu_s")


def _name(ckpt: Path) -> str:
    """``.../snapshots/step_0001000/depth_net.pt`` -> ``step_0001000``; else the file's parent + stem."""
    return ckpt.parent.name if ckpt.parent.name.startswith("step_") else f"{ckpt.parent.name}_{ckpt.stem}"


def export(ckpt: Path, keypoint: Path, calibrate: Path, out: Path) -> None:
    cmd = [sys.executable, "-m", "apps.cli", "export", "--keypoint", str(keypoint), "--depth", str(ckpt),
           "--out", str(out), "--width", "640", "--height", "192", "--depth-width", "320", "--depth-height", "96",
           "--calibrate-depth", str(calibrate), "--depth-prior-sigma", "0.1"]
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def render_errors(ckpt: Path, renders: list[Path]) -> dict:
    """Mean AbsRel / RMSE / a1 over ``renders`` and ``per_render`` ``{name: abs_rel}``."""
    from apps.io.sequence import open_sequence
    from frontend.training.evaluate import evaluate_depth_checkpoint

    each = {r.name: evaluate_depth_checkpoint(ckpt, open_sequence(r, resize=(320, 96))) for r in renders}
    out = {k: statistics.fmean(e[k] for e in each.values()) for k in ("abs_rel", "rmse", "a1")}
    out["per_render"] = {name: e["abs_rel"] for name, e in each.items()}
    return out


def held_out_renders(root: Path) -> list[Path]:
    """The render folders under ``root`` (runs/synth_eval/sequences), in numeric name order."""
    if not root.is_dir():
        return []
    renders = [p for p in root.iterdir() if (p / "calib.txt").is_file()]
    return sorted(renders, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))


def _mean(values: list) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.fmean(v) if v else None


def table(results: list[dict], seqs: list[str]) -> str:
    head = "| checkpoint | render AbsRel / RMSE m / a1 |" + "".join(
        f" {s} ATE m | {s} RPE-1 m | {s} t_rel % | {s} scale |" for s in seqs)
    lines = [head, "|" + "---|" * (2 + 4 * len(seqs))]
    fmt = lambda v, spec=".3f": "–" if v is None else format(v, spec)  # noqa: E731
    for res in results:
        d = res["render"]
        per = ", ".join(f"{k} {v:.3f}" for k, v in d["per_render"].items())
        cells = [res["name"], f"{d['abs_rel']:.3f} / {d['rmse']:.2f} / {d['a1']:.3f} ({per})"]
        for s in seqs:
            rows = [r for r in res["runs"] if r["sequence"] == s]
            cells += [fmt(_mean([r["ate_rmse"] for r in rows])), fmt(_mean([r["rpe_trans_rmse"] for r in rows])),
                      fmt(_mean([r["t_rel"] for r in rows]), ".2f"), fmt(_mean([r.get("scale") for r in rows]))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path, help="DepthNet checkpoints (depth_net.pt of a run or snapshot)")
    p.add_argument("--seqs", nargs="*", default=["07"],
                   help="KITTI sequences to run (default: validation 07; none: the renders only)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--root", type=Path, default=REPO.parent / "shared" / "data" / "kitti" / "sequences")
    p.add_argument("--max-frames", type=int, default=300)
    p.add_argument("--keypoint", type=Path, default=REPO / "frontend/models/checkpoints/keypoints_light/keypoint_net.pt")
    p.add_argument("--calibrate", type=Path, default=REPO / "runs/synth_train/sequences/01",
                   help="render with exact depth for the metric calibration (as shipped)")
    p.add_argument("--eval-render", type=Path, nargs="+",
                   help="held-out renders with exact depth (default: every one under runs/synth_eval/sequences)")
    p.add_argument("--out", type=Path, default=REPO / "runs/depth_snapshots")
    p.add_argument("--json", type=Path, help="write every run's row here")
    args = p.parse_args(argv)
    renders = args.eval_render or held_out_renders(REPO / "runs/synth_eval/sequences")
    if not renders:
        raise SystemExit("depth_snapshots: no held-out render (make them with bench/make_depth_renders.sh "
                         "and the commands of frontend/models/MODEL_CARD.md, or give --eval-render)")
    for path in (*args.checkpoints, args.keypoint, args.calibrate, *renders):
        if not path.exists():
            raise SystemExit(f"depth_snapshots: {path} does not exist")
    results = []
    for ckpt in args.checkpoints:
        name = _name(ckpt)
        model = args.out / name / "model"
        export(ckpt, args.keypoint, args.calibrate, model)
        res = {"name": name, "checkpoint": str(ckpt), "model_dir": str(model),
               "render": render_errors(ckpt, renders),
               "runs": seed_runs(args.root, args.seqs, args.seeds, max_frames=args.max_frames,
                                 extra=["--model-dir", str(model)]) if args.seqs else []}
        results.append(res)
        print(table([res], args.seqs).splitlines()[-1], flush=True)
    print(table(results, args.seqs))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
