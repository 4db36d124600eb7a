"""``kp3d-vo eval-keypoints``: HPatches-protocol keypoint evaluation of the learned frontend vs ORB/SIFT.

    kp3d-vo eval-keypoints ../shared/data/hpatches/v_churchill --json out.json   # shipped networks, ORB, SIFT
    kp3d-vo eval-keypoints --hpatches ../shared/data/hpatches --model-dir runs/my_export --methods ours
    kp3d-vo eval-keypoints my_frames/ --pairs 50 --seed 0 --size 640x480 --top-k 1000

The positional folder is an HPatches sequence (``1.ppm``, ``H_1_2``...) or a folder of them, else any
image folder (pairs made with random homographies); ``--hpatches DIR`` / ``--images DIR`` say which.
"ours" is the shipped frontend (``frontend/models/shipped``) unless ``--model-dir`` names another export.

Metrics (``frontend.homography_eval``): repeatability, localisation error (px), homography accuracy
C1/C3/C5 (mean corner error <= 1/3/5 px, H from RANSAC on mutual-NN matches), matching score; the
distance threshold is 3 px as in KP2D. ORB and SIFT run with the same keypoint budget.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--size must look like 320x256, got {text!r}") from exc
    if w <= 0 or h <= 0 or w % 32 or h % 32:
        raise argparse.ArgumentTypeError(f"--size must be positive multiples of 32, got {text!r}")
    return w, h


def is_hpatches_folder(folder: Path) -> bool:
    """An HPatches sequence (``1.ppm`` and ``H_1_2``) or a folder holding such sequences."""
    def is_sequence(p: Path) -> bool:
        return (p / "1.ppm").is_file() and (p / "H_1_2").is_file()
    return is_sequence(folder) or any(p.is_dir() and is_sequence(p) for p in folder.iterdir())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", default=None,
                        help="HPatches sequence (or folder of them), else an image folder (as --images)")
    src = parser.add_argument_group("pairs (the positional folder or one of)")
    src.add_argument("--hpatches", metavar="DIR",
                     help="HPatches sequence folder (1.ppm..6.ppm, H_1_2..H_1_6) or a folder of them")
    src.add_argument("--images", metavar="DIR", help="any image folder: synthetic pairs with random homographies")
    parser.add_argument("--pairs", type=int, default=20, help="with --images: number of pairs (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="with --images: homography seed (default 0)")
    parser.add_argument("--size", type=_size, default=(320, 256), metavar="WxH",
                        help="evaluation image size (default 320x256; KP2D's second setting: 640x480)")
    parser.add_argument("--top-k", type=int, default=300, metavar="K",
                        help="keypoints per image for every method (default 300; use 1000 at 640x480)")
    parser.add_argument("--model-dir", metavar="DIR",
                        help="exported frontend (kp3d-vo export) evaluated as 'ours' (default: the shipped networks)")
    parser.add_argument("--methods", nargs="+", default=["ours", "orb", "sift"], choices=["ours", "orb", "sift"],
                        help="methods to evaluate (default: ours orb sift)")
    parser.add_argument("--device", default=None, help="device for ours: cpu or cuda (default: auto)")
    parser.add_argument("--threshold", type=float, default=3.0, help="distance threshold in px (default 3)")
    parser.add_argument("--json", metavar="OUT", help="write {method: {repeatability, localization, c1, c3, c5, "
                                                      "mscore, ...}} atomically")


def run(args: argparse.Namespace) -> int:
    from apps.io.atomic import atomic_write_text
    from apps.pipeline.config import DEFAULT_MODEL_DIR
    from frontend.hpatches import (LearnedDetector, OpenCVDetector, evaluate_all, load_hpatches_pairs,
                                   synthetic_pairs)

    if sum(bool(v) for v in (args.folder, args.hpatches, args.images)) != 1:
        raise ValueError("give exactly one of FOLDER, --hpatches DIR or --images DIR")
    hpatches, images = args.hpatches, args.images
    if args.folder:
        folder = Path(args.folder)
        if not folder.is_dir():
            raise ValueError(f"FOLDER {folder}: not a folder (expected an HPatches sequence or an image folder)")
        hpatches, images = (folder, None) if is_hpatches_folder(folder) else (None, folder)
    if args.top_k < 1:
        raise ValueError(f"--top-k must be >= 1, got {args.top_k}")
    width, height = args.size
    if hpatches:
        pairs = load_hpatches_pairs(hpatches, width, height)
        source = {"hpatches": str(hpatches)}
    else:
        pairs = synthetic_pairs(images, width, height, args.pairs, args.seed)
        source = {"images": str(images), "seed": args.seed}
    methods = list(dict.fromkeys(args.methods))
    model_dir = Path(args.model_dir) if args.model_dir else DEFAULT_MODEL_DIR
    detectors = [LearnedDetector(model_dir, args.top_k, args.device) if m == "ours"
                 else OpenCVDetector(m, args.top_k) for m in methods]
    extra = {"width": width, "height": height, "top_k": args.top_k, "threshold_px": args.threshold, **source}
    results = evaluate_all(pairs, detectors, args.threshold, extra)
    print(f"{len(pairs)} pairs at {width}x{height}, {args.top_k} keypoints, threshold {args.threshold} px")
    print(f"{'method':8s} {'rep':>6s} {'loc':>6s} {'C1':>6s} {'C3':>6s} {'C5':>6s} {'mscore':>7s}")
    for name, r in results.items():
        loc = "nan" if math.isnan(r["localization"]) else f"{r['localization']:.3f}"
        print(f"{name:8s} {r['repeatability']:6.3f} {loc:>6s} {r['c1']:6.3f} {r['c3']:6.3f} {r['c5']:6.3f} "
              f"{r['mscore']:7.3f}")
    if args.json:
        clean = {m: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                 for m, r in results.items()}  # NaN (no repeated keypoint) -> null: strict JSON
        atomic_write_text(args.json, json.dumps(clean, indent=2, allow_nan=False) + "\n")
    return 0
