"""open_sequence: dispatch, resize/crop and max_frames applied consistently; real KITTI frames."""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from apps.io.folder import ImageFolderSequence
from apps.io.kitti import KittiSequence
from apps.io.preprocess import Preprocess
from apps.io.sequence import SequenceView, open_sequence
from io_helpers import INTRINSICS, frame_image, make_kitti, poses


def test_dispatch_kitti_and_folder(tmp_path):
    seq_dir = make_kitti(tmp_path, n=4)
    seq = open_sequence(seq_dir)
    assert isinstance(seq, KittiSequence) and seq.intrinsics == INTRINSICS and len(seq) == 4
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), frame_image(i))
    (tmp_path / "cam.txt").write_text("50 52 31.5 23.25 64 48\n")
    seq = open_sequence(folder, calib=tmp_path / "cam.txt", fps=5)
    assert isinstance(seq, ImageFolderSequence) and len(seq) == 3
    np.testing.assert_allclose(seq.timestamps, [0.0, 0.2, 0.4])


def test_dispatch_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"sequence path not found: .*nowhere"):
        open_sequence(tmp_path / "nowhere")
    seq_dir = make_kitti(tmp_path, n=2)
    with pytest.raises(ValueError, match=r"000000\.png is a single image"):
        open_sequence(seq_dir / "image_0" / "000000.png")
    with pytest.raises(ValueError, match=r"crop='center' needs resize"):
        open_sequence(seq_dir, crop="center")
    with pytest.raises(ValueError, match=r"resize must be \(width, height\)"):
        open_sequence(seq_dir, resize=640)
    with pytest.raises(ValueError, match=r"max_frames must be a positive integer"):
        open_sequence(seq_dir, max_frames=0)
    with pytest.raises(ValueError, match=r"gt=True .* needs a KITTI sequence folder"):
        open_sequence(seq_dir / "image_0", gt=True)
    with pytest.raises(FileNotFoundError, match=r"image folder for camera 2 not found: .*image_2"):
        open_sequence(seq_dir, camera=2)


def test_resize_crop_and_max_frames_are_consistent(tmp_path, caplog):
    seq_dir = make_kitti(tmp_path, n=6, n_poses=8, depth=True)
    with caplog.at_level(logging.INFO, logger="apps.io"):
        seq = open_sequence(seq_dir, resize=(32, 20), crop="bottom", max_frames=4)
    assert isinstance(seq, SequenceView) and len(seq) == 4 and seq.name == "00"
    assert "8 poses for 6 frames" in caplog.text
    pre = Preprocess(32, 20, "bottom")
    assert seq.intrinsics == pre.intrinsics(INTRINSICS)
    np.testing.assert_allclose(seq.timestamps, 0.1037 * np.arange(4) + 0.5)
    np.testing.assert_allclose(seq.gt_world_from_cam, poses(8)[:4], atol=1e-8)
    assert seq.has_depth
    for frame in seq:
        np.testing.assert_array_equal(frame.image, pre.image(frame_image(frame.index)))
        d = seq.depth(frame.index)
        assert d.shape == (20, 32) and d.dtype == np.float32 and np.all(d == 2.0 + frame.index)
    with pytest.raises(IndexError):
        seq.image(4)
    assert seq.frame_path(3).endswith("000003.png")
    # a ready Preprocess is accepted; a conflicting crop is not
    assert open_sequence(seq_dir, resize=pre).intrinsics == seq.intrinsics
    with pytest.raises(ValueError, match="conflicts"):
        open_sequence(seq_dir, resize=pre, crop="center")


# ---- real KITTI frames (../shared/data) --------------------------------------------------------

@pytest.mark.shared_data
def test_real_kitti_00(shared_data, caplog):
    with caplog.at_level(logging.INFO, logger="apps.io"):
        seq = open_sequence(shared_data / "kitti" / "sequences" / "00")
    assert "4541 poses for 300 frames" in caplog.text
    assert len(seq) == 300 and seq.name == "00"
    k = seq.intrinsics
    assert (k.width, k.height) == (1241, 376)
    assert (k.fx, k.fy, k.cx, k.cy) == pytest.approx((718.856, 718.856, 607.1928, 185.2157), abs=1e-9)
    assert seq.gt_world_from_cam.shape == (300, 4, 4)
    np.testing.assert_allclose(seq.gt_world_from_cam[0], np.eye(4), atol=1e-6)
    # line 300 of poses/00.txt (frame 299): the 300th pose, not a later or earlier one
    np.testing.assert_allclose(seq.gt_world_from_cam[299][:3, 3], [71.36837, -7.966304, 157.136], atol=1e-5)
    assert seq.timestamps[1] == pytest.approx(0.1037359) and np.all(np.diff(seq.timestamps) > 0)
    for i in (0, 150, 299):
        img = seq.image(i)
        assert img.dtype == np.uint8 and img.shape == (376, 1241)
        assert 20.0 < float(img.mean()) < 200.0 and img.std() > 10.0
    assert seq.depth(0) is None


@pytest.mark.shared_data
def test_real_kitti_06_resized(shared_data):
    seq = open_sequence(shared_data / "kitti" / "sequences" / "06", resize=(640, 192))
    assert len(seq) == 51 and seq.gt_world_from_cam.shape == (51, 4, 4)
    np.testing.assert_allclose(seq.gt_world_from_cam[0], np.eye(4), atol=1e-6)
    base = seq.base
    assert (base.intrinsics.width, base.intrinsics.height) == (1226, 370)
    assert seq.intrinsics.fx == pytest.approx(base.intrinsics.fx * 640 / 1226)
    assert seq.intrinsics.fy == pytest.approx(base.intrinsics.fy * 192 / 370)
    img = seq.image(50)
    assert img.shape == (192, 640) and img.dtype == np.uint8
    full = base.image(50)
    assert abs(float(img.mean()) - float(full.mean())) < 1.0


def test_time_gaps_are_reported(tmp_path, caplog):
    from apps.io.kitti_format import write_times
    from apps.io.sequence_base import describe_time_gaps

    jitter = 0.1037 * np.arange(20) + np.where(np.arange(20) % 2 == 0, 0.003, -0.003)  # KITTI 00's +-3 %
    assert describe_time_gaps(jitter) is None
    assert describe_time_gaps(np.array([0.0, 0.1])) is None  # one step: nothing to compare with
    dropped = np.delete(0.1 * np.arange(15), [6, 13])  # every 7th frame of a 10 Hz stream missing
    text = describe_time_gaps(dropped)
    assert text is not None and text.startswith("2 time step(s) longer than 1.5 x the median 100.0 ms")
    assert "the first 200.0 ms between frames 5 and 6" in text
    seq = make_kitti(tmp_path, n=13)
    write_times(seq / "times.txt", dropped)
    with caplog.at_level(logging.INFO, logger="apps.io.kitti"):
        KittiSequence(seq)
    assert "2 time step(s) longer than" in caplog.text and "times.txt" in caplog.text


def test_a_change_of_aspect_is_reported_with_the_height_that_keeps_it(tmp_path, caplog):
    seq_dir = make_kitti(tmp_path, n=2)  # 64x48 frames
    with caplog.at_level(logging.WARNING, logger="apps.io"):
        open_sequence(seq_dir, resize=(32, 24))
    assert "squeezed" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="apps.io"):
        seq = open_sequence(seq_dir, resize=(64, 32))
    assert seq.image(0).shape == (32, 64)  # a hint, not a change
    assert "squeezed from 64x48 to 64x32" in caplog.text and "height: 64" in caplog.text
