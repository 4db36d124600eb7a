"""Moving vehicles on the synthetic street: the dynamic objects of real footage (KITTI's oncoming traffic, a
car driving ahead), which a photometric odometry must not mistake for the static scene.

Two kinds, deterministic for a seed and built for every frame in world coordinates (their textures move with
them):

* oncoming cars in the left lane (``ONCOMING_LATERAL`` m from the camera path's centreline), driving against
  the camera at 0.8-1.6 m per frame, each passing the camera at a random frame of the sequence;
* a lead car in the camera's own lane, 11-24 m ahead, its gap to the camera swinging slowly (it brakes and
  pulls away), so it moves in the image but never covers the view.

Nothing comes closer than ~1.4 m horizontally to the camera path: the oncoming lane's inner edge is at
``ONCOMING_LATERAL + CAR_WIDTH / 2``, the lead car's rear stays at least ``LEAD_MIN_GAP`` m ahead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .scene import Scene, _Builder, street_frame

ONCOMING_LATERAL = -2.4     # metres right of the centreline (KITTI drives on the right: oncoming on the left)
CAR_WIDTH = 1.75
LEAD_MIN_GAP = 9.0          # metres from the camera to the lead car's rear, at least


@dataclass(frozen=True)
class _Vehicle:
    lateral: float   # metres right of the centreline
    s0: float        # arc length at frame 0 (oncoming) or mean gap ahead of the camera (lead), metres
    speed: float     # metres per frame along the centreline (oncoming: negative)
    swing: float     # lead car: amplitude of its gap's swing, metres
    period: float    # lead car: frames per swing
    phase: float     # radians
    length: float
    gain: float
    bias: float
    lead: bool


class Traffic:
    """The moving vehicles of a trajectory: ``scene(i)`` is frame ``i``'s vehicles as a :class:`Scene`.

    Args:
        world_from_cam: (N, 4, 4) camera poses of the sequence.
        texture_names: the atlas tile names (``TextureAtlas.names``).
        oncoming: number of oncoming cars passing the camera during the sequence.
        lead_car: a car driving ahead in the camera's lane.
        seed: layout seed; camera_height: metres (the road under the camera, as the static scene's).
    """

    def __init__(self, world_from_cam: np.ndarray, texture_names: tuple[str, ...], *, oncoming: int,
                 lead_car: bool, seed: int, camera_height: float):
        if oncoming < 0:
            raise ValueError(f"oncoming must be >= 0, got {oncoming}")
        poses = np.asarray(world_from_cam, dtype=np.float64)
        self.line, self.sun = street_frame(poses, camera_height)
        self.names = tuple(texture_names)
        road = poses[:, :3, 3] + camera_height * self.line.down
        nearest = cKDTree(self.line.point).query(road)[1]
        self.camera_s = self.line.s[nearest]  # (N,) arc length of each camera on the centreline
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7AFF1C]))
        n = len(poses)
        self.vehicles: list[_Vehicle] = []
        for _ in range(int(oncoming)):
            speed = rng.uniform(0.8, 1.6)
            passing = int(rng.integers(0, n))
            self.vehicles.append(_Vehicle(ONCOMING_LATERAL, float(self.camera_s[passing]) + speed * passing, -speed,
                                          0.0, 1.0, 0.0, rng.uniform(3.8, 4.6), rng.uniform(0.6, 1.3),
                                          rng.uniform(-20.0, 20.0), False))
        if lead_car:
            self.vehicles.append(_Vehicle(0.0, rng.uniform(15.0, 20.0), 0.0, rng.uniform(2.0, 4.0),
                                          rng.uniform(60.0, 150.0), rng.uniform(0.0, 2 * np.pi),
                                          rng.uniform(3.8, 4.6), rng.uniform(0.6, 1.3), rng.uniform(-20.0, 20.0), True))

    def __len__(self) -> int:
        return len(self.vehicles)

    def centre_s(self, i: int) -> np.ndarray:
        """(V,) arc lengths of the vehicles' centres at frame ``i`` (metres along the centreline)."""
        out = []
        for v in self.vehicles:
            if v.lead:
                gap = max(v.s0 + v.swing * np.sin(2 * np.pi * i / v.period + v.phase), LEAD_MIN_GAP)
                out.append(self.camera_s[i] + gap + 0.5 * v.length)
            else:
                out.append(v.s0 + v.speed * i)
        return np.array(out, dtype=np.float64)

    def scene(self, i: int) -> Scene | None:
        """Frame ``i``'s vehicles (None when none is on the modelled road)."""
        b = _Builder(self.names, self.line.down, self.sun)
        for v, s in zip(self.vehicles, self.centre_s(i)):
            if not 0.0 <= s <= self.line.length:
                continue
            p, t, r = self.line.at(s)
            fwd = -t if v.speed < 0 else t
            b.car(p + v.lateral * r, fwd, np.cross(self.line.down, fwd), v.length, CAR_WIDTH, gain=v.gain,
                  bias=v.bias)
        return b.build(self.line.down, self.line.point) if b.rows else None
