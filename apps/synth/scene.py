"""A textured street scene generated along a camera trajectory (KITTI convention, y down).

The scene is a list of planar, textured polygons (triangles or quads; boxes are 5 quads) in
world coordinates. It is generated along the road centreline under the camera path (the camera
is ``camera_height`` above the road, "down" is the mean camera y axis), extended straight
beyond both ends of the trajectory so that the view ahead is never empty:

* ground: asphalt road (|lateral| <= ROAD_HALF), raised sidewalks with curbs, and a ground belt
  from the centreline out to FAR_GROUND metres, slightly lower than the road so that the road
  wins the depth test where they (or strips of different streets, at turns and revisits)
  overlap, and the belt fills the gaps at inner corners; lane markings slightly above the road;
* façades: vertical quads at varying setbacks and heights with gaps, cross-street openings and
  side walls, some with posters;
* parked cars (body + cabin boxes), poles and trees (trunk + canopy boxes).

Nothing except the ground comes closer than ``corridor`` metres horizontally to any point of
the (extended) camera path, checked against the whole path with a k-d tree, so any trajectory,
including ones that turn and revisit streets, drives through free space.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.spatial import cKDTree

from .textures import FACADE_TEXTURES, POSTER_TEXTURES, TILE

# Street layout, metres (lateral offsets are positive to the right of the direction of travel).
ROAD_HALF = 5.5         # asphalt from -ROAD_HALF to +ROAD_HALF around the camera path
SIDEWALK = 3.0          # sidewalk width beyond the road edge
CURB = 0.12             # sidewalk height above the road
FAR_GROUND = 70.0       # lateral extent of the ground belt
FAR_DROP = 0.15         # the ground belt lies this much below the road (road wins where they overlap)
BELT_SLOPE = 0.03       # beyond the sidewalk the belt also falls away by this much per metre
BELT_STATIONS = (0.0, ROAD_HALF + SIDEWALK, 25.0, FAR_GROUND)  # lateral vertices of the belt strips
PAINT_LIFT = 0.005      # lane markings above the road
CENTRE_LINE = -1.75     # dashed centre line (the camera drives in the right lane)
EXTENSION = 120.0       # straight road added before the first and after the last camera, metres

# Primitive kinds.
GROUND, MARKING, OBJECT = 0, 1, 2


@dataclass(frozen=True)
class Scene:
    """Planar textured polygons. P primitives, each with 3 or 4 vertices (a triangle repeats its last).

    verts: (P, 4, 3) float64 world points; n_verts: (P,) int; normal: (P, 3) unit plane normal
    (outward for box faces, towards the road for façades); offset: (P,) with normal . X = offset;
    tex_s, tex_t: (P, 4) affine texture maps, texel s = tex_s[:3] . X + tex_s[3] (level-0 texels,
    repeating every TILE); tile: (P,) int atlas tile; gain, bias: (P,) intensity = gain * texel + bias
    (gain includes Lambertian shading); closed: (P,) bool, back-face cullable; kind: (P,) int
    (GROUND, MARKING, OBJECT); centre: (P, 3), radius: (P,) bounding spheres; down: (3,) unit world
    down; path: (M, 3) road centreline samples (extended camera path on the road).
    """

    verts: np.ndarray
    n_verts: np.ndarray
    normal: np.ndarray
    offset: np.ndarray
    tex_s: np.ndarray
    tex_t: np.ndarray
    tile: np.ndarray
    gain: np.ndarray
    bias: np.ndarray
    closed: np.ndarray
    kind: np.ndarray
    centre: np.ndarray
    radius: np.ndarray
    down: np.ndarray
    path: np.ndarray

    def __len__(self) -> int:
        return int(self.verts.shape[0])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


class _Builder:
    """Accumulates primitives; computes planes, shading and texture maps."""

    def __init__(self, names: tuple[str, ...], down: np.ndarray, sun: np.ndarray):
        self.names, self.down, self.sun = names, down, sun
        self.rows: list[tuple] = []

    def polygon(self, verts, tile: str, s_axis, t_axis, origin, *, ppm_s: float, ppm_t: float,
                s_off: float = 0.0, t_off: float = 0.0, gain: float = 1.0, bias: float = 0.0,
                kind: int = OBJECT, facing=None, closed: bool = False) -> None:
        """Add a planar polygon (3 or 4 vertices, made exactly planar by projection, <= mm moves).

        Texture: s = ppm_s * s_axis . (X - origin) + s_off, t likewise. ``facing``: a direction the
        normal should point to (outward / towards the viewer side); shading uses it.
        """
        v = np.asarray(verts, dtype=np.float64)
        c = v.mean(axis=0)
        # Newell normal, robust for slightly non-planar quads.
        n = np.zeros(3)
        for i in range(len(v)):
            a, b = v[i], v[(i + 1) % len(v)]
            n += np.array([(a[1] - b[1]) * (a[2] + b[2]), (a[2] - b[2]) * (a[0] + b[0]), (a[0] - b[0]) * (a[1] + b[1])])
        norm = np.linalg.norm(n)
        if norm < 1e-9:
            return  # degenerate
        n /= norm
        if facing is not None and n @ facing < 0:
            n = -n
        v = v - np.outer((v - c) @ n, n)
        lit = float(n @ self.sun)
        shade = 0.55 + 0.55 * (max(0.0, lit) if facing is not None else abs(lit))
        s_axis, t_axis, origin = (np.asarray(x, dtype=np.float64) for x in (s_axis, t_axis, origin))
        tex_s = np.append(ppm_s * s_axis, s_off - ppm_s * (s_axis @ origin))
        tex_t = np.append(ppm_t * t_axis, t_off - ppm_t * (t_axis @ origin))
        padded = np.vstack([v, v[-1:]]) if len(v) == 3 else v
        self.rows.append((padded, len(v), n, float(n @ c), tex_s, tex_t, self.names.index(tile),
                          gain * shade, bias, closed, kind, c, float(np.linalg.norm(v - c, axis=1).max())))

    def cell(self, a0, b0, b1, a1, tile: str, mapping: dict, kind: int) -> None:
        """A strip cell: one quad when planar within 1 mm, otherwise two triangles."""
        n = np.cross(b0 - a0, b1 - a0)
        if np.linalg.norm(n) > 1e-9 and abs(_unit(n) @ (a1 - a0)) <= 1e-3:
            self.polygon([a0, b0, b1, a1], tile, kind=kind, facing=-self.down, **mapping)
        else:
            self.polygon([a0, b0, b1], tile, kind=kind, facing=-self.down, **mapping)
            self.polygon([a0, b1, a1], tile, kind=kind, facing=-self.down, **mapping)

    def box(self, base_centre, fwd, right, length: float, width: float, height: float, *, side: str,
            top: str, end: str, gain: float, bias: float, ppm: float | None = None) -> None:
        """A box standing on ``base_centre`` (5 outward-facing quads, no bottom).

        Texture mapping: each face shows one whole tile when ``ppm`` is None, else ``ppm`` texels/m.
        """
        up = -self.down
        fwd = _unit(fwd - (fwd @ self.down) * self.down)
        right = _unit(np.cross(self.down, fwd))
        hl, hw = 0.5 * length, 0.5 * width
        b = np.asarray(base_centre, dtype=np.float64)
        faces = [  # (centre of face, outward normal, s axis, half extent along s, half extent along t, tile)
            (b + hw * right + 0.5 * height * up, right, fwd, hl, 0.5 * height, side),
            (b - hw * right + 0.5 * height * up, -right, fwd, hl, 0.5 * height, side),
            (b + hl * fwd + 0.5 * height * up, fwd, right, hw, 0.5 * height, end),
            (b - hl * fwd + 0.5 * height * up, -fwd, right, hw, 0.5 * height, end),
        ]
        for fc, out, s_ax, hs, ht, tile in faces:
            corners = [fc - hs * s_ax + ht * up, fc + hs * s_ax + ht * up, fc + hs * s_ax - ht * up,
                       fc - hs * s_ax - ht * up]
            ps, pt = (TILE / (2 * hs), TILE / (2 * ht)) if ppm is None else (ppm, ppm)
            self.polygon(corners, tile, s_ax, self.down, corners[0], ppm_s=ps, ppm_t=pt, gain=gain, bias=bias,
                         facing=out, closed=True)
        tc = b + height * up
        corners = [tc - hl * fwd - hw * right, tc + hl * fwd - hw * right, tc + hl * fwd + hw * right,
                   tc - hl * fwd + hw * right]
        ps, pt = (TILE / length, TILE / width) if ppm is None else (ppm, ppm)
        self.polygon(corners, top, fwd, right, corners[0], ppm_s=ps, ppm_t=pt, gain=gain, bias=bias, facing=up,
                     closed=True)

    def car(self, centre, fwd, right, length: float, width: float, *, gain: float, bias: float) -> None:
        """A car standing on ``centre``: a 0.95 m body and a glass cabin, textured on the car itself."""
        self.box(centre, fwd, right, length, width, 0.95, side="car", top="glass", end="concrete", gain=gain,
                 bias=bias)
        cabin = np.asarray(centre) - 0.95 * self.down - 0.08 * length * np.asarray(fwd)
        self.box(cabin, fwd, right, 0.55 * length, width - 0.2, 0.5, side="glass", top="concrete", end="glass",
                 gain=gain, bias=bias)

    def build(self, down: np.ndarray, path: np.ndarray) -> Scene:
        if not self.rows:
            raise ValueError("scene is empty")
        cols = list(zip(*self.rows))
        return Scene(verts=np.array(cols[0]), n_verts=np.array(cols[1], np.int64), normal=np.array(cols[2]),
                     offset=np.array(cols[3]), tex_s=np.array(cols[4]), tex_t=np.array(cols[5]),
                     tile=np.array(cols[6], np.int64), gain=np.array(cols[7], np.float64),
                     bias=np.array(cols[8], np.float64), closed=np.array(cols[9], bool),
                     kind=np.array(cols[10], np.int64), centre=np.array(cols[11]), radius=np.array(cols[12]),
                     down=down, path=path)


class _Centreline:
    """The road centreline under the camera path, resampled every ``step`` m and extended at both ends."""

    def __init__(self, world_from_cam: np.ndarray, camera_height: float, step: float = 1.0):
        self.down = _unit(world_from_cam[:, :3, 1].mean(axis=0))
        self.step = step
        road = world_from_cam[:, :3, 3] + camera_height * self.down
        keep = np.concatenate([[True], np.linalg.norm(np.diff(road, axis=0), axis=1) > 1e-3])
        road = road[keep]
        dirs = [self._horizontal(world_from_cam[0, :3, 2]), self._horizontal(world_from_cam[-1, :3, 2])]
        seg = np.linalg.norm(np.diff(road, axis=0), axis=1)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        if cum[-1] > 2.0:  # direction of travel over the first / last few metres
            dirs[0] = self._horizontal(road[np.searchsorted(cum, min(3.0, cum[-1]))] - road[0])
            dirs[1] = self._horizontal(road[-1] - road[np.searchsorted(cum, max(cum[-1] - 3.0, 0.0))])
        k = np.arange(int(EXTENSION / step), 0, -1)[:, None] * step
        poly = np.vstack([road[0] - k * dirs[0], road, road[-1] + k[::-1] * dirs[1]])
        cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(poly, axis=0), axis=1))])
        self.s = np.arange(0.0, cum[-1] + 1e-9, step)
        self.point = np.stack([np.interp(self.s, cum, poly[:, i]) for i in range(3)], -1)
        tangent = np.gradient(self.point, axis=0)
        tangent = uniform_filter1d(tangent, size=5, axis=0, mode="nearest")
        self.tangent = _unit(tangent - np.outer(tangent @ self.down, self.down))
        self.right = _unit(np.cross(self.down, self.tangent))
        dtan = np.gradient(self.tangent, axis=0) / step
        kappa = uniform_filter1d(np.einsum("ij,ij->i", dtan, self.right), size=5, mode="nearest")
        big = maximum_filter1d(np.abs(kappa), size=11, mode="nearest")
        self.kappa = np.sign(kappa) * big  # signed (positive: turning right), conservative magnitude
        e1 = self._horizontal(world_from_cam[0, :3, 0])
        self.horizontal_basis = np.stack([e1, np.cross(self.down, e1)])  # (2, 3)

    def _horizontal(self, v: np.ndarray) -> np.ndarray:
        v = v - (v @ self.down) * self.down
        n = np.linalg.norm(v)
        return v / n if n > 1e-9 else _unit(np.cross(self.down, [1.0, 0.0, 0.0]))

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def at(self, s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Road point, unit tangent and unit right vector at arc length ``s``."""
        i = float(np.clip(s / self.step, 0.0, len(self.s) - 1.0))
        i0 = min(int(i), len(self.s) - 2)
        f = i - i0
        p = (1 - f) * self.point[i0] + f * self.point[i0 + 1]
        t = _unit((1 - f) * self.tangent[i0] + f * self.tangent[i0 + 1])
        return p, t, _unit(np.cross(self.down, t))

    def lateral(self, i: np.ndarray, offset: float, clamp: bool = True) -> np.ndarray:
        """Points at lateral ``offset`` from samples ``i``, pulled in on the inside of tight curves (``clamp``)."""
        if not clamp:
            return self.point[i] + offset * self.right[i]
        k = self.kappa[i]
        inner = offset * k > 0
        limit = 0.85 / np.maximum(np.abs(k), 1e-9)
        off = np.where(inner, np.sign(offset) * np.minimum(abs(offset), limit), offset)
        return self.point[i] + off[:, None] * self.right[i]

    def simplified(self, tol_lateral: float = 0.04, tol_height: float = 0.02, max_len: float = 24.0) -> np.ndarray:
        """Indices of samples such that the path between them stays within tolerance of the chords."""
        n, idx, i = len(self.s), [0], 0
        max_span = max(1, int(max_len / self.step))
        while i < n - 1:
            j = i + 1
            while j + 1 < n and j + 1 - i <= max_span:
                a, b = self.point[i], self.point[j + 1]
                mid = self.point[i + 1:j + 1] - a
                d = _unit(b - a)
                resid = mid - np.outer(mid @ d, d)
                if np.abs(resid @ self.down).max() > tol_height or \
                        np.linalg.norm(resid - np.outer(resid @ self.down, self.down), axis=1).max() > tol_lateral:
                    break
                j += 1
            idx.append(j)
            i = j
        return np.asarray(idx)


