"""DSO's photometric calibration (pcalib.txt, vignette.png): reading, geometry, backend and a run."""
from __future__ import annotations

import json
import logging
import shutil

import cv2
import numpy as np
import pytest

from apps.io.photometric import read_photometric
from io_helpers import radial_vignette, write_pcalib

GAMMA = 2.2


def test_read_photometric_normalises_and_checks(tmp_path, caplog):
    write_pcalib(tmp_path / "pcalib.txt", 3.0 + 2.0 * np.arange(256) ** 1.5)
    v16 = (radial_vignette(64, 48, 0.5) * 40000).round().astype(np.uint16)
    v16[0, 0] = 0  # a black corner
    cv2.imwrite(str(tmp_path / "vignette.png"), v16)
    with caplog.at_level(logging.WARNING, logger="apps.io.photometric"):
        p = read_photometric(tmp_path / "pcalib.txt", tmp_path / "vignette.png", image_size=(64, 48))
    assert "1 pixels at 0" in caplog.text
    assert p.inverse_response.dtype == np.float32 and p.inverse_response.shape == (256,)
    assert p.inverse_response[0] == 0.0 and p.inverse_response[-1] == pytest.approx(255.0)
    assert p.vignette.shape == (48, 64) and p.vignette.max() == 1.0 and p.vignette.min() > 0
    assert read_photometric(None, None, image_size=(64, 48)) is None
    assert read_photometric(tmp_path / "pcalib.txt", image_size=(64, 48)).vignette is None

    write_pcalib(tmp_path / "short.txt", np.arange(255))
    with pytest.raises(ValueError, match=r"short\.txt: expected 256 finite numbers.*found 255"):
        read_photometric(tmp_path / "short.txt", image_size=(64, 48))
    values = np.arange(256.0)
    values[7] = np.nan
    write_pcalib(tmp_path / "nan.txt", values)
    with pytest.raises(ValueError, match=r"nan\.txt: value 8 of 256 \(grey level 7\) is nan, expected a finite"):
        read_photometric(tmp_path / "nan.txt", image_size=(64, 48))
    write_pcalib(tmp_path / "down.txt", 255.0 - np.arange(256))
    with pytest.raises(ValueError, match=r"down\.txt: the inverse response must increase"):
        read_photometric(tmp_path / "down.txt", image_size=(64, 48))
    with pytest.raises(ValueError, match=r"vignette\.png is 64x48 but the frames are 32x24"):
        read_photometric(None, tmp_path / "vignette.png", image_size=(32, 24))
    colour = np.zeros((48, 64, 3), np.uint8)
    colour[..., 2] = 200
    cv2.imwrite(str(tmp_path / "colour.png"), colour)
    with pytest.raises(ValueError, match="expected a grey image"):
        read_photometric(None, tmp_path / "colour.png", image_size=(64, 48))
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_photometric(None, tmp_path / "nope.png", image_size=(64, 48))


def test_backend_refuses_a_bad_or_late_calibration():
    from dso_bridge import Backend

    from apps.io.camera import Intrinsics

    backend = Backend(Intrinsics(60.0, 60.0, 31.5, 23.5, 64, 48))
    with pytest.raises(ValueError, match=r"vignette must be \(48, 64\) float32"):
        backend.set_photometric_calibration(vignette=np.ones((10, 10), np.float32))
    with pytest.raises(ValueError, match="inverse_response"):
        backend.set_photometric_calibration(inverse_response=np.arange(256, dtype=np.float32)[::-1].copy())
    with pytest.raises(ValueError, match=r"vignette values must be in \(0, 1\]"):
        backend.set_photometric_calibration(vignette=np.full((48, 64), 2.0, np.float32))
    backend.track(np.full((48, 64), 100.0, np.float32), 0.0)
    with pytest.raises(RuntimeError, match="before the first frame"):
        backend.set_photometric_calibration(vignette=np.ones((48, 64), np.float32))


