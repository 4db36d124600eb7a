"""Frontend latency per frame (keypoints + depth) on CPU: variants x TorchScript settings.

    .venv/bin/python bench/frontend.py [--threads 2] [--width 640 --height 192] [--iters 20] [--json OUT]

For each variant (resnet18, light; random weights -- latency does not depend on the values) the
networks are exported to a temporary model folder and timed as:

* ``eager``: the PyTorch modules (keypoint + depth networks only);
* ``ts``: the TorchScript modules as loaded (networks only);
* ``ts+opt``: after ``torch.jit.optimize_for_inference`` (networks only);
* ``ts+cl`` / ``ts+opt+cl``: channels_last weights and input, without / with optimize_for_inference;
* ``ts+freeze+cl``: channels_last + ``torch.jit.freeze`` (the runtime's default), and the two networks
  alone in that setting (``keypoint``, ``depth``);
* ``runtime``: ``FrontendRuntime.__call__`` on a (H, W) uint8 frame of the network size (default
  settings), i.e. networks + top-k + descriptor sampling + numpy conversion.

``--cpu-time`` measures the calling thread's CPU time instead of wall time: with ``--threads 1`` this
is the compute cost per frame, insensitive to other processes on a shared machine.

Milliseconds per frame, ``median/min`` over ``--iters`` runs after 3 warm-up runs. The machine load
is recorded: on a shared machine the medians are upper bounds and the minima the better estimate.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.io.atomic import atomic_write_text  # noqa: E402
from frontend.export import ExportOptions, export_frontend  # noqa: E402
from frontend.inference import FrontendRuntime, load_torchscript  # noqa: E402
from frontend.models import build_depth_net, build_keypoint_net, load_config_file  # noqa: E402

VARIANTS = {"resnet18": ("keypoint_resnet18", "depth_resnet18"), "light": ("keypoint_light", "depth_light")}


CLOCK = {"wall": time.perf_counter, "cpu": time.thread_time}


def _time_ms(fn, iters: int, clock: str = "wall") -> list[float]:
    """``[median, min]`` milliseconds of ``fn()`` over ``iters`` runs after 3 warm-up runs."""
    now = CLOCK[clock]
    for _ in range(3):
        fn()
    times = []
    for _ in range(iters):
        t0 = now()
        fn()
        times.append((now() - t0) * 1e3)
    return [round(statistics.median(times), 1), round(min(times), 1)]


def _load(path: Path, optimize: str, channels_last: bool):
    return load_torchscript(path, torch.device("cpu"), optimize, channels_last)


def bench_variant(name: str, width: int, height: int, iters: int, workdir: Path, clock: str = "wall") -> dict:
    kp_cfg, depth_cfg = (load_config_file(c) for c in VARIANTS[name])
    torch.manual_seed(0)
    kp, dp = build_keypoint_net(kp_cfg).eval(), build_depth_net(depth_cfg).eval()
    model_dir = workdir / name
    export_frontend(kp, dp, model_dir, ExportOptions(width=width, height=height))
    meta = json.loads((model_dir / "frontend.json").read_text())
    x = torch.rand(1, 1, height, width)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    row = {"params_M": round(sum(p.numel() for m in (kp, dp) for p in m.parameters()) / 1e6, 2),
           "size_MB": round((meta["keypoint"]["bytes"] + meta["depth"]["bytes"]) / 1e6, 1)}
    with torch.inference_mode():
        row["eager"] = _time_ms(lambda: (kp(x), dp(x)), iters, clock)
        for label, opt, cl in (("ts", "none", False), ("ts+opt", "optimize_for_inference", False),
                               ("ts+cl", "none", True), ("ts+opt+cl", "optimize_for_inference", True),
                               ("ts+freeze+cl", "freeze", True)):
            k, d = _load(model_dir / "keypoint_net.pt", opt, cl), _load(model_dir / "depth_net.pt", opt, cl)
            inp = x_cl if cl else x
            row[label] = _time_ms(lambda: (k(inp), d(inp)), iters, clock)
            if label == "ts+freeze+cl":
                row["keypoint"] = _time_ms(lambda: k(inp), iters, clock)
                row["depth"] = _time_ms(lambda: d(inp), iters, clock)
    runtime = FrontendRuntime(model_dir, device="cpu")
    frame = (np.random.default_rng(0).random((height, width)) * 255).astype(np.uint8)
    row["runtime"] = _time_ms(lambda: runtime(frame), iters, clock)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--iters", type=int, default=20, help="timed runs per setting (median)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the calling thread's CPU clock (use with --threads 1)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    clock = "cpu" if args.cpu_time else "wall"
    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants:
            results[name] = bench_variant(name, args.width, args.height, args.iters, Path(tmp), clock)
    cols = ["params_M", "size_MB", "eager", "ts", "ts+opt", "ts+cl", "ts+opt+cl", "ts+freeze+cl", "keypoint",
            "depth", "runtime"]
    print(f"frontend {clock} time, ms/frame (median/min of {args.iters}), {args.width}x{args.height}, "
          f"{args.threads} threads, torch {torch.__version__}, load avg {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"{'variant':10s}" + "".join(f"{c:>16s}" for c in cols))
    for name, row in results.items():
        cells = [f"{v[0]}/{v[1]}" if isinstance(v, list) else str(v) for v in (row[c] for c in cols)]
        print(f"{name:10s}" + "".join(f"{c:>16s}" for c in cells))
    if args.json:
        payload = {"results": results, "width": args.width, "height": args.height, "threads": args.threads,
                   "iters": args.iters, "clock": clock, "torch": torch.__version__, "machine": platform.machine(),
                   "processor": platform.processor(), "cpu_count": os.cpu_count(),
                   "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
