"""Lens distortion of a calibration and undistortion of frames to a pinhole camera (OpenCV).

The backend and the networks assume a pinhole camera. A calibration with lens distortion
(:class:`Distortion`, read by :func:`apps.io.calibration.read_calibration`) gets an
:class:`Undistorter`: a new pinhole camera of the same frame size and one ``cv2.remap`` per frame,
as DSO's undistorter and ORB-SLAM's image rectification do. Two models, the ones OpenCV implements:

- ``"radtan"``: OpenCV's pinhole model with radial-tangential distortion (ROS ``plumb_bob`` /
  ``rational_polynomial``, Kalibr ``radtan``): coefficients ``k1 k2 p1 p2 [k3 [k4 k5 k6 [s1 s2 s3 s4
  [tx ty]]]]`` (4, 5, 8, 12 or 14 numbers, the order of ``cv2.undistort``);
- ``"equidistant"``: the fisheye / Kannala-Brandt model of ``cv2.fisheye`` (Kalibr ``equidistant``,
  ROS ``equidistant``): ``k1 k2 k3 k4``.

The new camera keeps only pixels that see the scene (OpenCV's ``alpha = 0`` / ``balance = 0``: no
black border reaches the photometric residuals) and the lens's pixel aspect ``fx / fy`` (the
networks were trained on square pixels; OpenCV's radtan camera would scale the two axes apart); its
principal point stays near the original one.
Pixel convention: (0, 0) is the centre of the top-left pixel, as in OpenCV.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from apps.io.camera import Intrinsics

DISTORTION_MODELS = ("radtan", "equidistant")
RADTAN_COUNTS = (4, 5, 8, 12, 14)  # the coefficient counts cv2.undistort accepts
MODEL_ALIASES = {
    "radtan": "radtan", "plumb_bob": "radtan", "rational_polynomial": "radtan", "radial-tangential": "radtan",
    "radial_tangential": "radtan", "pinhole-radtan": "radtan", "brown": "radtan", "brown-conrady": "radtan",
    "opencv": "radtan",
    "equidistant": "equidistant", "fisheye": "equidistant", "kannala_brandt": "equidistant",
    "kannala-brandt": "equidistant", "kb4": "equidistant", "pinhole-equi": "equidistant",
}


@dataclass(frozen=True)
class Distortion:
    """Lens distortion coefficients of a pinhole camera (see the module docstring for the models).

    Attributes:
        model: "radtan" or "equidistant".
        coeffs: the coefficients in OpenCV's order, float64 (4-14 for "radtan", 4 for "equidistant").
    """

    model: str
    coeffs: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "coeffs", tuple(float(c) for c in self.coeffs))
        self.check()

    def check(self) -> None:
        """Raise ValueError for an unknown model, a wrong number of coefficients or a non-finite one."""
        if self.model not in DISTORTION_MODELS:
            raise ValueError(f"Distortion.model must be one of {DISTORTION_MODELS}, got {self.model!r}")
        n = len(self.coeffs)
        if self.model == "radtan" and n not in RADTAN_COUNTS:
            raise ValueError(f"radtan distortion needs {', '.join(map(str, RADTAN_COUNTS))} coefficients "
                             f"(k1 k2 p1 p2 [k3 ...]), got {n}")
        if self.model == "equidistant" and n != 4:
            raise ValueError(f"equidistant (fisheye) distortion needs 4 coefficients (k1 k2 k3 k4), got {n}")
        if not all(np.isfinite(self.coeffs)):
            raise ValueError(f"distortion coefficients must be finite, got {self.coeffs}")

    @property
    def is_zero(self) -> bool:
        """True when every coefficient is 0 (the frames are already pinhole)."""
        return not any(self.coeffs)

    @classmethod
    def parse(cls, model: str | None, coeffs) -> "Distortion":
        """From a model name (any alias in ``MODEL_ALIASES``, case-insensitive; ``None`` = "radtan",
        OpenCV's default) and a flat sequence of numbers. Raises ValueError naming what is wrong."""
        name = "radtan" if model is None else str(model).strip().lower()
        if name not in MODEL_ALIASES:
            raise ValueError(f"unknown distortion model {model!r} (expected one of {', '.join(sorted(MODEL_ALIASES))})")
        try:
            values = np.asarray(coeffs, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"distortion coefficients must be numbers, got {coeffs!r}") from None
        return cls(MODEL_ALIASES[name], tuple(values.tolist()))

    def to_dict(self) -> dict:
        return {"model": self.model, "coeffs": list(self.coeffs)}


class Undistorter:
    """Maps frames of a distorted camera to a pinhole camera of the same size.

    Args:
        intrinsics: the distorted camera's ``K`` and frame size (pixels).
        distortion: its :class:`Distortion`.

    Attributes:
        source: the distorted camera's intrinsics (as given).
        intrinsics: the pinhole camera of the undistorted frames (same width and height).
    """

    def __init__(self, intrinsics: Intrinsics, distortion: Distortion):
        import cv2

        distortion.check()
        self.source, self.distortion = intrinsics, distortion
        size = (int(intrinsics.width), int(intrinsics.height))
        K = intrinsics.K
        D = np.asarray(distortion.coeffs, dtype=np.float64)
        if distortion.model == "equidistant":
            new_K = cv2.fisheye.estimateNewCameraMatrixForUndistortRectify(K, D.reshape(4, 1), size, np.eye(3),
                                                                            balance=0.0, new_size=size)
            map1, map2 = cv2.fisheye.initUndistortRectifyMap(K, D.reshape(4, 1), np.eye(3), new_K, size, cv2.CV_16SC2)
        else:
            new_K = _same_aspect(K, cv2.getOptimalNewCameraMatrix(K, D, size, 0.0, size)[0], size)
            map1, map2 = cv2.initUndistortRectifyMap(K, D, None, new_K, size, cv2.CV_16SC2)
        try:
            self.intrinsics = Intrinsics.from_K(new_K, size[0], size[1])
        except ValueError as e:
            raise ValueError(f"the distortion {distortion.to_dict()} leaves no usable pinhole camera for "
                             f"{size[0]}x{size[1]} frames ({e}); check the coefficients and their model") from None
        self._map1, self._map2 = map1, map2
        self._float_maps: tuple[np.ndarray, np.ndarray] | None = None  # for depth, made on first use

    def image(self, image: np.ndarray) -> np.ndarray:
        """Undistort a frame: ``(H, W)`` or ``(H, W, C)``, any dtype OpenCV remaps -> same shape and dtype
        (bilinear)."""
        import cv2

        image = np.asarray(image)
        expected = (self.source.height, self.source.width)
        if image.shape[:2] != expected:
            raise ValueError(f"Undistorter: expected a {expected[1]}x{expected[0]} frame (the calibration's size), "
                             f"got shape {image.shape}")
        return cv2.remap(image, self._map1, self._map2, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def depth(self, depth: np.ndarray) -> np.ndarray:
        """Undistort a depth map ``(H, W) float32`` (z-depth, 0 = unknown) by nearest neighbour: depths
        are never mixed across object boundaries."""
        import cv2

        depth = np.asarray(depth)
        if depth.shape != (self.source.height, self.source.width):
            raise ValueError(f"Undistorter: expected a {self.source.width}x{self.source.height} depth map, "
                             f"got shape {depth.shape}")
        if self._float_maps is None:  # the fixed-point maps would round every source position down
            self._float_maps = cv2.convertMaps(self._map1, self._map2, cv2.CV_32FC1)
        # z along a ray is unchanged by undistortion (the same camera centre and orientation).
        return cv2.remap(depth, *self._float_maps, interpolation=cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def _same_aspect(K: np.ndarray, opt_K: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """OpenCV's all-valid pinhole camera ``opt_K`` (``getOptimalNewCameraMatrix``, alpha 0) with both
    focal lengths scaled by the larger of its two ratios to ``K``'s: the pixel aspect of ``K``, a field
    of view inside the valid one (its centre kept)."""
    s = max(opt_K[0, 0] / K[0, 0], opt_K[1, 1] / K[1, 1])
    out = np.array(opt_K, dtype=np.float64)
    for axis, n in ((0, size[0]), (1, size[1])):
        f_opt, c_opt, f_new = opt_K[axis, axis], opt_K[axis, 2], s * K[axis, axis]
        middle = ((n - 1) / 2.0 - c_opt) / f_opt  # the valid view's central ray (normalised)
        out[axis, axis], out[axis, 2] = f_new, (n - 1) / 2.0 - f_new * middle
    return out
