"""The run loop of `kp3d-vo run`: prefetching decode + frontend, odometry, observers, outputs.

Decoding and the networks run in a prefetch thread (torch and OpenCV release the GIL), so they
overlap with the backend, which releases the GIL inside dso_bridge. A frame that cannot be read
is skipped with a warning: the odometry records it (its pose is the previous frame's), so outputs
keep one line per input frame in every mode.

Stopping: SIGINT (Ctrl-C) and SIGTERM stop the loop after the current frame; the poses processed
so far are written first, then the map and summary, then the run is evaluated. A further signal
during the evaluation aborts only the evaluation; nothing already written is lost.
"""
from __future__ import annotations

import logging
import queue
import resource
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from apps.io.sequence_base import source_undistorter
from apps.pipeline.config import RunConfig
from apps.pipeline.config import with_camera_height, with_model_depth_prior
from apps.pipeline.odometry import make_odometry
from apps.pipeline.outputs import RunOutputWriter, RunResult, check_output_dir, versions
from apps.pipeline.status import FrameStatus
from apps.pipeline.observer import CompositeObserver

logger = logging.getLogger(__name__)
_END = object()
PIPELINE_TORCH_THREADS = 1  # torch threads of the networks built by run_sequence (see there)
# numpy's BLAS threads while a run's frames are processed: the frame loop's matrix work is small, and
# idle OpenBLAS threads spin beside the backend's threads (dsdso KITTI 02 [0:300] on 2 cores: 47.6 ->
# 39.8 process CPU s, system time 10.5 -> 2.9 s, same wall time; bench/RESULTS.md).
PIPELINE_BLAS_THREADS = 1


@dataclass
class _Item:
    index: int
    image: np.ndarray | None
    frontend: Any | None
    error: str | None
    decode_ms: float
    frontend_ms: float
    mean_grey: float = float("nan")
    arrival_s: float = 0.0  # time.perf_counter() when the frame arrived: its camera time, or decoding start


def _producer(sequence, frontend, n_frames: int, out: queue.Queue, stop: threading.Event,
              realtime_speed: float = 0.0, start_s: float = 0.0) -> None:
    """Decodes frames and runs the networks ahead of the backend. With ``realtime_speed`` > 0 frame i
    arrives, as from a live camera, at ``start_s + (t_i - t_0) / realtime_speed`` (perf_counter seconds)."""
    try:
        t_first = float(sequence.timestamps[0]) if n_frames else 0.0
        for i in range(n_frames):
            if stop.is_set():
                break
            due = None
            if realtime_speed > 0:
                due = start_s + (float(sequence.timestamps[i]) - t_first) / realtime_speed
                if stop.wait(max(0.0, due - time.perf_counter())):
                    break
            t0 = time.perf_counter()
            arrival = t0 if due is None else due  # a camera frame waits from its own time on (full queue)
            try:
                image = sequence.image(i)
            except (ValueError, OSError) as exc:
                out.put(_Item(i, None, None, str(exc), 0.0, 0.0, arrival_s=arrival))
                continue
            t1 = time.perf_counter()
            fe = frontend(image) if frontend is not None else None
            t2 = time.perf_counter()
            out.put(_Item(i, image, fe, None, (t1 - t0) * 1e3, (t2 - t1) * 1e3, float(image.mean()), arrival))
    except BaseException as exc:  # surfaced in the main thread
        out.put(exc)
    finally:
        out.put(_END)


