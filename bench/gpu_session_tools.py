"""Python helpers of bench/gpu_session.sh (pack the data that travels, write the training configs, plan steps).

    python bench/gpu_session_tools.py pack --data-root ../shared/data --out .gpu_carry [--width 384]
    python bench/gpu_session_tools.py config --task depth --out DIR/depth.yaml --steps 400 --batch-size 16 ...
    python bench/gpu_session_tools.py plan --probe DIR/probe_depth --probe-wall 40 --seconds-left 300

``pack`` writes a git-ignored folder for the device machine (``../shared/data`` does not travel; the
working tree plus carried paths must stay under 64 MiB): KITTI 00, 02 and 06 ``image_0`` frames resized
to ``--width`` (aspect kept; PNG) with ``calib.txt`` scaled to that size and ``times.txt``, in the
KITTI layout that ``kp3d-vo train --data-root`` reads. The trainers resize whole frames to their input
size (depth 320x96 x up to 1.15 zoom; keypoints 320x128 crops from up to 1.6 x the cover scale), so
384 px wide frames lose little for the depth net and some zoom detail for the keypoint net.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
# stage-2 recipes: every allowed source (KITTI 00/02/06, renders 01-04; never 07), from the shipped weights
BASE_CONFIGS = {"depth": "configs/train/depth_light_stage2.yaml", "keypoints": "configs/train/keypoints_light_stage2.yaml"}
INIT = {"depth": {"depth": "frontend/models/checkpoints/depth_light/depth_net.pt",
                  "pose": "frontend/models/checkpoints/depth_light/pose_net.pt"},
        "keypoints": {"keypoint": "frontend/models/checkpoints/keypoints_light/keypoint_net.pt",
                      "io": "frontend/models/checkpoints/keypoints_light/io_net.pt"}}


def _scaled_calib(text: str, sx: float, sy: float) -> str:
    """KITTI calib.txt for images resized by (sx, sy), pixel centres kept: u' = sx (u + 0.5) - 0.5, so
    row 0 of each 3x4 P becomes sx P0 + (sx - 1) / 2 P2, row 1 likewise with sy."""
    lines = []
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        vals = rest.split()
        if key.startswith("P") and len(vals) == 12:
            v = [float(x) for x in vals]
            r0 = [sx * v[i] + 0.5 * (sx - 1) * v[8 + i] for i in range(4)]
            r1 = [sy * v[4 + i] + 0.5 * (sy - 1) * v[8 + i] for i in range(4)]
            line = f"{key}: " + " ".join(f"{x:.12e}" for x in r0 + r1 + v[8:])
        lines.append(line)
    return "\n".join(lines) + "\n"


def pack(data_root: Path, out: Path, width: int, sequences=("00", "02", "06"), max_frames: int | None = None) -> int:
    """Resized KITTI frames + scaled calibration under ``out/data/kitti/sequences``, and the sequences' whole
    ground-truth pose files under ``out/data/kitti/poses`` (renders follow them); returns bytes written."""
    import cv2

    total = 0
    for seq in sequences:
        src = data_root / "kitti" / "sequences" / seq
        if not (src / "image_0").is_dir():
            raise FileNotFoundError(f"pack: {src / 'image_0'} not found (expected the KITTI layout of ../shared/data)")
        dst = out / "data" / "kitti" / "sequences" / seq
        (dst / "image_0").mkdir(parents=True, exist_ok=True)
        frames = sorted((src / "image_0").glob("*.png"))[:max_frames]
        first = cv2.imread(str(frames[0]), cv2.IMREAD_GRAYSCALE)
        h0, w0 = first.shape
        height = int(round(width * h0 / w0))
        for f in frames:
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            small = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(dst / "image_0" / f.name), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            total += (dst / "image_0" / f.name).stat().st_size
        (dst / "calib.txt").write_text(_scaled_calib((src / "calib.txt").read_text(), width / w0, height / h0))
        if (src / "times.txt").is_file():
            lines = (src / "times.txt").read_text().splitlines()[:len(frames)]
            (dst / "times.txt").write_text("\n".join(lines) + "\n")
        gt = data_root / "kitti" / "poses" / f"{seq}.txt"
        if gt.is_file():
            (out / "data" / "kitti" / "poses").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(gt, out / "data" / "kitti" / "poses" / gt.name)
            total += gt.stat().st_size
    return total


def write_config(task: str, out: Path, steps: int, batch_size: int, workers: int, threads: int,
                 warmup: int, checkpoint_every: int, render_root: str, render_depth_weight: float = 0.0,
                 render_seqs: list[str] | None = None, render_depth_variance_weight: float = 1.0) -> None:
    """The committed light config of ``task``, initialised from the committed checkpoints, with a cosine
    schedule over ``steps`` (so a short session ends at a low learning rate); ``render_depth_weight``
    (depth only) turns on the scale-invariant loss on the renders' exact depth; ``render_seqs`` replaces
    the config's render sequence names (default: the config's own, 01-04); ``render_depth_variance_weight``
    < 1 pulls the depth unit toward the renders' metres (1: shape only)."""
    import yaml

    from frontend.training.config import load_train_config

    cfg = load_train_config(REPO / BASE_CONFIGS[task]).to_dict()
    cfg["init"] = {k: str(REPO / v) for k, v in INIT[task].items()}
    cfg["optim"].update(total_steps=max(steps, 1), warmup_steps=min(warmup, max(steps - 1, 0)))
    cfg["run"].update(max_steps=max(steps, 1), batch_size=batch_size, workers=workers, num_threads=threads,
                      checkpoint_every=checkpoint_every, snapshot_every=0, log_every=10)
    if render_depth_weight > 0:
        if task != "depth":
            raise ValueError("--render-depth-weight applies to the depth task only")
        cfg["loss"]["render_depth_weight"] = render_depth_weight
        cfg["loss"]["render_depth_variance_weight"] = render_depth_variance_weight
    for src in cfg["data"].get("sources", []):
        if src.get("path") == "runs/synth_train":
            src["path"] = render_root
            if render_seqs:
                src["sequences"] = list(render_seqs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))