class _Clearance:
    """Horizontal distance to the extended camera path (k-d tree over 0.25 m samples)."""

    def __init__(self, line: _Centreline):
        self.basis = line.horizontal_basis
        cum = line.s
        fine = np.arange(0.0, cum[-1] + 1e-9, 0.25)
        self.points = np.stack([np.interp(fine, cum, line.point[:, i]) for i in range(3)], -1)
        self.down = line.down
        self.tree = cKDTree(self.points @ self.basis.T)

    def on_terrain(self, points: np.ndarray, drop: np.ndarray) -> np.ndarray:
        """Move ``points: (K, 3)`` vertically to the road height of the nearest path point, plus ``drop`` m down."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        _, k = self.tree.query(p @ self.basis.T)
        dz = (self.points[k] - p) @ self.down + np.asarray(drop, dtype=np.float64)
        return p + dz[:, None] * self.down

    def ok(self, points: np.ndarray, clearance: float) -> bool:
        """True when every point (K, 3) (and the segments between consecutive ones) is >= clearance away."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        dense = [p]
        for a, b in zip(p[:-1], p[1:]):  # sample segments every 0.5 m
            m = int(np.linalg.norm(b - a) / 0.5)
            if m > 0:
                f = (np.arange(1, m + 1) / (m + 1))[:, None]
                dense.append(a + f * (b - a))
        d, _ = self.tree.query(np.vstack(dense) @ self.basis.T)
        return bool(d.min() >= clearance)


