"""Frame sequences: :func:`open_sequence` over KITTI folders, image folders and videos.

:func:`open_sequence` picks the reader from what the path is and applies the resize/crop
(:class:`apps.io.preprocess.Preprocess`) and ``max_frames`` truncation consistently to images,
depth, intrinsics, timestamps and ground truth. The interface the readers share (:class:`Sequence`,
:class:`Frame`, :class:`SequenceView` and the reading helpers) is in :mod:`apps.io.sequence_base`
and re-exported here; the readers import that module, so there is no import cycle.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from apps.io.folder import ImageFolderSequence
from apps.io.kitti import KittiSequence
from apps.io.preprocess import Preprocess, aspect_hint
from apps.io.ground_truth import gt_covered, load_gt_poses
from apps.io.sequence_base import (IMAGE_SUFFIXES, VIDEO_SUFFIXES, Frame, Sequence, SequenceView, list_images,
                                   natural_key, nominal_timestamps, read_grey)
from apps.io.video import VideoSequence

logger = logging.getLogger(__name__)

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "Frame", "ImageFolderSequence", "KittiSequence", "Sequence",
           "SequenceView", "VideoSequence", "gt_covered", "list_images", "load_gt_poses", "natural_key",
           "nominal_timestamps",
           "open_sequence", "read_grey"]


def _is_kitti_folder(path: Path) -> bool:
    return (path / "calib.txt").is_file() and any((path / f"image_{c}").is_dir() for c in range(4))


def _looks_like_kitti_without_calib(path: Path) -> bool:
    """A folder with ``image_<c>/`` subfolders and no images of its own, but no ``calib.txt``."""
    if (path / "calib.txt").is_file() or not any((path / f"image_{c}").is_dir() for c in range(4)):
        return False
    return not any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())


def open_sequence(path: str | os.PathLike, *, calib: str | os.PathLike | None = None, camera: int = 0,
                  gt: str | os.PathLike | bool | None = None, resize: tuple[int, int] | Preprocess | None = None,
                  crop: str | None = None, max_frames: int | None = None, fps: float | None = None,
                  pcalib: str | os.PathLike | None = None, vignette: str | os.PathLike | None = None) -> Sequence:
    """Open a KITTI sequence folder, an image folder or a video file as a :class:`Sequence`.

    What ``path`` is decides the reader:

    - a folder with ``calib.txt`` and ``image_<c>/`` subfolders: :class:`apps.io.kitti.KittiSequence`
      (``camera`` picks ``image_<camera>`` and ``P<camera>``; ``calib`` may override calib.txt);
    - another folder of images: :class:`apps.io.folder.ImageFolderSequence` with the calibration
      file ``calib`` (default: ``calib.yaml``/``calib.yml``/``calib.txt``/``camera.txt`` in it);
    - a video file: :class:`apps.io.video.VideoSequence` with the calibration file ``calib``.

    Args:
        gt: ground-truth trajectory file (KITTI or TUM); ``None`` = the KITTI default locations
            (``<seq>/../../poses/<name>.txt``, then ``<seq>/poses.txt``) for KITTI folders and no
            ground truth otherwise; ``False`` = no ground truth.
        resize: ``(width, height)`` of the returned frames, or a ready :class:`Preprocess`.
        crop: "none" (default), "center" or "bottom": crop to the target aspect before resizing.
        max_frames: keep only the first ``max_frames`` frames (images, times, GT, depth alike).
        fps: frame rate for image folders without ``times.txt`` (default 10) and for videos whose
            container has no usable timestamps (default: the container's frame rate).
        pcalib, vignette: DSO's photometric calibration files of the camera (:mod:`apps.io.photometric`),
            optional; the sequence's ``photometric`` then holds it in the geometry of the returned frames.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"sequence path not found: {path} (expected a KITTI sequence folder, "
                                "an image folder or a video file)")
    if isinstance(resize, Preprocess):
        if crop is not None and crop != resize.crop:
            raise ValueError(f"crop={crop!r} conflicts with the given Preprocess(crop={resize.crop!r})")
        preprocess = resize
    elif resize is not None:
        try:
            w, h = resize
        except (TypeError, ValueError):
            raise ValueError(f"resize must be (width, height), got {resize!r}") from None
        preprocess = Preprocess(int(w), int(h), crop or "none")
    else:
        if crop not in (None, "none"):
            raise ValueError(f"crop={crop!r} needs resize=(width, height) (the crop takes the target's aspect)")
        preprocess = None

    if gt is True and not (path.is_dir() and (_is_kitti_folder(path) or _looks_like_kitti_without_calib(path))):
        raise ValueError(f"gt=True (ground truth at the default KITTI locations) needs a KITTI sequence folder; "
                         f"give the ground-truth file for {path}")
    gt_file = None if gt is None or gt is False else gt
    kitti_without_calib = path.is_dir() and _looks_like_kitti_without_calib(path)
    if kitti_without_calib and calib is None:
        raise FileNotFoundError(f"calibration file not found: {path / 'calib.txt'} ({path} looks like a KITTI "
                                "sequence folder: it has image_<c>/ subfolders; add calib.txt or give --calib)")
    if path.is_dir() and (_is_kitti_folder(path) or kitti_without_calib):
        base: Sequence = KittiSequence(path, camera=camera, gt=gt, calib=calib)
    elif path.is_dir():
        base = ImageFolderSequence(path, calib, fps=10.0 if fps is None else fps, gt=gt_file, camera=camera)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        raise ValueError(f"{path} is a single image; give the folder that holds the frames")
    else:
        if calib is None:
            raise ValueError(f"video {path} needs a calibration file (calib=...; fx fy cx cy [width height] "
                             "text or YAML)")
        base = VideoSequence(path, calib, fps=fps, gt=gt_file, camera=camera)
    if pcalib is not None or vignette is not None:
        from apps.io.photometric import read_photometric

        native = base.undistorter.source if base.undistorter is not None else base.intrinsics
        base.set_photometric(read_photometric(pcalib, vignette, image_size=(native.width, native.height)))
    if preprocess is not None:
        hint = aspect_hint(base.intrinsics.width, base.intrinsics.height, preprocess)
        if hint:
            logger.warning("%s: %s", path, hint)
    if preprocess is None and max_frames is None:
        return base
    return SequenceView(base, preprocess=preprocess, max_frames=max_frames)
