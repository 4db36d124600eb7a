"""The application side of `kp3d-vo adapt`: backend runs over the user's sequence.

``frontend.training.adapt.adapt_frontend`` fine-tunes the networks; it asks for backend runs through
a callable, which :func:`backend_runner` builds from a sequence and a run config. Each run uses the
pipeline's odometry (``apps.pipeline.odometry``) frame by frame, like ``kp3d-vo run`` without outputs,
and keeps a snapshot of the backend's window points and trajectory at every new keyframe
(``frontend.training.adapt_data.BackendRun``).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np

from frontend.training.adapt_data import BackendRun

logger = logging.getLogger(__name__)


def run_backend(sequence, run_config, frontend=None) -> BackendRun:
    """Run the odometry of ``run_config`` (``apps.pipeline.config.RunConfig``, mode dsdso or dso) over
    ``sequence`` (an ``apps.io.sequence.Sequence`` at the processing size) and keep poses and points.

    ``frontend``: callable ``(H, W) uint8 -> FrontendOutput`` for dsdso; built from ``run_config`` when None.
    Frames that cannot be read are skipped, as in ``kp3d-vo run``.
    """
    from apps.pipeline.config import with_model_depth_prior
    from apps.pipeline.odometry import make_odometry

    run_config.check()
    if run_config.mode not in ("dsdso", "dso"):
        raise ValueError(f"adapt needs the backend: run mode 'dsdso' or 'dso', got {run_config.mode!r}")
    if run_config.mode == "dsdso":
        if frontend is None:
            from frontend.inference import FrontendRuntime

            frontend = FrontendRuntime(run_config.resolved_model_dir, top_k=run_config.top_k)
        run_config = with_model_depth_prior(run_config, getattr(frontend, "meta", None))
        from frontend.ground_scale import maybe_ground_scaled

        frontend = maybe_ground_scaled(frontend, sequence.intrinsics.K)  # as kp3d-vo run (frontend.json)
    odometry = make_odometry(sequence.intrinsics, run_config)
    snapshots: list[tuple[int, np.ndarray, np.ndarray]] = []
    n_keyframes = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(len(sequence)):
        timestamp = float(sequence.timestamps[i])
        try:
            image = sequence.image(i)
        except (ValueError, OSError) as exc:
            logger.warning("adapt: frame %d skipped: %s", i, exc)
            odometry.skip(i, timestamp, str(exc))
            continue
        fe = frontend(image) if odometry.needs_frontend else None
        odometry.step(i, timestamp, image, fe)
        kfs = len(odometry.keyframes())
        if kfs > n_keyframes:
            n_keyframes = kfs
            xyz, _ = odometry.window_points()
            snapshots.append((i + 1, np.array(xyz, np.float32).reshape(-1, 3),
                              np.array(odometry.trajectory(), np.float64).reshape(-1, 4, 4)))
    statuses = [str(s) for s in odometry.statuses()]
    xyz, _ = odometry.points()
    summary = {"mode": run_config.mode, "model_dir": str(run_config.resolved_model_dir) if run_config.mode == "dsdso"
               else None, "frames": len(statuses), "keyframes": n_keyframes, "points": int(len(xyz)),
               "lost_frames": int(sum(s == "lost" for s in statuses)),
               "wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - c0, 2)}
    return BackendRun(np.asarray(odometry.trajectory(), np.float64).reshape(-1, 4, 4), statuses,
                      [int(k) for k in odometry.keyframes()], snapshots, np.asarray(xyz, np.float32).reshape(-1, 3),
                      summary)


def backend_runner(sequence, run_config) -> Callable[[Path, str], BackendRun]:
    """``(model_dir, mode) -> BackendRun`` over ``sequence`` with ``run_config`` (mode and model folder replaced)."""

    def run(model_dir: Path, mode: str) -> BackendRun:
        return run_backend(sequence, dataclasses.replace(run_config, mode=mode, model_dir=str(model_dir)))

    return run
