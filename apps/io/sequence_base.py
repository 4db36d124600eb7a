"""The frame-sequence interface shared by the readers (KITTI folders, image folders, videos).

A :class:`Sequence` is a finite list of grey frames with intrinsics, timestamps and optional
ground truth:

- ``name: str`` (KITTI sequence number, folder name or video file stem), ``path: Path``;
- ``intrinsics: Intrinsics`` of the frames as returned (after any resize/crop);
- ``timestamps: (N,) float64`` seconds, strictly increasing;
- ``gt_world_from_cam: (N, 4, 4) float64 | None`` ground-truth camera-to-world poses, NaN rows for
  frames a time-stamped ground truth does not cover (:func:`apps.io.ground_truth.gt_covered`);
- ``len(seq)``, ``seq.image(i) -> (H, W) uint8`` grey, ``seq.depth(i) -> (H, W) float32`` metric
  z-depth (0 = unknown) or ``None`` when the sequence has no depth, ``seq.frame_path(i) -> str``;
- iteration yields :class:`Frame` records in order (sequential reading, efficient for videos).

The readers (:mod:`apps.io.kitti`, :mod:`apps.io.folder`, :mod:`apps.io.video`) build on this module;
:func:`apps.io.sequence.open_sequence` picks one of them (and re-exports the names defined here).
"""
from __future__ import annotations

import abc
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from apps.io.camera import Intrinsics
from apps.io.photometric import Photometric
from apps.io.preprocess import Preprocess
from apps.io.undistort import Distortion, Undistorter

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".ppm")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                  ".ts", ".mts", ".m2ts", ".3gp", ".ogv")


@dataclass(frozen=True)
class Frame:
    """One frame of a sequence as yielded by iteration.

    ``image`` is ``(H, W) uint8`` grey; ``world_from_cam`` is the ``(4, 4) float64`` ground-truth
    pose or ``None``. Depth is not loaded here: call ``seq.depth(frame.index)`` when needed.
    """

    index: int
    timestamp: float
    image: np.ndarray
    world_from_cam: np.ndarray | None


