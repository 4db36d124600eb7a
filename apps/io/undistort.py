"""Lens distortion of a calibration and undistortion of frames to a pinhole camera (OpenCV).

The backend and the networks assume a pinhole camera. A calibration with lens distortion
(:class:`Distortion`, read by :func:`apps.io.calibration.read_calibration`) gets an
:class:`Undistorter`: a new pinhole camera of the same frame size and one ``cv2.remap`` per frame,
as DSO's undistorter and ORB-SLAM's image rectification do. Two models, the ones OpenCV implements:

- ``"radtan"``: OpenCV's pinhole model with radial-tangential distortion (ROS ``plumb_bob`` /
  ``rational_polynomial``, Kalibr ``radtan``): coefficients ``k1 k2 p1 p2 [k3 [k4 k5 k6 [s1 s2 s3 s4
  [tx ty]]]]`` (4, 5, 8, 12 or 14 numbers, the order of ``cv2.undistort``);
- ``"equidistant"``: the fisheye / Kannala-Brandt model of ``cv2.fisheye`` (Kalibr ``equidistant``,
  ROS ``equidistant``): ``k1 k2 k3 k4``;
- ``"fov"``: the field-of-view (ATAN) model of Devernay and Faugeras that DSO's and PTAM's camera files
  use (TUM monoVO): one coefficient ``omega`` (radians), a ray at radius ``r_u`` in the normalised image
  seen at ``r_d = atan(2 r_u tan(omega / 2)) / omega``. OpenCV has no such model: its maps are computed
  here (numpy) and used through the same ``cv2.remap``.

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

DISTORTION_MODELS = ("radtan", "equidistant", "fov")
RADTAN_COUNTS = (4, 5, 8, 12, 14)  # the coefficient counts cv2.undistort accepts
MODEL_ALIASES = {
    "radtan": "radtan", "plumb_bob": "radtan", "rational_polynomial": "radtan", "radial-tangential": "radtan",
    "radial_tangential": "radtan", "pinhole-radtan": "radtan", "brown": "radtan", "brown-conrady": "radtan",
    "opencv": "radtan",
    "equidistant": "equidistant", "fisheye": "equidistant", "kannala_brandt": "equidistant",
    "kannala-brandt": "equidistant", "kb4": "equidistant", "pinhole-equi": "equidistant",
    "fov": "fov", "atan": "fov",
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
        if self.model == "fov" and (n != 1 or not 0.0 < self.coeffs[0] < np.pi):
            raise ValueError(f"fov distortion needs 1 coefficient omega in (0, pi) radians, got {self.coeffs}")
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
        if distortion.model == "fov":
            new_K = _same_aspect(K, _fov_valid_camera(K, D[0], size), size)
            map1, map2 = cv2.convertMaps(*_fov_maps(K, D[0], new_K, size), cv2.CV_16SC2)
        elif distortion.model == "equidistant":
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
        self._float_maps = cv2.convertMaps(map1, map2, cv2.CV_32FC1)  # for depth and the fold check
        folded = _folded_fraction(*self._float_maps)
        if folded > 0.0:
            raise ValueError(f"the distortion {distortion.to_dict()} folds the {size[0]}x{size[1]} frame: its model "
                             f"is not invertible over the field of view ({100.0 * folded:.1f} % of the neighbouring "
                             "undistorted pixels would read the frame backwards); check the coefficients, their "
                             "order and their model")

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
        # the float maps, not the fixed-point ones that would round every source position down;
        # z along a ray is unchanged by undistortion (the same camera centre and orientation).
        return cv2.remap(depth, *self._float_maps, interpolation=cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def _folded_fraction(map_x: np.ndarray, map_y: np.ndarray) -> float:
    """Fraction of the pinhole frame's neighbour steps along which the lens's source position goes
    backwards (``map_x`` must grow along a row, ``map_y`` down a column): 0 for a lens model that is
    invertible over the view, > 0 where the distortion polynomial folds back (e.g. radtan ``k1 = -1`` on
    a wide view). ``(H, W) float32`` maps from ``cv2.convertMaps``."""
    steps_x, steps_y = np.diff(map_x, axis=1), np.diff(map_y, axis=0)
    return float(((steps_x < 0).sum() + (steps_y < 0).sum()) / max(steps_x.size + steps_y.size, 1))


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


def _fov_distort_factor(r_u: np.ndarray, omega: float) -> np.ndarray:
    """r_d / r_u of the FOV model for normalised undistorted radii ``r_u`` (its limit at 0 included)."""
    t = 2.0 * np.tan(omega / 2.0)
    safe = np.where(r_u > 1e-9, r_u, 1.0)
    return np.where(r_u > 1e-9, np.arctan(safe * t) / (omega * safe), t / omega)


def _fov_maps(K: np.ndarray, omega: float, new_K: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """float32 (H, W) maps: for every pixel of the pinhole camera ``new_K``, where the FOV lens (``K``,
    ``omega``) records its ray."""
    w, h = size
    xs = (np.arange(w, dtype=np.float64) - new_K[0, 2]) / new_K[0, 0]
    ys = (np.arange(h, dtype=np.float64) - new_K[1, 2]) / new_K[1, 1]
    x, y = np.meshgrid(xs, ys)
    f = _fov_distort_factor(np.hypot(x, y), omega)
    return ((K[0, 0] * f * x + K[0, 2]).astype(np.float32), (K[1, 1] * f * y + K[1, 2]).astype(np.float32))


def _fov_valid_camera(K: np.ndarray, omega: float, size: tuple[int, int]) -> np.ndarray:
    """The pinhole camera whose frame is the largest axis-aligned rectangle of rays the FOV lens records
    (the undistorted outline of the frame's border, sampled every pixel; what ``alpha = 0`` is for radtan)."""
    w, h = size
    u, v = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
    edges = {"left": (np.zeros(h), v), "right": (np.full(h, w - 1.0), v),
             "top": (u, np.zeros(w)), "bottom": (u, np.full(w, h - 1.0))}
    rays = {}
    for name, (pu, pv) in edges.items():
        xd, yd = (pu - K[0, 2]) / K[0, 0], (pv - K[1, 2]) / K[1, 1]
        r_d = np.hypot(xd, yd)
        if np.any(r_d * omega >= np.pi / 2):
            raise ValueError(f"fov distortion omega {omega:g}: the frame's corners see beyond 90 degrees "
                             "(no pinhole camera holds them)")
        r_u = np.tan(r_d * omega) / (2.0 * np.tan(omega / 2.0))
        scale = np.where(r_d > 1e-12, r_u / np.where(r_d > 1e-12, r_d, 1.0), 1.0)
        rays[name] = (xd * scale, yd * scale)
    x0, x1 = rays["left"][0].max(), rays["right"][0].min()
    y0, y1 = rays["top"][1].max(), rays["bottom"][1].min()
    fx, fy = (w - 1) / (x1 - x0), (h - 1) / (y1 - y0)
    return np.array([[fx, 0.0, -fx * x0], [0.0, fy, -fy * y0], [0.0, 0.0, 1.0]])
