"""Camera calibration files for image folders and videos: :func:`read_calibration`, :func:`read_intrinsics`.

Accepted formats (pinhole intrinsics, optionally with lens distortion):

- plain text: the numbers ``fx fy cx cy`` or ``fx fy cx cy width height`` (pixels), on one line or
  several; ``#`` starts a comment line. Example: ``718.856 718.856 607.1928 185.2157 1241 376``.
- YAML (``.yaml``/``.yml``): a mapping with ``fx, fy, cx, cy`` and optionally ``width, height``
  (also ``image_width, image_height``), or with the 3x3 matrix under ``K`` / ``camera_matrix`` as a
  nested list, a flat list of 9, or an OpenCV ``{rows, cols, data}`` mapping (a ROS ``camera_info``
  file), or Kalibr's ``intrinsics: [fu, fv, pu, pv]`` and ``resolution: [w, h]`` (also nested under
  ``cam<camera>:`` as in a Kalibr camchain). OpenCV ``cv2.FileStorage`` files (first line
  ``%YAML:1.0``, e.g. EuRoC's ``sensor.yaml``) are read with OpenCV.
- a KITTI ``calib.txt`` (``P0: `` + 12 numbers, ...): the intrinsics of ``P<camera>`` (rectified).
- DSO's ``camera.txt`` (TUM monoVO): ``[Pinhole|FOV|RadTan|EquiDistant|KannalaBrandt] fx fy cx cy
  coefficients`` (relative to the size when cx, cy < 1), then ``width height`` (then DSO's rectification
  and output size, which kp3d-vo does not need).

Lens distortion (YAML, OpenCV YAML and DSO's camera.txt): the coefficients under ``D``, ``dist_coeffs``,
``distortion_coeffs`` (Kalibr), ``distortion_coefficients`` (ROS, OpenCV, EuRoC) or ``distortion`` (a
list or a ``{rows, cols, data}`` mapping), or the single keys ``k1 k2 p1 p2 k3`` (``k1 k2 k3 k4`` for
a fisheye), with the model under ``distortion_model`` (radtan / plumb_bob / rational_polynomial /
radial-tangential, equidistant / fisheye / kannala_brandt, or fov / atan with one coefficient omega;
default radtan, OpenCV's order). The
sequence readers undistort such frames to a pinhole camera (:mod:`apps.io.undistort`); all-zero
coefficients mean no distortion.

A calibration without a size takes the size of the images; one with a size must match them (a
calibration is never rescaled silently: frames resized by ``kp3d-vo`` itself get consistently
scaled intrinsics through :class:`apps.io.preprocess.Preprocess`; frames resized by someone else
need the calibration of those frames). :func:`check_intrinsics_fit` then refuses intrinsics that
cannot belong to frames of that size: a principal point outside the middle half of the frame
(typically a calibration of the full-size frames used with resized or cropped ones) or a field of
view outside 2-160 degrees (e.g. ``fx = 1e-9``). A matrix ``K`` or ``P`` whose ``[2, 2]`` entry is
not 1 is divided by it. A UTF-8 byte-order mark at the start of the file is ignored.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apps.io.camera import Intrinsics
from apps.io.kitti_format import normalized_projection, parse_calib, read_text_stripping_bom
from apps.io.poses import check_poses
from apps.io.undistort import Distortion
from frontend.common.paths import require_file

logger = logging.getLogger(__name__)

_DISTORTION_LISTS = ("D", "dist_coeffs", "distortion_coeffs", "distortion_coefficients", "distortion")
_DISTORTION_SINGLE = {"radtan": ("k1", "k2", "p1", "p2", "k3"), "equidistant": ("k1", "k2", "k3", "k4")}
_KEY_LINE = re.compile(r"^\s*[A-Za-z_]\w*\s*:")
MAX_PRINCIPAL_OFFSET = 0.25   # |cx - centre| / width (and cy / height) allowed for a native calibration
FOV_RANGE_DEG = (2.0, 160.0)  # plausible horizontal and vertical field of view of a pinhole camera


def check_intrinsics_fit(k: Intrinsics, source: str, *, centred: bool = True) -> Intrinsics:
    """Return ``k`` if it can describe frames of ``k.width x k.height`` pixels, else raise ValueError naming ``source``.

    Checks: the field of view along each axis, ``2 atan(size / (2 f))``, lies in ``FOV_RANGE_DEG``;
    the principal point lies inside the frame, and with ``centred`` (native, uncropped frames) within
    ``MAX_PRINCIPAL_OFFSET`` of the size from the centre. A calibration of 1241x376 KITTI frames used
    with frames resized to 620x188 puts cx = 607 at the right edge and fails here.
    """
    problems: list[str] = []
    off_centre = False
    for axis, f, c, size in (("x", k.fx, k.cx, k.width), ("y", k.fy, k.cy, k.height)):
        fov = float(np.degrees(2.0 * np.arctan(size / (2.0 * f))))
        if not FOV_RANGE_DEG[0] <= fov <= FOV_RANGE_DEG[1]:
            name = "fx" if axis == "x" else "fy"
            problems.append(f"{name} = {f:g} px gives a {fov:.3g} degree field of view over {size} px "
                            f"(expected {FOV_RANGE_DEG[0]:g}-{FOV_RANGE_DEG[1]:g})")
        name = "cx" if axis == "x" else "cy"
        centre = (size - 1) / 2.0
        if not -0.5 <= c <= size - 0.5 or (centred and abs(c - centre) > MAX_PRINCIPAL_OFFSET * size):
            off_centre = True
        if not -0.5 <= c <= size - 0.5:
            problems.append(f"{name} = {c:g} px is outside the {size}-px frame")
        elif centred and abs(c - centre) > MAX_PRINCIPAL_OFFSET * size:
            problems.append(f"{name} = {c:g} px is {abs(c - centre) / size:.0%} of the {size}-px frame from its "
                            f"centre (at most {MAX_PRINCIPAL_OFFSET:.0%} expected)")
    if problems:
        guess = (f"; it looks like a calibration of {2 * (k.cx + 0.5):.0f}x{2 * (k.cy + 0.5):.0f} frames"
                 if off_centre and k.cx > 0 and k.cy > 0 else "")
        raise ValueError(f"{source}: the calibration does not fit the {k.width}x{k.height} frames: "
                         f"{'; '.join(problems)}{guess} (give the calibration of these frames; frames resized "
                         "by someone else need a rescaled calibration)")
    return k


@dataclass(frozen=True)
class Calibration:
    """A calibration file's camera: pinhole ``intrinsics`` of the frames as stored, their lens
    ``distortion`` (None when the file has none or all its coefficients are 0) and, where the file
    places the camera on a body (an IMU), ``body_from_cam`` ``(4, 4) float64`` (None otherwise)."""

    intrinsics: Intrinsics
    distortion: Distortion | None = None
    body_from_cam: np.ndarray | None = None


def read_intrinsics(path: str | os.PathLike, *, image_size: tuple[int, int] | None = None,
                    camera: int = 0) -> Intrinsics:
    """The pinhole intrinsics of :func:`read_calibration` (a distortion in the file is logged as a
    warning: these intrinsics alone do not describe the frames; the sequence readers undistort)."""
    calibration = read_calibration(path, image_size=image_size, camera=camera)
    if calibration.distortion is not None:
        logger.warning("calibration file %s has lens distortion (%s); these intrinsics describe the frames "
                       "only after undistortion (apps.io.undistort)", path, calibration.distortion.model)
    return calibration.intrinsics


def read_calibration(path: str | os.PathLike, *, image_size: tuple[int, int] | None = None,
                     camera: int = 0) -> Calibration:
    """Read a calibration file (formats in the module docstring) as :class:`Calibration`.

    Args:
        image_size: ``(width, height)`` of the frames, used when the file has no size and checked
            against it when it has one.
        camera: which ``P<camera>`` to use for a KITTI calib.txt.

    Raises FileNotFoundError for a missing file; ValueError naming the file for unparsable content,
    missing values, a size that does not match ``image_size``, or distortion coefficients that do not
    fit their model.
    """
    path = require_file(path, "calibration file")
    text = read_text_stripping_bom(path)
    if text.lstrip().startswith("%YAML"):
        values = _read_opencv_yaml(path)
    elif path.suffix.lower() in (".yaml", ".yml"):
        values = _read_yaml(path, text, camera)
    elif any(_KEY_LINE.match(line) for line in text.splitlines() if not line.lstrip().startswith("#")):
        values = _read_keyed_text(path, text, camera)
    else:
        lines = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        values = _read_dso_camera(path, lines) if _is_dso_camera(lines) else _read_numbers(path, text)
    return _finish(path, values, image_size)


def _read_numbers(path: Path, text: str) -> dict[str, float]:
    tokens = [t for line in text.splitlines() if not line.lstrip().startswith("#") for t in line.split()]
    try:
        nums = [float(t) for t in tokens]
    except ValueError:
        raise ValueError(f"calibration file {path}: expected the numbers 'fx fy cx cy [width height]', "
                         f"got {' '.join(tokens)[:80]!r}") from None
    if len(nums) not in (4, 6):
        raise ValueError(f"calibration file {path}: expected 4 numbers 'fx fy cx cy' or 6 'fx fy cx cy width "
                         f"height', found {len(nums)}")
    values = dict(zip(("fx", "fy", "cx", "cy"), nums))
    if len(nums) == 6:
        values["width"], values["height"] = nums[4], nums[5]
    return values


_DSO_MODELS = {"pinhole": (None, 1), "fov": ("fov", 1), "radtan": ("radtan", 4), "equidistant": ("equidistant", 4),
               "kannalabrandt": ("equidistant", 4)}  # DSO camera.txt model -> (our model, coefficients)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_dso_camera(lines: list[list[str]]) -> bool:
    """DSO's camera.txt: ``[Model] fx fy cx cy coefficients`` on the first line (no model: 5 numbers =
    FOV, 8 = RadTan), the frames' ``width height`` on the second."""
    if len(lines) < 2 or len(lines[1]) != 2 or not all(_is_number(t) for t in lines[1]):
        return False
    first = lines[0]
    if first and first[0].lower() in _DSO_MODELS:
        return True
    return len(first) in (5, 8) and all(_is_number(t) for t in first)


