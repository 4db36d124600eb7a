"""Real KITTI clips as a user's camera delivers them: a changing exposure, repeated and dropped frames.

    .venv/bin/python bench/clip_variants.py --root ../shared/data/kitti --out DIR [--seqs 00 02 07]
        [--kinds walk flicker repeat drop stamped-drop late every cut169 cut43] [--frames 300] [--late-start 100]
        [--every 2]

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
* ``late`` (``NNm``): the clip from frame ``--late-start`` (default 100; 07: 60) on, its recorded timestamps
  and its ground truth re-based to its first frame: a start in another place of the same road (the start is
  where a run's unit and held height are set; KITTI's sequences start in different scenes).
* ``every`` (``NNs<k>``): every ``--every``-th frame (k = 2, 3: a faster car, or a slower camera), with their
  recorded timestamps and ground truth.
* ``cut169`` (``NNw``) and ``cut43`` (``NNq``): every frame cut to a 16:9 / 4:3 window of the full height,
  centred on the principal point (KITTI 00: 668x376 / 501x376 pixels of 1241x376; calib.txt's cx moved with
  it): a camera of another aspect and a narrower field of view, as a phone or a machine-vision camera
  delivers it, with KITTI's road, motion and ground truth.

with the clip's calib.txt, times.txt and ground truth ``DIR/poses/NN<x>.txt``. Run them like any KITTI
clip, e.g. ``bench/pipeline.py --root DIR/sequences --seqs 00e 02f 07x``.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps package of this checkout

KINDS = {"walk": "e", "flicker": "f", "repeat": "d", "drop": "x", "stamped-drop": "y", "late": "m", "every": "s",
         "cut169": "w", "cut43": "q"}
CUT_ASPECTS = {"cut169": 16 / 9, "cut43": 4 / 3}  # width / height of the cut kinds
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


def frame_order(kind: str, frames: int, late_start: int = 100, every: int = 2) -> list[int]:
    """Source frame of each output frame: all of them once (exposure kinds), repeated, dropped, from
    ``late_start`` on or every ``every``-th."""
    if kind == "every":
        if every < 2:
            raise ValueError(f"every must be >= 2, got {every}")
        return list(range(0, frames, every))
    if kind == "late":
        if not 0 < late_start < frames - 1:
            raise ValueError(f"late_start must be in [1, {frames - 2}] for {frames} frames, got {late_start}")
        return list(range(late_start, frames))
    if kind == "repeat":
        return [i for i in range(frames) for _ in range(2 if i % 5 == 4 else 1)]
    if kind in ("drop", "stamped-drop"):
        return [i for i in range(frames) if i % 7 != 6]
    return list(range(frames))


def clip_name(seq: str, kind: str, every: int = 2) -> str:
    """The clip's folder name: ``seq`` and its kind's suffix (``every``: with the step)."""
    return seq + KINDS[kind] + (str(every) if kind == "every" else "")


def cut_window(calib: Path, width: int, height: int, aspect: float) -> tuple[int, int]:
    """``(x0, cut width)``: the full-height window of ``aspect`` (width / height) centred on P0's cx."""
    from apps.io.kitti_format import parse_calib

    cx = float(parse_calib(calib)["P0"][0, 2])
    cut = min(width, int(round(height * aspect)))
    return int(np.clip(round(cx - cut / 2), 0, width - cut)), cut


def write_shifted_calib(src: Path, dst: Path, x0: int) -> None:
    """``src``'s calib.txt written to ``dst`` with every projection's cx moved by ``-x0`` (a crop from column x0)."""
    from apps.io.kitti_format import parse_calib, write_calib

    matrices = parse_calib(src)
    for key, P in matrices.items():
        if key.startswith("P"):
            P[0, :] -= x0 * P[2, :]  # u' = u - x0 for every point: row 0 minus x0 times row 2
    write_calib(dst, matrices)


def make_clip(root: Path, seq: str, kind: str, frames: int, out: Path, late_start: int = 100, every: int = 2,
              name: str | None = None) -> Path:
    """Writes ``out/sequences/<name>`` (default :func:`clip_name`; see the module docstring); returns its folder."""
    import cv2

    src = root / "sequences" / seq
    images = sorted((src / "image_0").glob("*.png"))[:frames]
    if not images:
        raise FileNotFoundError(f"{src / 'image_0'}: no .png frames")
    name = name or clip_name(seq, kind, every)
    dst = out / "sequences" / name
    (dst / "image_0").mkdir(parents=True, exist_ok=True)
    (out / "poses").mkdir(parents=True, exist_ok=True)
    x0, cut_width = 0, None
    if kind in CUT_ASPECTS:
        height, width = cv2.imread(str(images[0]), cv2.IMREAD_GRAYSCALE).shape
        x0, cut_width = cut_window(src / "calib.txt", width, height, CUT_ASPECTS[kind])
        write_shifted_calib(src / "calib.txt", dst / "calib.txt", x0)
    else:
        shutil.copy(src / "calib.txt", dst / "calib.txt")
    order = frame_order(kind, len(images), late_start, every)
    if kind in GAIN_SEEDS:
        times = (src / "times.txt").read_text().splitlines(keepends=True)[:len(order)]
    elif kind in ("stamped-drop", "late", "every"):
        recorded = (src / "times.txt").read_text().splitlines(keepends=True)
        times = [recorded[i] for i in order]
    else:
        times = [f"{k * 0.1:.6f}\n" for k in range(len(order))]
    (dst / "times.txt").write_text("".join(times))
    gt = root / "poses" / f"{seq}.txt"
    if gt.is_file():
        poses = gt.read_text().splitlines()
        if kind == "late":  # re-based: the clip's first camera is the world, as in KITTI's own files
            m = np.loadtxt(poses[:frames]).reshape(-1, 3, 4)
            world_from_cam = np.tile(np.eye(4), (len(order), 1, 1))
            world_from_cam[:, :3, :] = m[order]
            rebased = np.linalg.inv(world_from_cam[0]) @ world_from_cam
            lines = [" ".join(f"{v:.9e}" for v in row[:3].ravel()) for row in rebased]
        else:
            lines = [poses[i] for i in order]
        (out / "poses" / f"{name}.txt").write_text("".join(line + "\n" for line in lines))
    g = gains(kind, len(order)) if kind in GAIN_SEEDS else np.ones(len(order))
    if kind in GAIN_SEEDS:
        np.savetxt(dst / "gains.txt", g, fmt="%.6f")
    for k, (i, gain) in enumerate(zip(order, g)):
        target = dst / "image_0" / f"{k:06d}.png"
        if cut_width is not None:
            grey = cv2.imread(str(images[i]), cv2.IMREAD_GRAYSCALE)
            cv2.imwrite(str(target), np.ascontiguousarray(grey[:, x0:x0 + cut_width]))
            continue
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
    p.add_argument("--late-start", type=int, default=100, help="first frame of the 'late' clips (07: at most 60)")
    p.add_argument("--every", type=int, default=2, help="frame step of the 'every' clips")
    args = p.parse_args(argv)
    for seq in args.seqs:
        for kind in args.kinds:
            dst = make_clip(args.root, seq, kind, min(args.frames, 160) if seq == "07" else args.frames, args.out,
                            min(args.late_start, 60) if seq == "07" else args.late_start, args.every)
            print(f"{dst}: {len(list((dst / 'image_0').glob('*.png')))} frames ({kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
