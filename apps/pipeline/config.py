"""Run configuration (YAML) for `kp3d-vo run`: dataclasses with commented defaults and validation."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from apps.io.yaml_file import read_yaml
from apps.pipeline.f2f import F2FOptions

MODES = ("dsdso", "dso", "f2f")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_DIR = REPO_ROOT / "frontend" / "models" / "shipped"


@dataclass
class RunConfig:
    mode: str = "dsdso"                 # dsdso: networks + backend; dso: backend alone; f2f: KP3D frame-to-frame
    model_dir: str | None = None        # TorchScript frontend folder; None = the shipped models
    width: int = 640                    # processing size: frames (and intrinsics) are resized to this
    height: int = 192
    crop: str = "none"                  # "none" | "center" | "bottom": crop to the aspect before resizing
    top_k: int = 1000                   # keypoints per frame from the network
    # The three DS-DSO inputs, all on by default (the full DS-DSO). With the shipped networks the depth
    # prior is what helps (KITTI 00/02 dev clips: t_rel 5.0/3.4 % -> ~3.7/1.9 %, bench/RESULTS.md); it
    # needs a DepthNet run at its training size and depth calibrated to metres (frontend/models/MODEL_CARD.md).
    depth_prior: bool = True            # dsdso: pass the network depth to the backend as prior
    keypoint_candidates: bool = True    # dsdso: pass the network keypoints as candidate points
    pnp_init: bool = True               # dsdso: keypoint matches + PnP as the tracker's initial pose
    prefetch: int = 4                   # frames decoded + run through the networks ahead of the backend
    backend: dict[str, Any] = field(default_factory=dict)  # dso_bridge options (see dso_bridge docs)
    f2f: F2FOptions = field(default_factory=F2FOptions)

    def check(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.width <= 0 or self.height <= 0 or self.width % 32 or self.height % 32:
            raise ValueError(f"width/height must be positive multiples of 32 (network stride), got "
                             f"{self.width}x{self.height}")
        if self.crop not in ("none", "center", "bottom"):
            raise ValueError(f"crop must be none|center|bottom, got {self.crop!r}")
        if self.top_k <= 0 or self.prefetch < 0:
            raise ValueError("top_k must be > 0 and prefetch >= 0")
        self.f2f.check()

    @property
    def resolved_model_dir(self) -> Path:
        return Path(self.model_dir) if self.model_dir else DEFAULT_MODEL_DIR

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None, **overrides: Any) -> RunConfig:
    """RunConfig from a YAML file (unknown keys are an error naming the file), then overrides (not None)."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        loaded = read_yaml(path, "config file") or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a YAML mapping at top level")
        data.update(loaded)
    data.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path or 'config'}: unknown keys {unknown}; known: {sorted(known)}")
    f2f = data.pop("f2f", None) or {}
    if isinstance(f2f, dict):
        f2f_known = {f.name for f in dataclasses.fields(F2FOptions)}
        bad = sorted(set(f2f) - f2f_known)
        if bad:
            raise ValueError(f"{path or 'config'}: unknown f2f keys {bad}")
        f2f = F2FOptions(**f2f)
    cfg = RunConfig(**data, f2f=f2f)
    cfg.check()
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