def belt_drop(lateral: float) -> float:
    """Depth in metres of the ground belt below the road at ``lateral`` metres from the path."""
    return FAR_DROP + BELT_SLOPE * max(0.0, abs(lateral) - ROAD_HALF - SIDEWALK)


def _ground(b: _Builder, line: _Centreline, clear: _Clearance, rng: np.random.Generator) -> None:
    """Road, sidewalks, curbs, the ground belt, lane markings and road patches."""
    up = -line.down
    e1, e2 = line.horizontal_basis
    idx = line.simplified()

    def ground_map(ppm: float) -> dict:  # world-horizontal planar mapping, continuous across strips
        return dict(s_axis=e1, t_axis=e2, origin=np.zeros(3), ppm_s=ppm, ppm_t=ppm, s_off=rng.uniform(0, TILE),
                    t_off=rng.uniform(0, TILE))

    road, walk, far = ground_map(TILE / 4.0), ground_map(TILE / 4.0), ground_map(TILE / 12.0)
    kerb = ROAD_HALF + SIDEWALK
    strips = [  # (points at the inner edge, points at the outer edge, tile, mapping, clearance from path)
        (line.lateral(idx, -ROAD_HALF), line.lateral(idx, ROAD_HALF), "asphalt", road, None),
        (line.lateral(idx, ROAD_HALF) + CURB * up, line.lateral(idx, kerb) + CURB * up, "paving", walk,
         ROAD_HALF - 0.1),
        (line.lateral(idx, -kerb) + CURB * up, line.lateral(idx, -ROAD_HALF) + CURB * up, "paving", walk,
         ROAD_HALF - 0.1),
    ]
    # The ground belt: from under the road out to FAR_GROUND, not pulled in on the inside of curves
    # (it may fold over itself there, unseen), so it fills whatever the clearance test removed.
    # Its vertices follow the road height of the nearest point of the whole path, FAR_DROP below
    # and falling away beyond the sidewalk, so it stays under other streets' roads where belts
    # overlap them (turns, revisits, parallel streets on a slope).
    idx_belt = line.simplified(tol_lateral=0.5, tol_height=0.1, max_len=40.0)
    for side in (1.0, -1.0):
        ring = [clear.on_terrain(line.lateral(idx_belt, side * lat, clamp=False), belt_drop(lat))
                for lat in BELT_STATIONS]
        for inner, outer in zip(ring[:-1], ring[1:]):
            strips.append((inner, outer, "grass", far, None) if side > 0 else (outer, inner, "grass", far, None))
    for a, c, tile, mapping, clearance in strips:
        for j in range(len(a) - 1):
            if np.linalg.norm(c[j] - a[j]) < 0.05 and np.linalg.norm(c[j + 1] - a[j + 1]) < 0.05:
                continue
            if clearance is not None and not clear.ok(np.array([a[j], a[j + 1], c[j], c[j + 1]]), clearance):
                continue
            b.cell(a[j], c[j], c[j + 1], a[j + 1], tile, mapping, GROUND)
    # Curb faces (vertical, facing the road) on both sides.
    curb_map = dict(s_axis=e1, t_axis=line.down, origin=np.zeros(3), ppm_s=TILE / 3.0, ppm_t=TILE / 3.0)
    for side in (1.0, -1.0):
        bottom = line.lateral(idx, side * ROAD_HALF)
        top = bottom + CURB * up
        for j in range(len(idx) - 1):
            quad = np.array([top[j], top[j + 1], bottom[j + 1], bottom[j]])
            if clear.ok(quad, ROAD_HALF - 0.1):
                b.polygon(quad, "concrete", facing=-side * line.right[idx[j]], kind=GROUND, **curb_map)
    # Lane markings: dashed centre line and solid parking-lane lines.
    paint = dict(s_axis=e1, t_axis=e2, origin=np.zeros(3), ppm_s=TILE / 2.0, ppm_t=TILE / 2.0)
    for lat in (ROAD_HALF - 2.0, -(ROAD_HALF - 2.0)):
        a = line.lateral(idx, lat - 0.06) + PAINT_LIFT * up
        c = line.lateral(idx, lat + 0.06) + PAINT_LIFT * up
        for j in range(len(idx) - 1):
            b.cell(a[j], c[j], c[j + 1], a[j + 1], "paint", paint, MARKING)
    s = rng.uniform(0.0, 9.0)
    while s + 3.0 < line.length:
        pts = []
        for si in (s, s + 3.0):
            p, _, r = line.at(si)
            pts.append((p + (CENTRE_LINE - 0.07) * r + PAINT_LIFT * up, p + (CENTRE_LINE + 0.07) * r + PAINT_LIFT * up))
        b.cell(pts[0][0], pts[0][1], pts[1][1], pts[1][0], "paint", paint, MARKING)
        s += 9.0
    # Repair patches and manhole covers on the asphalt (texture for VO on the road surface).
    s = rng.uniform(0.0, 10.0)
    while s + 4.0 < line.length:
        length = rng.uniform(0.8, 4.0)
        lat, width = rng.uniform(-ROAD_HALF + 0.5, ROAD_HALF - 1.5), rng.uniform(0.8, 2.5)
        tile = "concrete" if rng.random() < 0.5 else "coins"
        corners = []
        for si in (s, s + length):
            p, _, r = line.at(si)
            corners.append((p + lat * r + 0.5 * PAINT_LIFT * up, p + (lat + width) * r + 0.5 * PAINT_LIFT * up))
        patch = dict(s_axis=e1, t_axis=e2, origin=np.zeros(3), ppm_s=TILE / 2.5, ppm_t=TILE / 2.5,
                     s_off=rng.uniform(0, TILE), t_off=rng.uniform(0, TILE), gain=rng.uniform(0.5, 0.8))
        b.cell(corners[0][0], corners[0][1], corners[1][1], corners[1][0], tile, patch, MARKING)
        s += rng.uniform(6.0, 20.0)