def plan_steps(probe_dir: Path, probe_wall_s: float, seconds_left: float, margin_s: float = 20.0,
               steady_safety: float = 1.1) -> dict:
    """Steps that fit in ``seconds_left``: per-step time and start-up overhead from a probe run.

    The step time is the probe's steady rate between its first and last ``metrics.csv`` rows (times
    ``steady_safety``) when it logged two rows, the first steps' warm-up beyond that rate counted as start-up;
    else the probe's whole wall time per step. (The whole-run mean counts CUDA's warm-up as training: on the
    H100 of 2026-12-06 it planned 3698 steps for 430 s, which ran in 263 s.)"""
    import numpy as np

    from frontend.training.plot_metrics import read_metrics

    summary = json.loads((probe_dir / "summary.json").read_text())
    steps = int(summary["step"])
    step_s = float(summary["wall_time_s"]) / max(steps, 1)
    warmup_s = 0.0
    if (probe_dir / "metrics.csv").is_file():
        m = read_metrics(probe_dir / "metrics.csv")
        ok = np.isfinite(m["step"]) & np.isfinite(m.get("wall_s", np.full(len(m["step"]), np.nan)))
        if ok.sum() >= 2:
            (s0, s1), (w0, w1) = m["step"][ok][[0, -1]], m["wall_s"][ok][[0, -1]]
            if s1 > s0 and w1 > w0:
                steady = (w1 - w0) / (s1 - s0)
                warmup_s = max(w0 - s0 * steady, 0.0)
                step_s = steady_safety * steady
    overhead = max(probe_wall_s - float(summary["wall_time_s"]), 0.0) + warmup_s
    n = int((seconds_left - overhead - margin_s) / max(step_s, 1e-3))
    return {"probe_steps": steps, "step_s": round(step_s, 4), "overhead_s": round(overhead, 1), "steps": max(n, 0)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--data-root", default="../shared/data")
    p.add_argument("--out", default=".gpu_carry")
    p.add_argument("--width", type=int, default=384)
    p.add_argument("--max-frames", type=int)
    c = sub.add_parser("config")
    c.add_argument("--task", choices=sorted(BASE_CONFIGS), required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--steps", type=int, required=True)
    c.add_argument("--batch-size", type=int, default=8)
    c.add_argument("--workers", type=int, default=0)
    c.add_argument("--threads", type=int, default=0)
    c.add_argument("--warmup", type=int, default=50)
    c.add_argument("--checkpoint-every", type=int, default=50)
    c.add_argument("--render-root", default="runs/synth_train")
    c.add_argument("--render-depth-weight", type=float, default=0.0)
    c.add_argument("--render-seqs", nargs="+", help="render sequence names (default: the config's 01-04)")
    c.add_argument("--render-depth-variance-weight", type=float, default=1.0)
    q = sub.add_parser("plan")
    q.add_argument("--probe", required=True)
    q.add_argument("--probe-wall", type=float, required=True)
    q.add_argument("--seconds-left", type=float, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        out = Path(args.out)
        if (out / "data").exists():
            shutil.rmtree(out / "data")
        n = pack(Path(args.data_root), out, args.width, max_frames=args.max_frames)
        print(f"packed {n / 2**20:.1f} MiB of frames into {out / 'data'}")
    elif args.cmd == "config":
        write_config(args.task, Path(args.out), args.steps, args.batch_size, args.workers, args.threads,
                     args.warmup, args.checkpoint_every, args.render_root, args.render_depth_weight,
                     args.render_seqs, args.render_depth_variance_weight)
    else:
        print(plan_steps(Path(args.probe), args.probe_wall, args.seconds_left)["steps"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
