"""The camera arguments shared by `kp3d-vo run` and `kp3d-vo adapt` (calibration, lens, photometry)."""
from __future__ import annotations

import argparse


def add_camera_arguments(p: argparse.ArgumentParser) -> None:
    """``--calib``, ``--camera``, ``--pcalib``, ``--vignette`` (read by :func:`camera_kwargs`)."""
    p.add_argument("--calib", help="calibration file for image folders/videos (fx fy cx cy [w h], YAML, or DSO's "
                                   "camera.txt; with lens distortion the frames are undistorted)")
    p.add_argument("--camera", type=int, default=0, help="KITTI camera (0 = image_0, 2 = image_2)")
    p.add_argument("--pcalib", help="DSO photometric calibration: inverse response G^-1 (256 numbers, pcalib.txt)")
    p.add_argument("--vignette", help="DSO photometric calibration: vignette image of the frames' size (vignette.png)")


def camera_kwargs(args: argparse.Namespace) -> dict:
    """The ``apps.io.sequence.open_sequence`` keywords of those arguments."""
    return {"calib": args.calib, "camera": args.camera, "pcalib": args.pcalib, "vignette": args.vignette}
