"""Builders of small on-disk datasets for the apps.io tests (KITTI layout, image folders)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from apps.io.camera import Intrinsics
from apps.io.kitti import write_calib, write_times
from apps.io.trajectory import write_kitti_poses

INTRINSICS = Intrinsics(fx=50.0, fy=52.0, cx=31.5, cy=23.25, width=64, height=48)


def frame_image(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    """Deterministic grey test frame ``(H, W) uint8`` that differs per frame index."""
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 3 + y * 5 + i * 17) % 256).astype(np.uint8)


def poses(n: int) -> np.ndarray:
    """``(n, 4, 4)`` world_from_cam: identity first, then 0.5 m steps forward with a slow yaw."""
    out = np.tile(np.eye(4), (n, 1, 1))
    for i in range(n):
        a = 0.01 * i
        out[i, :3, :3] = [[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]
        out[i, 2, 3] = 0.5 * i
    return out


def make_kitti(root: Path, n: int = 5, *, name: str = "00", camera: int = 0, colour: bool = False,
               n_poses: int | None = None, times: bool = True, depth: bool = False) -> Path:
    """Write ``root/sequences/<name>/`` (+ ``root/poses/<name>.txt`` unless n_poses == 0)."""
    seq = root / "sequences" / name
    (seq / f"image_{camera}").mkdir(parents=True)
    for i in range(n):
        img = frame_image(i)
        if colour:
            img = np.dstack([img, 255 - img, img // 2])
        assert cv2.imwrite(str(seq / f"image_{camera}" / f"{i:06d}.png"), img)
        if depth:
            (seq / f"depth_{camera}").mkdir(exist_ok=True)
            np.save(seq / f"depth_{camera}" / f"{i:06d}.npy", np.full((48, 64), 2.0 + i, np.float32))
    write_calib(seq / "calib.txt", INTRINSICS)
    if times:
        write_times(seq / "times.txt", 0.1037 * np.arange(n) + 0.5)
    n_poses = n if n_poses is None else n_poses
    if n_poses:
        write_kitti_poses(root / "poses" / f"{name}.txt", poses(n_poses))
    return seq


def radial_vignette(width: int, height: int, strength: float) -> np.ndarray:
    """``(H, W) float32`` vignette ``1 - strength * r^2`` (r = 1 in the corners, pixel centres)."""
    ys, xs = np.mgrid[0:height, 0:width]
    r2 = ((xs + 0.5 - width / 2) ** 2 + (ys + 0.5 - height / 2) ** 2) / ((width / 2) ** 2 + (height / 2) ** 2)
    return (1.0 - strength * r2).astype(np.float32)


def write_pcalib(path: Path, values) -> None:
    """DSO's ``pcalib.txt``: the inverse response as numbers on one line."""
    path.write_text(" ".join(f"{v:.6f}" for v in values) + "\n")
