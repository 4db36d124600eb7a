"""End-to-end runs of the DS-DSO backend (dso_bridge.Backend) with error bounds.

- synthetic sequence (``synth_sequence`` fixture: 60 frames, 320x96, "kitti-like") with the exact
  depth as prior (metric scale) and without prior (pure DSO mode, scale aligned);
- real KITTI 00 frames 0-299 at 640x192 in pure DSO mode (``shared_data``; skipped without it).

Bounds of the pure-DSO render runs come from the spread over render seeds and image-noise levels
(bench/init_robustness.py, see the comment above them), not from one run.
"""
from __future__ import annotations

import numpy as np
import pytest

from dso_bridge import Backend  # a hard import: `make test` builds the extension, so missing it is a failure

SYNTH_LENGTHS = (10, 20, 30, 40)  # metres: the synthetic clip is ~41 m long


def _run(seq, use_depth: bool, noise_sigma: float = 0.0) -> tuple[np.ndarray, list[str], Backend, int]:
    """Runs the backend over ``seq``; returns the trajectory, final statuses, the backend and the
    first frame whose live status was not INITIALIZING (-1: never started). ``noise_sigma`` adds
    N(0, sigma^2) grey-level noise (fixed seed) to every image."""
    backend = Backend(seq.intrinsics)
    rng = np.random.default_rng(0)
    started = -1
    for i in range(len(seq)):
        depth = seq.depth(i) if use_depth else None
        image = seq.image(i).astype(np.float32)
        if noise_sigma > 0:
            image += (noise_sigma * rng.standard_normal(image.shape)).astype(np.float32)
        r = backend.track(image, float(seq.timestamps[i]), depth=depth)
        if started < 0 and r.status != "INITIALIZING":
            started = i
    return backend.trajectory(), backend.frame_statuses(), backend, started


def _evaluate(gt, est, align, lengths=None):
    from apps.evaluation.evaluate import evaluate_trajectory

    kwargs = {} if lengths is None else {"lengths": lengths}
    return evaluate_trajectory(gt, est, align=align, **kwargs)


def test_synthetic_with_exact_depth_prior(synth_sequence):
    from apps.io.sequence import open_sequence

    seq = open_sequence(synth_sequence)
    est, statuses, backend, started = _run(seq, use_depth=True)
    assert est.shape == (len(seq), 4, 4) and np.isfinite(est).all()
    # the depth prior initialises on the first frame (no two-view search)
    assert started == 0 and statuses[0] == "KEYFRAME" and "LOST" not in statuses
    assert "INITIALIZING" not in statuses
    ev = _evaluate(seq.gt_world_from_cam, est, "scale", SYNTH_LENGTHS)
    # Measured: t_rel 2.41 %, r_rel 0.65 deg/100m, scale 1.019 (metric from the prior).
    assert ev.t_rel < 4.0
    assert ev.r_rel < 1.5
    assert 0.95 < ev.to_dict()["scale"] < 1.05
    sim3 = _evaluate(seq.gt_world_from_cam, est, "sim3", SYNTH_LENGTHS)
    assert sim3.ate_rmse < 0.5  # measured 0.25 m over 41 m
    xyz, grey = backend.points()
    assert len(xyz) > 1000 and xyz.dtype == np.float32 and grey.dtype == np.uint8


# Pure DSO (no prior) on the test render. Spread measured with bench/init_robustness.py (2-core AMD
# EPYC, 2026-12-03) over render seeds 0-3, 5-7 x image noise sigma {0, 0.5} grey levels (default
# options): start frame 1-6, t_rel 0.2-3.2 %, sim3 ATE 0.02-0.55 m (this fixture, seed 3: start 2,
# t_rel 0.3-0.4 %); with max_direction_sigma_deg 2.5 and sigma {0, 0.001, 0.1, 0.5, 1}: start 1-11,
# t_rel 0.3-4.6 %. Seeds 4, 8, 9 turn by 4-7.5 deg per frame for 30+ frames: they start by frame 2
# but the tracker loses them later (t_rel 2-90 %), as it did before. Before the robust initialiser
# this fixture gave t_rel 20 / 88 / 11 % for sigma 0 / 0.001 / 0.1, starting at frame 14 / 14 / 25.
MAX_START_FRAME = 10
MAX_T_REL_NO_PRIOR = 8.0   # % (sim3, 10-40 m segments), ~2x the worst of the spread above
MAX_ATE_NO_PRIOR = 0.6     # m (sim3) over the 41 m clip
MAX_LOST_NO_PRIOR = 3      # frames before the first keyframe are tracked back to it and may be LOST


