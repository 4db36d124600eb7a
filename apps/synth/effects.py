"""Camera effects for synthetic frames; all optional and deterministic for a seed.

Image formation (applied in this order, on float grey levels):

    I_i(x) = clip(round(gain_i * V(x) * L_i(x) + bias_i + n_i(x)), 0, 255)

* ``L_i``: the rendered scene radiance; with motion blur, the mean of ``blur_samples`` renders at
  poses spread over the fraction ``blur`` of the frame interval, centred on the frame's pose
  (the stored pose and depth are those of the centre);
* ``V(x) = 1 - vignetting * (r / r_corner)**2``, r = distance to the image centre;
* ``gain_i = exp(a_i)``, ``bias_i``: per-frame exposure drift, smooth random walks with standard
  deviations ``exposure`` (log gain) and ``20 * exposure`` (grey levels). The scene is static and
  Lambertian, so a surface point seen at pixel x_i in frame i and x_j in frame j satisfies
  ``(I_i(x_i) - bias_i) / (gain_i V(x_i)) = (I_j(x_j) - bias_j) / (gain_j V(x_j))`` (up to noise,
  rounding, clipping and texture filtering): photometric consistency holds after the per-frame
  affine map (DSO's ``exp(a), b`` model) and the vignette; depth and poses are unaffected;
* ``n_i``: i.i.d. Gaussian noise with standard deviation ``noise`` grey levels.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def _rng(seed: int, frame: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(frame), int(stream)]))


def exposure_drift(n_frames: int, amount: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``(gain (N,) float64, bias (N,) float64)``; gain 1 and bias 0 when ``amount`` is 0.

    log gain and bias follow AR(1) processes (correlation 0.9 between frames) with stationary
    standard deviations ``amount`` and ``20 * amount`` grey levels.
    """
    if amount < 0:
        raise ValueError(f"exposure amount must be >= 0, got {amount}")
    if amount == 0:
        return np.ones(n_frames), np.zeros(n_frames)
    rng = _rng(seed, 0, 0xE0)
    rho = 0.9
    steps = rng.standard_normal((n_frames, 2)) * np.sqrt(1 - rho ** 2)
    state = np.zeros((n_frames, 2))
    state[0] = rng.standard_normal(2)
    for i in range(1, n_frames):
        state[i] = rho * state[i - 1] + steps[i]
    return np.exp(amount * state[:, 0]), 20.0 * amount * state[:, 1]


def vignette(height: int, width: int, amount: float) -> np.ndarray:
    """``(H, W) float32`` attenuation ``1 - amount * (r / r_corner)**2`` (1 at the centre)."""
    if not 0 <= amount < 1:
        raise ValueError(f"vignetting amount must be in [0, 1), got {amount}")
    y = (np.arange(height) - 0.5 * (height - 1))[:, None]
    x = (np.arange(width) - 0.5 * (width - 1))[None, :]
    r2 = (x * x + y * y) / (0.25 * ((width - 1) ** 2 + (height - 1) ** 2))
    return (1.0 - amount * r2).astype(np.float32)


def blur_poses(world_from_cam: np.ndarray, index: int, amount: float, samples: int) -> np.ndarray:
    """``(samples, 4, 4)`` poses spread over ``amount`` frame intervals centred on frame ``index``.

    Motion between frames is interpolated on SE(3) (rotation vector and translation scaled) from
    the neighbouring frames; at the ends of the trajectory the one neighbour is mirrored.
    """
    poses = np.asarray(world_from_cam, dtype=np.float64)
    n = len(poses)
    centre = poses[index]
    if amount <= 0 or samples <= 1 or n < 2:
        return centre[None].copy()
    inv = np.linalg.inv(centre)
    fwd = inv @ poses[index + 1] if index + 1 < n else np.linalg.inv(inv @ poses[index - 1])
    bwd = inv @ poses[index - 1] if index > 0 else np.linalg.inv(fwd)
    out = []
    for tau in np.linspace(-0.5 * amount, 0.5 * amount, samples):
        rel = fwd if tau >= 0 else bwd
        f = abs(tau)
        step = np.eye(4)
        step[:3, :3] = Rotation.from_rotvec(f * Rotation.from_matrix(rel[:3, :3]).as_rotvec()).as_matrix()
        step[:3, 3] = f * rel[:3, 3]
        out.append(centre @ step)
    return np.stack(out)


def finish(radiance: np.ndarray, frame: int, *, gain: float, bias: float, vignette_map: np.ndarray | None,
           noise: float, seed: int) -> np.ndarray:
    """Apply vignetting, exposure and noise to ``radiance: (H, W) float32`` -> ``(H, W) uint8``."""
    img = radiance.astype(np.float32, copy=True)
    if vignette_map is not None:
        img *= vignette_map
    if gain != 1.0 or bias != 0.0:
        img = np.float32(gain) * img + np.float32(bias)
    if noise > 0:
        img += (noise * _rng(seed, frame, 0x401E).standard_normal(img.shape)).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
