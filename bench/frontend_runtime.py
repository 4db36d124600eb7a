"""CPU cost per frame of the shipped frontend runtime, per network and per TorchScript setting.

    .venv/bin/python bench/frontend_runtime.py [SEQUENCE_DIR] [--model-dir DIR] [--frames 40]
        [--threads 1 2] [--json OUT]

Runs ``FrontendRuntime`` (the exported networks the pipeline uses) on real frames at 640x192 and
reports, per setting (torch threads x channels_last x optimize), the *process* CPU milliseconds
(``time.process_time``: every torch worker thread counted) and the wall milliseconds per frame for

* ``keypoint``: the KeypointNet alone, ``depth``: the DepthNet alone (networks only, tensors in);
* ``runtime``: ``FrontendRuntime.__call__`` (both networks + top-k + depth post-processing).

CPU ms is the number to compare on a shared machine (wall ms there is an upper bound). Median over
``--frames`` frames after 3 warm-up frames.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SEQ = REPO.parent / "shared" / "data" / "kitti" / "sequences" / "02"


def _measure(fn, inputs) -> dict:
    for x in inputs[:3]:
        fn(x)
    cpu, wall = [], []
    for x in inputs:
        c0, w0 = time.process_time(), time.perf_counter()
        fn(x)
        cpu.append((time.process_time() - c0) * 1e3)
        wall.append((time.perf_counter() - w0) * 1e3)
    return {"cpu_ms": statistics.median(cpu), "wall_ms": statistics.median(wall), "cpu_ms_min": min(cpu)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sequence", nargs="?", type=Path, default=DEFAULT_SEQ, help="KITTI sequence folder")
    p.add_argument("--model-dir", type=Path, default=None, help="exported frontend (default: shipped)")
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    import torch

    from apps.io.sequence import open_sequence
    from apps.pipeline.config import DEFAULT_MODEL_DIR
    from frontend.inference import FrontendRuntime

    seq = open_sequence(args.sequence, resize=(640, 192), max_frames=args.frames)
    frames = [seq.image(i) for i in range(len(seq))]
    model_dir = args.model_dir or DEFAULT_MODEL_DIR
    rows = []
    for threads, channels_last, optimize in itertools.product(args.threads, (True, False),
                                                              ("freeze", "optimize_for_inference", "none")):
        rt = FrontendRuntime(model_dir, device="cpu", num_threads=threads, channels_last=channels_last,
                             optimize=optimize)
        kp_in = [rt._to_input(rt._resize(rt.check_image(f), rt.input_size)) for f in frames]
        d_in = [rt._to_input(rt._resize(rt.check_image(f), rt.depth_input_size)) for f in frames]
        row = {"threads": threads, "channels_last": channels_last, "optimize": optimize}
        with torch.inference_mode():
            row["keypoint"] = _measure(rt.keypoint_net, kp_in)
            row["depth"] = _measure(rt.depth_net, d_in)
        row["runtime"] = _measure(rt, frames)
        rows.append(row)
        print(f"threads {threads} channels_last {channels_last!s:5} {optimize:22} " + "  ".join(
            f"{k} cpu {row[k]['cpu_ms']:6.1f} ms wall {row[k]['wall_ms']:6.1f} ms"
            for k in ("keypoint", "depth", "runtime")), flush=True)
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"torch {torch.__version__}, frames {len(frames)} of {args.sequence}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
