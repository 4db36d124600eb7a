"""``kp3d-vo plot``: evo trajectory plots of one or more runs against ground truth, and a run's per-frame log."""
from __future__ import annotations

import argparse
from pathlib import Path

from apps.commands.camera_args import GT_CALIB_HELP, gt_body_from_cam


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", type=Path,
                        help="ground-truth trajectory (KITTI 12 columns, TUM 8 columns or EuRoC CSV); needed with --est")
    parser.add_argument("--calib", metavar="FILE", help=GT_CALIB_HELP)
    parser.add_argument("--est", type=Path, action="extend", nargs="+",
                        help="estimated trajectory file(s), e.g. RUN/poses_kitti.txt (repeatable)")
    parser.add_argument("--frames", type=Path, metavar="CSV",
                        help="a run's per-frame log (RUN/frames.csv), plotted as `frames` (tracking RMSE, points, "
                             "rotation against the prediction, PnP inliers); needs no ground truth")
    parser.add_argument("--labels", nargs="+", default=None,
                        help="one legend label per --est (default: the folder name of each file)")
    parser.add_argument("--align", choices=("scale", "none", "se3", "sim3"), default="scale",
                        help="alignment of each estimate to the ground truth before plotting (default: scale)")
    parser.add_argument("--out", required=True, type=Path, help="output folder for the figures")
    parser.add_argument("--formats", nargs="+", choices=("png", "pdf", "svg"), default=["png", "pdf"],
                        help="file formats (default: png pdf)")
    parser.add_argument("--title", default=None, help="prefix of the figure titles")
    parser.add_argument("--truncate-gt", action="store_true",
                        help="allow a ground truth longer than an estimate and use its first N poses (as "
                             "`kp3d-vo evaluate --truncate-gt`; off by default: a count mismatch is an error)")


def default_labels(paths: list[Path]) -> list[str]:
    """Folder names of the files (RUN/poses_kitti.txt -> RUN), file stems where those repeat."""
    labels = [p.resolve().parent.name or p.stem for p in paths]
    if len(set(labels)) != len(labels):
        labels = [f"{p.resolve().parent.name}/{p.stem}" for p in paths]
    if len(set(labels)) != len(labels):
        labels = [f"{label} #{i + 1}" for i, label in enumerate(labels)]
    return labels


def run(args: argparse.Namespace) -> int:
    from frontend.common.paths import check_output_folder

    if not args.est and args.frames is None:
        raise ValueError("nothing to plot: give --gt with --est (trajectories) and/or --frames (a run's frames.csv)")
    if args.est and args.gt is None:
        raise ValueError("--est needs --gt (the ground truth the estimates are plotted against)")
    if args.gt is not None and not args.est:
        raise ValueError("--gt needs at least one --est to plot against it")
    check_output_folder(args.out, "--out (the figures go into a folder)")
    written = []
    if args.frames is not None:
        from apps.pipeline.outputs import read_frame_log
        from apps.plotting import plot_frame_log

        written += plot_frame_log(read_frame_log(args.frames), args.out, formats=args.formats, title=args.title)
    if args.est:
        written += _plot_estimates(args)
    for path in written:
        print(path)
    return 0


def _plot_estimates(args: argparse.Namespace) -> list[Path]:
    import numpy as np

    from apps.evaluation.evaluate import EvaluateOptions, associate_poses
    from apps.io.poses import check_poses
    from apps.io.ground_truth import read_ground_truth
    from apps.io.trajectory import read_trajectory
    from apps.plotting import plot_trajectories

    labels = args.labels if args.labels is not None else default_labels(args.est)
    if len(labels) != len(args.est):
        raise ValueError(f"--labels: expected {len(args.est)} labels (one per --est), got {len(labels)}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"--labels must be unique, got {labels}")
    body_from_cam = gt_body_from_cam(args.calib, args.gt)
    gt_times, gt = read_trajectory(args.gt) if body_from_cam is None else read_ground_truth(args.gt, body_from_cam)
    gt = check_poses(gt, f"ground truth {args.gt}", min_poses=1, rigid=True)
    options = EvaluateOptions(truncate_gt=args.truncate_gt).check()
    estimates, by_time = {}, None
    for label, path in zip(labels, args.est):
        est_times, est = read_trajectory(path)
        est = check_poses(est, f"estimate {path}", min_poses=1, rigid=True)
        # the pairing rule of `kp3d-vo evaluate`: by time when both files have timestamps, else by index
        # (equal counts, or a longer ground truth only with --truncate-gt)
        gt_m, est_m, stamps, _ = associate_poses(gt, est, gt_times, est_times, options, str(args.gt), str(path))
        if stamps is not None:  # time-paired: plot the paired poses; every estimate must pair the same way
            if by_time is not None and (len(gt_m) != len(by_time[0]) or not np.allclose(gt_m, by_time[0])):
                raise ValueError(f"estimate {path} pairs by time with other ground-truth poses than the estimate "
                                 "before it; plot estimates of the same frames together")
            by_time = (gt_m, stamps)
        estimates[label] = est_m
    if by_time is not None and any(len(e) != len(by_time[0]) for e in estimates.values()):
        raise ValueError("some estimates pair with the ground truth by time and others by index; "
                         "plot them separately")
    plot_gt, plot_times = (gt, gt_times) if by_time is None else by_time
    return plot_trajectories(plot_gt, estimates, args.out, align=args.align, formats=args.formats,
                             timestamps=plot_times, title=args.title)
