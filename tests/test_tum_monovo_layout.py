"""DSO's own dataset layout (TUM monoVO): images/, camera.txt with the FOV lens model in relative units,
times.txt with exposure times, pcalib.txt and vignette.png, run as they are."""
from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from apps.io.camera import Intrinsics
from io_helpers import write_pcalib

OMEGA = 0.9  # the FOV model's field-of-view parameter (radians), as TUM monoVO's wide-angle lenses
GAMMA = 2.2


def _fov_lens_maps(kd: Intrinsics, kr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """For every pixel of the FOV lens camera ``kd``: where its ray meets the pinhole render ``kr``."""
    ys, xs = np.mgrid[0:kd.height, 0:kd.width].astype(np.float64)
    xd, yd = (xs - kd.cx) / kd.fx, (ys - kd.cy) / kd.fy
    r_d = np.hypot(xd, yd)
    r_u = np.tan(r_d * OMEGA) / (2.0 * np.tan(OMEGA / 2.0))
    f = np.where(r_d > 1e-12, r_u / np.maximum(r_d, 1e-12), 1.0 / (2.0 * np.tan(OMEGA / 2.0) / OMEGA))
    return (kr.fx * f * xd + kr.cx).astype(np.float32), (kr.fy * f * yd + kr.cy).astype(np.float32)


@pytest.fixture(scope="module")
def monovo_sequence(synth_sequence, tmp_path_factory):
    """The fixture render recorded in TUM monoVO's layout by a camera with a FOV lens, a gamma-2.2 response,
    a vignette (0.5 of the irradiance in the corners) and auto-exposure (4-9 ms)."""
    from apps.io.sequence import open_sequence

    render = open_sequence(synth_sequence)
    kr = render.intrinsics
    kd = Intrinsics(kr.fx * 1.25, kr.fy * 1.25, kr.cx, kr.cy, kr.width, kr.height)
    mx, my = _fov_lens_maps(kd, kr)
    assert mx.min() > 0 and my.min() > 0 and mx.max() < kr.width - 1 and my.max() < kr.height - 1
    ys, xs = np.mgrid[0:kd.height, 0:kd.width]
    vignette = 1.0 - 0.5 * (((xs + 0.5) / kd.width - 0.5) ** 2 + ((ys + 0.5) / kd.height - 0.5) ** 2) / 0.5
    root = tmp_path_factory.mktemp("monovo") / "sequence_01"
    (root / "images").mkdir(parents=True)
    exposure_ms = 10.0 * (0.65 + 0.25 * np.sin(0.7 * np.arange(len(render))))  # auto-exposure: 4-9 ms
    for i in range(len(render)):
        e = cv2.remap(render.image(i).astype(np.float32), mx, my, cv2.INTER_LINEAR) * vignette * exposure_ms[i] / 9.0
        raw = 255.0 * (np.clip(e, 0, 255) / 255.0) ** (1.0 / GAMMA)
        cv2.imwrite(str(root / "images" / f"{i:05d}.jpg"), np.clip(raw.round(), 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 98])
    # DSO's relative intrinsics (pixel (0, 0) covering [0, 1]^2), the size, DSO's rectification and output
    (root / "camera.txt").write_text(f"{kd.fx / kd.width} {kd.fy / kd.height} {(kd.cx + 0.5) / kd.width} "
                                     f"{(kd.cy + 0.5) / kd.height} {OMEGA}\n{kd.width} {kd.height}\ncrop\n320 96\n")
    times = render.timestamps + 1432544456.0
    (root / "times.txt").write_text("".join(f"{i:05d} {t:.6f} {x:.4f}\n"
                                            for i, (t, x) in enumerate(zip(times, exposure_ms))))
    write_pcalib(root / "pcalib.txt", 255.0 * (np.arange(256) / 255.0) ** GAMMA)
    cv2.imwrite(str(root / "vignette.png"), (vignette * 65535).round().astype(np.uint16))
    shutil.copy(synth_sequence.parent.parent / "poses" / "00.txt", root / "groundtruth_kitti.txt")
    return root, kd


def test_camera_txt_and_times_are_read(monovo_sequence):
    from apps.io.sequence import open_sequence

    root, kd = monovo_sequence
    seq = open_sequence(root / "images")  # camera.txt and times.txt found beside images/
    lens = seq.undistorter
    assert lens is not None and lens.distortion.model == "fov" and lens.distortion.coeffs == (OMEGA,)
    assert (lens.source.fx, lens.source.cx) == pytest.approx((kd.fx, kd.cx))
    assert seq.timestamps[0] == pytest.approx(1432544456.0) and len(seq) == 60


def test_run_as_dso_would(monovo_sequence, tmp_path):
    """Pure DSO at the render's size: with the lens model, the photometric calibration and the exposure
    times it tracks close to the render itself; without the lens model or the exposure times it does not.
    Measured (ATE after scale alignment, this fixture): 0.09-0.17 m with everything (it moved with the sixth
    digit of pcalib.txt; the pinhole render at one exposure: 0.070 m), 3.3-3.4 m with the lens taken as a
    pinhole, 7.0 m without the exposure times, 1.4 m without the photometric files."""
    from apps.cli import main

    root, kd = monovo_sequence
    (tmp_path / "run.yaml").write_text("width: 320\nheight: 96\n")
    (tmp_path / "pinhole.txt").write_text(f"Pinhole {kd.fx} {kd.fy} {kd.cx} {kd.cy} 0\n{kd.width} {kd.height}\n")
    # the same layout with KITTI's one-column times.txt: no exposure times
    no_exposures = tmp_path / "sequence_01"
    no_exposures.mkdir()
    (no_exposures / "images").symlink_to(root / "images")
    shutil.copy(root / "camera.txt", no_exposures / "camera.txt")
    lines = (root / "times.txt").read_text().splitlines()
    (no_exposures / "times.txt").write_text("".join(line.split()[1] + "\n" for line in lines))

    def ate(name: str, folder, *extra: str) -> float:
        out = tmp_path / name
        assert main(["run", str(folder / "images"), "--mode", "dso", "--config", str(tmp_path / "run.yaml"),
                     "--gt", str(root / "groundtruth_kitti.txt"), "--output", str(out), "--no-progress",
                     "--pcalib", str(root / "pcalib.txt"), "--vignette", str(root / "vignette.png"), *extra]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["photometric_calibration"]["exposure_times"] == (folder == root)
        return summary["evaluation"]["ate_rmse"]

    assert ate("all", root) < 0.4
    assert ate("pinhole", root, "--calib", str(tmp_path / "pinhole.txt")) > 1.0
    assert ate("no_exposures", no_exposures) > 2.0


def test_times_with_exposures(tmp_path):
    from apps.io.kitti_format import read_times, read_times_and_exposures

    (tmp_path / "times.txt").write_text("00000 1.5 9.96\n00001 1.55 10.2\n")
    times, exposures = read_times_and_exposures(tmp_path / "times.txt")
    np.testing.assert_allclose(times, [1.5, 1.55])
    np.testing.assert_allclose(exposures, [9.96, 10.2])
    np.testing.assert_allclose(read_times(tmp_path / "times.txt"), [1.5, 1.55])
    (tmp_path / "kitti.txt").write_text("0.0\n0.1\n")
    assert read_times_and_exposures(tmp_path / "kitti.txt")[1] is None
    (tmp_path / "bad.txt").write_text("00000 1.5 9.96\n00001 1.55 0\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2: exposure time must be > 0"):
        read_times_and_exposures(tmp_path / "bad.txt")
    (tmp_path / "mixed.txt").write_text("00000 1.5 9.96\n1.55\n")
    with pytest.raises(ValueError, match="mixes lines with and without exposure times"):
        read_times_and_exposures(tmp_path / "mixed.txt")
