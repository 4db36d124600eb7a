"""KITTI odometry sequence folders (:class:`KittiSequence`).

The ``calib.txt`` / ``times.txt`` readers and writers are in :mod:`apps.io.kitti_format`
(re-exported here).

Layout of a sequence (the official ``data_odometry_*`` archives; also what ``kp3d-vo synth`` writes)::

    ROOT/sequences/NN/image_0/000000.png ...  camera 0 (left grey); image_1 right grey,
                                              image_2 left colour, image_3 right colour
    ROOT/sequences/NN/calib.txt               projection matrices, see parse_calib
    ROOT/sequences/NN/times.txt               one timestamp (seconds) per frame
    ROOT/sequences/NN/depth_0/000000.npy ...  optional exact z-depth, (H, W) float32 metres
    ROOT/poses/NN.txt                         ground truth world_from_cam, 12 numbers per line

What ``calib.txt`` and ``times.txt`` may hold is described in :mod:`apps.io.kitti_format`.
"""
from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from apps.io.calibration import check_intrinsics_fit, read_calibration
from apps.io.camera import Intrinsics
from apps.io.kitti_format import (NOMINAL_FPS, normalized_projection, parse_calib, projection_matrix, read_times,
                                  write_calib, write_times)
from apps.io.ground_truth import load_gt_poses
from apps.io.sequence_base import (Sequence, describe_gaps, describe_time_gaps, frame_numbers, list_images,
                                   nominal_timestamps, read_grey, reference_size)

__all__ = ["KITTI_CAMERA_HEIGHT_M", "KittiSequence", "NOMINAL_FPS", "parse_calib", "projection_matrix", "read_times",
           "write_calib", "write_times"]

logger = logging.getLogger(__name__)

KITTI_CAMERA_HEIGHT_M = 1.65  # the KITTI rig's cameras above the road, metres