# Texels per metre of the façade textures (horizontal, vertical).
_FACADE_PPM = {"facade_a": TILE / 7.0, "facade_b": TILE / 10.5, "facade_c": TILE / 7.0, "bricks": TILE / 2.4,
               "brick": TILE / 3.0, "stripes": TILE / 5.0, "concrete": TILE / 6.0}


def _facades(b: _Builder, line: _Centreline, clear: _Clearance, rng: np.random.Generator, side: float) -> None:
    """Buildings along one side (+1 right, -1 left) of the road."""
    down, up = line.down, -line.down
    min_setback = ROAD_HALF + SIDEWALK
    s = rng.uniform(0.0, 10.0)
    while s < line.length:
        if rng.random() < 0.08:  # cross-street opening
            s += rng.uniform(14.0, 24.0)
            continue
        length = rng.uniform(8.0, 24.0)
        setback = min_setback + rng.uniform(0.0, 3.0)
        height = rng.uniform(5.0, 16.0)
        tile = str(rng.choice(FACADE_TEXTURES))
        ppm = _FACADE_PPM[tile]
        gain, bias = rng.uniform(0.75, 1.2), rng.uniform(-15.0, 15.0)
        t_off, acc = rng.uniform(0, TILE), rng.uniform(0, TILE)
        # Split the front into straight pieces short enough to follow curves (sagitta <= 0.15 m).
        i0, i1 = int(s / line.step), min(int((s + length) / line.step) + 1, len(line.s) - 1)
        kmax = np.abs(line.kappa[i0:i1 + 1]).max(initial=0.0) + 1e-9
        piece = float(np.clip(np.sqrt(8 * 0.15 / kmax), 2.0, length))
        edges = np.linspace(s, s + length, int(np.ceil(length / piece)) + 1)
        fronts = []
        for sa, sb in zip(edges[:-1], edges[1:]):
            pa, _, ra = line.at(sa)
            pb, _, rb = line.at(sb)
            a, c = pa + side * setback * ra, pb + side * setback * rb
            if not clear.ok(np.array([a, c]), min_setback - 0.1):
                acc += ppm * np.linalg.norm(c - a)
                continue
            axis = _unit(c - a)
            sink = belt_drop(setback) + 0.3  # down into the ground belt
            quad = [a + sink * down, c + sink * down, c - height * down, a - height * down]
            b.polygon(quad, tile, axis, down, a, ppm_s=ppm, ppm_t=ppm, s_off=acc, t_off=t_off, gain=gain,
                      bias=bias, facing=-side * ra)
            fronts.append((a, c, ra, rb))
            acc += ppm * np.linalg.norm(c - a)
        if fronts:
            depth = rng.uniform(6.0, 15.0)
            for (corner, r, toward) in ((fronts[0][0], fronts[0][2], 1.0), (fronts[-1][1], fronts[-1][3], -1.0)):
                back = corner + side * depth * r
                if clear.ok(np.array([corner, back]), min_setback - 0.1):
                    _, t, _ = line.at(s if toward > 0 else s + length)
                    sinks = belt_drop(setback) + 0.3, belt_drop(setback + depth) + 0.3
                    b.polygon([corner + sinks[0] * down, back + sinks[1] * down, back - height * down,
                               corner - height * down], tile,
                              _unit(back - corner), down, corner, ppm_s=ppm, ppm_t=ppm, t_off=t_off, gain=gain,
                              bias=bias, facing=-toward * t)
            if rng.random() < 0.35:  # a poster on one piece of the front
                a, c, r, _ = fronts[int(rng.integers(len(fronts)))]
                span = np.linalg.norm(c - a)
                w, h = min(rng.uniform(2.0, 4.0), 0.9 * span), rng.uniform(1.5, 2.5)
                if w > 1.0:
                    axis = _unit(c - a)
                    start = a + axis * rng.uniform(0.0, span - w) - side * 0.05 * r
                    bottom = rng.uniform(0.8, 2.0)
                    p0 = start + bottom * up
                    quad = [p0 + h * up, p0 + w * axis + h * up, p0 + w * axis, p0]
                    b.polygon(quad, str(rng.choice(POSTER_TEXTURES)), axis, down, quad[0], ppm_s=TILE / w,
                              ppm_t=TILE / h, facing=-side * r)
        s += length + (rng.uniform(0.5, 4.0) if rng.random() < 0.6 else 0.0)


