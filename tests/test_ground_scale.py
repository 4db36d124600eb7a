"""Metric scale from the camera height: plane fit on renders with known height, degenerate input, wrapper."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from frontend.ground_scale import (GroundScaledFrontend, GroundScaleOptions, fit_ground_plane, ground_scale_spec,
                                   maybe_ground_scaled)


def _K(width: int = 320, height: int = 96) -> np.ndarray:
    from apps.synth import kitti_intrinsics

    return kitti_intrinsics(width, height).K


def _plane_depth(K: np.ndarray, height_m: float, pitch_deg: float = 0.0, width: int = 320, rows: int = 96,
                 far: float = 80.0) -> np.ndarray:
    """Exact depth of a flat road ``height_m`` below the camera (camera pitched down by pitch_deg); 0 above it."""
    ys, xs = np.mgrid[0:rows, 0:width].astype(np.float64)
    rays = np.stack([(xs - K[0, 2]) / K[0, 0], (ys - K[1, 2]) / K[1, 1], np.ones_like(xs)], axis=-1)
    a = np.radians(pitch_deg)
    normal = np.array([0.0, np.cos(a), -np.sin(a)])      # road normal in the camera frame, pointing down
    denom = rays @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denom > 1e-6, height_m / denom, 0.0)
    return np.where((z > 0) & (z < far), z, 0.0).astype(np.float32)


@pytest.mark.parametrize("height_m,pitch_deg,unit", [(1.65, 0.0, 1 / 40), (2.4, 2.0, 3.0), (1.2, -1.5, 0.01)])
def test_flat_road_gives_the_exact_factor(height_m, pitch_deg, unit):
    K = _K()
    depth = _plane_depth(K, height_m, pitch_deg) * unit       # the network's unit: metres x unit
    fit = fit_ground_plane(depth, K, GroundScaleOptions(camera_height=height_m))
    assert fit is not None and fit.inlier_fraction > 0.95
    assert height_m / fit.distance == pytest.approx(1 / unit, rel=1e-3)
    assert np.degrees(np.arccos(fit.normal[1])) == pytest.approx(abs(pitch_deg), abs=0.05)


def test_road_with_objects_and_noise():
    rng = np.random.default_rng(3)
    K = _K()
    depth = _plane_depth(K, 1.65) * np.exp(rng.normal(0, 0.01, (96, 320))).astype(np.float32)
    depth[55:85, 120:170] = 9.0                               # a car in front: a fronto-parallel wall
    fit = fit_ground_plane(depth * 0.02, K)
    assert fit is not None
    assert 1.65 / fit.distance == pytest.approx(50.0, rel=0.02)


@pytest.mark.parametrize("name,depth", [
    ("empty", np.zeros((96, 320), np.float32)),
    ("nan", np.full((96, 320), np.nan, np.float32)),
    ("constant (a wall)", np.full((96, 320), 7.0, np.float32)),
    ("a vertical wall on the side", None),
    ("few pixels", None),
])
def test_degenerate_input_gives_no_estimate(name, depth):
    K = _K()
    if name == "a vertical wall on the side":
        xs = np.arange(320, dtype=np.float64)
        x_metres = 2.0                                        # wall 2 m to the right: z = 2 fx / (u - cx)
        with np.errstate(divide="ignore"):
            z = np.where(xs > K[0, 2] + 1, x_metres * K[0, 0] / (xs - K[0, 2]), 0.0)
        depth = np.tile(z, (96, 1)).astype(np.float32)
    elif name == "few pixels":
        depth = np.zeros((96, 320), np.float32)
        depth[80, 150:155] = _plane_depth(K, 1.65)[80, 150:155]
    assert fit_ground_plane(depth, K) is None, name


def test_bad_arguments_raise():
    K = _K()
    with pytest.raises(ValueError, match="depth"):
        fit_ground_plane(np.zeros((2, 3, 4), np.float32), K)
    with pytest.raises(ValueError, match="camera_height"):
        GroundScaleOptions(camera_height=-1).check()
    with pytest.raises(ValueError, match="unknown keys"):
        GroundScaleOptions.from_dict({"camera_hieght": 1.5})
    with pytest.raises(ValueError, match="ground_scale"):
        ground_scale_spec("yes")


def test_rendered_road_with_known_height():
    """Exact depth of the project's renderer (road, curbs, sidewalks, façades, cars) at two camera heights:
    the median per-frame factor is within 3 % of the truth, every frame with an estimate within 10 %."""
    from apps.synth import FrameRenderer, SynthOptions, kitti_intrinsics, make_trajectory

    intr = kitti_intrinsics(256, 96)
    traj = make_trajectory("kitti-like", 24, seed=5)
    for height_m, unit in ((1.65, 1 / 60), (2.3, 1 / 45)):
        renderer = FrameRenderer(traj, intr, SynthOptions(width=256, height=96, seed=5, camera_height=height_m))
        opts = GroundScaleOptions(camera_height=height_m)
        factors = []
        for i in range(0, len(traj), 3):
            fit = fit_ground_plane(renderer.renderer.render_depth(traj[i]) * unit, intr.K, opts)
            if fit is not None:
                factors.append(height_m / fit.distance)
        assert len(factors) >= 6
        assert np.median(factors) == pytest.approx(1 / unit, rel=0.03), (height_m, factors)
        assert np.all(np.abs(np.array(factors) * unit - 1) < 0.10), (height_m, factors)


@dataclass
class _Out:
    depth: np.ndarray
    keypoints: np.ndarray


class _FakeFrontend:
    def __init__(self, depths, meta=None):
        self.depths, self.meta, self.calls = depths, meta, 0

    def __call__(self, image):
        d = self.depths[self.calls]
        self.calls += 1
        return _Out(d, np.zeros((0, 2), np.float32))


def test_wrapper_uses_the_running_median_and_keeps_the_unit_without_a_plane():
    K = _K()
    road = _plane_depth(K, 1.65)
    units = [0.5, 0.5, None, 0.4, 0.5]                       # None: a frame with no road
    depths = [road * u if u else np.full_like(road, 3.0) for u in units]
    fe = GroundScaledFrontend(_FakeFrontend(depths), K, GroundScaleOptions(window=3))
    outs = [fe(np.zeros((96, 320), np.uint8)) for _ in units]
    est = fe.factors
    assert est[2] is None and all(e is not None for i, e in enumerate(est) if i != 2)
    assert [round(e, 3) for e in est if e is not None] == pytest.approx([2.0, 2.0, 2.5, 2.0], abs=0.01)
    # frame 2 keeps the factor of frames 0-1; frame 4: median of the last three estimates (2.0, 2.5, 2.0)
    assert np.median(outs[2].depth / 3.0) == pytest.approx(2.0, rel=1e-3)
    assert np.nanmedian(outs[3].depth[road > 0] / road[road > 0]) == pytest.approx(0.4 * 2.0, rel=0.01)
    assert np.nanmedian(outs[4].depth[road > 0] / road[road > 0]) == pytest.approx(0.5 * 2.0, rel=0.01)
    assert outs[0].depth.dtype == np.float32
    assert fe.summary()["frames_with_plane"] == 4 and fe.summary()["factor"] == pytest.approx(2.0, rel=0.01)


def test_maybe_ground_scaled_follows_frontend_json_and_the_run_config():
    K = _K()
    plain = _FakeFrontend([], meta={"depth": {}})
    assert maybe_ground_scaled(plain, K) is plain
    on = _FakeFrontend([], meta={"depth": {"ground_scale": {"camera_height": 1.5}}})
    wrapped = maybe_ground_scaled(on, K)
    assert isinstance(wrapped, GroundScaledFrontend) and wrapped.options.camera_height == 1.5
    assert maybe_ground_scaled(wrapped, K) is wrapped                     # never twice
    assert maybe_ground_scaled(on, K, False) is on                        # the run config switches it off
    forced = maybe_ground_scaled(plain, K, True)                           # ... or on, with defaults
    assert isinstance(forced, GroundScaledFrontend) and forced.options.camera_height == 1.65
    assert maybe_ground_scaled(plain, K, {"camera_height": 2.0}).options.camera_height == 2.0


def test_set_ground_scale_edits_frontend_json_only(tmp_path):
    import json

    from frontend.ground_scale import set_ground_scale

    (tmp_path / "frontend.json").write_text(json.dumps({"depth": {"file": "depth_net.pt"}}))
    set_ground_scale(tmp_path, {"camera_height": 1.7})
    meta = json.loads((tmp_path / "frontend.json").read_text())
    assert meta["depth"]["file"] == "depth_net.pt" and meta["depth"]["ground_scale"]["camera_height"] == 1.7
    set_ground_scale(tmp_path, False)
    assert "ground_scale" not in json.loads((tmp_path / "frontend.json").read_text())["depth"]
    with pytest.raises(FileNotFoundError, match="frontend.json"):
        set_ground_scale(tmp_path / "missing", True)
