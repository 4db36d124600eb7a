"""Write a synthetic KITTI-layout sequence: images, exact depth, calibration, times, poses.

Layout written by :func:`render_sequence` (``N`` = number of poses)::

    out_root/sequences/<name>/image_0/000000.png ...  (H, W) uint8 grey frames
    out_root/sequences/<name>/depth_0/000000.npy ...  (H, W) float32 z-depth in metres, 0 = sky (no surface)
    out_root/sequences/<name>/calib.txt               P0 = P2 = K [I | 0]; P1 = P3 = K [I | (-baseline, 0, 0)]
                                                      (KITTI-like stereo baseline; only camera 0 is rendered)
    out_root/sequences/<name>/times.txt               i / frame_rate seconds
    out_root/sequences/<name>/synth.json              version, options, intrinsics, per-frame exposure
    out_root/sequences/<name>/vignette.png            (only with vignetting) V(x) * 255, uint8
    out_root/poses/<name>.txt                         world_from_cam, KITTI format
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from apps.io.atomic import atomic_open, atomic_write_bytes, atomic_write_text
from apps.io.camera import Intrinsics
from apps.io.trajectory import check_poses, write_kitti_poses
from frontend.common.paths import check_folder_name, require_writable_dir

from . import effects
from .render import Renderer, RenderOptions
from .scene import build_scene, concat_scenes
from .textures import build_atlas, build_tiles
from .traffic import Traffic

log = logging.getLogger(__name__)

SYNTH_VERSION = "1.0"
RENDER_ROTATION_TOL = 1e-4  # max |R^T R - I| and |det R - 1| of a pose to render

# KITTI odometry sequence 00, camera 0 (P0), at 1241 x 376.
KITTI_INTRINSICS = Intrinsics(fx=718.856, fy=718.856, cx=607.1928, cy=185.2157, width=1241, height=376)


def kitti_intrinsics(width: int = 640, height: int = 192) -> Intrinsics:
    """KITTI 00 camera-0 intrinsics scaled to ``width`` x ``height``."""
    return KITTI_INTRINSICS.scaled(width, height)


@dataclass(frozen=True)
class SynthOptions:
    """Options of a synthetic sequence. Same options and poses -> byte-identical output."""

    width: int = 640              # image size when no explicit intrinsics are given (KITTI K scaled)
    height: int = 192
    seed: int = 0                 # scene layout, procedural textures, noise and exposure drift
    noise: float = 0.0            # Gaussian image noise, standard deviation in grey levels
    exposure: float = 0.0         # per-frame exposure drift: std of log gain (bias std = 20 x this)
    blur: float = 0.0             # motion blur: shutter time as a fraction of the frame interval, [0, 1]
    blur_samples: int = 5         # sub-frame renders averaged when blur > 0
    vignetting: float = 0.0       # V(x) = 1 - vignetting * (r / r_corner)^2, in [0, 1)
    camera_height: float = 1.65   # metres of the camera above the road (KITTI: 1.65)
    corridor: float = 3.5         # metres of horizontal clearance around the path (no objects inside)
    max_distance: float = 150.0   # metres; geometry farther away is not drawn
    lod_bias: float = 0.0         # texture mip-level bias (> 0 blurrier, < 0 sharper/aliasing)
    antialias: int = 1            # supersampling factor of intensities (1 = off; 2 = 2x2, ~5x slower);
                                  # depth is always the exact value at each pixel centre
    frame_rate: float = 10.0      # Hz, for times.txt
    baseline: float = 0.54        # metres, stereo baseline written into P1/P3 of calib.txt
    jobs: int = 1                 # worker processes
    traffic: int = 0              # oncoming cars passing the camera (moving objects; apps/synth/traffic.py)
    lead_car: bool = False        # a car driving ahead in the camera's lane

    def check(self) -> None:
        if not (16 <= int(self.width) <= 8192 and 16 <= int(self.height) <= 8192):
            raise ValueError(f"SynthOptions: width/height must be in [16, 8192], got {self.width}x{self.height}")
        checks = [("noise", self.noise >= 0), ("exposure", 0 <= self.exposure <= 2),
                  ("blur", 0 <= self.blur <= 1), ("blur_samples", 1 <= self.blur_samples <= 64),
                  ("vignetting", 0 <= self.vignetting < 1), ("camera_height", 0.2 <= self.camera_height <= 10),
                  ("max_distance", self.max_distance > 1), ("frame_rate", self.frame_rate > 0),
                  ("baseline", self.baseline >= 0), ("jobs", self.jobs >= 1), ("lod_bias", abs(self.lod_bias) <= 4),
                  ("antialias", self.antialias in (1, 2, 3, 4)), ("traffic", 0 <= self.traffic <= 1000)]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"SynthOptions.{name} out of range: {getattr(self, name)!r} "
                                 "(see the comments in apps/synth/sequence.py)")

    def render_options(self) -> RenderOptions:
        return RenderOptions(max_distance=self.max_distance, lod_bias=self.lod_bias)


class FrameRenderer:
    """Builds textures and the scene for a trajectory once, then renders its frames with effects."""

    def __init__(self, world_from_cam: np.ndarray, intrinsics: Intrinsics, options: SynthOptions):
        self.poses, self.intrinsics, self.options = world_from_cam, intrinsics, options
        self.atlas = build_atlas(build_tiles(options.seed))
        self.scene = build_scene(world_from_cam, self.atlas.names, seed=options.seed,
                                 camera_height=options.camera_height, corridor=options.corridor)
        self.traffic = (Traffic(world_from_cam, self.atlas.names, oncoming=options.traffic, lead_car=options.lead_car,
                                seed=options.seed, camera_height=options.camera_height)
                        if options.traffic > 0 or options.lead_car else None)
        self.renderer, self.fine = self._renderers(self.scene)  # the static street
        self.gain, self.bias = effects.exposure_drift(len(world_from_cam), options.exposure, options.seed)
        self.vignette = (effects.vignette(intrinsics.height, intrinsics.width, options.vignetting)
                         if options.vignetting > 0 else None)

    def _renderers(self, scene) -> tuple[Renderer, Renderer | None]:
        """The renderer of ``scene`` and, with supersampling, its fine one."""
        options, intrinsics, aa = self.options, self.intrinsics, self.options.antialias
        # The fine renderer filters textures for the output resolution (mip bias log2(aa)), so
        # supersampling only smooths polygon edges and does not let texture detail alias back.
        fine_opts = dataclasses.replace(options.render_options(), lod_bias=options.lod_bias + float(np.log2(aa)))
        fine = (Renderer(scene, self.atlas, intrinsics.scaled(intrinsics.width * aa, intrinsics.height * aa),
                         fine_opts) if aa > 1 else None)
        return Renderer(scene, self.atlas, intrinsics, options.render_options()), fine

    def frame(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``i``: ``(image (H, W) uint8, depth (H, W) float32 metres, 0 = no surface)``."""
        opt = self.options
        pose = self.poses[i]
        vehicles = self.traffic.scene(i) if self.traffic is not None else None
        renderer, fine = (self.renderer, self.fine) if vehicles is None else \
            self._renderers(concat_scenes(self.scene, vehicles))  # this frame's cars, still during its shutter
        blur = opt.blur > 0 and opt.blur_samples > 1
        if fine is None and not blur:
            radiance, depth = renderer.render(pose)
        else:
            depth = renderer.render_depth(pose)
            subs = effects.blur_poses(self.poses, i, opt.blur, opt.blur_samples) if blur else pose[None]
            radiance = np.mean([self._radiance(renderer, fine, p) for p in subs], axis=0, dtype=np.float32)
        image = effects.finish(radiance, i, gain=float(self.gain[i]), bias=float(self.bias[i]),
                               vignette_map=self.vignette, noise=opt.noise, seed=opt.seed)
        return image, depth

    def _radiance(self, renderer: Renderer, fine_renderer: Renderer | None, pose: np.ndarray) -> np.ndarray:
        if fine_renderer is None:
            return renderer.render(pose)[0]
        # Supersampled: box-filter the fine image; pixel centres match (Intrinsics.scaled convention).
        fine = fine_renderer.render(pose)[0]
        size = (self.intrinsics.width, self.intrinsics.height)
        return cv2.resize(fine, size, interpolation=cv2.INTER_AREA)


