"""A folder of image files as a :class:`~apps.io.sequence_base.Sequence`.

Layout::

    FOLDER/frame_0.png, frame_1.png, ... frame_10.png   images (.png/.jpg/.jpeg/.bmp/.tif/.pgm/.ppm),
                                                        natural order (frame_2 before frame_10),
                                                        colour converted to grey
    FOLDER/times.txt                                    optional, one timestamp (s) per image (or TUM
                                                        monoVO's "index seconds exposure" lines)
    calibration file                                    see apps.io.calibration.read_calibration

A folder named ``images`` also finds ``times.txt`` and the calibration in its parent (TUM monoVO's
layout: ``sequence_NN/images/``, ``camera.txt``, ``times.txt``). Without ``times.txt``, frames named by
their time (EuRoC's nanoseconds ``1403636579763555584.png``, TUM's seconds ``1305031102.175304.png``)
take it from the name; otherwise the timestamps are ``index / fps``. When the names carry frame numbers
(``frame_7.png``) with gaps (a missing number), the gap is logged as a WARNING and kept: without
``times.txt`` the timestamps are ``(number - first number) / fps``, and a KITTI-format ground truth
(one pose per line, no timestamps) pairs each frame with line ``number - first number``, so a
missing frame never shifts the pairing. A TUM ground truth is paired by time.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from apps.io.calibration import read_calibration
from apps.io.kitti_format import read_times_and_exposures
from apps.io.ground_truth import load_gt_poses
from apps.io.sequence_base import (Sequence, describe_gaps, describe_time_gaps, frame_numbers, list_images,
                                   name_timestamps, nominal_timestamps, read_grey, reference_size)

logger = logging.getLogger(__name__)
DEFAULT_CALIB_NAMES = ("calib.yaml", "calib.yml", "calib.txt", "camera.txt")


class ImageFolderSequence(Sequence):
    """Images of one folder with a calibration file.

    Args:
        folder: the folder holding the images (not searched recursively).
        calib: calibration file (:func:`apps.io.calibration.read_calibration`; frames with lens
            distortion are undistorted); ``None`` looks for
            ``calib.yaml``, ``calib.yml``, ``calib.txt`` or ``camera.txt`` in the folder.
        fps: frame rate for the timestamps when the folder has no ``times.txt`` (default 10).
        gt: optional ground-truth trajectory file (KITTI, TUM or EuRoC, see ``load_gt_poses``; EuRoC's body
            poses become the camera's with the calibration's ``body_from_cam``, e.g. ``T_BS``).
        camera: which ``P<camera>`` to use when the calibration is a KITTI calib.txt.

    Raises FileNotFoundError for a missing folder or calibration, ValueError for a folder without
    images, a calibration whose size differs from the frames' (majority) size, or a times.txt whose
    count differs from the number of images. Each frame is checked against the size when read (an odd
    first frame is skipped by the run, not taken as the reference).
    """

    def __init__(self, folder: str | os.PathLike, calib: str | os.PathLike | None = None, *, fps: float = 10.0,
                 gt: str | os.PathLike | None = None, camera: int = 0):
        self.path = Path(folder)
        self.name = self.path.name
        self._files = list_images(self.path)
        # TUM monoVO (DSO's dataset): images/ beside camera.txt and times.txt
        around = [self.path] + ([self.path.parent] if self.path.name == "images" else [])
        if calib is None:
            found = [d / n for d in around for n in DEFAULT_CALIB_NAMES if (d / n).is_file()]
            if not found:
                raise FileNotFoundError(f"no calibration file for image folder {self.path}: give one "
                                        f"(fx fy cx cy [width height] text or YAML) or put one of "
                                        f"{', '.join(DEFAULT_CALIB_NAMES)} in the folder")
            calib = found[0]
        self.calib_path = Path(calib)
        calibration = read_calibration(self.calib_path, image_size=reference_size(self._files), camera=camera)
        self._set_camera(calibration.intrinsics, calibration.distortion)
        n = len(self._files)
        name_times = name_timestamps(self._files)  # EuRoC / TUM frames are named by their time
        numbers = None if name_times is not None else frame_numbers(self._files)
        gaps = None if numbers is None else describe_gaps(numbers, self._files)
        steps = None if gaps is None else numbers - numbers[0]
        times_path = next((d / "times.txt" for d in around if (d / "times.txt").is_file()), self.path / "times.txt")
        has_times = times_path.is_file()
        if has_times:
            self.timestamps, self.exposures = read_times_and_exposures(times_path)
            if len(self.timestamps) != n:
                raise ValueError(f"{times_path} has {len(self.timestamps)} timestamps but {self.path} has "
                                 f"{n} images (expected one timestamp per image)")
        elif name_times is not None:
            self.timestamps = name_times
        else:
            self.timestamps = nominal_timestamps(n, fps) if steps is None else steps.astype(np.float64) / fps
        time_gaps = describe_time_gaps(self.timestamps) if has_times or name_times is not None else None
        if time_gaps is not None:
            logger.info("%s: %s", times_path if has_times else self.path, time_gaps)
        if gaps is not None:
            logger.warning("%s: %s; frames keep their numbers: a KITTI-format ground-truth line = frame number - "
                           "first number%s", self.path, gaps,
                           "" if has_times else f", timestamp = that / {fps:g} fps (no times.txt)")
        if gt is not None and not Path(gt).is_file():
            raise FileNotFoundError(f"ground-truth file not found: {gt}")
        note = ("" if has_times or name_times is not None else
                f" (the folder has no times.txt: nominal {fps:g} fps times from 0)")
        self.gt_world_from_cam = None if gt is None else load_gt_poses(
            gt, n, self.timestamps, frame_rows=steps, timestamps_note=note, body_from_cam=calibration.body_from_cam)

    def frame_path(self, i: int) -> str:
        return str(self._files[self._check_index(i)])

    def _read_image(self, i: int) -> np.ndarray:
        return read_grey(self._files[i])