class KittiSequence(Sequence):
    """A KITTI-layout sequence folder ``.../sequences/NN`` (see the module docstring).

    Args:
        path: the sequence folder, holding ``calib.txt`` and ``image_<camera>/``.
        camera: 0..3; frames come from ``image_<camera>`` (colour converted to grey) and the
            intrinsics from ``P<camera>`` (or ``P_rect_0<camera>``) of the calibration file.
        gt: ground-truth pose file; ``None`` looks for ``<seq>/../../poses/<name>.txt``, then
            ``<seq>/poses.txt``, and goes without ground truth when neither exists; ``False``
            means no ground truth. Longer pose files are truncated to the frames present (logged
            at INFO for a file found, WARNING for one given); shorter ones raise ValueError.
        calib: calibration file to use instead of ``<seq>/calib.txt``, in any format of
            :func:`apps.io.calibration.read_calibration` (KITTI calib.txt, text, YAML; frames with lens
            distortion are undistorted).

    ``projection`` is the ``(3, 4)`` matrix of the chosen camera, scaled so that ``P[2, 2] = 1``
    (:func:`apps.io.kitti_format.normalized_projection`); its intrinsics must fit the frames
    (:func:`apps.io.calibration.check_intrinsics_fit`, ValueError naming calib.txt otherwise). Frame
    size is the majority size of a few frames spread over the folder (an odd first frame is not the
    reference: it is skipped when read, with a WARNING at open); each frame is checked when read.

    Frame numbers: image ``NNNNNN.png`` is KITTI frame ``NNNNNN``. A KITTI pose file (no timestamps)
    pairs frame ``N`` with its line ``N``; without ``times.txt`` the timestamps are nominal 10 Hz,
    ``(N - first N) / 10`` s (logged at INFO). Missing frame numbers (a gap in the names) are logged
    as a WARNING and keep this pairing, so a missing frame never shifts the ground truth or the
    times. A TUM ground truth (with timestamps) is paired by time with ``times.txt`` (or the nominal
    times). Frames that cannot be decoded raise ValueError naming the file when read (callers may
    catch it and skip the frame).
    ``depth_<camera>/<stem>.npy`` files, when that folder exists, give :meth:`depth`.
    """

    def __init__(self, path: str | os.PathLike, *, camera: int = 0, gt: str | os.PathLike | bool | None = None,
                 calib: str | os.PathLike | None = None):
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"KITTI sequence folder not found: {self.path}")
        if camera not in (0, 1, 2, 3):
            raise ValueError(f"camera must be 0, 1, 2 or 3 (KITTI image_0..image_3), got {camera!r}")
        self.camera = camera
        self.name = self.path.name
        self.image_dir = self.path / f"image_{camera}"
        calib_path = self.path / "calib.txt"
        matrices = parse_calib(calib_path) if calib is None else None  # checked before the images
        if not self.image_dir.is_dir():
            raise FileNotFoundError(f"image folder for camera {camera} not found: {self.image_dir}")
        self._files = list_images(self.image_dir)
        size = reference_size(self._files)  # the majority size: an odd first frame is not the reference
        if matrices is None:  # any format of apps.io.calibration (KITTI calib.txt, text, YAML)
            calibration = read_calibration(calib, image_size=size, camera=camera)
            self._set_camera(calibration.intrinsics, calibration.distortion)  # undistorted frames' intrinsics
            self.projection = projection_matrix(self.intrinsics)
        else:
            key = f"P{camera}" if f"P{camera}" in matrices else f"P_rect_0{camera}"
            if key not in matrices:
                raise ValueError(f"calibration file {calib_path} has no P{camera} (needed for camera {camera}, "
                                 f"image_{camera}/); it has: {', '.join(sorted(matrices))}")
            where = f"calibration file {calib_path}, {key}"
            self.projection = normalized_projection(matrices[key], where)
            try:
                self.intrinsics = Intrinsics.from_K(self.projection[:, :3], width=size[0], height=size[1])
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
            check_intrinsics_fit(self.intrinsics, f"{where} (frames of {self.image_dir})")
        n = len(self._files)

        numbers = frame_numbers(self._files)
        gaps = None if numbers is None else describe_gaps(numbers, self._files)
        times_path = self.path / "times.txt"
        self.has_times = times_path.is_file()
        if self.has_times:
            self.timestamps = read_times(times_path)
            if len(self.timestamps) != n:
                raise ValueError(f"{times_path} has {len(self.timestamps)} timestamps but {self.image_dir} has "
                                 f"{n} images (expected one timestamp per image)")
            time_gaps = describe_time_gaps(self.timestamps)
            if time_gaps is not None:
                logger.info("%s: %s", times_path, time_gaps)
        else:
            logger.info("%s not found: using nominal %.0f Hz timestamps", times_path, NOMINAL_FPS)
            self.timestamps = (nominal_timestamps(n, NOMINAL_FPS) if numbers is None
                               else (numbers - numbers[0]).astype(np.float64) / NOMINAL_FPS)
        if gaps is not None:
            logger.warning("%s: %s; frames keep their numbers: KITTI ground-truth line = frame number%s",
                           self.image_dir, gaps, "" if self.has_times else
                           f", timestamp = (frame number - first) / {NOMINAL_FPS:g} Hz (no times.txt)")

        self.gt_path = self._find_gt(gt)
        note = "" if self.has_times else f" (the sequence has no times.txt: nominal {NOMINAL_FPS:g} Hz times from 0)"
        self.gt_world_from_cam = None if self.gt_path is None else load_gt_poses(
            self.gt_path, n, self.timestamps, frame_rows=numbers, timestamps_note=note,
            found_beside_frames=gt is None or gt is True)

        self.depth_dir = self.path / f"depth_{camera}"
        self._depth_files: list[Path] | None = None
        if self.depth_dir.is_dir():
            self._depth_files = [self.depth_dir / f"{p.stem}.npy" for p in self._files]
            missing = [p for p in self._depth_files if not p.is_file()]
            if missing:
                raise ValueError(f"depth folder {self.depth_dir} lacks {len(missing)} of {n} depth files "
                                 f"(first missing: {missing[0].name}; expected <image stem>.npy per image)")

        self.camera_height = self._stated_camera_height()

    def _stated_camera_height(self) -> float:
        """Metres from the camera to the road: KITTI's cameras are 1.65 m above it (the rig of Geiger et al.
        2013); a render by ``kp3d-vo synth`` states its own in ``synth.json`` (options.camera_height)."""
        meta_path = self.path / "synth.json"
        if not meta_path.is_file():
            return KITTI_CAMERA_HEIGHT_M
        try:
            height = float(json.loads(meta_path.read_text())["options"]["camera_height"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{meta_path}: expected a kp3d-vo synth metadata file with options.camera_height "
                             f"(metres), could not read it: {e!r}") from None
        if not (math.isfinite(height) and height > 0):
            raise ValueError(f"{meta_path}: options.camera_height must be > 0 metres, got {height}")
        return height

    def _find_gt(self, gt: str | os.PathLike | bool | None) -> Path | None:
        if gt is False:
            return None
        if gt is not None and gt is not True:
            p = Path(gt)
            if not p.is_file():
                raise FileNotFoundError(f"ground-truth file not found: {p}")
            return p
        for p in (self.path.parent.parent / "poses" / f"{self.name}.txt", self.path / "poses.txt"):
            if p.is_file():
                return p
        if gt is True:
            raise FileNotFoundError(f"no ground truth for {self.path}: looked for "
                                    f"{self.path.parent.parent / 'poses' / (self.name + '.txt')} and "
                                    f"{self.path / 'poses.txt'}")
        return None

    @property
    def has_depth(self) -> bool:
        return self._depth_files is not None

    def frame_path(self, i: int) -> str:
        return str(self._files[self._check_index(i)])

    def _read_image(self, i: int) -> np.ndarray:
        return read_grey(self._files[i])

    def _read_depth(self, i: int) -> np.ndarray | None:
        if self._depth_files is None:
            return None
        path = self._depth_files[i]
        try:
            d = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read depth file {path}: {e}") from None
        if d.ndim != 2 or not np.issubdtype(d.dtype, np.floating):
            raise ValueError(f"depth file {path}: expected an (H, W) float array, got shape {d.shape} dtype {d.dtype}")
        d = d.astype(np.float32, copy=False)
        if not np.all(np.isfinite(d)) or np.any(d < 0):
            raise ValueError(f"depth file {path}: depth must be finite and >= 0 (0 = unknown)")
        return d