def _write_frames(seq_dir: Path, frames: FrameRenderer, indices: range) -> None:
    for i in indices:
        image, depth = frames.frame(i)
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise RuntimeError(f"PNG encoding failed for frame {i}")
        atomic_write_bytes(seq_dir / "image_0" / f"{i:06d}.png", png.tobytes())
        with atomic_open(seq_dir / "depth_0" / f"{i:06d}.npy", "wb") as f:
            np.save(f, depth, allow_pickle=False)
        if i % 50 == 0:
            log.info("synth: frame %d / %d", i, len(frames.poses))


def _worker(seq_dir: str, poses: np.ndarray, intrinsics: Intrinsics, options: SynthOptions, start: int,
            stop: int) -> None:
    # Each worker rebuilds the (deterministic) scene rather than receiving it pickled.
    _write_frames(Path(seq_dir), FrameRenderer(poses, intrinsics, options), range(start, stop))


def _remove_stale(folder: Path, suffix: str, n: int) -> None:
    """Delete frames numbered >= n left by an earlier, longer run into the same folder."""
    for p in folder.glob(f"*{suffix}"):
        if re.fullmatch(r"\d{6}", p.stem) and int(p.stem) >= n:
            p.unlink()


def render_sequence(out_root: str | os.PathLike, world_from_cam: np.ndarray, intrinsics: Intrinsics | None = None,
                    options: SynthOptions | None = None, name: str = "00") -> Path:
    """Render ``world_from_cam: (N, 4, 4)`` into a KITTI-layout sequence; returns the sequence folder.

    intrinsics: the camera; None -> KITTI 00 P0 scaled to ``options.width`` x ``options.height``
    (given intrinsics take precedence over the options' size). See the module docstring for the
    files written; every file is written atomically.
    """
    options = options or SynthOptions()
    options.check()
    poses = check_poses(world_from_cam, "world_from_cam", min_poses=1, rigid=True, rotation_tol=RENDER_ROTATION_TOL)
    check_folder_name(name, "sequence name")
    if intrinsics is None:
        intrinsics = kitti_intrinsics(options.width, options.height)
    if not isinstance(intrinsics, Intrinsics):
        raise ValueError(f"intrinsics must be an apps.io.camera.Intrinsics or None, got {type(intrinsics).__name__}")
    out_root = require_writable_dir(out_root, "output root")  # before rendering, not at the first frame
    seq_dir = out_root / "sequences" / name
    n = len(poses)
    for sub, suffix in (("image_0", ".png"), ("depth_0", ".npy")):
        (seq_dir / sub).mkdir(parents=True, exist_ok=True)
        _remove_stale(seq_dir / sub, suffix, n)

    jobs = min(options.jobs, n)
    if jobs <= 1:
        frames = FrameRenderer(poses, intrinsics, options)
        _write_frames(seq_dir, frames, range(n))
        gain, bias, vign = frames.gain, frames.bias, frames.vignette
    else:
        bounds = np.linspace(0, n, jobs + 1).astype(int)
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_worker, str(seq_dir), poses, intrinsics, options, int(a), int(b))
                       for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
            for f in futures:
                f.result()
        gain, bias = effects.exposure_drift(n, options.exposure, options.seed)
        vign = (effects.vignette(intrinsics.height, intrinsics.width, options.vignetting)
                if options.vignetting > 0 else None)
    _write_metadata(out_root, seq_dir, name, poses, intrinsics, options, gain, bias, vign)
    return seq_dir


