"""Photometric and geometric augmentation of grey training images (numpy, seeded)."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from frontend.common.camera import Intrinsics


@dataclass
class PhotometricOptions:
    probability: float = 0.8                  # chance that an image/snippet is augmented at all
    brightness: float = 0.2                   # multiplicative factor in [1 - b, 1 + b]
    contrast: float = 0.2                     # contrast factor about the mean in [1 - c, 1 + c]
    gamma: tuple[float, float] = (0.8, 1.25)  # gamma range (log-uniform)
    noise_std: float = 0.02                   # max std of additive Gaussian noise (image in [0, 1])
    blur_probability: float = 0.2             # chance of a Gaussian blur
    blur_sigma: tuple[float, float] = (0.3, 1.2)  # blur sigma range in pixels

    def __post_init__(self) -> None:
        for name in ("probability", "blur_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"PhotometricOptions.{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.brightness < 1 or not 0 <= self.contrast < 1 or self.noise_std < 0:
            raise ValueError("PhotometricOptions: brightness, contrast in [0, 1) and noise_std >= 0 expected")
        if not 0 < self.gamma[0] <= self.gamma[1] or not 0 < self.blur_sigma[0] <= self.blur_sigma[1]:
            raise ValueError("PhotometricOptions: gamma and blur_sigma must be increasing positive ranges")


def photometric_augment(images: np.ndarray, rng: np.random.Generator,
                        options: PhotometricOptions | None = None) -> np.ndarray:
    """Augment ``images``: (N, H, W) float32 in [0, 1] with ONE set of parameters (a snippet sees the
    same lighting change; the noise is drawn per image). Returns a new (N, H, W) float32 array in [0, 1]."""
    if images.ndim != 3:
        raise ValueError(f"photometric_augment: expected (N, H, W) images, got shape {images.shape}")
    o = options or PhotometricOptions()
    out = images.astype(np.float32, copy=True)
    if rng.random() >= o.probability:
        return out
    gamma = float(np.exp(rng.uniform(np.log(o.gamma[0]), np.log(o.gamma[1]))))
    brightness = rng.uniform(1.0 - o.brightness, 1.0 + o.brightness)
    contrast = rng.uniform(1.0 - o.contrast, 1.0 + o.contrast)
    out = np.power(np.clip(out, 0.0, 1.0), gamma)
    mean = out.mean(axis=(1, 2), keepdims=True)
    out = (out - mean) * contrast + mean
    out = out * brightness
    if rng.random() < o.blur_probability:
        sigma = rng.uniform(*o.blur_sigma)
        out = np.stack([cv2.GaussianBlur(im, (0, 0), sigma) for im in out])
    if o.noise_std > 0:
        out = out + rng.normal(0.0, rng.uniform(0.0, o.noise_std), size=out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def random_resized_crop(image_shape: tuple[int, int], out_size: tuple[int, int], rng: np.random.Generator,
                        scale_range: tuple[float, float] = (1.0, 1.0)) -> tuple[tuple[int, int], tuple[int, int]]:
    """Pick a resize of the (H, W) image and a crop of ``out_size`` (h, w) inside it.

    The image is first resized to cover ``out_size`` at the same aspect (factor ``s0``) and then by
    a random extra factor in ``scale_range`` (>= 1 zooms in). Returns ((resized_h, resized_w), (y0, x0)).
    """
    H, W = image_shape
    h, w = out_size
    s = max(h / H, w / W) * rng.uniform(*scale_range)
    rh, rw = max(h, int(round(H * s))), max(w, int(round(W * s)))
    y0 = int(rng.integers(0, rh - h + 1))
    x0 = int(rng.integers(0, rw - w + 1))
    return (rh, rw), (y0, x0)


def resize_crop(image: np.ndarray, resized: tuple[int, int], origin: tuple[int, int], out_size: tuple[int, int],
                intrinsics: Intrinsics | None = None) -> tuple[np.ndarray, Intrinsics | None]:
    """Resize (H, W) ``image`` to ``resized`` (h, w), crop ``out_size`` at ``origin`` (y0, x0); adjust intrinsics."""
    rh, rw = resized
    interp = cv2.INTER_AREA if rh < image.shape[0] else cv2.INTER_LINEAR
    big = cv2.resize(image, (rw, rh), interpolation=interp)
    y0, x0 = origin
    h, w = out_size
    crop = big[y0:y0 + h, x0:x0 + w]
    if intrinsics is not None:
        intrinsics = intrinsics.scaled(rw, rh).cropped(x0, y0, w, h)
    return crop, intrinsics
