"""Image folders and the calibration file formats of apps.io.calibration."""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from apps.io.calibration import read_intrinsics
from apps.io.camera import Intrinsics
from apps.io.folder import ImageFolderSequence
from apps.io.kitti import write_calib, write_times
from apps.io.sequence import natural_key, read_grey
from apps.io.trajectory import write_kitti_poses, write_tum
from io_helpers import frame_image, poses

EXPECTED = Intrinsics(50.0, 52.0, 31.5, 23.25, 64, 48)


def make_folder(folder, n=12, ext="png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):  # frame_2 must come before frame_10
        assert cv2.imwrite(str(folder / f"frame_{i}.{ext}"), frame_image(i))
    return folder


@pytest.mark.parametrize("name, text", [
    ("calib.txt", "50 52 31.5 23.25\n"),
    ("calib.txt", "# fx fy cx cy width height\n50 52 31.5 23.25 64 48\n"),
    ("calib.txt", "50 52 31.5 23.25\n64 48\n"),
    ("calib.yaml", "fx: 50\nfy: 52\ncx: 31.5\ncy: 23.25\nwidth: 64\nheight: 48\n"),
    ("calib.yml", "fx: 50.0\nfy: 52.0\ncx: 31.5\ncy: 23.25\n"),
    ("cam.yaml", "K: [[50, 0, 31.5], [0, 52, 23.25], [0, 0, 1]]\nimage_width: 64\nimage_height: 48\n"),
    ("cam.yaml", "camera_matrix: {rows: 3, cols: 3, data: [50, 0, 31.5, 0, 52, 23.25, 0, 0, 1]}\n"),
    ("cam.txt", "fx: 50\nfy: 52\ncx: 31.5\ncy: 23.25\n"),
])
def test_calibration_formats(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    assert read_intrinsics(tmp_path / name, image_size=(64, 48)) == EXPECTED


def test_calibration_opencv_filestorage_and_kitti(tmp_path):
    fs = cv2.FileStorage(str(tmp_path / "cv.yaml"), cv2.FILE_STORAGE_WRITE)
    fs.write("camera_matrix", EXPECTED.K)
    fs.write("image_width", 64)
    fs.write("image_height", 48)
    fs.release()
    assert read_intrinsics(tmp_path / "cv.yaml") == EXPECTED
    write_calib(tmp_path / "calib.txt", {"P0": np.eye(3, 4), "P2": np.hstack([EXPECTED.K, [[-40.0], [0], [0]]])})
    assert read_intrinsics(tmp_path / "calib.txt", image_size=(64, 48), camera=2) == EXPECTED
    with pytest.raises(ValueError, match=r"calib\.txt has no P1"):
        read_intrinsics(tmp_path / "calib.txt", image_size=(64, 48), camera=1)


@pytest.mark.parametrize("text, expected", [
    ("50 52 31.5\n", r"expected 4 numbers 'fx fy cx cy' or 6 .*found 3"),
    ("50 52 abc 23\n", r"expected the numbers 'fx fy cx cy \[width height\]'"),
    ("fx: 50\nfy: 52\n", r"missing cx, cy"),
    ("50 52 31.5 23.25 64 40\n", r"is for 64x40 images but the frames are 64x48"),
    ("fx: 50\nfy: 52\ncx: 31.5\ncy: 23.25\nwidth: 64\n", r"both width and height"),
    ("fx: -50\nfy: 52\ncx: 31.5\ncy: 23.25\n", r"fx must be a positive"),
])
def test_calibration_errors_name_the_file(tmp_path, text, expected):
    (tmp_path / "calib.txt").write_text(text)
    with pytest.raises(ValueError, match=r"calib\.txt.*" + expected):
        read_intrinsics(tmp_path / "calib.txt", image_size=(64, 48))


def test_calibration_missing_size_and_distortion(tmp_path, caplog):
    (tmp_path / "c.txt").write_text("50 52 31.5 23.25")
    with pytest.raises(ValueError, match="no width/height and no image size"):
        read_intrinsics(tmp_path / "c.txt")
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        read_intrinsics(tmp_path / "nope.yaml")
    (tmp_path / "d.yaml").write_text("fx: 50\nfy: 52\ncx: 31.5\ncy: 23.25\nD: [0.1, 0, 0, 0]\n")
    with caplog.at_level(logging.WARNING, logger="apps.io"):
        read_intrinsics(tmp_path / "d.yaml", image_size=(64, 48))
    assert "distortion" in caplog.text


def test_image_folder_natural_order_times_and_default_calib(tmp_path):
    folder = make_folder(tmp_path / "frames", n=12)
    (folder / "calib.txt").write_text("50 52 31.5 23.25\n")
    (folder / "notes.md").write_text("not an image")
    seq = ImageFolderSequence(folder, fps=20.0)
    assert len(seq) == 12 and seq.name == "frames" and seq.intrinsics == EXPECTED
    assert [seq.frame_path(i).rsplit("/", 1)[1] for i in (1, 2, 10)] == ["frame_1.png", "frame_2.png",
                                                                        "frame_10.png"]
    for i in (0, 2, 10, 11):
        np.testing.assert_array_equal(seq.image(i), frame_image(i))
    np.testing.assert_allclose(seq.timestamps, np.arange(12) / 20.0)
    assert seq.gt_world_from_cam is None and seq.depth(0) is None
    write_times(folder / "times.txt", 1.0 + 0.25 * np.arange(12))
    np.testing.assert_allclose(ImageFolderSequence(folder).timestamps, 1.0 + 0.25 * np.arange(12))
    write_times(folder / "times.txt", np.arange(11.0))
    with pytest.raises(ValueError, match=r"times\.txt has 11 timestamps but .*frames has 12 images"):
        ImageFolderSequence(folder)


@pytest.mark.parametrize("names, expected", [
    # EuRoC: nanoseconds (20 Hz with one frame dropped); seconds at 1.4e9 s hold ~0.2 us in float64
    (["1403636579763555584", "1403636579813555456", "1403636579913555456"], [0.0, 0.049999872, 0.149999872]),
    (["1305031102.175304", "1305031102.211214", "1305031102.243211"], [0.0, 0.03591, 0.067907]),  # TUM seconds
])
def test_frames_named_by_their_time(tmp_path, names, expected):
    folder = tmp_path / "data"
    folder.mkdir()
    for i, name in enumerate(names):
        assert cv2.imwrite(str(folder / f"{name}.png"), frame_image(i))
    (folder / "calib.txt").write_text("50 52 31.5 23.25\n")
    seq = ImageFolderSequence(folder)
    np.testing.assert_allclose(seq.timestamps - seq.timestamps[0], expected, atol=1e-6)
    assert seq.timestamps[0] == pytest.approx(float(names[0]) / (1e9 if "." not in names[0] else 1.0), abs=1e-6)
    # a TUM ground truth with those times pairs with the frames
    write_tum(tmp_path / "gt.tum", seq.timestamps + 1e-4, poses(len(names)))
    gt = ImageFolderSequence(folder, gt=tmp_path / "gt.tum").gt_world_from_cam
    np.testing.assert_allclose(gt, poses(len(names)), atol=1e-8)
    # times.txt still wins over the names
    write_times(folder / "times.txt", np.arange(len(names)) * 0.5)
    np.testing.assert_allclose(ImageFolderSequence(folder).timestamps, np.arange(len(names)) * 0.5)


def test_image_folder_jpg_gt_and_errors(tmp_path):
    folder = make_folder(tmp_path / "jpgs", n=4, ext="jpg")
    calib = tmp_path / "cam.yaml"
    calib.write_text("fx: 50\nfy: 52\ncx: 31.5\ncy: 23.25\nwidth: 64\nheight: 48\n")
    write_kitti_poses(tmp_path / "gt.txt", poses(6))
    seq = ImageFolderSequence(folder, calib, gt=tmp_path / "gt.txt")
    assert seq.image(3).shape == (48, 64)
    assert np.abs(seq.image(3).astype(int) - frame_image(3)).mean() < 3  # JPEG is lossy
    np.testing.assert_allclose(seq.gt_world_from_cam, poses(6)[:4], atol=1e-8)
    # TUM ground truth is associated by timestamp (frames at 0, 0.1, 0.2, 0.3 s)
    write_tum(tmp_path / "gt_tum.txt", np.array([-0.1, 0.0, 0.1, 0.2, 0.3, 0.4]) + 0.004, poses(6))
    seq = ImageFolderSequence(folder, calib, gt=tmp_path / "gt_tum.txt")
    np.testing.assert_allclose(seq.gt_world_from_cam, poses(6)[1:5], atol=1e-6)
    write_tum(tmp_path / "gt_tum.txt", np.array([0.1, 0.2, 0.3]), poses(3))  # frame 0 has none: NaN
    seq = ImageFolderSequence(folder, calib, gt=tmp_path / "gt_tum.txt")
    assert np.isnan(seq.gt_world_from_cam[0]).all()
    np.testing.assert_allclose(seq.gt_world_from_cam[1:], poses(3), atol=1e-6)
    write_tum(tmp_path / "gt_tum.txt", np.array([0.3, 0.7]), poses(2))
    with pytest.raises(ValueError, match=r"gt_tum\.txt: no pose within 0\.0500 s of frame 0"):
        ImageFolderSequence(folder, calib, gt=tmp_path / "gt_tum.txt")
    with pytest.raises(FileNotFoundError, match=r"no calibration file for image folder .*jpgs"):
        ImageFolderSequence(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"image folder .*empty contains no images"):
        ImageFolderSequence(tmp_path / "empty", calib)
    big = tmp_path / "big.txt"
    big.write_text("50 52 31.5 23.25 128 96\n")
    with pytest.raises(ValueError, match=r"big\.txt is for 128x96 images but the frames are 64x48"):
        ImageFolderSequence(folder, big)


def test_read_grey_conversions(tmp_path):
    grey16 = (frame_image(1).astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    np.testing.assert_array_equal(read_grey(tmp_path / "g16.png"), frame_image(1))
    bgra = np.dstack([frame_image(0), frame_image(1), frame_image(2), np.full((48, 64), 255, np.uint8)])
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    np.testing.assert_array_equal(read_grey(tmp_path / "a.png"), cv2.cvtColor(bgra, cv2.COLOR_BGRA2GRAY))
    with pytest.raises(FileNotFoundError, match="none.png"):
        read_grey(tmp_path / "none.png")
    assert sorted(["b10", "b2", "a1", "B3"], key=natural_key) == ["a1", "b2", "B3", "b10"]