class Sequence(abc.ABC):
    """Base class of all frame sequences (see the module docstring for the interface).

    Subclasses set ``name``, ``path``, ``intrinsics`` (or call :meth:`_set_camera`), ``timestamps``
    and ``gt_world_from_cam`` in ``__init__`` and implement ``_read_image(i)`` and ``frame_path(i)``;
    sequences with depth override ``has_depth`` and ``_read_depth(i)``. The public accessors check the
    index and the shape/dtype of what the subclass returns, and undistort the frames of a camera with
    lens distortion (``undistorter``; ``intrinsics`` are then those of the undistorted frames).
    """

    name: str
    path: Path
    intrinsics: Intrinsics
    timestamps: np.ndarray
    gt_world_from_cam: np.ndarray | None
    undistorter: Undistorter | None = None
    photometric: Photometric | None = None  # in the geometry of the frames returned (set_photometric)
    exposures: np.ndarray | None = None     # (N,) float64 exposure times (TUM monoVO, ms) or None
    camera_height: float | None = None      # metres from the camera to the road, when the source states it

    def set_photometric(self, photometric: Photometric | None) -> None:
        """The camera's photometric calibration (:mod:`apps.io.photometric`), given in the geometry of the
        frames as stored (before any undistortion)."""
        u = self.undistorter
        self.photometric = photometric if photometric is None or u is None else photometric.map_vignette(u.image)

    def _set_camera(self, intrinsics: Intrinsics, distortion: Distortion | None) -> None:
        """The frames' camera as calibrated: with a distortion, frames are undistorted on reading and
        ``intrinsics`` become the pinhole camera of the undistorted frames (same size)."""
        self.undistorter = None if distortion is None else Undistorter(intrinsics, distortion)
        self.intrinsics = intrinsics if self.undistorter is None else self.undistorter.intrinsics
        if self.undistorter is not None:
            k = self.intrinsics
            logger.info("%s: undistorting frames (%s distortion %s) to a pinhole camera fx %.2f fy %.2f cx %.2f "
                        "cy %.2f", self.path, distortion.model, ", ".join(f"{c:g}" for c in distortion.coeffs),
                        k.fx, k.fy, k.cx, k.cy)

    def __len__(self) -> int:
        return int(len(self.timestamps))

    @property
    def has_depth(self) -> bool:
        """True when :meth:`depth` returns depth maps (synthetic sequences)."""
        return False

    @abc.abstractmethod
    def frame_path(self, i: int) -> str:
        """Where frame ``i`` comes from (image file, or ``video#index``), for messages and logs."""

    @abc.abstractmethod
    def _read_image(self, i: int) -> np.ndarray:
        """Frame ``i`` (already range-checked) as ``(H, W) uint8``."""

    def _read_depth(self, i: int) -> np.ndarray | None:
        return None

    def _check_index(self, i: int) -> int:
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"{self.name}: frame index must be an integer, got {i!r}")
        if not -n <= i < n:
            raise IndexError(f"{self.name}: frame index {i} out of range for {n} frames")
        return int(i) % n

    def image(self, i: int) -> np.ndarray:
        """Frame ``i`` as ``(H, W) uint8`` grey, ``H, W = intrinsics.height, intrinsics.width``."""
        i = self._check_index(i)
        img = self._read_image(i)
        u = self.undistorter
        if u is not None and img.shape[:2] == (u.source.height, u.source.width):  # else: the error below
            img = u.image(img)
        shape = (self.intrinsics.height, self.intrinsics.width)
        if img.dtype != np.uint8 or img.shape != shape:
            raise ValueError(f"{self.frame_path(i)}: expected a {shape[1]}x{shape[0]} grey image (the size "
                             f"of most frames and of the calibration), got shape {img.shape} dtype {img.dtype}")
        return img

    def depth(self, i: int) -> np.ndarray | None:
        """Metric z-depth of frame ``i``, ``(H, W) float32`` (0 = unknown), or ``None`` without depth."""
        i = self._check_index(i)
        d = self._read_depth(i)
        if d is None:
            return None
        u = self.undistorter
        if u is not None and d.shape == (u.source.height, u.source.width):
            d = u.depth(d)
        shape = (self.intrinsics.height, self.intrinsics.width)
        if d.dtype != np.float32 or d.shape != shape:
            raise ValueError(f"depth of {self.frame_path(i)}: expected (H, W) = {shape} float32, "
                             f"got shape {d.shape} dtype {d.dtype}")
        return d

    def __iter__(self) -> Iterator[Frame]:
        gt = self.gt_world_from_cam
        for i in range(len(self)):
            yield Frame(i, float(self.timestamps[i]), self.image(i), None if gt is None else gt[i])

    def __repr__(self) -> str:
        k = self.intrinsics
        return (f"{type(self).__name__}(name={self.name!r}, frames={len(self)}, size={k.width}x{k.height}, "
                f"gt={'yes' if self.gt_world_from_cam is not None else 'no'}, path='{self.path}')")


