"""Exact-depth rasteriser for planar textured polygons (the synthetic renderer's core).

For one camera pose, :meth:`Renderer.render` does

1. culling: bounding spheres beyond ``max_distance``, back faces of boxes, polygons entirely
   outside one frustum plane;
2. visibility pass: each remaining polygon is clipped in camera space against the near plane and
   the four image-side planes (Sutherland-Hodgman), its projection is filled with ``cv2.fillPoly``
   (1/16-pixel vertex precision) and its inverse depth, which is affine in pixel coordinates for
   a plane (``idepth = a x + b y + c``), is evaluated at each covered pixel centre and z-tested.
   Depth is therefore the exact ray-plane intersection at each pixel centre;
3. shading pass, per pixel: the 3D point on the winning plane gives the texture coordinates
   (an affine map per polygon); their analytic screen derivatives give the texel footprint
   ``rho`` and the mip level ``log2(rho)``; the texture is sampled trilinearly (``cv2.remap``
   bilinear on the two nearest levels of the atlas, wrapped tiles) and scaled by the polygon's
   gain (incl. Lambertian shading) and bias.

Pixels that hit nothing show a smooth sky gradient (a function of the ray's elevation, so it
moves consistently with the camera) and get depth 0 (= unknown).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from apps.io.camera import Intrinsics

from .scene import Scene
from .textures import TILE, TextureAtlas

_SHIFT = 4  # fractional bits of vertex coordinates given to cv2.fillPoly


@dataclass(frozen=True)
class RenderOptions:
    max_distance: float = 150.0   # metres; polygons whose bounding sphere is farther are skipped
    near: float = 0.05            # metres; near clipping plane
    lod_bias: float = 0.0         # added to log2(texel footprint); > 0 blurs, < 0 sharpens (aliases)
    sky_horizon: float = 205.0    # grey level of the sky at the horizon
    sky_zenith: float = 150.0     # grey level of the sky straight up

    def check(self) -> None:
        if not (self.max_distance > self.near > 0):
            raise ValueError(f"RenderOptions: need max_distance > near > 0, got {self.max_distance}, {self.near}")
        for name in ("sky_horizon", "sky_zenith"):
            if not 0 <= getattr(self, name) <= 255:
                raise ValueError(f"RenderOptions.{name} must be a grey level in [0, 255]")


def _clip_polygon(poly: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """Clip ``poly: (K, 3)`` camera points to ``planes: (5, 4)`` (inside where p[:3].X + p[3] >= 0)."""
    for plane in planes:
        if len(poly) == 0:
            break
        dist = poly @ plane[:3] + plane[3]
        if np.all(dist >= 0):
            continue
        out = []
        k = len(poly)
        for i in range(k):
            j = (i + 1) % k
            di, dj = dist[i], dist[j]
            if di >= 0:
                out.append(poly[i])
            if (di >= 0) != (dj >= 0):
                out.append(poly[i] + (di / (di - dj)) * (poly[j] - poly[i]))
        poly = np.array(out) if out else np.zeros((0, 3))
    return poly


class Renderer:
    """Renders a :class:`Scene` with an :class:`Intrinsics` camera.

    ``render(world_from_cam)`` returns ``(image (H, W) float32 grey in [0, 255], depth (H, W)
    float32 metres, 0 where no surface)``.
    """

    def __init__(self, scene: Scene, atlas: TextureAtlas, intrinsics: Intrinsics,
                 options: RenderOptions | None = None):
        self.scene, self.atlas, self.K = scene, atlas, intrinsics
        self.options = options or RenderOptions()
        self.options.check()
        w, h = intrinsics.width, intrinsics.height
        self._xs, self._ys = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
        xs, ys = self._xs, self._ys
        self._rx = (xs - intrinsics.cx) / intrinsics.fx   # ray x/z per column
        self._ry = (ys - intrinsics.cy) / intrinsics.fy   # ray y/z per row
        m = 1.0  # frustum margin, pixels
        kx0, kx1 = (-m - 0.5 - intrinsics.cx) / intrinsics.fx, (w - 0.5 + m - intrinsics.cx) / intrinsics.fx
        ky0, ky1 = (-m - 0.5 - intrinsics.cy) / intrinsics.fy, (h - 0.5 + m - intrinsics.cy) / intrinsics.fy
        self._n_tiles = atlas.origins.shape[1]
        self._origin_x = atlas.origins[:, :, 0].reshape(-1).astype(np.float64)
        self._origin_y = atlas.origins[:, :, 1].reshape(-1).astype(np.float64)
        self._level_scale = np.ldexp(1.0, -np.arange(atlas.n_levels))
        self._level_size = (TILE >> np.arange(atlas.n_levels)).astype(np.float64)
        self._planes = np.array([[0, 0, 1, -self.options.near], [1, 0, -kx0, 0], [-1, 0, kx1, 0],
                                 [0, 1, -ky0, 0], [0, -1, ky1, 0]], dtype=np.float64)

    def render(self, world_from_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(image (H, W) float32 in [0, 255], depth (H, W) float32 metres, 0 = no surface)``."""
        pose = self._check_pose(world_from_cam)
        idepth, prim, params = self._visibility(pose)
        return self._shade(pose, idepth, prim, params), self._depth(idepth, prim)

    def render_depth(self, world_from_cam: np.ndarray) -> np.ndarray:
        """Depth only: ``(H, W) float32`` metres, 0 = no surface."""
        idepth, prim, _ = self._visibility(self._check_pose(world_from_cam))
        return self._depth(idepth, prim)

    @staticmethod
    def _check_pose(world_from_cam: np.ndarray) -> np.ndarray:
        pose = np.asarray(world_from_cam, dtype=np.float64)
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
            raise ValueError(f"world_from_cam must be a finite (4, 4) array, got shape {pose.shape}")
        return pose

    @staticmethod
    def _depth(idepth: np.ndarray, prim: np.ndarray) -> np.ndarray:
        depth = np.zeros(idepth.shape, np.float32)
        hit = prim >= 0
        depth[hit] = (1.0 / idepth[hit]).astype(np.float32)
        return depth

    # -- pass 1 ---------------------------------------------------------------------------------
    def _visibility(self, pose: np.ndarray):
        sc, K, opt = self.scene, self.K, self.options
        R, t = pose[:3, :3], pose[:3, 3]
        cand = np.linalg.norm(sc.centre - t, axis=1) - sc.radius < opt.max_distance
        # Plane in camera frame: n_c . X = d_c.
        n_c = sc.normal[cand] @ R
        d_c = sc.offset[cand] - sc.normal[cand] @ t
        keep = np.abs(d_c) > 1e-6
        keep &= ~(sc.closed[cand] & (d_c > 0))  # back face of a box: camera behind its plane
        ids = np.flatnonzero(cand)[keep]
        n_c, d_c = n_c[keep], d_c[keep]
        verts = (sc.verts[ids] - t) @ R  # (M, 4, 3) camera coordinates
        side = np.einsum("mvk,pk->mvp", verts, self._planes[:, :3]) + self._planes[:, 3]
        inside_all = np.all(side >= 0, axis=(1, 2))
        visible = ~np.any(np.all(side < 0, axis=1), axis=1)
        h, w = K.height, K.width
        zbuf = np.zeros((h, w), np.float64)
        prim = np.full((h, w), -1, np.int32)
        plane_abc = []
        order = np.flatnonzero(visible)
        # Front to back, so that polygons hidden behind nearer ones are rejected by a cheap test.
        order = order[np.argsort(np.min(np.where(verts[order, :, 2] > 0, verts[order, :, 2], np.inf), axis=1),
                                 kind="stable")]
        n_verts = sc.n_verts[ids]
        for m in order:
            poly = verts[m, :n_verts[m]]
            if not inside_all[m]:
                poly = _clip_polygon(poly, self._planes)
                if len(poly) < 3:
                    continue
            u = K.fx * poly[:, 0] / poly[:, 2] + K.cx
            v = K.fy * poly[:, 1] / poly[:, 2] + K.cy
            x0, x1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())), w - 1)
            y0, y1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())), h - 1)
            if x1 < x0 or y1 < y0:
                continue
            zb = zbuf[y0:y1 + 1, x0:x1 + 1]
            if zb.min() > 1.0001 / poly[:, 2].min():  # idepth is affine: its maximum is at a vertex
                continue
            mask = np.zeros(zb.shape, np.uint8)
            pts = np.round(np.stack([u - x0, v - y0], -1) * (1 << _SHIFT)).astype(np.int32)
            cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=_SHIFT)
            n, d = n_c[m], d_c[m]
            a, b = n[0] / (K.fx * d), n[1] / (K.fy * d)
            c = (n[2] - n[0] * K.cx / K.fx - n[1] * K.cy / K.fy) / d
            idep = (a * self._xs[x0:x1 + 1])[None, :] + (b * self._ys[y0:y1 + 1])[:, None] + c
            win = (mask > 0) & (idep > zb) & (idep > 1e-9)
            if not win.any():
                continue
            zb[win] = idep[win]
            prim[y0:y1 + 1, x0:x1 + 1][win] = len(plane_abc)
            plane_abc.append((ids[m], a, b, c))
        params = np.array(plane_abc, dtype=np.float64).reshape(-1, 4)
        return zbuf, prim, params

    # -- pass 2 ---------------------------------------------------------------------------------
    def _shade(self, pose: np.ndarray, idepth: np.ndarray, prim: np.ndarray, params: np.ndarray) -> np.ndarray:
        sc, K, opt = self.scene, self.K, self.options
        R, t = pose[:3, :3], pose[:3, 3]
        image = self._sky(R)
        ys, xs = np.nonzero(prim >= 0)
        if xs.size == 0:
            return image
        ids = params[:, 0].astype(np.int64)
        # Per visible polygon: texture maps in camera coordinates, s = S . X_c + s0 with
        # S = R^T S_w and s0 = S_w . t + s0_w (same for t), and the idepth plane coefficients a, b.
        table = np.empty((len(ids), 10))
        for col, tex in ((0, sc.tex_s[ids]), (4, sc.tex_t[ids])):
            table[:, col:col + 3] = tex[:, :3] @ R
            table[:, col + 3] = tex[:, :3] @ t + tex[:, 3]
        table[:, 8:10] = params[:, 1:3]
        k = prim[ys, xs]
        g = np.ascontiguousarray(table.T)[:, k]       # (10, N) per pixel, rows contiguous
        z = 1.0 / idepth[ys, xs]
        rx, ry = self._rx[xs], self._ry[ys]
        a, b = g[8], g[9]
        coords, rho2 = [], []
        for col in (0, 4):
            sx = g[col] * rx + g[col + 1] * ry + g[col + 2]     # S . ray
            coords.append(z * sx + g[col + 3])
            # d(z ray)/dx = z/fx e_x - a z^2 ray  ->  ds/dx = z (S_x/fx - a z (S . ray)); same for y
            zs = z * sx
            rho2.append((z * (g[col] / K.fx - a * zs), z * (g[col + 1] / K.fy - b * zs)))
        (sdx, sdy), (tdx, tdy) = rho2
        rho_sq = np.maximum(sdx * sdx + tdx * tdx, sdy * sdy + tdy * tdy)
        n_levels = self.atlas.n_levels
        lod = np.clip(0.5 * np.log2(np.maximum(rho_sq, 1e-24)) + opt.lod_bias, 0.0, n_levels - 1.0)
        lo = np.minimum(lod.astype(np.int64), n_levels - 2)
        frac = (lod - lo).astype(np.float32)
        tile = sc.tile[ids][k]
        v0 = self._sample(coords[0], coords[1], tile, lo)
        v1 = self._sample(coords[0], coords[1], tile, lo + 1)
        value = v0 + frac * (v1 - v0)
        gain, bias = sc.gain[ids], sc.bias[ids]
        image[ys, xs] = np.clip(gain[k] * value + bias[k], 0.0, 255.0)
        return image

    def _sample(self, s: np.ndarray, t: np.ndarray, tile: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Bilinear samples at level-0 texel coordinates ``(s, t)`` of ``tile`` at mip ``level`` (all (N,))."""
        scale = self._level_scale[level]        # 2**-level
        size = self._level_size[level]          # TILE / 2**level
        # Level-l texel i covers level-0 texels [i 2^l, (i+1) 2^l): centre mapping x_l = (x + 0.5)/2^l - 0.5.
        flat = level * self._n_tiles + tile
        n = s.size
        rows = -(-n // 1024)  # remap needs maps smaller than 32767 in each dimension
        maps = np.zeros((2, rows * 1024), np.float32)
        for row, coord, origin in ((0, s, self._origin_x), (1, t, self._origin_y)):
            x = (coord + 0.5) * scale - 0.5
            x -= np.floor(x / size) * size      # wrap into [0, size]  (np.mod is much slower)
            maps[row, :n] = x + origin[flat]
        out = cv2.remap(self.atlas.image, maps[0].reshape(rows, 1024), maps[1].reshape(rows, 1024),
                        interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return out.reshape(-1)[:n]

    def _sky(self, R: np.ndarray) -> np.ndarray:
        """(H, W) float32 sky: horizon -> zenith gradient over the elevation of each pixel's ray."""
        K, opt = self.K, self.options
        down_c = R.T @ self.scene.down                   # world down in camera coordinates
        rx, ry = self._rx[None, :], self._ry[:, None]
        elev = -(down_c[0] * rx + down_c[1] * ry + down_c[2]) / np.sqrt(rx * rx + ry * ry + 1.0)
        f = np.sqrt(np.clip(elev, 0.0, 1.0))
        return (opt.sky_horizon + (opt.sky_zenith - opt.sky_horizon) * f).astype(np.float32)


