"""Latency of the shipped KeypointNet and DepthNet on one device: eager, TorchScript, fp16, channels_last.

    python3 bench/gpu_timing.py --device cuda --width 640 --height 192 --json OUT.json
    python3 bench/gpu_timing.py --device cpu --iters 3          # the CPU check of bench/gpu_session.sh

Loads the exported TorchScript files of ``--model-dir`` (default ``frontend/models/shipped``) and the
eager networks from their checkpoints (``frontend.json``'s source checkpoints), and times a forward
pass of one grey frame at ``--width x --height`` (both networks at that size; the DepthNet also at its
own input size from ``frontend.json``) for: eager fp32, TorchScript fp32, TorchScript fp32
channels_last, and on CUDA eager fp16 (``.half()``) and TorchScript fp16 (re-traced in half precision),
with ``torch.backends.cudnn.benchmark`` on. CUDA timings synchronise before reading the clock.
Each row: median and minimum milliseconds over ``--iters`` runs after ``--warmup`` runs, and for fp16
the largest difference to fp32 (relative to the fp32 output's range) so a fast but wrong variant shows.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(fn, x, device: torch.device, iters: int, warmup: int) -> tuple[list[float], object]:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        for _ in range(warmup):
            out = fn(x)
        sync()
        times = []
        for _ in range(iters):
            t0 = time.perf_counter()
            out = fn(x)
            sync()
            times.append((time.perf_counter() - t0) * 1e3)
    return [round(statistics.median(times), 3), round(min(times), 3)], out


def _first(out) -> torch.Tensor:
    while isinstance(out, (tuple, list)):
        out = out[0]
    if isinstance(out, dict):
        out = next(iter(out.values()))
    return out.float()


def time_network(name: str, eager: torch.nn.Module, scripted, scripted_cl, width: int, height: int,
                 device: torch.device, iters: int, warmup: int) -> list[dict]:
    x = torch.rand(1, 1, height, width, device=device)
    rows = []
    eager = eager.to(device).eval()
    scripted = scripted.to(device).eval()
    ms, ref = _timed(eager, x, device, iters, warmup)
    ref = _first(ref)
    span = float(ref.max() - ref.min()) or 1.0
    rows.append({"net": name, "size": f"{width}x{height}", "variant": "eager fp32", "ms": ms})
    ms, _ = _timed(scripted, x, device, iters, warmup)
    rows.append({"net": name, "size": f"{width}x{height}", "variant": "torchscript fp32", "ms": ms})
    cl = x.contiguous(memory_format=torch.channels_last)
    ms, _ = _timed(scripted_cl.to(device), cl, device, iters, warmup)
    rows.append({"net": name, "size": f"{width}x{height}", "variant": "torchscript fp32 channels_last", "ms": ms})
    if device.type == "cuda":
        half = eager.half()
        xh = x.half()
        ms, out = _timed(half, xh, device, iters, warmup)
        err = float((_first(out) - ref).abs().max()) / span
        rows.append({"net": name, "size": f"{width}x{height}", "variant": "eager fp16", "ms": ms,
                     "max_rel_diff": round(err, 5)})
        with torch.inference_mode():
            traced = torch.jit.freeze(torch.jit.trace(half, xh, check_trace=False).eval())
        ms, out = _timed(traced, xh, device, iters, warmup)
        err = float((_first(out) - ref).abs().max()) / span
        rows.append({"net": name, "size": f"{width}x{height}", "variant": "torchscript fp16 frozen", "ms": ms,
                     "max_rel_diff": round(err, 5)})
        eager.float()
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default="frontend/models/shipped")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json", help="write the rows (and the device) as JSON")
    args = ap.parse_args(argv)

    from frontend.inference import load_torchscript, read_frontend_meta
    from frontend.models import load_checkpoint
    from frontend.training.adapt import resolve_base_checkpoints

    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("gpu_timing: --device cuda but torch sees no CUDA device")
        torch.backends.cudnn.benchmark = True
    root = Path(args.model_dir)
    meta = read_frontend_meta(root)
    kp_ckpt, depth_ckpt = resolve_base_checkpoints(root, meta)
    rows = []
    depth_in = meta["depth"].get("input", meta["input"])
    for name, ckpt, sizes in (("keypoint", kp_ckpt, [(args.width, args.height)]),
                              ("depth", depth_ckpt, [(args.width, args.height),
                                                     (int(depth_in["width"]), int(depth_in["height"]))])):
        eager, _ = load_checkpoint(ckpt, expected_kind=name)
        for w, h in dict.fromkeys(sizes):
            scripted = load_torchscript(root / meta[name]["file"], device, "freeze", False)
            scripted_cl = load_torchscript(root / meta[name]["file"], device, "freeze", True)
            for row in time_network(name, eager, scripted, scripted_cl, w, h, device, args.iters, args.warmup):
                rows.append(row)
                extra = f"  max rel diff {row['max_rel_diff']}" if "max_rel_diff" in row else ""
                print(f"{row['net']:8s} {row['size']:8s} {row['variant']:32s} median {row['ms'][0]:8.3f} ms  "
                      f"min {row['ms'][1]:8.3f} ms{extra}", flush=True)
    info = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "iters": args.iters, "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