class SequenceView(Sequence):
    """A sequence seen through a resize/crop and/or truncated to its first ``max_frames`` frames.

    Images, depth, intrinsics, timestamps and ground truth are all transformed consistently.
    """

    def __init__(self, base: Sequence, *, preprocess: Preprocess | None = None, max_frames: int | None = None):
        if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer))
                                       or max_frames <= 0):
            raise ValueError(f"max_frames must be a positive integer or None, got {max_frames!r}")
        self.base = base
        self.preprocess = preprocess
        n = len(base) if max_frames is None else min(len(base), int(max_frames))
        self.name, self.path = base.name, base.path
        self.intrinsics = base.intrinsics if preprocess is None else preprocess.intrinsics(base.intrinsics)
        self.timestamps = base.timestamps[:n]
        self.exposures = None if base.exposures is None else base.exposures[:n]
        self.camera_height = base.camera_height
        gt = base.gt_world_from_cam
        self.gt_world_from_cam = None if gt is None else gt[:n]

    @property
    def has_depth(self) -> bool:
        return self.base.has_depth

    @property
    def photometric(self) -> Photometric | None:  # the base's, through the resize/crop
        p = self.base.photometric
        return p if p is None or self.preprocess is None else p.map_vignette(self.preprocess.image)

    def set_photometric(self, photometric: Photometric | None) -> None:
        self.base.set_photometric(photometric)

    def frame_path(self, i: int) -> str:
        return self.base.frame_path(i)

    def _read_image(self, i: int) -> np.ndarray:
        img = self.base.image(i)
        return img if self.preprocess is None else self.preprocess.image(img)

    def _read_depth(self, i: int) -> np.ndarray | None:
        d = self.base.depth(i)
        return d if d is None or self.preprocess is None else self.preprocess.depth(d)


def source_undistorter(seq: Sequence) -> Undistorter | None:
    """The :class:`Undistorter` applied to ``seq``'s frames by its reader (through any views), or None."""
    while seq is not None:
        if seq.undistorter is not None:
            return seq.undistorter
        seq = getattr(seq, "base", None)
    return None


# ----------------------------------------------------------------------------------------------
# helpers shared by the readers


def natural_key(name: str) -> list:
    """Sort key that orders embedded numbers numerically: ``img2.png`` before ``img10.png``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files (``IMAGE_SUFFIXES``, any case) directly in ``folder``, naturally sorted.

    Raises FileNotFoundError when the folder is missing, ValueError when it holds no images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not files:
        raise ValueError(f"image folder {folder} contains no images (expected files ending in "
                         f"{', '.join(IMAGE_SUFFIXES)})")
    return sorted(files, key=lambda p: natural_key(p.name))


def read_grey(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as ``(H, W) uint8`` grey.

    Colour is converted with ``cv2.cvtColor(..., COLOR_BGR2GRAY)`` (the same conversion as for
    video frames), 16-bit images are scaled to 8 bits (``round(v / 257)``), EXIF orientation is
    applied. Raises FileNotFoundError when missing, ValueError naming the file when it cannot be
    decoded or has an unsupported pixel type.
    """
    path = Path(path)
    img = cv2.imread(str(path), cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH)
    if img is None:
        if not path.is_file():
            raise FileNotFoundError(f"image file not found: {path}")
        raise ValueError(f"cannot decode image file {path} (corrupt or unsupported format)")
    if img.ndim == 3:
        code = {3: cv2.COLOR_BGR2GRAY, 4: cv2.COLOR_BGRA2GRAY}.get(img.shape[2])
        img = img[:, :, 0] if img.shape[2] == 1 else None if code is None else cv2.cvtColor(img, code)
        if img is None:
            raise ValueError(f"image file {path}: unsupported channel count")
    if img.dtype == np.uint16:
        img = np.round(img.astype(np.float32) / 257.0).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ValueError(f"image file {path}: unsupported pixel type {img.dtype} (expected 8 or 16 bit)")
    return np.ascontiguousarray(img)


def reference_size(files: list[Path], samples: int = 5) -> tuple[int, int]:
    """``(width, height)`` of most of ``files``: the majority size among up to ``samples`` frames spread
    over the sequence (first and last included; ties go to the earlier frame).

    A first frame of another size must not become the reference (its 29 good successors would then be
    rejected); it is logged as a WARNING here and skipped by the run when read. Unreadable samples are
    ignored; when none is readable, the first file's error is raised.
    """
    n = len(files)
    picks = sorted({int(round(v)) for v in np.linspace(0, n - 1, min(n, samples))})
    sizes: dict[int, tuple[int, int]] = {}
    first_error: Exception | None = None
    for i in picks:
        try:
            img = read_grey(files[i])
        except (ValueError, OSError) as exc:
            first_error = first_error or exc
            continue
        sizes[i] = (img.shape[1], img.shape[0])
    if not sizes:
        raise first_error if first_error is not None else ValueError("no frames")
    seen = list(sizes.values())
    best = max(seen, key=lambda s: (seen.count(s), -seen.index(s)))
    if 0 in sizes and sizes[0] != best:
        logger.warning("%s is %dx%d but most frames are %dx%d: frames of another size are skipped",
                       files[0], sizes[0][0], sizes[0][1], best[0], best[1])
    return best


