"""Synthetic KITTI-format sequences with exact depth: street scenes rendered along any trajectory.

Public API::

    from apps.synth import SynthOptions, render_sequence, make_trajectory, load_kitti_trajectory
    poses = make_trajectory("kitti-like", 100, seed=0)          # (N, 4, 4) world_from_cam
    seq_dir = render_sequence("out", poses, None, SynthOptions(seed=0), name="00")

Modules: ``textures`` (mip-mapped texture atlas), ``scene`` (street geometry along a path),
``render`` (exact-depth rasteriser), ``effects`` (noise, exposure, blur, vignetting),
``trajectory`` (generated and KITTI trajectories), ``sequence`` (the writer), ``consistency``
(re-projection check of rendered frames).
Imports are lazy so that ``import apps.synth`` stays cheap.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "SynthOptions": "sequence", "render_sequence": "sequence", "FrameRenderer": "sequence",
    "kitti_intrinsics": "sequence", "SYNTH_VERSION": "sequence",
    "make_trajectory": "trajectory", "load_kitti_trajectory": "trajectory", "TRAJECTORY_KINDS": "trajectory",
    "smooth_road_profile": "trajectory",
    "level_revisits": "trajectory",
    "Renderer": "render", "RenderOptions": "render", "Scene": "scene", "build_scene": "scene",
    "reproject": "consistency",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
