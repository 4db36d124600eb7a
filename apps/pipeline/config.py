"""Run configuration (YAML) for `kp3d-vo run`: dataclasses with commented defaults and validation."""
from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.pipeline.f2f import INT32_MAX, PNP_SOLVERS, F2FOptions
from frontend.common.typed_config import load_yaml_dataclass

logger = logging.getLogger(__name__)

MODES = ("dsdso", "dso", "f2f")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_DIR = REPO_ROOT / "frontend" / "models" / "shipped"


@dataclass
class RunConfig:
    mode: str = "dsdso"                 # dsdso: networks + backend; dso: backend alone; f2f: KP3D frame-to-frame
    model_dir: str | None = None        # TorchScript frontend folder; None = the shipped models
    # Processing size: frames (and intrinsics) are resized to it; multiples of 32 where the networks run,
    # any size in pure DSO (e.g. KITTI's native 1241x376).
    width: int = 640
    height: int = 192
    crop: str = "none"                  # "none" | "center" | "bottom": crop to the aspect before resizing
    top_k: int = 1000                   # keypoints per frame from the network
    # The three DS-DSO inputs. The depth prior gives metric scale and shapes new points; its scale is
    # followed slowly on the window's road points, or the nearest prior points without a road plane
    # (backend ba.prior_scale_gain / prior_scale_ground / prior_scale_near_fraction), until the camera's
    # height above the road is known in the map's unit; from then on that height holds the scale
    # (ba.ground_height_*; bench/RESULTS.md: KITTI 00 / 02 t_rel 1.28 / 1.16 %, validation 07 ATE
    # 0.43 m against pure dso's 1.10 m). It needs a DepthNet run at its
    # training size with depth calibrated to metres (frontend/models/MODEL_CARD.md). The shipped
    # KeypointNet's points as backend candidates cost accuracy (KITTI 02 r_rel 0.45 -> 1.11 deg/100m,
    # 3 seeds; 07 unchanged), so they are off by default; the keypoints still give the PnP initial pose.
    depth_prior: bool = True            # dsdso: pass the network depth to the backend as prior
    keypoint_candidates: bool = False   # dsdso: pass the network keypoints as candidate points
    pnp_init: bool = True               # dsdso: keypoint matches + PnP as the tracker's initial pose
    # The PnP initial pose matches the best pnp_top_k keypoints of consecutive frames and runs RANSAC with
    # pnp_solver, pnp_iterations and pnp_reprojection_px (the f2f section's other options apply). 500 + P3P
    # against 1000 + EPnP: 31 vs 44 CPU s on KITTI 02 [0:300]; OpenCV's USAC (MSAC score) against its
    # classic P3P RANSAC: 30-32 vs 34-37 CPU s there (the PnP 25 -> ~10 ms per frame). Up to 500
    # hypotheses (USAC stops at 0.999 confidence, so only fast motion uses more than 200) and 3 px: 02 at
    # every 3rd frame 4.15 -> 3.13 % over 7 seeds, 02 RPE-1 0.088 -> 0.075 m (bench/RESULTS.md).
    pnp_top_k: int = 500
    pnp_solver: str = "usac"            # "usac" | "usac-magsac" | "p3p" | "epnp" (apps.pipeline.f2f.PNP_SOLVERS)
    pnp_iterations: int = 500           # RANSAC hypotheses at most
    pnp_reprojection_px: float = 3.0    # RANSAC inlier threshold, pixels at the processing size
    # The two networks in two threads (the DepthNet beside the KeypointNet), same outputs: +10-15 % fps on
    # 2 cores (bench/RESULTS.md).
    parallel_networks: bool = True
    prefetch: int = 4                   # frames decoded + run through the networks ahead of the backend
    # > 0: frames arrive as from a live camera, at this multiple of their timestamps' rate (1.0 = the camera's
    # own), and summary.json reports each frame's latency (arrival to pose); 0: as fast as they are processed.
    realtime_speed: float = 0.0
    # Metres from the camera to the road. With it the backend puts its map and poses in metres once it has
    # measured the road in the map's unit (backend ba.camera_height, ba.ground_height_*; dsdso and dso).
    # None: the sequence's own when its source states one
    # (KITTI layout: 1.65 m, a render's synth.json), else the depth prior's unit; 0: the prior's unit.
    # A backend ba.camera_height in this config wins. KITTI 00 / 02 / 07 and their clip variants: fitted
    # scale (GT / estimate) 1.00-1.03 against 0.99-1.37 in the prior's unit (bench/RESULTS.md).
    camera_height: float | None = None
    backend: dict[str, Any] = field(default_factory=dict)  # dso_bridge options (see dso_bridge docs)
    f2f: F2FOptions = field(default_factory=F2FOptions)

    def check(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"width/height must be positive, got {self.width}x{self.height}")
        if self.frontend_outputs() and (self.width % 32 or self.height % 32):  # pure DSO: any size
            raise ValueError(f"width/height must be multiples of 32 (network stride) when the networks run "
                             f"(mode {self.mode!r}), got {self.width}x{self.height}")
        if self.crop not in ("none", "center", "bottom"):
            raise ValueError(f"crop must be none|center|bottom, got {self.crop!r}")
        if self.top_k <= 0 or self.prefetch < 0 or self.pnp_top_k <= 0:
            raise ValueError("top_k and pnp_top_k must be > 0 and prefetch >= 0")
        if not 0 < self.pnp_iterations <= INT32_MAX or not 0 < self.pnp_reprojection_px < math.inf:
            raise ValueError(f"pnp_iterations must be in 1..{INT32_MAX} and pnp_reprojection_px a finite number > 0, "
                             f"got {self.pnp_iterations} and {self.pnp_reprojection_px}")
        if not (math.isfinite(self.realtime_speed) and self.realtime_speed >= 0):
            raise ValueError(f"realtime_speed must be >= 0 (0 = as fast as possible), got {self.realtime_speed}")
        if self.camera_height is not None and not (math.isfinite(self.camera_height) and self.camera_height >= 0):
            raise ValueError(f"camera_height must be >= 0 metres (0 = the depth prior's unit, None = the "
                             f"sequence's own), got {self.camera_height}")
        if self.pnp_solver not in PNP_SOLVERS:
            raise ValueError(f"pnp_solver must be one of {tuple(PNP_SOLVERS)}, got {self.pnp_solver!r}")
        self.f2f.check()

    def frontend_outputs(self) -> tuple[str, ...]:
        """The networks this run reads (``frontend.inference.OUTPUTS`` names); empty in dso mode.

        The KeypointNet runs only where its keypoints are used (f2f; dsdso with ``pnp_init`` or
        ``keypoint_candidates``), the DepthNet where depth is (f2f; dsdso with ``depth_prior`` or ``pnp_init``).
        """
        if self.mode == "dso":
            return ()
        if self.mode == "f2f":
            return ("keypoints", "depth")
        out = []
        if self.pnp_init or self.keypoint_candidates:
            out.append("keypoints")
        if self.depth_prior or self.pnp_init:
            out.append("depth")
        return tuple(out)

    @property
    def resolved_model_dir(self) -> Path:
        return Path(self.model_dir) if self.model_dir else DEFAULT_MODEL_DIR

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None, **overrides: Any) -> RunConfig:
    """RunConfig from a YAML file, then overrides (not None); types, keys and ranges checked.

    Errors name the file and the key (``config.yaml: width: expected int, got str '640'``).
    """
    cfg = load_yaml_dataclass(RunConfig, path, "config file", overrides=overrides)
    try:
        cfg.check()
    except ValueError as exc:
        raise ValueError(f"{path or 'config'}: {exc}") from None
    if cfg.backend and cfg.mode != "f2f":
        from dso_bridge.options import options_from_dict  # the backend's own option types and ranges

        try:
            options_from_dict(cfg.backend)
        except ValueError as exc:
            raise ValueError(f"{path or 'config'}: backend: {exc}") from None
    return cfg


