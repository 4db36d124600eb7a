"""Texture bank for the synthetic renderer: greyscale tiles packed into a mip-mapped atlas.

Every texture is a square ``(TILE, TILE) float32`` grey tile in [0, 255] that repeats
(the renderer wraps texture coordinates). Tiles come from scikit-image's bundled photographs
(they load offline) and from seeded procedural generators (band-limited noise, bricks, paving,
façades with windows, car sides, lane paint).

The atlas is one image holding every tile at every mip level: level ``l`` is the tile
downsampled by ``2**l`` with an exact 2x2 box filter (tiles repeat, so no border handling is
needed), followed by ``PAD`` wrapped rows/columns so that bilinear lookups at the right/bottom
edge of a tile read the wrapped texels instead of the neighbouring tile.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TILE = 512            # texels per tile side at level 0 (power of two)
PAD = 2               # wrapped texels after each tile (bilinear needs 1; 2 absorbs rounding)
ATLAS_COLUMNS = 8     # tiles per atlas row

# Photographs from skimage.data: name -> (target mean, target std) of the grey tile.
_PHOTOS = {
    "brick": (120.0, 40.0), "grass": (105.0, 38.0), "gravel": (95.0, 32.0), "camera": (125.0, 55.0),
    "coffee": (120.0, 50.0), "astronaut": (115.0, 55.0), "chelsea": (120.0, 45.0), "rocket": (125.0, 45.0),
    "page": (150.0, 45.0), "text": (140.0, 50.0), "moon": (120.0, 40.0), "coins": (115.0, 45.0),
}


def _normalise(tile: np.ndarray, mean: float, std: float) -> np.ndarray:
    t = tile.astype(np.float64)
    s = t.std()
    t = (t - t.mean()) / (s if s > 1e-9 else 1.0) * std + mean
    return np.clip(t, 0.0, 255.0).astype(np.float32)


def _photo(name: str) -> np.ndarray:
    """Centre square of the skimage photograph ``name``, grey, resized to TILE x TILE."""
    import skimage.data  # imported lazily: loading is only needed when the bank is built

    img = getattr(skimage.data, name)()
    if img.ndim == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2GRAY)
    h, w = img.shape
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    img = img[y0:y0 + side, x0:x0 + side]
    interp = cv2.INTER_AREA if side >= TILE else cv2.INTER_CUBIC
    return cv2.resize(img, (TILE, TILE), interpolation=interp).astype(np.float32)


def periodic_noise(rng: np.random.Generator, size: int = TILE, beta: float = 1.0,
                   cutoff: float = 1.0) -> np.ndarray:
    """Tileable band-limited noise: white noise shaped by ``1/f**beta`` in the Fourier domain.

    ``cutoff`` (cycles per texel, <= 0.5) removes finer detail. Returns ``(size, size) float64``
    with zero mean and unit standard deviation; it repeats exactly with period ``size``.
    """
    white = rng.standard_normal((size, size))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    shape = f ** (-beta) * (f <= cutoff)
    shape[0, 0] = 0.0
    out = np.fft.irfft2(np.fft.rfft2(white) * shape, s=(size, size))
    return out / max(out.std(), 1e-12)


def _asphalt(rng: np.random.Generator) -> np.ndarray:
    base = _photo("gravel")
    t = (base - base.mean()) / base.std() + 0.6 * periodic_noise(rng, beta=1.2) + 0.4 * periodic_noise(rng, beta=0.3)
    return _normalise(t, 92.0, 26.0)


def _paving(rng: np.random.Generator, n: int = 8) -> np.ndarray:
    """Square paving slabs, ``n`` per tile side, each with its own tone, grout lines and grain."""
    cell = TILE // n
    tones = rng.normal(0.0, 0.6, size=(n, n))
    t = np.kron(tones, np.ones((cell, cell))) + 0.5 * periodic_noise(rng, beta=0.8)
    idx = np.arange(TILE) % cell
    grout = (idx < 3)[None, :] | (idx < 3)[:, None]
    t[grout] = -2.5
    return _normalise(t, 150.0, 35.0)


def _bricks(rng: np.random.Generator, rows: int = 16, cols: int = 8) -> np.ndarray:
    """Running-bond bricks with per-brick tone, mortar joints and grain."""
    bh, bw = TILE // rows, TILE // cols
    t = np.empty((TILE, TILE))
    for r in range(rows):
        shift = (bw // 2) * (r % 2)
        tones = np.repeat(rng.normal(0.0, 0.7, size=cols), bw)
        t[r * bh:(r + 1) * bh] = np.roll(tones, shift)[None, :]
    t += 0.35 * periodic_noise(rng, beta=0.5)
    ys, xs = np.arange(TILE) % bh, np.arange(TILE)
    t[ys < 4, :] = -2.2
    for r in range(rows):
        shift = (bw // 2) * (r % 2)
        joints = ((xs - shift) % bw) < 4
        t[r * bh:(r + 1) * bh, joints] = -2.2
    return _normalise(t, 115.0, 38.0)


def _facade(rng: np.random.Generator, floors: int, columns: int) -> np.ndarray:
    """Plastered wall with a grid of windows (dark glass with reflections, light frames, sills)."""
    wall = 0.5 * periodic_noise(rng, beta=1.3) + 0.25 * periodic_noise(rng, beta=0.4)
    t = wall.copy()
    fh, cw = TILE // floors, TILE // columns
    win_w, win_h = int(cw * rng.uniform(0.42, 0.6)), int(fh * rng.uniform(0.45, 0.62))
    glass = -2.0 + 0.9 * periodic_noise(rng, beta=1.6)
    for f in range(floors):
        for c in range(columns):
            x0 = c * cw + (cw - win_w) // 2
            y0 = f * fh + int(fh * 0.2)
            t[y0 - 4:y0 + win_h + 4, x0 - 4:x0 + win_w + 4] = 1.6                      # frame
            t[y0:y0 + win_h, x0:x0 + win_w] = glass[y0:y0 + win_h, x0:x0 + win_w] + rng.normal(0, 0.4)
            t[y0 + win_h // 2 - 2:y0 + win_h // 2 + 2, x0:x0 + win_w] = 1.2             # transom
            t[y0 + win_h + 4:y0 + win_h + 12, x0 - 8:x0 + win_w + 8] = 1.9              # sill
        t[f * fh:f * fh + 6, :] = 0.9 + rng.normal(0, 0.2)                            # floor band
    return _normalise(t, rng.uniform(115.0, 150.0), 45.0)


def _car_side(rng: np.random.Generator) -> np.ndarray:
    """Side of a car body: painted panel with a door seam, a trim line and two dark wheels."""
    t = 0.8 + 0.25 * periodic_noise(rng, beta=1.8)
    yy, xx = np.mgrid[0:TILE, 0:TILE]
    t[:, TILE // 2 - 2:TILE // 2 + 2] = -0.5                     # door seam
    t[int(TILE * 0.45):int(TILE * 0.48), :] = 1.8                # chrome trim line
    for cx in (0.2 * TILE, 0.8 * TILE):
        r = np.hypot(xx - cx, yy - TILE * 0.85)
        t[r < TILE * 0.16] = -1.8                                # tyre
        t[r < TILE * 0.09] = 0.6                                 # rim
        t[r < TILE * 0.03] = -0.8                                # hub
    return _normalise(t, 120.0, 50.0)


def _glass(rng: np.random.Generator) -> np.ndarray:
    t = 0.8 * periodic_noise(rng, beta=1.8) + 0.3 * periodic_noise(rng, beta=0.6)
    yy, xx = np.mgrid[0:TILE, 0:TILE]
    t += 1.5 * (np.abs(((xx + yy) % 170) - 40) < 12)             # streak reflections
    return _normalise(t, 70.0, 30.0)


def _lane_paint(rng: np.random.Generator) -> np.ndarray:
    return _normalise(0.3 * periodic_noise(rng, beta=0.5) + periodic_noise(rng, beta=1.5), 215.0, 12.0)


def _foliage(rng: np.random.Generator) -> np.ndarray:
    n = periodic_noise(rng, beta=0.9)
    return _normalise(np.tanh(1.5 * n) + 0.3 * periodic_noise(rng, beta=0.2), 85.0, 40.0)


def _concrete(rng: np.random.Generator) -> np.ndarray:
    return _normalise(periodic_noise(rng, beta=1.1) + 0.5 * periodic_noise(rng, beta=0.4), 140.0, 28.0)


def _stripes(rng: np.random.Generator) -> np.ndarray:
    """Vertical wood/metal cladding: stripes of varying tone with grain."""
    widths = rng.integers(8, 40, size=64)
    tones = rng.normal(0.0, 0.8, size=64)
    row = np.repeat(tones, widths)[:TILE]
    row = np.pad(row, (0, max(0, TILE - row.size)), mode="wrap")
    t = row[None, :] + 0.3 * periodic_noise(rng, beta=0.7)
    return _normalise(t, 130.0, 40.0)


# Groups of tile names used by the scene generator.
GROUND_TEXTURES = ("asphalt", "paving", "grass", "concrete")
FACADE_TEXTURES = ("facade_a", "facade_b", "facade_c", "bricks", "brick", "stripes", "concrete")
POSTER_TEXTURES = ("camera", "coffee", "astronaut", "chelsea", "rocket", "page", "text", "moon", "coins")


@dataclass(frozen=True)
class TextureAtlas:
    """All tiles at every mip level packed into one image.

    image: ``(H, W) float32`` grey levels; level ``l`` of tile ``k`` is the ``TILE/2**l`` square
    whose top-left texel is at ``origins[l, k] = (x, y)`` (followed by PAD wrapped texels).
    names[k] is the name of tile ``k``.
    """

    image: np.ndarray
    origins: np.ndarray
    names: tuple[str, ...]

    @property
    def n_levels(self) -> int:
        return int(self.origins.shape[0])

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown texture {name!r}; known: {', '.join(self.names)}") from None

    def tile(self, name: str, level: int = 0) -> np.ndarray:
        """``(TILE/2**level, TILE/2**level) float32`` view of one tile at one mip level."""
        x, y = self.origins[level, self.index(name)]
        size = TILE >> level
        return self.image[y:y + size, x:x + size]


def build_tiles(seed: int) -> dict[str, np.ndarray]:
    """Every texture tile by name, ``(TILE, TILE) float32``; procedural ones depend on ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7E47]))
    tiles: dict[str, np.ndarray] = {}
    for name, (mean, std) in _PHOTOS.items():
        tiles[name] = _normalise(_photo(name), mean, std)
    tiles["asphalt"] = _asphalt(rng)
    tiles["paving"] = _paving(rng)
    tiles["concrete"] = _concrete(rng)
    tiles["bricks"] = _bricks(rng)
    tiles["facade_a"] = _facade(rng, floors=2, columns=3)
    tiles["facade_b"] = _facade(rng, floors=3, columns=4)
    tiles["facade_c"] = _facade(rng, floors=2, columns=2)
    tiles["stripes"] = _stripes(rng)
    tiles["car"] = _car_side(rng)
    tiles["glass"] = _glass(rng)
    tiles["paint"] = _lane_paint(rng)
    tiles["foliage"] = _foliage(rng)
    return tiles