@pytest.mark.parametrize("noise_sigma", [0.0, 0.001, 0.1, 0.5])
def test_synthetic_without_prior(synth_sequence, noise_sigma):
    """The start and the accuracy of pure DSO must not hinge on the last bit of a pixel."""
    from apps.io.sequence import open_sequence

    seq = open_sequence(synth_sequence)
    est, statuses, _, started = _run(seq, use_depth=False, noise_sigma=noise_sigma)
    assert est.shape == (len(seq), 4, 4) and np.isfinite(est).all()
    assert 0 <= started <= MAX_START_FRAME, f"tracking started at frame {started}"
    assert statuses.count("INITIALIZING") == 0 and statuses.count("LOST") <= MAX_LOST_NO_PRIOR
    ev = _evaluate(seq.gt_world_from_cam, est, "sim3", SYNTH_LENGTHS)
    assert ev.t_rel < MAX_T_REL_NO_PRIOR
    assert ev.ate_rmse < MAX_ATE_NO_PRIOR


@pytest.fixture(scope="module")
def traffic_sequence(tmp_path_factory):
    """The test render's street and path (``SYNTH_FIXTURE``) with 8 oncoming cars and a lead car: moving
    objects cover 6 % of the frames on average, up to 17 %."""
    from apps.synth import SynthOptions, make_trajectory, render_sequence
    from tests.conftest import SYNTH_FIXTURE as cfg

    poses = make_trajectory(cfg["kind"], cfg["frames"], seed=cfg["seed"])
    options = SynthOptions(width=cfg["width"], height=cfg["height"], seed=cfg["seed"], traffic=8, lead_car=True)
    return render_sequence(tmp_path_factory.mktemp("traffic"), poses, None, options, name="00")


@pytest.mark.parametrize("use_depth", [True, False], ids=["exact_prior", "pure_dso"])
def test_moving_cars_are_not_the_scene(traffic_sequence, use_depth):
    """Cars driving through the view (against the camera at 0.8-1.6 m per frame, and ahead of it) are
    outliers of the photometric residual, not structure the poses follow: the bounds of the static render
    hold. Measured (render seeds 3 / 1 / 5, without -> with the cars): exact prior t_rel 0.44 -> 0.72 /
    1.00 -> 0.99 / 0.50 -> 0.43 %, pure DSO sim3 ATE 0.028 -> 0.036 / 0.239 -> 0.101 / 0.046 -> 0.032 m."""
    from apps.io.sequence import open_sequence

    seq = open_sequence(traffic_sequence)
    est, statuses, _, started = _run(seq, use_depth=use_depth)
    assert "LOST" not in statuses and 0 <= started <= (0 if use_depth else MAX_START_FRAME)
    ev = _evaluate(seq.gt_world_from_cam, est, "scale" if use_depth else "sim3", SYNTH_LENGTHS)
    assert ev.t_rel < (4.0 if use_depth else MAX_T_REL_NO_PRIOR)
    assert ev.ate_rmse < (0.5 if use_depth else MAX_ATE_NO_PRIOR)


def test_kitti_00_pure_dso(shared_data):
    from apps.io.sequence import open_sequence

    seq = open_sequence(shared_data / "kitti" / "sequences" / "00", resize=(640, 192), max_frames=300)
    est, statuses, _, _ = _run(seq, use_depth=False)
    assert est.shape == (300, 4, 4) and np.isfinite(est).all()  # every frame gets a pose
    assert statuses.count("LOST") <= 3
    ev = _evaluate(seq.gt_world_from_cam, est, "scale")
    # Measured: t_rel 5.06 %, r_rel 1.07 deg/100m (DSO reference, full res: 4.43 / 1.09).
    assert ev.t_rel < 7.6
    assert ev.r_rel < 1.6