def _street_furniture(b: _Builder, line: _Centreline, clear: _Clearance, rng: np.random.Generator,
                      side: float, corridor: float) -> None:
    """Parked cars in the parking lane, poles and trees on the sidewalk of one side."""
    s = rng.uniform(0.0, 8.0)
    while s < line.length:
        if rng.random() < 0.5:
            s += rng.uniform(4.0, 15.0)
            continue
        length, width = rng.uniform(3.8, 4.6), 1.75
        p, t, r = line.at(s + 0.5 * length)
        yaw = np.deg2rad(rng.uniform(-4.0, 4.0))
        fwd = np.cos(yaw) * t + np.sin(yaw) * r
        centre = p + side * (ROAD_HALF - 0.95 + rng.uniform(-0.15, 0.1)) * r
        right = _unit(np.cross(line.down, fwd))
        foot = [centre + sl * 0.5 * length * fwd + sw * 0.5 * width * right for sl in (-1, 1) for sw in (-1, 1)]
        if clear.ok(np.array(foot)[[0, 1, 3, 2, 0]], corridor):
            b.car(centre, fwd, right, length, width, gain=rng.uniform(0.6, 1.3), bias=rng.uniform(-20.0, 20.0))
        s += length + rng.uniform(0.8, 5.0)
    s = rng.uniform(0.0, 20.0)
    while s < line.length:
        p, t, r = line.at(s)
        if rng.random() < 0.5:  # pole
            base = p + side * (ROAD_HALF + 0.5) * r
            if clear.ok(base[None], ROAD_HALF - 0.1):
                b.box(base, t, r, 0.16, 0.16, rng.uniform(5.0, 8.0), side="stripes", top="concrete", end="stripes",
                      gain=rng.uniform(0.7, 1.1), bias=0.0, ppm=TILE / 1.5)
        else:  # tree: trunk and canopy
            base = p + side * (ROAD_HALF + 2.0) * r
            size = rng.uniform(2.0, 3.0)
            foot = [base + a * 0.5 * size * t + c * 0.5 * size * r for a in (-1, 1) for c in (-1, 1)]
            if clear.ok(np.array(foot)[[0, 1, 3, 2, 0]], ROAD_HALF - 0.1):
                trunk = rng.uniform(2.4, 3.2)
                b.box(base, t, r, 0.3, 0.3, trunk + 0.2, side="bricks", top="foliage", end="bricks", gain=0.6,
                      bias=0.0, ppm=TILE / 1.0)
                b.box(base - trunk * line.down, t, r, size, size, rng.uniform(1.6, 2.6), side="foliage",
                      top="foliage", end="foliage", gain=rng.uniform(0.8, 1.2), bias=0.0, ppm=TILE / 3.0)
        s += rng.uniform(12.0, 30.0)