def _read_dso_camera(path: Path, lines: list[list[str]]) -> dict[str, Any]:
    """DSO's camera.txt (TUM monoVO): intrinsics relative to the size when cx, cy < 1 (DSO's rule, with its
    half-pixel shift), the lens model, the frames' size. The rectification line ("crop", "full", "none"
    or a pinhole) and the output size are DSO's choices of the undistorted camera: kp3d-vo always keeps
    the pixels that see the scene ("crop") and resizes to the run's processing size."""
    first = lines[0]
    if first[0].lower() in _DSO_MODELS:
        name, numbers = first[0].lower(), first[1:]
    else:
        name, numbers = ("fov" if len(first) == 5 else "radtan"), first
    model, n_coeffs = _DSO_MODELS[name]
    try:
        nums = [float(t) for t in numbers]
        width, height = (float(t) for t in lines[1])
    except ValueError:
        raise ValueError(f"calibration file {path}: DSO camera file with non-numbers in {' '.join(first)!r}") from None
    if len(nums) != 4 + n_coeffs:
        raise ValueError(f"calibration file {path}: DSO {first[0] if not _is_number(first[0]) else name} camera needs "
                         f"fx fy cx cy and {n_coeffs} coefficient(s), found {len(nums)} numbers")
    fx, fy, cx, cy = nums[:4]
    if cx < 1 and cy < 1:  # relative to the frame size, pixel (0, 0) covering [0, 1]^2
        fx, fy, cx, cy = fx * width, fy * height, cx * width - 0.5, cy * height - 0.5
    if len(lines) > 2 and " ".join(lines[2]).lower() not in ("crop",):
        logger.info("calibration file %s: DSO rectification %r: kp3d-vo keeps the pixels that see the scene "
                    "('crop')", path, " ".join(lines[2]))
    values: dict[str, Any] = {"fx": fx, "fy": fy, "cx": cx, "cy": cy, "width": width, "height": height}
    if model is not None:
        values.update(distortion_model=model, D=nums[4:])
    return values


