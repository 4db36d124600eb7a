"""Exported DepthNets scored on real frames: depth of tracked points triangulated with the true poses.

    .venv/bin/python bench/real_depth.py --model-dir frontend/models/shipped [NAME=DIR ...] \
        [--root ../shared/data/kitti/sequences] [--seqs 07 00 02] [--max-frames 300] [--json OUT]

For each sequence (at the processing size, 640x192): Shi-Tomasi corners tracked into the next frame by
pyramidal Lucas-Kanade and triangulated with the ground truth's relative pose (``frontend.sparse_depth``;
points with >= 8 px of parallax, < 1 px reprojection error, 1-40 m), built once and shared by every model.
Each model folder's depth (``frontend.inference.FrontendRuntime``, the depth the backend receives: exported
unit, saturated depth unknown) is scored against them: AbsRel after per-frame median scaling (shape) and
without (metric), a1, the per-frame unit's spread and its mean factor to metres, and the shape bias
(median log error of the upper two thirds of the image minus that of the bottom third; > 0 = the
structures are too far against the road). One row per model and sequence. KITTI 07 is validation only:
scoring on it is what it is for; never train on it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def parse_models(values: list[str]) -> list[tuple[str, Path]]:
    """``DIR`` or ``NAME=DIR`` -> (name, path); the name defaults to the folder's name."""
    out = []
    for v in values:
        name, _, path = v.rpartition("=") if "=" in v else ("", "", v)
        p = Path(path)
        if not (p / "frontend.json").is_file():
            raise FileNotFoundError(f"--model-dir {v}: no frontend.json in {p} (expected an exported model folder)")
        out.append((name or p.name, p))
    return out


def references_for(path: Path, size: tuple[int, int], max_frames: int | None, options):
    """(sequence, reference frames) of a sequence folder with ground truth, at ``size`` (W, H)."""
    from apps.io.sequence import open_sequence
    from frontend.sparse_depth import build_references

    seq = open_sequence(path, resize=size, max_frames=max_frames)
    if seq.gt_world_from_cam is None:
        raise ValueError(f"{path}: no ground-truth poses (needed to triangulate the reference depths)")
    return seq, build_references(seq.image, seq.gt_world_from_cam, seq.intrinsics.K, options)


def score_model(model_dir: Path, seq, references) -> dict:
    from frontend.inference import FrontendRuntime
    from frontend.sparse_depth import sparse_depth_errors

    runtime = FrontendRuntime(model_dir, num_threads=1, outputs=("depth",))
    return sparse_depth_errors(references, lambda i: runtime(seq.image(i)).depth)


def main(argv: list[str] | None = None) -> int:
    from frontend.sparse_depth import TriangulationOptions

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", nargs="+", default=[str(REPO / "frontend" / "models" / "shipped")],
                        help="exported model folders, DIR or NAME=DIR")
    parser.add_argument("--root", default="../shared/data/kitti/sequences")
    parser.add_argument("--seqs", nargs="+", default=["07"])
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--size", type=int, nargs=2, default=[640, 192], metavar=("W", "H"))
    parser.add_argument("--gap", type=int, default=1, help="frames between the two views of a point")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    models = parse_models(args.model_dir)
    options = TriangulationOptions(frame_gap=args.gap)
    rows = []
    for s in args.seqs:
        seq, refs = references_for(Path(args.root) / s, tuple(args.size), args.max_frames, options)
        for name, path in models:
            rows.append({"sequence": s, "model": name, **score_model(path, seq, refs)})
    print("| sequence | model | AbsRel (frame-scaled) | a1 | AbsRel (metric) | factor to metres | unit spread "
          "(std log) | shape bias top / bottom (log) | points / frames |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sequence']} | {r['model']} | {r['abs_rel']:.3f} | {r['a1']:.3f} | {r['abs_rel_metric']:.3f} | "
              f"{r['metric_factor']:.3f} | {r['unit_log_std']:.3f} | {r['shape_bias']:+.3f} "
              f"({r['log_bias_top']:+.3f} / {r['log_bias_bottom']:+.3f}) | {r['points']} / {r['frames']} |")
    if args.json:
        from frontend.common.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
