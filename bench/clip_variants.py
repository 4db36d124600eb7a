"""Real KITTI clips as a user's camera delivers them: a changing exposure, repeated and dropped frames.

    .venv/bin/python bench/clip_variants.py --root ../shared/data/kitti --out DIR [--seqs 00 02 07]
        [--kinds walk flicker repeat drop stamped-drop] [--frames 300]

Renders change their exposure smoothly and arrive at a steady rate; real cameras step their auto-exposure
(a car leaving a shadow), some flicker, and video converted between frame rates repeats or drops frames.
Each clip ``NN`` (its first ``--frames`` frames; KITTI 07 at most 160) becomes ``DIR/sequences/NN<x>``:

* ``walk`` (``NNe``): the log brightness gain takes a random walk of 0.03 per frame with a jump of 15-35 %
  on 4 % of the frames, clipped to 0.55-1.6x; ``flicker`` (``NNf``): an independent log gain of sigma 0.12
  per frame. Each frame is ``clip(grey * gain, 0, 255)`` rounded to 8 bits (bright pixels saturate); the
  gains are in ``gains.txt``. Deterministic (walk seed 1, flicker seed 2).
* ``repeat`` (``NNd``): every 5th frame twice (25 -> 30 fps conversion), with its ground-truth pose twice;
  ``drop`` (``NNx``): every 7th frame left out. Timestamps 0.1 s apart (a stream that does not know);
  ``stamped-drop`` (``NNy``): the same frames with their recorded timestamps (a camera that stamps its frames:
  the gap shows in times.txt).

with the clip's calib.txt, times.txt and ground truth ``DIR/poses/NN<x>.txt``. Run them like any KITTI
clip, e.g. ``bench/pipeline.py --root DIR/sequences --seqs 00e 02f 07x``.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

KINDS = {"walk": "e", "flicker": "f", "repeat": "d", "drop": "x", "stamped-drop": "y"}
GAIN_SEEDS = {"walk": 1, "flicker": 2}


def gains(kind: str, frames: int) -> np.ndarray:
    """(frames,) float64 brightness gains of ``kind`` ("walk" or "flicker"), deterministic."""
    rng = np.random.default_rng(GAIN_SEEDS[kind])
    out, log_g = [], 0.0
    for _ in range(frames):
        if kind == "walk":
            log_g += rng.normal(0, 0.03)
            if rng.random() < 0.04:
                log_g += rng.choice([-1, 1]) * rng.uniform(0.15, 0.35)
            log_g = float(np.clip(log_g, np.log(0.55), np.log(1.6)))
        else:
            log_g = rng.normal(0, 0.12)
        out.append(np.exp(log_g))
    return np.asarray(out)


def frame_order(kind: str, frames: int) -> list[int]:
    """Source frame of each output frame: all of them once (exposure kinds), repeated or dropped."""
    if kind == "repeat":
        return [i for i in range(frames) for _ in range(2 if i % 5 == 4 else 1)]
    if kind in ("drop", "stamped-drop"):
        return [i for i in range(frames) if i % 7 != 6]
    return list(range(frames))


def make_clip(root: Path, seq: str, kind: str, frames: int, out: Path) -> Path:
    """Writes ``out/sequences/<seq><suffix>`` (see the module docstring); returns its folder."""
    import cv2

    src = root / "sequences" / seq
    images = sorted((src / "image_0").glob("*.png"))[:frames]
    if not images:
        raise FileNotFoundError(f"{src / 'image_0'}: no .png frames")
    name = seq + KINDS[kind]
    dst = out / "sequences" / name
    (dst / "image_0").mkdir(parents=True, exist_ok=True)
    (out / "poses").mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "calib.txt", dst / "calib.txt")
    order = frame_order(kind, len(images))
    if kind in GAIN_SEEDS:
        times = (src / "times.txt").read_text().splitlines(keepends=True)[:len(order)]
    elif kind == "stamped-drop":
        recorded = (src / "times.txt").read_text().splitlines(keepends=True)
        times = [recorded[i] for i in order]
    else:
        times = [f"{k * 0.1:.6f}\n" for k in range(len(order))]
    (dst / "times.txt").write_text("".join(times))
    gt = root / "poses" / f"{seq}.txt"
    if gt.is_file():
        poses = gt.read_text().splitlines()
        (out / "poses" / f"{name}.txt").write_text("".join(poses[i] + "\n" for i in order))
    g = gains(kind, len(order)) if kind in GAIN_SEEDS else np.ones(len(order))
    if kind in GAIN_SEEDS:
        np.savetxt(dst / "gains.txt", g, fmt="%.6f")
    for k, (i, gain) in enumerate(zip(order, g)):
        target = dst / "image_0" / f"{k:06d}.png"
        if kind not in GAIN_SEEDS:
            shutil.copy(images[i], target)
            continue
        grey = cv2.imread(str(images[i]), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            raise ValueError(f"{images[i]}: not a readable image")
        cv2.imwrite(str(target), np.clip(grey.astype(np.float64) * float(gain), 0, 255).round().astype(np.uint8))
    return dst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, required=True, help="KITTI odometry folder (sequences/, poses/)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seqs", nargs="+", default=["00", "02", "07"])
    p.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    p.add_argument("--frames", type=int, default=300, help="source frames per clip (07: at most 160)")
    args = p.parse_args(argv)
    for seq in args.seqs:
        for kind in args.kinds:
            dst = make_clip(args.root, seq, kind, min(args.frames, 160) if seq == "07" else args.frames, args.out)
            print(f"{dst}: {len(list((dst / 'image_0').glob('*.png')))} frames ({kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