def _write_metadata(out_root: Path, seq_dir: Path, name: str, poses: np.ndarray, intrinsics: Intrinsics,
                    options: SynthOptions, gain: np.ndarray, bias: np.ndarray, vign: np.ndarray | None) -> None:
    from apps.io.kitti import write_calib, write_times

    P0 = np.hstack([intrinsics.K, np.zeros((3, 1))])
    P1 = P0.copy()
    P1[0, 3] = -intrinsics.fx * options.baseline
    write_calib(seq_dir / "calib.txt", {"P0": P0, "P1": P1, "P2": P0, "P3": P1})
    write_times(seq_dir / "times.txt", np.arange(len(poses)) / options.frame_rate)
    write_kitti_poses(out_root / "poses" / f"{name}.txt", poses)
    if vign is not None:
        ok, png = cv2.imencode(".png", np.clip(np.rint(vign * 255.0), 0, 255).astype(np.uint8))
        atomic_write_bytes(seq_dir / "vignette.png", png.tobytes())
    meta = {
        "generator": "kp3d-vo synth",
        "version": SYNTH_VERSION,
        "options": {k: v for k, v in dataclasses.asdict(options).items() if k != "jobs"},
        "intrinsics": dataclasses.asdict(intrinsics),
        "n_frames": int(len(poses)),
        "depth": "depth_0/*.npy: (H, W) float32 z-depth in metres along the optical axis; 0 = sky, no surface",
        "image_model": "I = clip(round(gain_i * V(x) * L(x) + bias_i + noise)), V = 1 - vignetting * (r/r_corner)^2",
        "exposure": {"gain": [float(g) for g in gain], "bias": [float(b) for b in bias]},
    }
    atomic_write_text(seq_dir / "synth.json", json.dumps(meta, indent=1) + "\n")