def _read_keyed_text(path: Path, text: str, camera: int) -> dict[str, Any]:
    if re.search(r"^\s*P(_rect_0)?\d\s*:", text, flags=re.MULTILINE):
        matrices = parse_calib(path)
        P = matrices.get(f"P{camera}", matrices.get(f"P_rect_0{camera}"))
        if P is None:
            raise ValueError(f"calibration file {path} has no P{camera} (camera {camera}); "
                             f"it has: {', '.join(sorted(matrices))}")
        key = f"P{camera}" if f"P{camera}" in matrices else f"P_rect_0{camera}"
        return {"K": normalized_projection(P, f"calibration file {path}, {key}")[:, :3]}
    return _read_yaml(path, text, camera)  # "fx: 500" lines in a .txt file


def _read_yaml(path: Path, text: str, camera: int = 0) -> dict[str, Any]:
    import yaml

    from apps.io.yaml_file import load_yaml_text

    try:
        data = load_yaml_text(text)
    except yaml.YAMLError as e:
        raise ValueError(f"calibration file {path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"calibration file {path}: expected a YAML mapping with fx, fy, cx, cy or K")
    cams = sorted(k for k in data if isinstance(k, str) and re.fullmatch(r"cam\d+", k))
    if cams and not any(k in data for k in ("fx", "K", "camera_matrix", "intrinsics")):  # a Kalibr camchain
        key = f"cam{camera}"
        if not isinstance(data.get(key), dict):
            raise ValueError(f"calibration file {path} has no camera {key} (it has {', '.join(cams)})")
        data = data[key]
    return data


def _read_opencv_yaml(path: Path) -> dict[str, Any]:
    import cv2

    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as e:  # OpenCV reports some parse errors as SystemError
        reason = " ".join(str(e.__cause__ or e).split())
        raise ValueError(f"calibration file {path}: OpenCV cannot parse it as OpenCV YAML ({reason[:200]})") from None
    try:
        if not fs.isOpened():
            raise ValueError(f"calibration file {path}: OpenCV cannot open it")
        root = fs.root()
        return {key: _opencv_node(root.getNode(key)) for key in root.keys()}
    finally:
        fs.release()


def _opencv_node(node: Any) -> Any:
    """A ``cv2.FileNode`` as Python: numbers, strings, lists, an ``!!opencv-matrix`` as an array, other
    mappings (EuRoC's untagged ``T_BS: {cols, rows, data}``) as dicts."""
    import cv2

    if node.isReal() or node.isInt():
        return node.real()
    if node.isString():
        return node.string()
    if node.isSeq():
        return [_opencv_node(node.at(i)) for i in range(node.size())]
    if node.isMap():
        if not node.getNode("dt").empty():
            try:
                return np.asarray(node.mat())
            except cv2.error:
                pass
        return {key: _opencv_node(node.getNode(key)) for key in node.keys()}
    return None


def _matrix(path: Path, key: str, value: Any) -> np.ndarray:
    """``value`` as a 3x3 matrix (nested, flat or ``{rows, cols, data}``)."""
    return _numbers(path, key, value, (9,)).reshape(3, 3)


def _finish(path: Path, values: dict[str, Any], image_size: tuple[int, int] | None) -> Calibration:
    aliases = {"image_width": "width", "image_height": "height", "w": "width", "h": "height"}
    values = {aliases.get(k, k): v for k, v in values.items()}
    model = values.get("camera_model")
    if model is not None and str(model).lower() not in ("pinhole", "perspective"):
        raise ValueError(f"calibration file {path}: camera_model {model!r} is not supported (expected pinhole, "
                         "with or without a radtan / equidistant distortion_model)")
    if "intrinsics" in values and "fx" not in values:  # Kalibr / EuRoC: [fu, fv, pu, pv]
        intr = _numbers(path, "intrinsics", values["intrinsics"], (4,))
        values.update(fx=intr[0], fy=intr[1], cx=intr[2], cy=intr[3])
    if "resolution" in values and "width" not in values:
        res = _numbers(path, "resolution", values["resolution"], (2,))
        values.update(width=res[0], height=res[1])
    for key in ("K", "camera_matrix", "intrinsic_matrix"):
        if key in values:
            K = _matrix(path, key, values[key])
            if K[2, 2] != 1.0 and K[2, 0] == 0 and K[2, 1] == 0 and K[2, 2] > 0:
                logger.warning("calibration file %s: %s[2,2] = %g, not 1: dividing the matrix by it", path, key, K[2, 2])
                K = K / K[2, 2]
            if abs(K[0, 1]) > 1e-9 * abs(K[0, 0]):
                logger.warning("calibration file %s: skew %g ignored", path, K[0, 1])
            values.update(fx=K[0, 0], fy=K[1, 1], cx=K[0, 2], cy=K[1, 2])
            break
    missing = [k for k in ("fx", "fy", "cx", "cy") if k not in values]
    if missing:
        raise ValueError(f"calibration file {path}: missing {', '.join(missing)} (expected fx, fy, cx, cy "
                         "in pixels or a 3x3 K)")
    distortion = _distortion(path, values)
    try:
        fx, fy, cx, cy = (float(values[k]) for k in ("fx", "fy", "cx", "cy"))
    except (TypeError, ValueError):
        raise ValueError(f"calibration file {path}: fx, fy, cx, cy must be numbers") from None

    has_w, has_h = "width" in values, "height" in values
    if has_w != has_h:
        raise ValueError(f"calibration file {path}: give both width and height or neither")
    if has_w:
        try:
            w, h = float(values["width"]), float(values["height"])
        except (TypeError, ValueError):
            raise ValueError(f"calibration file {path}: width and height must be numbers") from None
        if w != int(w) or h != int(h) or w <= 0 or h <= 0:
            raise ValueError(f"calibration file {path}: width and height must be positive integers, got {w} x {h}")
        size = (int(w), int(h))
        if image_size is not None and tuple(image_size) != size:
            raise ValueError(f"calibration file {path} is for {size[0]}x{size[1]} images but the frames are "
                             f"{image_size[0]}x{image_size[1]} (rescale the calibration or the images)")
    elif image_size is not None:
        size = (int(image_size[0]), int(image_size[1]))
    else:
        raise ValueError(f"calibration file {path} has no width/height and no image size was given")
    try:
        k = Intrinsics(fx, fy, cx, cy, size[0], size[1])
    except ValueError as e:
        raise ValueError(f"calibration file {path}: {e}") from None
    return Calibration(check_intrinsics_fit(k, f"calibration file {path}"), distortion, _body_from_cam(path, values))


def _body_from_cam(path: Path, values: dict[str, Any]) -> np.ndarray | None:
    """The camera's pose on its body: ``body_from_cam`` (kp3d-vo YAML), EuRoC's ``T_BS`` (sensor to
    body) or Kalibr's ``T_cam_imu`` (inverted); a rigid 4x4 (nested, flat or ``{rows, cols, data}``)."""
    for key, inverse in (("body_from_cam", False), ("T_BS", False), ("T_cam_imu", True)):
        if key in values and values[key] is not None:
            m = _numbers(path, key, values[key], (16,)).reshape(1, 4, 4)
            m = check_poses(m, f"calibration file {path}: {key}", rigid=True)[0]
            return np.linalg.inv(m) if inverse else m.copy()
    return None


def _numbers(path: Path, key: str, value: Any, counts: tuple[int, ...]) -> np.ndarray:
    """``value`` (a list, an array or a ``{rows, cols, data}`` mapping) as flat float64 numbers."""
    if isinstance(value, dict) and "data" in value:
        value = value["data"]
    try:
        v = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"calibration file {path}: {key} must be numbers, got {value!r}") from None
    if v.size not in counts:
        raise ValueError(f"calibration file {path}: {key} must have {' or '.join(map(str, counts))} numbers, "
                         f"found {v.size}")
    return v


def _distortion(path: Path, values: dict[str, Any]) -> Distortion | None:
    """The file's lens distortion (module docstring), None without one or with all coefficients 0."""
    model = values.get("distortion_model")
    lists = [k for k in _DISTORTION_LISTS if k in values and values[k] is not None]
    try:
        if lists:
            raw = values[lists[0]]
            if isinstance(raw, dict) and "data" in raw:
                raw = raw["data"]
            distortion = Distortion.parse(model, raw)
        else:
            probe = Distortion.parse(model, [0.0] * 4)  # validates the model name
            names = _DISTORTION_SINGLE[probe.model]
            if not any(n in values for n in names):
                return None
            distortion = Distortion.parse(model, [values.get(n, 0.0) for n in names])
    except ValueError as e:
        raise ValueError(f"calibration file {path}: {e}") from None
    return None if distortion.is_zero else distortion