def nominal_timestamps(n: int, fps: float) -> np.ndarray:
    """``index / fps`` seconds, ``(n,) float64``."""
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    return np.arange(n, dtype=np.float64) / float(fps)


def describe_time_gaps(timestamps: np.ndarray, factor: float = 1.5) -> str | None:
    """``None`` when no step of ``timestamps`` ((N,) float64 seconds) exceeds ``factor`` x the median step,
    else a short description of those steps (a camera's dropped frames; the backend's motion prediction
    follows the timestamps across them)."""
    steps = np.diff(np.asarray(timestamps, dtype=np.float64))
    if steps.size < 2:
        return None
    median = float(np.median(steps))
    at = np.flatnonzero(steps > factor * median) if median > 0 else np.array([], dtype=np.int64)
    if at.size == 0:
        return None
    k = int(at[0])
    return (f"{at.size} time step(s) longer than {factor:g} x the median {median * 1e3:.1f} ms (dropped frames?), "
            f"the first {steps[k] * 1e3:.1f} ms between frames {k} and {k + 1}")


def frame_numbers(files: list[Path]) -> np.ndarray | None:
    """The frame number in each file name (the last run of digits of the stem), ``(N,) int64``.

    ``None`` unless every name has one, the names differ only in it (same text around the digits)
    and the numbers increase strictly in the given (natural) order.
    """
    parts = [re.fullmatch(r"(.*?)(\d+)(\D*)", p.stem) for p in files]
    if not parts or any(m is None for m in parts):
        return None
    if len({(m.group(1), m.group(3)) for m in parts}) != 1:
        return None
    numbers = np.array([int(m.group(2)) for m in parts], dtype=np.int64)
    if np.any(np.diff(numbers) <= 0):
        return None
    return numbers


def name_timestamps(files: list[Path]) -> np.ndarray | None:
    """Timestamps (s, ``(N,) float64``) when every file name is one: nanoseconds as 16-19 digits
    (EuRoC ``1403636579763555584.png``) or seconds with a fraction (TUM ``1305031102.175304.png``),
    strictly increasing in the given order; else ``None`` (e.g. frame numbers ``000042.png``)."""
    stems = [p.stem for p in files]
    if stems and all(re.fullmatch(r"\d{16,19}", s) for s in stems):  # int64 holds 19 digits
        ns = np.array([int(s) for s in stems], dtype=np.int64)
        times = ns[0] / 1e9 + (ns - ns[0]).astype(np.float64) * 1e-9  # absolute seconds (float64: ~0.2 us)
    elif stems and all(re.fullmatch(r"\d+\.\d+", s) for s in stems):
        times = np.array([float(s) for s in stems], dtype=np.float64)
    else:
        return None
    return times if np.all(np.diff(times) > 0) else None


def describe_gaps(numbers: np.ndarray, files: list[Path]) -> str | None:
    """``None`` when the frame numbers are consecutive, else a short description of the missing ones."""
    steps = np.diff(numbers)
    at = np.flatnonzero(steps > 1)
    if at.size == 0:
        return None
    missing = int(np.sum(steps[at] - 1))
    k = int(at[0])
    return (f"{missing} frame number(s) missing in {at.size} gap(s), the first between {files[k].name} and "
            f"{files[k + 1].name}")
