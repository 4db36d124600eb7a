"""``kp3d-vo evaluate``: score trajectories with the KITTI devkit metric (t_rel, r_rel), ATE and RPE.

Single pair:  kp3d-vo evaluate --gt poses/03.txt --est 03.txt [--align scale] [--json OUT|-]
Folders:      kp3d-vo evaluate --gt-dir poses/ --est-dir results/ [--sequences 00 01 ...]
Config:       kp3d-vo evaluate --batch batch.yaml   (list of {name, gt, est, align?})
Folders and configs give one table with the mean over sequences.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

from apps.commands.camera_args import GT_CALIB_HELP, gt_body_from_cam

ALIGN_CHOICES = ("none", "scale", "se3", "sim3")  # = apps.evaluation.alignment.ALIGN_MODES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "Pose files: KITTI (12 numbers per line) or TUM (t x y z qx qy qz qw); poses are paired by\n"
        "time when both files carry timestamps, else by index (equal counts required unless\n"
        "--truncate-gt). t_rel [%] and r_rel [deg/100m] follow the KITTI odometry devkit exactly\n"
        "(segments of 100..800 m every 10 frames; lengths longer than the clip are skipped and\n"
        "reported). Default alignment: 'scale' (KP3D protocol: Umeyama Sim(3) fit, only the scale\n"
        "applied).")
    src = parser.add_argument_group("inputs (one of: --gt/--est, --gt-dir/--est-dir, --batch)")
    src.add_argument("--gt", metavar="FILE", help="ground-truth trajectory file")
    src.add_argument("--est", metavar="FILE", help="estimated trajectory file")
    src.add_argument("--gt-times", metavar="FILE",
                     help="times.txt of a KITTI --gt, to pair with a TUM --est by time")
    src.add_argument("--calib", metavar="FILE", help=GT_CALIB_HELP)
    src.add_argument("--gt-dir", metavar="DIR", help="folder of ground-truth NN.txt files")
    src.add_argument("--est-dir", metavar="DIR", help="folder of estimated NN.txt files")
    src.add_argument("--sequences", nargs="+", metavar="NN",
                     help="with --gt-dir/--est-dir: sequences to score (default: all NN.txt in --est-dir)")
    src.add_argument("--batch", metavar="CONFIG.yaml",
                     help="YAML list of entries {name, gt, est, align?} (paths relative to the file), or a "
                          "VO batch {output, modes, sequences, references} that runs kp3d-vo first "
                          "(see configs/batch/kitti_dev.yaml)")
    src.add_argument("--jobs", type=int, default=None, metavar="N",
                     help="VO batch: sequences run in N parallel processes (default: the YAML's jobs, 1)")
    opt = parser.add_argument_group("scoring")
    opt.add_argument("--align", choices=ALIGN_CHOICES, default=None,
                     help="alignment before scoring (default: scale; a batch entry's own align wins)")
    opt.add_argument("--max-frames", type=int, metavar="N",
                     help="score only the first N associated frames (after --truncate-gt)")
    opt.add_argument("--truncate-gt", action="store_true",
                     help="allow a ground truth longer than the estimate and use its first N poses "
                          "(off by default: a count mismatch is an error)")
    opt.add_argument("--max-time-diff", type=float, default=None, metavar="S",
                     help="time association tolerance in seconds (default 0.01)")
    opt.add_argument("--lengths", type=int, nargs="+", metavar="M",
                     help="KITTI segment lengths in metres (default 100 200 ... 800)")
    opt.add_argument("--arithmetic", choices=("devkit", "float64"), default=None,
                     help="devkit: bit-exact float32 emulation of evaluate_odometry.cpp (default); "
                          "float64: same definition in double precision")
    opt.add_argument("--split", action="store_true",
                     help="also score the estimate with its rotation, translation, step length or step "
                          "direction taken from the ground truth frame by frame: which part of the motion "
                          "the error comes from (JSON: error_split)")
    opt.add_argument("--keep-going", action="store_true",
                     help="batch (--batch, --gt-dir/--est-dir, VO batch): report failing entries or "
                          "sequences and go on instead of stopping at the first")
    out = parser.add_argument_group("outputs")
    out.add_argument("--json", metavar="OUT", help="write JSON ('-': print JSON to stdout instead of the table)")
    out.add_argument("--csv", metavar="OUT", help="write CSV (one row per trajectory, batch: + mean row)")
    out.add_argument("--markdown", metavar="OUT", help="write a markdown table")


def _options(args: argparse.Namespace, config_overrides: dict | None = None):
    from apps.evaluation.evaluate import EvaluateOptions

    values = dict(config_overrides or {})
    cli = {"align": args.align, "max_frames": args.max_frames,
           "max_time_diff": args.max_time_diff, "arithmetic": args.arithmetic,
           "lengths": tuple(args.lengths) if args.lengths else None}
    values.update({k: v for k, v in cli.items() if v is not None})
    if args.truncate_gt:
        values["truncate_gt"] = True
    if args.split:
        values["error_split"] = True
    try:
        return dataclasses.replace(EvaluateOptions(), **values).check()
    except TypeError as exc:  # unknown option key from a config file
        raise ValueError(f"invalid evaluation option: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from apps.evaluation import report
    from apps.evaluation.batch import entries_from_dirs, load_batch_config, run_batch
    from apps.evaluation.evaluate import evaluate_files

    single = args.gt is not None or args.est is not None
    dirs = args.gt_dir is not None or args.est_dir is not None
    modes = [m for m, on in (("--gt/--est", single), ("--gt-dir/--est-dir", dirs),
                             ("--batch", args.batch is not None)) if on]
    if len(modes) != 1:
        raise ValueError("give exactly one input: --gt FILE --est FILE, --gt-dir DIR --est-dir DIR, "
                         f"or --batch CONFIG.yaml (got {', '.join(modes) or 'none'})")
    if single and (args.gt is None or args.est is None):
        raise ValueError(f"--gt and --est go together (missing {'--gt' if args.gt is None else '--est'})")
    if dirs and (args.gt_dir is None or args.est_dir is None):
        raise ValueError("--gt-dir and --est-dir go together")
    if args.sequences and not dirs:
        raise ValueError("--sequences needs --gt-dir and --est-dir")
    if args.gt_times and not single:
        raise ValueError("--gt-times applies to --gt/--est only (batch entries take gt_times)")
    if args.calib and not single:
        raise ValueError("--calib applies to --gt/--est only")

    if args.batch is not None and _is_vo_batch(args.batch):
        return _run_vo_batch(args)
    if single:
        result = evaluate_files(args.gt, args.est, _options(args), gt_times=args.gt_times,
                                body_from_cam=gt_body_from_cam(args.calib, args.gt))
        text = report.format_result(result)
    else:
        if dirs:
            entries = entries_from_dirs(args.gt_dir, args.est_dir, args.sequences, check_files=not args.keep_going)
            overrides = {}
        else:
            entries, overrides = load_batch_config(args.batch)
        result = run_batch(entries, _options(args, overrides), keep_going=args.keep_going)
        text = report.format_batch(result)

    if args.json == "-":
        sys.stdout.write(report.to_json(result))
    else:
        sys.stdout.write(text)
        if args.json:
            report.write_json(args.json, result)
    if args.csv:
        report.write_csv(args.csv, result)
    if args.markdown:
        report.write_markdown(args.markdown, result)
    return 1 if getattr(result, "failures", None) else 0


def _is_vo_batch(path: str) -> bool:
    import yaml

    from apps.io.yaml_file import load_yaml_text
    from apps.pipeline.batch import is_vo_batch

    try:
        with open(path, encoding="utf-8") as f:
            return is_vo_batch(load_yaml_text(f.read()))
    except (OSError, yaml.YAMLError):
        return False  # the entry-list loader reports the problem with the file's name


#: Scoring flags a VO batch does not take (its runs are scored by the KP3D protocol, frame by frame).
_VO_BATCH_UNSUPPORTED = ("max_frames", "truncate_gt", "max_time_diff", "lengths", "arithmetic", "split")


def _run_vo_batch(args: argparse.Namespace) -> int:
    from apps.io.atomic import atomic_write_text
    from apps.pipeline.batch import format_csv, format_json, format_markdown, load_vo_batch, run_vo_batch

    given = [f"--{k.replace('_', '-')}" for k in _VO_BATCH_UNSUPPORTED if getattr(args, k) not in (None, False)]
    if given:
        raise ValueError(f"{', '.join(given)}: not supported with a VO batch ({args.batch}); a VO batch scores "
                         "every frame of its sequences (per-sequence max_frames in the YAML)")
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    cfg = load_vo_batch(args.batch)
    if args.jobs:
        cfg.jobs = args.jobs
    if args.align:
        cfg.align = args.align
    out = run_vo_batch(cfg, keep_going=args.keep_going)
    table = format_markdown(out["rows"], out["means"], cfg)
    sys.stdout.write(format_json(out) if args.json == "-" else table)
    if args.json and args.json != "-":
        atomic_write_text(args.json, format_json(out))
    if args.csv:
        atomic_write_text(args.csv, format_csv(out["rows"], out["means"]))
    if args.markdown:
        atomic_write_text(args.markdown, table)
    print(f"tables: {cfg.output / 'results.md'}, {cfg.output / 'results.csv'}; runs and plots under {cfg.output}",
          file=sys.stderr if args.json == "-" else sys.stdout)
    return 1 if any(st.startswith("failed") for st in out["status"].values()) else 0
