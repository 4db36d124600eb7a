"""A video file as a :class:`~apps.io.sequence_base.Sequence` (OpenCV ``VideoCapture``, FFmpeg backend).

Any container/codec the installed OpenCV decodes works (mp4/H.264, avi/MJPG, mkv, ...). Frames are
converted to grey. Opening indexes the video once (each frame is grabbed, not converted) to learn
the exact frame count and each frame's presentation time from the container
(``CAP_PROP_POS_MSEC``); that costs about one decode of the video. Timestamps are those container
times in seconds, or ``index / fps`` when ``fps`` is given or the container times are unusable
(not strictly increasing).

Reading frames in order decodes each frame once; short forward jumps grab the skipped frames, and
other jumps seek (checked against the indexed time, with a slow but exact re-decode from the start
as the fallback when the backend's seek lands elsewhere). Not thread-safe.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from apps.io.calibration import read_calibration
from apps.io.ground_truth import load_gt_poses
from apps.io.sequence_base import Sequence, describe_time_gaps, nominal_timestamps

logger = logging.getLogger(__name__)

FORWARD_GRAB_LIMIT = 64  # forward jumps up to this many frames grab instead of seeking


class VideoSequence(Sequence):
    """Frames of a video file with a calibration file.

    Args:
        path: the video file.
        calib: calibration file (:func:`apps.io.calibration.read_calibration`); its size, if any,
            must equal the video's frame size. Frames with lens distortion are undistorted.
        fps: if given, timestamps are ``index / fps`` instead of the container's times.
        gt: optional ground-truth trajectory file (KITTI, TUM or EuRoC, see ``load_gt_poses``).
        camera: which ``P<camera>`` to use when the calibration is a KITTI calib.txt.

    Raises FileNotFoundError for a missing file, ValueError naming the file when OpenCV cannot
    open or decode it or it has no frames.
    """

    def __init__(self, path: str | os.PathLike, calib: str | os.PathLike, *, fps: float | None = None,
                 gt: str | os.PathLike | None = None, camera: int = 0):
        self.path = Path(path)
        self.name = self.path.stem
        if not self.path.is_file():
            raise FileNotFoundError(f"video file not found: {self.path}")
        cap = self._open()
        try:
            times_ms: list[float] = []
            width = height = 0
            while cap.grab():
                times_ms.append(float(cap.get(cv2.CAP_PROP_POS_MSEC)))
                if len(times_ms) == 1:  # the decoded size (after any rotation metadata), not the header's
                    ok, first = cap.retrieve()
                    if not ok or first is None:
                        raise ValueError(f"video {self.path}: cannot decode the first frame")
                    height, width = first.shape[:2]
            container_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        finally:
            cap.release()
        if not times_ms:
            raise ValueError(f"video {self.path} has no decodable frames (unsupported codec or corrupt file)")
        n = len(times_ms)
        self._container_times = np.asarray(times_ms, dtype=np.float64) / 1000.0
        container_ok = n == 1 or bool(np.all(np.diff(self._container_times) > 0))
        if fps is not None:
            self.timestamps = nominal_timestamps(n, fps)
        elif container_ok:
            self.timestamps = self._container_times.copy()
            time_gaps = describe_time_gaps(self.timestamps)
            if time_gaps is not None:
                logger.info("video %s: container timestamps: %s", self.path, time_gaps)
        elif container_fps > 0:
            logger.warning("video %s: container timestamps are not increasing; using index / %.3f fps",
                           self.path, container_fps)
            self.timestamps = nominal_timestamps(n, container_fps)
        else:
            raise ValueError(f"video {self.path} has neither increasing frame timestamps nor a frame rate; "
                             "give fps explicitly")
        self._seek_checkable = container_ok
        calibration = read_calibration(calib, image_size=(width, height), camera=camera)
        self._set_camera(calibration.intrinsics, calibration.distortion)
        if gt is not None and not Path(gt).is_file():
            raise FileNotFoundError(f"ground-truth file not found: {gt}")
        self.gt_world_from_cam = None if gt is None else load_gt_poses(gt, n, self.timestamps,
                                                                       body_from_cam=calibration.body_from_cam)
        self._cap: cv2.VideoCapture | None = None
        self._next = 0  # index of the frame the open capture decodes next
        self._last: tuple[int, np.ndarray] | None = None

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise ValueError(f"cannot open video {self.path} (not a video, or a codec OpenCV cannot decode)")
        return cap

    def close(self) -> None:
        """Release the decoder (it is reopened on the next read)."""
        if self._cap is not None:
            self._cap.release()
        self._cap, self._next = None, 0

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def frame_path(self, i: int) -> str:
        return f"{self.path}#frame={self._check_index(i)}"

    def _position(self, i: int) -> cv2.VideoCapture:
        """A capture whose next ``read()`` returns frame ``i``."""
        if self._cap is None:
            self._cap, self._next = self._open(), 0
        cap = self._cap
        if i == self._next:
            return cap
        if self._next < i <= self._next + FORWARD_GRAB_LIMIT:
            self._grab(cap, i - self._next)
        elif i == 0:
            self.close()
            self._cap, self._next = self._open(), 0
            return self._cap
        else:
            cap.set(cv2.CAP_PROP_POS_FRAMES, float(i))
        self._next = i
        return cap

    def _grab(self, cap: cv2.VideoCapture, count: int) -> None:
        for _ in range(count):
            if not cap.grab():
                raise ValueError(f"video {self.path}: decoding stopped at frame {self._next}")
            self._next += 1

    def _read_image(self, i: int) -> np.ndarray:
        if self._last is not None and self._last[0] == i:
            return self._last[1].copy()
        cap = self._position(i)
        ok, frame = cap.read()
        if ok and self._seek_checkable:
            t = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
            if abs(t - self._container_times[i]) > 1e-4:  # the seek landed on another frame
                logger.debug("video %s: seek to frame %d landed at t=%.6f; re-decoding", self.path, i, t)
                self.close()
                self._cap, self._next = self._open(), 0
                self._grab(self._cap, i)
                ok, frame = self._cap.read()
        if not ok or frame is None:
            self.close()
            raise ValueError(f"video {self.path}: cannot decode frame {i}")
        self._next = i + 1
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if grey.dtype != np.uint8:
            grey = cv2.convertScaleAbs(grey, alpha=255.0 / np.iinfo(grey.dtype).max)
        self._last = (i, grey)
        return grey.copy()