@pytest.fixture(scope="module")
def recorded_render(synth_sequence, tmp_path_factory):
    """The fixture render as recorded by a camera with a vignette (0.3 of the irradiance left in the corners)
    and a gamma-2.2 response, in KITTI layout, with DSO's pcalib.txt and a 16-bit vignette.png."""
    from apps.io.sequence import open_sequence

    seq = open_sequence(synth_sequence)
    k = seq.intrinsics
    root = tmp_path_factory.mktemp("recorded")
    frames = root / "sequences" / "00" / "image_0"
    frames.mkdir(parents=True)
    v = radial_vignette(k.width, k.height, 0.7)
    for i in range(len(seq)):
        raw = 255.0 * (seq.image(i) * v.astype(np.float64) / 255.0) ** (1.0 / GAMMA)
        cv2.imwrite(str(frames / f"{i:06d}.png"), np.clip(raw.round(), 0, 255).astype(np.uint8))
    for name in ("calib.txt", "times.txt"):
        shutil.copy(synth_sequence / name, frames.parent / name)
    (root / "poses").mkdir()
    shutil.copy(synth_sequence.parent.parent / "poses" / "00.txt", root / "poses" / "00.txt")
    write_pcalib(root / "pcalib.txt", 255.0 * (np.arange(256) / 255.0) ** GAMMA)
    cv2.imwrite(str(root / "vignette.png"), (v * 65535).round().astype(np.uint16))
    return root


def test_photometric_calibration_follows_the_resize(recorded_render):
    from apps.io.sequence import open_sequence

    seq = open_sequence(recorded_render / "sequences" / "00", resize=(160, 48), pcalib=recorded_render / "pcalib.txt",
                        vignette=recorded_render / "vignette.png")
    native = read_photometric(None, recorded_render / "vignette.png", image_size=(320, 96)).vignette
    np.testing.assert_allclose(seq.photometric.vignette, cv2.resize(native, (160, 48), interpolation=cv2.INTER_AREA))
    assert seq.photometric.inverse_response.shape == (256,)


def test_run_with_the_photometric_calibration(recorded_render, tmp_path):
    """Pure DSO on the recorded frames: with the calibration it tracks as on the render itself, without
    it the vignette and the response break it (measured, ATE after scale alignment: render 0.070 m,
    calibrated 0.088 m, raw 7.1 m; with a milder vignette of 0.5: 0.076 / 0.334 m). A single run's ATE depends
    on the CPU (2026-12-08, an EPYC without AVX-512: selector seeds 0-5 calibrated 0.28 / 0.027 / 0.040 / 0.15
    / 0.054 / 0.046 m), so the calibrated case is the median over three selector seeds."""
    from apps.cli import main

    seq_dir = recorded_render / "sequences" / "00"

    def ate(*extra: str, seed: int = 0) -> tuple[float, dict]:
        config = tmp_path / f"run{seed}.yaml"
        config.write_text(f"width: 320\nheight: 96\nbackend: {{selector: {{seed: {seed}}}}}\n")  # the render's size
        out = tmp_path / f"out{len(extra)}_s{seed}"
        assert main(["run", str(seq_dir), "--mode", "dso", "--config", str(config), "--output",
                     str(out), "--no-progress", *extra]) == 0
        summary = json.loads((out / "summary.json").read_text())
        return summary["evaluation"]["ate_rmse"], summary

    calibrated = []
    for seed in (0, 1, 2):
        error, summary = ate("--pcalib", str(recorded_render / "pcalib.txt"),
                             "--vignette", str(recorded_render / "vignette.png"), seed=seed)
        assert summary["photometric_calibration"] == {"pcalib": str(recorded_render / "pcalib.txt"),
                                                      "vignette": str(recorded_render / "vignette.png"),
                                                      "exposure_times": False}
        calibrated.append(error)
    assert float(np.median(calibrated)) < 0.25, calibrated
    raw, summary = ate()
    assert summary["photometric_calibration"] is None
    assert raw > 1.0
