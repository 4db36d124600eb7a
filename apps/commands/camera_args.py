"""The camera arguments shared by `kp3d-vo run` and `kp3d-vo adapt` (calibration, lens, photometry), and the
camera-on-body calibration of `kp3d-vo evaluate` and `kp3d-vo plot` (an EuRoC ground truth moved to the camera)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


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


GT_CALIB_HELP = ("with an EuRoC --gt: the camera's calibration (EuRoC sensor.yaml T_BS, Kalibr T_cam_imu); the "
                 "ground truth's body poses become the camera's (else the lever arm and axes count as error)")


def gt_body_from_cam(calib: str | None, gt_path) -> "np.ndarray | None":
    """The camera-on-body transform ``(4, 4)`` of ``--calib`` for the ground truth ``gt_path`` (None without
    the flag). ValueError when the file has none or the ground truth is not EuRoC's (body poses)."""
    if calib is None:
        return None
    from apps.io.calibration import read_calibration
    from apps.io.trajectory import holds_body_poses

    body_from_cam = read_calibration(calib).body_from_cam
    if body_from_cam is None:
        raise ValueError(f"--calib {calib}: no camera-on-body transform in it (expected EuRoC's T_BS, Kalibr's "
                         "T_cam_imu or body_from_cam)")
    if not holds_body_poses(gt_path):
        raise ValueError(f"--calib is for an EuRoC ground truth (the body's poses); {gt_path} is KITTI or TUM, "
                         "taken as the camera's poses")
    return body_from_cam
