"""Cost and accuracy of dsdso's PnP initial pose: descriptor matching and PnP-RANSAC variants.

    .venv/bin/python bench/pnp_init.py [SEQUENCE] [--model-dir frontend/models/shipped] [--stride 10]
                                       [--max-frames 300] [--repeats 3]

1. Mutual-NN matching of 1000 x 1000 unit 64-D descriptors: ``cv2.BFMatcher(NORM_L2, crossCheck=True)``
   against ``apps.pipeline.f2f.mutual_nn_matches`` (one gemm), process CPU ms per call, same pairs checked.
2. On a KITTI-layout SEQUENCE with GT (default ../shared/data/kitti/sequences/02) at 640x192, for every
   ``stride``-th frame: the frontend's keypoints, matches to the previous frame and its depth-lifted
   keypoints, then each PnP-RANSAC variant (2 px unless named, confidence 0.999) + LM refinement: CPU ms
   per call and the rotation error of ``cam_cur_from_cam_prev`` against GT (deg), inlier fraction. The
   ``pipeline`` variants run ``apps.pipeline.f2f.pnp_ransac``, what ``kp3d-vo run`` uses (``RunConfig``
   pnp_solver / pnp_iterations / pnp_reprojection_px; the first is the default dsdso initial pose).
   ``--step 3`` pairs frame i with i - 3 (faster motion).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cpu_ms(fn, repeats: int):
    c0 = time.process_time()
    for _ in range(repeats):
        out = fn()
    return (time.process_time() - c0) / repeats * 1e3, out


def bench_matching(repeats: int) -> None:
    from apps.pipeline.f2f import mutual_nn_matches

    rng = np.random.default_rng(0)
    a = rng.normal(size=(1000, 64)).astype(np.float32)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = a[rng.permutation(1000)] + 0.3 * rng.normal(size=a.shape).astype(np.float32)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    t_bf, ref = cpu_ms(lambda: cv2.BFMatcher(cv2.NORM_L2, crossCheck=True).match(a, b), repeats)
    t_mm, got = cpu_ms(lambda: mutual_nn_matches(a, b, 2.0), repeats)
    same = sorted((m.queryIdx, m.trainIdx) for m in ref) == [tuple(p) for p in got.tolist()]
    print(f"matching 1000x1000x64: BFMatcher {t_bf:.1f} ms, mutual_nn_matches {t_mm:.1f} ms CPU, same pairs: {same}")


def _usac(score: int) -> cv2.UsacParams:
    u = cv2.UsacParams()
    u.threshold, u.confidence, u.maxIterations = 2.0, 0.999, 200
    u.sampler, u.score, u.loMethod = cv2.SAMPLING_UNIFORM, score, cv2.LOCAL_OPTIM_INNER_LO
    u.loIterations, u.loSampleSize, u.isParallel, u.final_polisher = 5, 14, False, cv2.NONE_POLISHER
    return u


VARIANTS = {
    "pipeline: USAC MSAC 500, 3 px (dsdso default)": dict(pipeline=("usac", 500, 3.0)),
    "pipeline: USAC MSAC 200, 2 px": dict(pipeline=("usac", 200, 2.0)),
    "pipeline: P3P 200, 2 px": dict(pipeline=("p3p", 200, 2.0)),
    "EPnP 200 (f2f default)": dict(iterationsCount=200, flags=cv2.SOLVEPNP_EPNP),
    "EPnP 50": dict(iterationsCount=50, flags=cv2.SOLVEPNP_EPNP),
    "AP3P 200": dict(iterationsCount=200, flags=cv2.SOLVEPNP_AP3P),
    "USAC MSAC": dict(params=_usac(cv2.SCORE_METHOD_MSAC)),
    "USAC MAGSAC": dict(params=_usac(cv2.SCORE_METHOD_MAGSAC)),
}


def pnp(p3, p2, K, kw):
    if "pipeline" in kw:
        from apps.pipeline.f2f import F2FOptions, pnp_ransac

        solver, iterations, px = kw["pipeline"]
        options = F2FOptions(ransac_solver=solver, ransac_iterations=iterations, ransac_reprojection_px=px)
        found, rvec, tvec, inl = pnp_ransac(p3, p2, K, options)
    elif "params" in kw:
        found, _, rvec, tvec, inl = cv2.solvePnPRansac(p3, p2, K, None, params=kw["params"])
    else:
        found, rvec, tvec, inl = cv2.solvePnPRansac(p3, p2, K, None, reprojectionError=2.0, confidence=0.999, **kw)
    if not found or inl is None or len(inl) < 10:
        return None, 0
    rvec, tvec = cv2.solvePnPRefineLM(p3[inl[:, 0]], p2[inl[:, 0]], K, None, rvec, tvec)
    return cv2.Rodrigues(rvec)[0], len(inl)


def bench_pnp(sequence: Path, model_dir: Path, stride: int, max_frames: int, repeats: int, step: int = 1) -> None:
    from apps.io.sequence import open_sequence
    from apps.pipeline.config import RunConfig
    from apps.pipeline.f2f import F2FOptions, lift_matches, mutual_nn_matches
    from frontend.inference import FrontendRuntime

    seq = open_sequence(sequence, resize=(640, 192), max_frames=max_frames)
    if seq.gt_world_from_cam is None:
        raise SystemExit(f"pnp_init: {sequence} has no ground truth")
    gt = np.asarray(seq.gt_world_from_cam, np.float64)
    K = seq.intrinsics.K
    fe = FrontendRuntime(model_dir, device="cpu", num_threads=1)
    options = F2FOptions()  # the pipeline's matching distance and depth range
    rows = {k: ([], [], []) for k in VARIANTS}
    n_pts = []
    k = RunConfig().pnp_top_k  # the pipeline's best-first keypoints
    for i in range(max(stride, step), len(seq), stride):
        a, b = fe(seq.image(i - step)), fe(seq.image(i))
        m = mutual_nn_matches(a.descriptors[:k], b.descriptors[:k], options.max_descriptor_distance)
        p3, p2 = lift_matches(a.keypoints[:k], a.depth, b.keypoints[:k], m, seq.intrinsics, options)
        n_pts.append(len(p3))
        r_gt = (np.linalg.inv(gt[i]) @ gt[i - step])[:3, :3]
        for name, kw in VARIANTS.items():
            t, (r, n_in) = cpu_ms(lambda: pnp(p3, p2, K, kw), repeats)
            rows[name][0].append(t)
            err = np.nan if r is None else np.degrees(np.arccos(np.clip((np.trace(r_gt.T @ r) - 1) / 2, -1, 1)))
            rows[name][1].append(err)
            rows[name][2].append(n_in / max(len(p3), 1))
    print(f"{sequence}: {len(n_pts)} frame pairs, {np.mean(n_pts):.0f} depth-lifted matches per pair")
    print("| variant | CPU ms | rot. error median / p90 / max deg | failures | inlier fraction |")
    print("|---|---|---|---|---|")
    for name, (t, e, f) in rows.items():
        e = np.asarray(e)
        print(f"| {name} | {np.mean(t):.1f} | {np.nanmedian(e):.3f} / {np.nanpercentile(e, 90):.3f} / "
              f"{np.nanmax(e):.3f} | {int(np.isnan(e).sum())} | {np.mean(f):.2f} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sequence", nargs="?", type=Path,
                   default=REPO.parent / "shared" / "data" / "kitti" / "sequences" / "02")
    p.add_argument("--model-dir", type=Path, default=REPO / "frontend" / "models" / "shipped")
    p.add_argument("--stride", type=int, default=10)
    p.add_argument("--max-frames", type=int, default=300)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--step", type=int, default=1, help="pair frame i with i - step (default 1)")
    args = p.parse_args(argv)
    bench_matching(20)
    if not args.sequence.exists():
        print(f"pnp_init: {args.sequence} not found, PnP part skipped")
        return 0
    bench_pnp(args.sequence, args.model_dir, args.stride, args.max_frames, args.repeats, args.step)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
