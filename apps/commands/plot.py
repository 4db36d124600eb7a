"""``kp3d-vo plot``: evo trajectory plots of one or more runs against ground truth."""
from __future__ import annotations

import argparse
from pathlib import Path



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, type=Path,
                        help="ground-truth trajectory (KITTI 12 columns or TUM 8 columns)")
    parser.add_argument("--est", required=True, type=Path, action="extend", nargs="+",
                        help="estimated trajectory file(s), e.g. RUN/poses_kitti.txt (repeatable)")
    parser.add_argument("--labels", nargs="+", default=None,
                        help="one legend label per --est (default: the folder name of each file)")
    parser.add_argument("--align", choices=("scale", "none", "se3", "sim3"), default="scale",
                        help="alignment of each estimate to the ground truth before plotting (default: scale)")
    parser.add_argument("--out", required=True, type=Path, help="output folder for the figures")
    parser.add_argument("--formats", nargs="+", choices=("png", "pdf", "svg"), default=["png", "pdf"],
                        help="file formats (default: png pdf)")
    parser.add_argument("--title", default=None, help="prefix of the figure titles")


def default_labels(paths: list[Path]) -> list[str]:
    """Folder names of the files (RUN/poses_kitti.txt -> RUN), file stems where those repeat."""
    labels = [p.resolve().parent.name or p.stem for p in paths]
    if len(set(labels)) != len(labels):
        labels = [f"{p.resolve().parent.name}/{p.stem}" for p in paths]
    if len(set(labels)) != len(labels):
        labels = [f"{label} #{i + 1}" for i, label in enumerate(labels)]
    return labels


def run(args: argparse.Namespace) -> int:
    from apps.io.trajectory import read_trajectory
    from apps.plotting import match_gt_length, plot_trajectories

    labels = args.labels if args.labels is not None else default_labels(args.est)
    if len(labels) != len(args.est):
        raise ValueError(f"--labels: expected {len(args.est)} labels (one per --est), got {len(labels)}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"--labels must be unique, got {labels}")
    gt_times, gt = read_trajectory(args.gt)
    estimates = {}
    for label, path in zip(labels, args.est):
        _, est = read_trajectory(path)
        match_gt_length(gt, est, f"ground truth {args.gt}", f"estimate {path}")  # names both files
        estimates[label] = est
    written = plot_trajectories(gt, estimates, args.out, align=args.align, formats=args.formats,
                                timestamps=gt_times, title=args.title)
    for path in written:
        print(path)
    return 0