def with_model_depth_prior(config: RunConfig, frontend_meta: dict[str, Any] | None) -> RunConfig:
    """``config`` with the depth network's own prior uncertainty for the backend.

    ``frontend.json``'s ``depth.prior_relative_sigma`` (sigma(depth)/depth of that network, written by
    ``kp3d-vo export --depth-prior-sigma``) becomes ``backend.points.default_prior_relative_sigma``
    unless the run config sets that option itself. Returns a new config; the input is not modified.
    """
    sigma = ((frontend_meta or {}).get("depth") or {}).get("prior_relative_sigma")
    points = dict((config.backend or {}).get("points") or {})
    if sigma is None or "default_prior_relative_sigma" in points:
        return config
    points["default_prior_relative_sigma"] = float(sigma)
    return dataclasses.replace(config, backend={**config.backend, "points": points})


def with_camera_height(config: RunConfig, sequence_camera_height: float | None) -> RunConfig:
    """``config`` with the camera's height above the road for the backend (``backend.ba.camera_height``).

    ``config.camera_height`` (None: ``sequence_camera_height``, the height the sequence's source states,
    e.g. KITTI's 1.65 m) unless the run config sets the backend option itself. Only for the backend
    modes; returns a new config (the input is not modified) or ``config`` when there is nothing to set.
    """
    height = config.camera_height if config.camera_height is not None else sequence_camera_height
    ba = dict((config.backend or {}).get("ba") or {})
    held = config.mode != "f2f" and ba.get("ground_height_samples", 1) != 0
    if config.camera_height and not held:  # asked for by the user, to no effect: say so
        logger.warning("camera_height %g m has no effect here: the backend measures the road's height only in "
                       "modes dsdso and dso with ba.ground_height_samples > 0 (this run: mode %s); the output is in "
                       "the %s's unit", config.camera_height, config.mode,
                       "network" if config.mode == "f2f" else "map")
    if config.mode == "f2f" or not height or "camera_height" in ba:
        return config
    ba["camera_height"] = float(height)
    return dataclasses.replace(config, backend={**config.backend, "ba": ba})