def build_atlas(tiles: dict[str, np.ndarray]) -> TextureAtlas:
    """Pack ``tiles`` (each ``(TILE, TILE)``) with their mip levels into a :class:`TextureAtlas`.

    Levels are stacked vertically, each a grid of ATLAS_COLUMNS tiles per row.
    """
    names = tuple(tiles)
    rows = (len(names) + ATLAS_COLUMNS - 1) // ATLAS_COLUMNS
    n_levels = int(np.log2(TILE)) + 1
    current = []
    for name in names:
        t = np.asarray(tiles[name], dtype=np.float32)
        if t.shape != (TILE, TILE):
            raise ValueError(f"texture {name!r}: expected shape ({TILE}, {TILE}), got {t.shape}")
        current.append(t)
    height = sum(rows * ((TILE >> level) + PAD) for level in range(n_levels))
    image = np.zeros((height, ATLAS_COLUMNS * (TILE + PAD)), np.float32)
    origins = np.zeros((n_levels, len(names), 2), np.int64)
    y_level = 0
    for level in range(n_levels):
        stride = (TILE >> level) + PAD
        for k, t in enumerate(current):
            x0, y0 = (k % ATLAS_COLUMNS) * stride, y_level + (k // ATLAS_COLUMNS) * stride
            image[y0:y0 + stride, x0:x0 + stride] = np.pad(t, ((0, PAD), (0, PAD)), mode="wrap")
            origins[level, k] = (x0, y0)
        y_level += rows * stride
        if level + 1 < n_levels:  # exact 2x2 box filter (tiles repeat, so no border effects)
            current = [0.25 * (t[0::2, 0::2] + t[1::2, 0::2] + t[0::2, 1::2] + t[1::2, 1::2]) for t in current]
    return TextureAtlas(image=image, origins=origins, names=names)
