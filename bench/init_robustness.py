"""How robust is the start of pure (monocular, no depth prior) DSO tracking?

    .venv/bin/python bench/init_robustness.py [--seeds 3 0 1 ...] [--sigmas 0 0.001 0.1 0.5 1.0]
                                              [--kitti ../shared/data/kitti] [--frames 60] [--json OUT]

Runs ``dso_bridge.Backend`` (default options, no depth prior: what tests/test_backend_e2e.py runs) on

- the test render (``apps.synth``, "kitti-like", 60 frames at 320x96; seed 3 is the ``synth_sequence``
  test fixture) for every render seed in ``--seeds``, each with Gaussian image noise of every sigma in
  ``--sigmas`` grey levels added to the float image (sigma 0 = the render as is);
- the first ``--frames`` frames of KITTI 00, 02 and 07 at 640x192 (skipped when ``--kitti`` is absent;
  07 is validation data: measured here, never trained on),

and prints per case: ``start`` (first frame whose live status is not INITIALIZING, i.e. the frame on
which the initialiser succeeded), ``kf0`` (input index of the first keyframe), ``lost`` frames,
``t_rel`` [%] over 10-40 m segments and ``ate`` [m], both after sim3 alignment, and the error of the
initial relative pose between the first two keyframes right after the start (``dir°``: angle of the
translation direction, ``rot°``: rotation). ``--set GROUP.FIELD=VALUE`` overrides a backend option.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LENGTHS_M = (10, 20, 30, 40)  # the 60-frame render is ~41 m long, KITTI 60 frames 30-50 m


def render(seed: int, frames: int, width: int = 320, height: int = 96):
    """(images (N, H, W) uint8, world_from_cam (N, 4, 4), intrinsics) of the test render with ``seed``,
    written and read back exactly as the ``synth_sequence`` test fixture does (PNG + calib.txt)."""
    import tempfile

    from apps.io.sequence import open_sequence
    from apps.synth import SynthOptions, make_trajectory, render_sequence

    poses = make_trajectory("kitti-like", frames, seed=seed)
    with tempfile.TemporaryDirectory(prefix="init_robustness_") as tmp:
        seq = open_sequence(render_sequence(tmp, poses, None, SynthOptions(width=width, height=height, seed=seed)))
        images = np.stack([seq.image(i) for i in range(len(seq))])
        return images, seq.gt_world_from_cam, seq.intrinsics


def run_case(images: np.ndarray, gt: np.ndarray, intrinsics, sigma: float, noise_seed: int = 0,
             options=None) -> dict:
    """Pure DSO over ``images`` with N(0, sigma^2) grey-level noise; start frame, t_rel and ATE (sim3)."""
    from apps.evaluation.evaluate import evaluate_trajectory
    from dso_bridge import Backend

    rng = np.random.default_rng(noise_seed)
    backend = Backend(intrinsics, options)
    start, init_err = -1, (float("nan"), float("nan"))
    t0 = time.perf_counter()
    for i, img in enumerate(images):
        image = img.astype(np.float32)
        if sigma > 0:
            # (clipped to the backend's [0, 255]: a bright render pixel plus noise exceeds 255)
            image = np.clip(image + (sigma * rng.standard_normal(image.shape)).astype(np.float32), 0, 255)
        r = backend.track(image, 0.1 * i)
        if start < 0 and r.status != "INITIALIZING":
            start = i
            init_err = init_pose_error(backend, gt)
    seconds = time.perf_counter() - t0
    statuses = backend.frame_statuses()
    kf = backend.keyframe_indices()
    out = dict(start=start, kf0=int(kf[0]) if len(kf) else -1, lost=statuses.count("LOST"),
               init_dir_deg=round(init_err[0], 2), init_rot_deg=round(init_err[1], 3),
               t_rel=float("nan"), ate=float("nan"), seconds=round(seconds, 1))
    if start >= 0:
        est = backend.trajectory()
        ev = evaluate_trajectory(gt[:len(est)], est, align="sim3", lengths=LENGTHS_M)
        out.update(t_rel=float(ev.t_rel), ate=float(ev.ate_rmse))
    return out


def init_pose_error(backend, gt: np.ndarray) -> tuple[float, float]:
    """Right after initialisation: angle (deg) between the estimated and true translation direction
    from the first to the second keyframe, and the rotation error (deg) of that relative pose."""
    poses, idx = backend.keyframe_poses(), backend.keyframe_indices()
    if len(idx) < 2:
        return float("nan"), float("nan")
    est_rel = np.linalg.inv(poses[0]) @ poses[1]
    gt_rel = np.linalg.inv(gt[idx[0]]) @ gt[idx[1]]
    t_est, t_gt = est_rel[:3, 3], gt_rel[:3, 3]
    cos_t = t_est @ t_gt / max(np.linalg.norm(t_est) * np.linalg.norm(t_gt), 1e-12)
    r_err = est_rel[:3, :3].T @ gt_rel[:3, :3]
    cos_r = (np.trace(r_err) - 1) / 2
    return (float(np.degrees(np.arccos(np.clip(cos_t, -1, 1)))),
            float(np.degrees(np.arccos(np.clip(cos_r, -1, 1)))))


def kitti_clip(root: Path, name: str, frames: int):
    from apps.io.sequence import open_sequence

    seq = open_sequence(root / "sequences" / name, resize=(640, 192), max_frames=frames)
    images = np.stack([seq.image(i) for i in range(len(seq))])
    return images, seq.gt_world_from_cam, seq.intrinsics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=[3, 0, 1, 2, 4, 5, 6, 7, 8, 9])
    ap.add_argument("--sigmas", type=float, nargs="*", default=[0.0, 0.001, 0.1, 0.5, 1.0])
    ap.add_argument("--kitti", type=Path, default=Path("../shared/data/kitti"))
    ap.add_argument("--kitti-seqs", nargs="*", default=["00", "02", "07"])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--json", type=Path, help="write all rows here")
    ap.add_argument("--set", action="append", default=[], metavar="GROUP.FIELD=VALUE",
                    help="backend option override, e.g. --set init.min_inliers=40 (repeatable)")
    args = ap.parse_args(argv)

    options: dict[str, dict[str, float]] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        group, _, name = key.partition(".")
        if not (group and name and value):
            ap.error(f"--set expects GROUP.FIELD=VALUE, got {item!r}")
        options.setdefault(group, {})[name] = float(value) if "." in value or "e" in value else int(value)
    rows = []
    print(f"# {platform.processor() or platform.machine()} | python {platform.python_version()}")
    print(f"{'case':<22} {'sigma':>6} {'start':>5} {'kf0':>4} {'lost':>4} {'t_rel%':>7} {'ate_m':>6} "
          f"{'dir°':>5} {'rot°':>6} {'s':>5}")

    def report(case: str, sigma: float, r: dict) -> None:
        rows.append(dict(case=case, sigma=sigma, **r))
        print(f"{case:<22} {sigma:>6g} {r['start']:>5} {r['kf0']:>4} {r['lost']:>4} {r['t_rel']:>7.2f} "
              f"{r['ate']:>6.2f} {r['init_dir_deg']:>5.1f} {r['init_rot_deg']:>6.2f} {r['seconds']:>5}", flush=True)

    for seed in args.seeds:
        images, gt, intr = render(seed, args.frames)
        for sigma in args.sigmas:
            report(f"render seed {seed}", sigma, run_case(images, gt, intr, sigma, options=options or None))
    if args.kitti.is_dir():
        for name in args.kitti_seqs:
            images, gt, intr = kitti_clip(args.kitti, name, args.frames)
            report(f"kitti {name}", 0.0, run_case(images, gt, intr, 0.0, options=options or None))
    else:
        print(f"# KITTI skipped: {args.kitti} not found")
    starts = np.array([r["start"] for r in rows])
    t_rel = np.array([r["t_rel"] for r in rows])
    print(f"# start: max {starts.max()} median {np.median(starts):g}, never started {int((starts < 0).sum())}; "
          f"t_rel median {np.nanmedian(t_rel):.2f} max {np.nanmax(t_rel):.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
