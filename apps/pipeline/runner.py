"""The run loop of `kp3d-vo run`: prefetching decode + frontend, odometry, observers, outputs.

Decoding and the networks run in a prefetch thread (torch and OpenCV release the GIL), so they
overlap with the backend, which releases the GIL inside dso_bridge. A frame that cannot be read
is skipped with a warning: it still gets a pose line (the previous frame's) so outputs keep one
line per input frame. Ctrl-C stops the loop; what was processed is written all the same.
"""
from __future__ import annotations

import logging
import queue
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apps.pipeline.config import RunConfig
from apps.pipeline.config import with_model_depth_prior
from apps.pipeline.odometry import make_odometry
from apps.pipeline.outputs import RunResult, versions, write_run_outputs
from apps.pipeline.observer import CompositeObserver

logger = logging.getLogger(__name__)
_END = object()


@dataclass
class _Item:
    index: int
    image: np.ndarray | None
    frontend: Any | None
    error: str | None
    decode_ms: float
    frontend_ms: float


def _producer(sequence, frontend, n_frames: int, out: queue.Queue, stop: threading.Event) -> None:
    try:
        for i in range(n_frames):
            if stop.is_set():
                break
            t0 = time.perf_counter()
            try:
                image = sequence.image(i)
            except (ValueError, OSError) as exc:
                out.put(_Item(i, None, None, str(exc), 0.0, 0.0))
                continue
            t1 = time.perf_counter()
            fe = frontend(image) if frontend is not None else None
            t2 = time.perf_counter()
            out.put(_Item(i, image, fe, None, (t1 - t0) * 1e3, (t2 - t1) * 1e3))
    except BaseException as exc:  # surfaced in the main thread
        out.put(exc)
    finally:
        out.put(_END)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_sequence(sequence, config: RunConfig, output_dir: str | Path | None = None, *, observer=None,
                 frontend=None, device: str | None = None, max_frames: int | None = None,
                 progress: bool = True) -> RunResult:
    """Run odometry over ``sequence`` (an ``apps.io.sequence.Sequence`` at the processing size).

    Args:
        frontend: a callable ``(H, W) uint8 -> FrontendOutput``; built from ``config.model_dir`` when
            None and the mode needs one.
        observer: an ``apps.pipeline.observer.OutputObserver`` receiving per-frame callbacks (viewer,
            loggers); a failing observer is logged and dropped, never stopping the run.
        output_dir: where outputs are written (also after Ctrl-C); None writes nothing.
    Returns the :class:`RunResult` (its ``summary`` is what summary.json holds).
    """
    config.check()
    observer = CompositeObserver([observer] if observer is not None else [])
    if config.mode != "dso" and frontend is None:
        from frontend.inference import FrontendRuntime

        frontend = FrontendRuntime(config.resolved_model_dir, device=device, top_k=config.top_k)
    if config.mode == "dsdso":
        config = with_model_depth_prior(config, getattr(frontend, "meta", None))
    odometry = make_odometry(sequence.intrinsics, config)
    if not odometry.needs_frontend:
        frontend = None
    n = len(sequence) if max_frames is None else min(len(sequence), int(max_frames))

    q: queue.Queue = queue.Queue(maxsize=max(1, config.prefetch))
    stop = threading.Event()
    worker = threading.Thread(target=_producer, args=(sequence, frontend, n, q, stop), daemon=True)
    processed: list[int] = []   # input indices the odometry saw, in order
    statuses: list[str] = ["skipped"] * n
    skipped: list[dict[str, Any]] = []
    stage_ms = {"decode": 0.0, "frontend": 0.0, "backend": 0.0}
    interrupted = False
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, unit="frame", desc=f"{config.mode} {sequence.name}", dynamic_ncols=True,
                   disable=None)  # None: no bar when stderr is not a terminal (logs, CI)
    t_start = time.perf_counter()
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            if item.error is not None:
                logger.warning("frame %d skipped: %s", item.index, item.error)
                skipped.append({"frame": item.index, "reason": item.error})
                odometry.skip()
            else:
                t0 = time.perf_counter()
                pose, status = odometry.step(float(sequence.timestamps[item.index]), item.image, item.frontend)
                stage_ms["backend"] += (time.perf_counter() - t0) * 1e3
                stage_ms["decode"] += item.decode_ms
                stage_ms["frontend"] += item.frontend_ms
                processed.append(item.index)
                statuses[item.index] = status
                if status in ("keyframe", "init", "initializing", "recovered"):
                    observer.on_keyframe(item.index, pose)
                    observer.on_points(*odometry.window_points(), *odometry.points())
                kps = getattr(item.frontend, "keypoints", None)
                observer.on_frame(item.index, item.image, pose, kps, status)  # last: it draws the frame
            if bar is not None:
                bar.update(1)
                elapsed = time.perf_counter() - t_start
                bar.set_postfix(fps=f"{bar.n / max(elapsed, 1e-9):.1f}", status=statuses[item.index])
    except KeyboardInterrupt:
        interrupted = True
        logger.warning("interrupted: writing the %d frames processed so far", len(processed))
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        if bar is not None:
            bar.close()
    wall_s = time.perf_counter() - t_start

    # One pose per input frame up to the last one handled; skipped frames repeat the previous pose.
    refined = odometry.trajectory()
    last = max(processed + [s["frame"] for s in skipped], default=-1)
    poses = np.tile(np.eye(4), (last + 1, 1, 1))
    by_index = dict(zip(processed, refined[: len(processed)])) if len(refined) >= len(processed) else {}
    current = np.eye(4)
    for i in range(last + 1):
        current = by_index.get(i, current)
        poses[i] = current
    xyz, grey = odometry.points()
    observer.on_trajectory(poses)
    observer.close()
    n_done = last + 1
    summary: dict[str, Any] = {
        "sequence": sequence.name,
        "sequence_path": str(sequence.path),
        "mode": config.mode,
        "frames": n_done,
        "frames_requested": n,
        "keyframes": len(odometry.keyframes()),
        "lost_frames": [i for i in range(n_done) if statuses[i] == "lost"],
        "recovered_frames": [i for i in range(n_done) if statuses[i] == "recovered"],
        "skipped_frames": skipped,
        "interrupted": interrupted,
        "wall_s": wall_s,
        "fps": n_done / wall_s if wall_s > 0 else 0.0,
        "stage_ms_per_frame": {k: v / max(len(processed), 1) for k, v in stage_ms.items()},
        "peak_rss_mb": peak_rss_mb(),
        "points": int(len(xyz)),
        "intrinsics": vars(sequence.intrinsics) if hasattr(sequence.intrinsics, "__dict__") else str(sequence.intrinsics),
        "versions": versions(),
        "config": config.to_dict(),
    }
    summary["peak_rss_mb"] = peak_rss_mb()  # read last: after versions() and every import of the run
    result = RunResult(poses, np.asarray(sequence.timestamps[:n_done], np.float64), statuses[:n_done],
                       xyz, grey, odometry.keyframes(), summary)
    gt = sequence.gt_world_from_cam
    if gt is not None and n_done >= 2:
        summary["evaluation"] = _evaluate(gt[:n_done], poses)
    if output_dir is not None:
        write_run_outputs(result, output_dir)
    return result


def _evaluate(gt: np.ndarray, est: np.ndarray) -> dict[str, Any]:
    from apps.evaluation.evaluate import evaluate_trajectory

    try:
        return evaluate_trajectory(gt, est, align="scale").to_dict()
    except ValueError as exc:  # e.g. a degenerate (static) estimate cannot be aligned
        logger.warning("evaluation failed: %s", exc)
        return {"error": str(exc)}