def street_frame(world_from_cam: np.ndarray, camera_height: float) -> tuple[_Centreline, np.ndarray]:
    """The road centreline under the camera path and the sun's unit direction of its scene."""
    line = _Centreline(world_from_cam, camera_height)
    e1, e2 = line.horizontal_basis
    return line, _unit(-0.8 * line.down + 0.45 * e1 + 0.3 * e2)


def concat_scenes(a: Scene, b: Scene) -> Scene:
    """The primitives of ``a`` then ``b`` (``a``'s down and road path)."""
    fields = [f for f in Scene.__dataclass_fields__ if f not in ("down", "path")]
    return Scene(**{f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in fields}, down=a.down, path=a.path)


def build_scene(world_from_cam: np.ndarray, texture_names: tuple[str, ...], *, seed: int = 0,
                camera_height: float = 1.65, corridor: float = 3.5) -> Scene:
    """Generate the street scene along ``world_from_cam: (N, 4, 4)`` (deterministic for a seed).

    texture_names: the atlas tile names (``TextureAtlas.names``). corridor: minimum horizontal
    distance in metres between the camera path and any non-ground geometry (cars; buildings,
    poles and trees keep to the sidewalk and beyond anyway).
    """
    poses = np.asarray(world_from_cam, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4) or len(poses) == 0:
        raise ValueError(f"world_from_cam must be a non-empty (N, 4, 4) array, got shape {poses.shape}")
    if not np.all(np.isfinite(poses)):
        raise ValueError("world_from_cam contains NaN or infinite values")
    if not 0.5 <= corridor <= ROAD_HALF - 1.8:
        raise ValueError(f"corridor must be in [0.5, {ROAD_HALF - 1.8}] m (cars park at the road edge), got {corridor}")
    if not 0.2 <= camera_height <= 10.0:
        raise ValueError(f"camera_height must be in [0.2, 10] m, got {camera_height}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5CE7E]))
    line, sun = street_frame(poses, camera_height)
    b = _Builder(tuple(texture_names), line.down, sun)
    clear = _Clearance(line)
    _ground(b, line, clear, rng)
    for side in (1.0, -1.0):
        _facades(b, line, clear, rng, side)
        _street_furniture(b, line, clear, rng, side, corridor)
    return b.build(line.down, line.point)