def latency_summary(latency_ms: list[float]) -> dict[str, float]:
    """Mean, median, 90th / 99th percentile and max of per-frame latencies (ms)."""
    v = np.asarray(latency_ms, np.float64)
    return {"mean": float(v.mean()), "p50": float(np.percentile(v, 50)), "p90": float(np.percentile(v, 90)),
            "p99": float(np.percentile(v, 99)), "max": float(v.max())}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class StopSignals:
    """SIGINT/SIGTERM handling of a run (installed only in the main thread).

    While the loop runs, a signal asks it to stop after the current frame (``requested``). Inside
    :meth:`interruptible` (the evaluation, after the outputs are written) a signal raises
    KeyboardInterrupt; anywhere else it is only recorded, so writing the outputs is never cut short.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.received: list[str] = []
        self._interruptible = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if self._interruptible:
            raise KeyboardInterrupt(name)
        if not self.requested.is_set():
            logger.warning("%s: stopping after the current frame; the frames processed so far are written", name)
        self.requested.set()

    def interruptible(self):
        signals = self

        class _Section:
            def __enter__(self):
                signals._interruptible = True

            def __exit__(self, *exc):
                signals._interruptible = False

        return _Section()


# below this many processed pixels the two-view start of pure DSO rarely finds enough parallax
# (KITTI 07: 160x48 = 7680 never, 224x64 = 14336 at frame 15)
SMALL_TWO_VIEW_PIXELS = 224 * 64


def never_started_message(summary: dict[str, Any]) -> str:
    """Why a run that never started tracking failed, with the likely causes (for the CLI)."""
    k = summary.get("intrinsics") or {}
    grey = summary.get("mean_grey")
    has_grey = isinstance(grey, float) and np.isfinite(grey)
    calib = (f" (fx {k['fx']:.1f}, cx {k['cx']:.1f}, cy {k['cy']:.1f} px for {k['width']}x{k['height']} "
             "processed frames)" if isinstance(k, dict) and "fx" in k else "")
    dark = f" (mean grey {grey:.1f} of 255{'; 12-bit data in 16-bit PNGs?' if grey < 20 else ''})" if has_grey else ""
    causes = [
        f"tracking never started: none of the {summary.get('frames', 0)} frames got a pose "
        f"({summary.get('initializing_frames', 0)} initialising, {len(summary.get('skipped_frames', []))} "
        "skipped); every pose written is the identity. Likely causes:",
    ]
    small = (isinstance(k, dict) and summary.get("mode") == "dso"
             and int(k.get("width", 0)) * int(k.get("height", 0)) < SMALL_TWO_VIEW_PIXELS)
    if small:  # the two-view start measures parallax and its direction's spread in pixels
        causes.append(f"  - a processing size ({k['width']}x{k['height']}) too small for pure DSO's two-view start "
                      "(measured on KITTI 07: 160x48 never starts, 224x64 starts at frame 15, 640x192 by default); "
                      "set width/height larger, or use the depth prior (mode dsdso);")
    return "\n".join(causes + [
        f"  - a calibration that does not fit these frames{calib};",
        f"  - frames too dark or too flat{dark};",
        "  - frames of different sizes or unreadable (see the skipped frames), or too little camera motion;",
        "  - too few frames for the initialiser (a larger --max-frames).",
    ])


def run_sequence(sequence, config: RunConfig, output_dir: str | Path | None = None, *, observer=None,
                 frontend=None, device: str | None = None, max_frames: int | None = None,
                 progress: bool = True) -> RunResult:
    """Run odometry over ``sequence`` (an ``apps.io.sequence.Sequence`` at the processing size).

    Args:
        frontend: a callable ``(H, W) uint8 -> FrontendOutput``; built from ``config.model_dir`` when
            None and the mode needs one.
        observer: an ``apps.viewer.observer.OutputObserver`` receiving per-frame callbacks (viewer,
            loggers); a failing observer is logged and dropped, never stopping the run.
        output_dir: where outputs are written (also after Ctrl-C/SIGTERM); None writes nothing.
            It is created and checked before the run starts (ValueError naming it otherwise).
    Returns the :class:`RunResult` (its ``summary`` is what summary.json holds). A run that never
    started tracking is returned all the same with ``summary["tracking_started"] = False`` (and
    ``summary["failure"]``); the CLI turns it into a non-zero exit.
    """
    config.check()
    writer = RunOutputWriter(output_dir) if output_dir is not None else None  # checked before any work
    observer = CompositeObserver([observer] if observer is not None else [])
    if config.mode != "dso" and frontend is None and config.frontend_outputs():
        from frontend.inference import FrontendRuntime

        # One torch thread: the networks run in the prefetch thread beside the backend's own threads, and two
        # torch threads spin-waiting against them cost CPU for nothing (dsdso 02 [0:300], 2 cores: 66 vs 77
        # process CPU s; bench/RESULTS.md, issue 11). torch.set_num_threads is process-wide.
        # Only the networks the run reads (config.frontend_outputs: the KeypointNet is ~60 % of the frontend).
        frontend = FrontendRuntime(config.resolved_model_dir, device=device, top_k=config.top_k,
                                   num_threads=PIPELINE_TORCH_THREADS, outputs=config.frontend_outputs(),
                                   parallel=config.parallel_networks)
    if config.mode == "dsdso":
        config = with_model_depth_prior(config, getattr(frontend, "meta", None))
    config = with_camera_height(config, getattr(sequence, "camera_height", None))
    odometry = make_odometry(sequence.intrinsics, config, photometric=getattr(sequence, "photometric", None),
                             exposures=getattr(sequence, "exposures", None))
    if not odometry.needs_frontend:
        frontend = None
    if frontend is not None and "depth" in getattr(frontend, "outputs", ("depth",)):
        # frontend.json depth.ground_scale: network depth scaled to the camera height
        from frontend.ground_scale import maybe_ground_scaled

        frontend = maybe_ground_scaled(frontend, sequence.intrinsics.K)
    n = len(sequence) if max_frames is None else min(len(sequence), int(max_frames))

    q: queue.Queue = queue.Queue(maxsize=max(1, config.prefetch))
    stop = threading.Event()
    latency_ms: list[float] = []  # arrival to pose, per processed frame (reported with realtime_speed)
    skipped: list[dict[str, Any]] = []
    stage_ms = {"decode": 0.0, "frontend": 0.0, "backend": 0.0, "observer": 0.0}  # observer: map copies + callbacks
    grey_sum, grey_count = 0.0, 0
    interrupted = False
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, unit="frame", desc=f"{config.mode} {sequence.name}", dynamic_ncols=True,
                   disable=None)  # None: no bar when stderr is not a terminal (logs, CI)
    signals = StopSignals()
    t_start = time.perf_counter()
    worker = threading.Thread(target=_producer, args=(sequence, frontend, n, q, stop, config.realtime_speed, t_start),
                              daemon=True)
    with signals, threadpool_limits(limits=PIPELINE_BLAS_THREADS, user_api="blas"):
        worker.start()
        try:
            while not signals.requested.is_set():
                item = q.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                timestamp = float(sequence.timestamps[item.index])
                if item.error is not None:
                    logger.warning("frame %d skipped: %s", item.index, item.error)
                    skipped.append({"frame": item.index, "reason": item.error})
                    odometry.skip(item.index, timestamp, item.error)
                    status = FrameStatus.SKIPPED
                else:
                    t0 = time.perf_counter()
                    pose, status = odometry.step(item.index, timestamp, item.image, item.frontend)
                    t1 = time.perf_counter()
                    stage_ms["backend"] += (t1 - t0) * 1e3
                    latency_ms.append((t1 - item.arrival_s) * 1e3)
                    stage_ms["decode"] += item.decode_ms
                    stage_ms["frontend"] += item.frontend_ms
                    grey_sum, grey_count = grey_sum + item.mean_grey, grey_count + 1
                    t0 = time.perf_counter()
                    if status in (FrameStatus.KEYFRAME, FrameStatus.RECOVERED):
                        observer.on_keyframe(item.index, pose)
                        if observer.wants_points:  # the map leaves the backend only for a viewer, and
                            # only its new points (odometry.marginalized_points): O(new points) per keyframe
                            observer.on_points(*odometry.window_points(), *odometry.marginalized_points())
                    kps = getattr(item.frontend, "keypoints", None)
                    observer.on_frame(item.index, item.image, pose, kps, status)  # last: it draws the frame
                    stage_ms["observer"] += (time.perf_counter() - t0) * 1e3
                if bar is not None:
                    bar.update(1)
                    elapsed = time.perf_counter() - t_start
                    bar.set_postfix(fps=f"{bar.n / max(elapsed, 1e-9):.1f}", status=str(status))
            odometry.flush()  # the backend's mapping thread finishes its last frames (inside the wall time)
        except KeyboardInterrupt:  # raised by code (an observer), not by our signal handler
            signals.requested.set()
        except Exception as exc:  # keep what was processed, then report the error
            _write_partial(sequence, config, odometry, n, skipped, stage_ms, t_start, writer, exc)
            raise
        finally:
            stop.set()
            while worker.is_alive():  # unblock a producer waiting on a full queue
                try:
                    q.get(timeout=0.05)
                except queue.Empty:
                    pass
            if bar is not None:
                bar.close()
        interrupted = signals.requested.is_set()
        if interrupted:
            logger.warning("interrupted: writing the %d frames processed so far", len(odometry.records()))
        wall_s = time.perf_counter() - t_start
        result = _collect(sequence, config, odometry, n, skipped, stage_ms, wall_s, interrupted,
                          grey_sum / grey_count if grey_count else float("nan"))
        if config.realtime_speed > 0 and latency_ms:
            result.summary["latency_ms"] = latency_summary(latency_ms)
        return _finish(result, sequence, writer, observer, signals)


def _collect(sequence, config, odometry, n_requested, skipped, stage_ms, wall_s, interrupted, mean_grey) -> RunResult:
    records = odometry.records()
    poses = odometry.trajectory()           # one per record; raises on a bookkeeping mismatch
    n_done = len(records)
    if len(poses) != n_done or [r.index for r in records] != list(range(n_done)):
        raise RuntimeError(f"run bookkeeping: {len(poses)} poses for {n_done} frame records")
    statuses = [r.status for r in records]
    n_processed = sum(s is not FrameStatus.SKIPPED for s in statuses)
    xyz, grey = odometry.points()
    started = any(s.has_pose for s in statuses)
    summary: dict[str, Any] = {
        "sequence": sequence.name,
        "sequence_path": str(sequence.path),
        "mode": config.mode,
        "frames": n_done,
        "frames_requested": n_requested,
        "keyframes": len(odometry.keyframes()),
        "tracking_started": started,
        # first input frame with a pose (None: never started); frames before it have none
        "tracking_started_frame": next((i for i, s in enumerate(statuses) if s.has_pose), None),
        "initializing_frames": sum(s is FrameStatus.INITIALIZING for s in statuses),
        "lost_frames": [i for i, s in enumerate(statuses) if s is FrameStatus.LOST],
        # of those, the frames whose tracked rotation was too far from the prediction (tracking.max_rotation_change_deg)
        "rotation_rejected_frames": odometry.rotation_rejected_frames(),
        "recovered_frames": [i for i, s in enumerate(statuses) if s is FrameStatus.RECOVERED],
        "skipped_frames": skipped,
        "status_counts": {s.value: statuses.count(s) for s in FrameStatus},
        "interrupted": interrupted,
        "wall_s": wall_s,
        "fps": n_done / wall_s if wall_s > 0 else 0.0,
        "stage_ms_per_frame": {k: v / max(n_processed, 1) for k, v in stage_ms.items()},
        # the backend's mapping thread (option mapping_thread), beside the "backend" stage; absent without one
        **({"mapping_thread_ms_per_frame": {k: v / max(n_processed, 1) for k, v in mapping.items()}}
           if (mapping := odometry.mapping_timings()) else {}),
        "mean_grey": mean_grey,
        # the camera's height above the road in the trajectory's unit (backend ba.ground_height_*; None: not measured)
        "ground_height": odometry.ground_height(),
        # the trajectory and map are in metres (ba.camera_height, once the road was measured; stays true when
        # the held height is being measured anew at the end, ground_height None)
        "output_in_metres": odometry.in_metres(),
        # the road planes the height hold was given and what it did with them (None: no such backend, f2f)
        "ground_hold": odometry.ground_hold(),
        "points": int(len(xyz)),
        "intrinsics": vars(sequence.intrinsics) if hasattr(sequence.intrinsics, "__dict__") else str(sequence.intrinsics),
        # frames undistorted on reading (a calibration with lens distortion): the lens as calibrated
        "undistorted_from": None if (lens := source_undistorter(sequence)) is None else
        {"intrinsics": vars(lens.source), **lens.distortion.to_dict()},
        "photometric_calibration": None if (photo := getattr(sequence, "photometric", None)) is None else
        {**(photo.source or {}), "exposure_times": getattr(sequence, "exposures", None) is not None},
        "versions": versions(),
        "config": config.to_dict(),
    }
    if n_done and not started:
        summary["failure"] = never_started_message(summary)
    summary["peak_rss_mb"] = peak_rss_mb()  # read last: after versions() and every import of the run
    frame_log = [{"frame": r.index, "timestamp": r.timestamp, "status": r.status.value, **(r.diagnostics or {}),
                  **({"reason": r.reason} if r.reason else {})} for r in records]
    return RunResult(poses, np.asarray(sequence.timestamps[:n_done], np.float64), [s.value for s in statuses],
                     xyz, grey, odometry.keyframes(), summary, frame_log)


def _finish(result: RunResult, sequence, writer: RunOutputWriter | None, observer, signals: StopSignals) -> RunResult:
    """Poses first, then map and summary, then the evaluation (interruptible), then the summary again."""
    summary = result.summary
    if writer is not None:
        writer.write_poses(result)
        writer.write_points(result)
        writer.write_summary(result)
    observer.on_trajectory(result.world_from_cam)
    observer.close()
    gt = sequence.gt_world_from_cam
    n_done = len(result.world_from_cam)
    if gt is not None and n_done >= 2:
        if not summary["tracking_started"]:
            summary["evaluation"] = {"error": "not evaluated: tracking never started"}
        else:
            try:
                with signals.interruptible():
                    summary["evaluation"] = _evaluate(gt[:n_done], result.world_from_cam, result.timestamps,
                                                      in_metres=_output_in_metres(summary))
            except KeyboardInterrupt:
                logger.warning("evaluation interrupted; the poses are written")
                summary["evaluation"] = {"error": "interrupted"}
                summary["interrupted"] = True
    if signals.received:
        summary["signals"] = list(signals.received)
    summary["peak_rss_mb"] = peak_rss_mb()  # again: the evaluation's imports and arrays count too
    if writer is not None and ("evaluation" in summary or signals.received):
        writer.write_summary(result)
    return result


def _write_partial(sequence, config, odometry, n, skipped, stage_ms, t_start, writer, exc) -> None:
    """After an error in the loop: write the frames processed so far, best effort (the error is re-raised)."""
    if writer is None or not odometry.records():
        return
    try:
        result = _collect(sequence, config, odometry, n, skipped, stage_ms, time.perf_counter() - t_start,
                          True, float("nan"))
        result.summary["failure"] = f"run stopped by an error: {exc}"
        writer.write_poses(result)
        writer.write_points(result)
        writer.write_summary(result)
        logger.warning("run stopped by an error; the %d frames processed so far are in %s",
                       len(result.world_from_cam), writer.out)
    except Exception as inner:  # never hide the original error
        logger.warning("could not write the partial outputs: %s", inner)


def _output_in_metres(summary: dict[str, Any]) -> bool:
    """The backend put the trajectory in metres: a camera height was given and the road was measured."""
    return bool(summary.get("output_in_metres"))


def _evaluate(gt: np.ndarray, est: np.ndarray, timestamps: np.ndarray, in_metres: bool = False) -> dict[str, Any]:
    """Scale-aligned scores of the covered frames; with ``in_metres`` also ``"in_metres"``: t_rel, r_rel and
    ATE of the trajectory as output, without alignment (how close its metres are)."""
    from apps.evaluation.evaluate import evaluate_covered

    try:  # the frames the ground truth covers (all, for KITTI)
        out = evaluate_covered(gt, est, align="scale", timestamps=timestamps).to_dict()
    except ValueError as exc:  # e.g. a degenerate (static) estimate cannot be aligned
        logger.warning("evaluation failed: %s", exc)
        return {"error": str(exc)}
    if in_metres:
        raw = evaluate_covered(gt, est, align="none", timestamps=timestamps).to_dict()
        out["in_metres"] = {k: raw.get(k) for k in ("t_rel", "r_rel", "ate_rmse")}
    return out


__all__ = ["run_sequence", "never_started_message", "StopSignals", "check_output_dir", "peak_rss_mb"]
