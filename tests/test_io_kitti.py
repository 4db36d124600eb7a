"""KITTI calib/times parsing and KittiSequence on small sequences written in tmp_path."""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from apps.io.kitti import KittiSequence, parse_calib, read_times, write_calib, write_times
from io_helpers import INTRINSICS, frame_image, make_kitti, poses

P_LINE = "P0: 7.188560e+02 0 6.071928e+02 0 0 7.188560e+02 1.852157e+02 0 0 0 1 0\n"


# ---- calib.txt ---------------------------------------------------------------------------------

def test_calib_round_trip_and_subsets(tmp_path):
    path = tmp_path / "calib.txt"
    write_calib(path, INTRINSICS)
    m = parse_calib(path)
    assert sorted(m) == ["P0", "P1", "P2", "P3"]
    for P in m.values():
        assert P.shape == (3, 4) and P.dtype == np.float64
        np.testing.assert_allclose(P[:, :3], INTRINSICS.K, rtol=1e-12)
        np.testing.assert_array_equal(P[:, 3], 0.0)
    # a dict of arbitrary keys round-trips too (Tr, P2 with baseline term)
    P2 = np.arange(12, dtype=float).reshape(3, 4) + 0.125
    Tr = np.hstack([np.eye(3), [[0.1], [-0.2], [0.3]]])
    write_calib(path, {"P2": P2, "Tr": Tr})
    m = parse_calib(path)
    assert sorted(m) == ["P2", "Tr"]
    np.testing.assert_array_equal(m["P2"], P2)
    np.testing.assert_array_equal(m["Tr"], Tr)


def test_calib_raw_kitti_names_and_comments(tmp_path):
    path = tmp_path / "calib_cam_to_cam.txt"
    path.write_text("# raw KITTI style\ncalib_time: 09-Jan-2012 13:57:47\n"
                    "P_rect_00: 7.2e+02 0 6.0e+02 0 0 7.2e+02 1.7e+02 0 0 0 1 0\n"
                    "R_rect_00: 1 0 0 0 1 0 0 0 1\nS_00: 1.392e+03 5.12e+02\n\n")
    m = parse_calib(path)
    assert m["P_rect_00"].shape == (3, 4) and m["P_rect_00"][0, 2] == 600.0
    assert m["R_rect_00"].shape == (3, 3)
    np.testing.assert_array_equal(m["S_00"], [1392.0, 512.0])
    assert "calib_time" not in m


@pytest.mark.parametrize("bad_line, expected", [
    ("P1: 1 2 3\n", r"calib\.txt:2: P1 must have 12 numbers .*found 3"),
    ("P1: 1 2 3 4 5 6 7 8 9 10 11 abc\n", r"calib\.txt:2: P1 must have 12 numbers, found non-numeric"),
    ("P1 1 2 3 4 5 6 7 8 9 10 11 12\n", r"calib\.txt:2: expected 'KEY: v1 v2 \.\.\.'"),
    ("Tr: 1 2 3 4 5 6 7 8 9\n", r"calib\.txt:2: Tr must have 12 numbers .*found 9"),
    ("P0: 1 0 0 0 0 1 0 0 0 0 1 0\n", r"calib\.txt:2: P0 appears twice"),
])
def test_calib_garbled_line_names_file_and_line(tmp_path, bad_line, expected):
    path = tmp_path / "calib.txt"
    path.write_text(P_LINE + bad_line)
    with pytest.raises(ValueError, match=expected):
        parse_calib(path)


def test_calib_missing_and_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        parse_calib(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("\n# nothing\n")
    with pytest.raises(ValueError, match="empty.txt has no entries"):
        parse_calib(tmp_path / "empty.txt")


# ---- times.txt ---------------------------------------------------------------------------------

def test_times_round_trip_is_exact(tmp_path):
    t = np.array([0.0, 0.1037359, 0.2073381, 1.6e9 + 0.123456789])
    write_times(tmp_path / "times.txt", t)
    back = read_times(tmp_path / "times.txt")
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, t)


@pytest.mark.parametrize("text, expected", [
    ("0.0\n0.2\n0.1\n", r"times\.txt:3: timestamps must be strictly increasing"),
    ("0.0\n0.1\n0.1\n", r"times\.txt:3: timestamps must be strictly increasing"),
    ("0.0\nzero point one\n", r"times\.txt:2: expected one timestamp"),
    ("0.0\n0.1 0.2\n", r"times\.txt:2: expected one timestamp"),
    ("0.0\nnan\n", r"times\.txt:2: timestamp must be finite"),
    ("\n", r"times\.txt is empty"),
])
def test_times_bad_content(tmp_path, text, expected):
    (tmp_path / "times.txt").write_text(text)
    with pytest.raises(ValueError, match=expected):
        read_times(tmp_path / "times.txt")


def test_write_times_rejects_non_monotonic(tmp_path):
    with pytest.raises(ValueError, match="strictly increasing"):
        write_times(tmp_path / "t.txt", [0.0, 0.2, 0.1])
    assert not (tmp_path / "t.txt").exists()


# ---- KittiSequence ------------------------------------------------------------------------------

def test_kitti_sequence_reads_everything(tmp_path, caplog):
    seq_dir = make_kitti(tmp_path, n=5, n_poses=5, depth=True)
    with caplog.at_level(logging.INFO):
        seq = KittiSequence(seq_dir)
    assert "poses for" not in caplog.text  # same count: no truncation note
    assert seq.name == "00" and len(seq) == 5
    assert seq.intrinsics == INTRINSICS
    np.testing.assert_allclose(seq.timestamps, 0.1037 * np.arange(5) + 0.5, rtol=0, atol=0)
    np.testing.assert_allclose(seq.gt_world_from_cam, poses(5), atol=1e-8)
    for i in range(5):
        img = seq.image(i)
        assert img.dtype == np.uint8 and img.shape == (48, 64)
        np.testing.assert_array_equal(img, frame_image(i))
        d = seq.depth(i)
        assert d.dtype == np.float32 and d.shape == (48, 64) and float(d[0, 0]) == 2.0 + i
    assert seq.frame_path(3).endswith("image_0/000003.png")
    frames = list(seq)
    assert [f.index for f in frames] == list(range(5))
    np.testing.assert_array_equal(frames[2].image, frame_image(2))
    np.testing.assert_allclose(frames[4].world_from_cam, poses(5)[4], atol=1e-8)
    assert frames[1].timestamp == seq.timestamps[1]
    with pytest.raises(IndexError, match="out of range for 5 frames"):
        seq.image(5)


def test_kitti_longer_gt_is_truncated_with_note(tmp_path, caplog):
    seq_dir = make_kitti(tmp_path, n=4, n_poses=9)
    with caplog.at_level(logging.INFO, logger="apps.io"):
        seq = KittiSequence(seq_dir)
    assert seq.gt_world_from_cam.shape == (4, 4, 4)
    np.testing.assert_allclose(seq.gt_world_from_cam, poses(9)[:4], atol=1e-8)
    assert "9 poses for 4 frames" in caplog.text and "00.txt" in caplog.text
    assert all(r.levelname == "INFO" for r in caplog.records if "9 poses" in r.getMessage())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="apps.io"):  # a file given (run --gt): a WARNING
        KittiSequence(seq_dir, gt=tmp_path / "poses" / "00.txt")
    warned = [r for r in caplog.records if r.levelname == "WARNING" and "9 poses for 4 frames" in r.getMessage()]
    assert warned and "truncated to the first 4" in warned[0].getMessage()


def test_kitti_shorter_gt_is_an_error(tmp_path):
    seq_dir = make_kitti(tmp_path, n=6, n_poses=4)
    with pytest.raises(ValueError, match=r"poses/00\.txt has 4 poses but the sequence has 6 frames"):
        KittiSequence(seq_dir)


def test_kitti_gt_lookup_order_and_override(tmp_path):
    seq_dir = make_kitti(tmp_path, n=3, n_poses=0)
    assert KittiSequence(seq_dir).gt_world_from_cam is None  # none anywhere: no GT
    from apps.io.trajectory import write_kitti_poses
    local = poses(3)
    local[:, 0, 3] = 7.0
    write_kitti_poses(seq_dir / "poses.txt", local)
    np.testing.assert_allclose(KittiSequence(seq_dir).gt_world_from_cam[:, 0, 3], 7.0)
    write_kitti_poses(tmp_path / "poses" / "00.txt", poses(3))  # ../../poses/NN.txt wins
    np.testing.assert_allclose(KittiSequence(seq_dir).gt_world_from_cam[:, 0, 3], 0.0, atol=1e-12)
    np.testing.assert_allclose(KittiSequence(seq_dir, gt=seq_dir / "poses.txt").gt_world_from_cam[:, 0, 3], 7.0)
    assert KittiSequence(seq_dir, gt=False).gt_world_from_cam is None
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        KittiSequence(seq_dir, gt=tmp_path / "missing.txt")


def test_kitti_missing_times_are_nominal_10hz(tmp_path, caplog):
    seq_dir = make_kitti(tmp_path, n=4, times=False)
    with caplog.at_level(logging.INFO, logger="apps.io"):
        seq = KittiSequence(seq_dir)
    np.testing.assert_allclose(seq.timestamps, [0.0, 0.1, 0.2, 0.3])
    assert "times.txt not found" in caplog.text and "10 Hz" in caplog.text


def test_kitti_times_count_mismatch(tmp_path):
    seq_dir = make_kitti(tmp_path, n=4)
    write_times(seq_dir / "times.txt", [0.0, 0.1, 0.2])
    with pytest.raises(ValueError, match=r"times\.txt has 3 timestamps but .*image_0 has 4 images"):
        KittiSequence(seq_dir)


def test_kitti_colour_camera_2(tmp_path):
    seq_dir = make_kitti(tmp_path, n=2, camera=2, colour=True)
    seq = KittiSequence(seq_dir, camera=2)
    img = seq.image(1)
    assert img.shape == (48, 64) and img.dtype == np.uint8
    bgr = cv2.imread(seq.frame_path(1), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(img, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    with pytest.raises(FileNotFoundError, match="image_0"):
        KittiSequence(seq_dir, camera=0)
    write_calib(seq_dir / "calib.txt", {"P0": np.eye(3, 4), "P1": np.eye(3, 4)})
    with pytest.raises(ValueError, match=r"calib\.txt has no P2 .*it has: P0, P1"):
        KittiSequence(seq_dir, camera=2)


def test_kitti_calib_override(tmp_path):
    seq_dir = make_kitti(tmp_path, n=2)
    (tmp_path / "cam.yaml").write_text("fx: 60\nfy: 61\ncx: 30\ncy: 20\n")
    seq = KittiSequence(seq_dir, calib=tmp_path / "cam.yaml")
    assert (seq.intrinsics.fx, seq.intrinsics.fy, seq.intrinsics.width, seq.intrinsics.height) == (60, 61, 64, 48)
    np.testing.assert_array_equal(seq.projection[:, 3], 0.0)


def test_kitti_bad_inputs_name_the_file(tmp_path):
    seq_dir = make_kitti(tmp_path, n=3)
    (seq_dir / "calib.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"calib\.txt"):
        KittiSequence(seq_dir)
    write_calib(seq_dir / "calib.txt", INTRINSICS)
    for p in (seq_dir / "image_0").iterdir():
        p.unlink()
    with pytest.raises(ValueError, match=r"image folder .*image_0 contains no images"):
        KittiSequence(seq_dir)


def test_kitti_unreadable_png_fails_on_that_frame_only(tmp_path):
    seq_dir = make_kitti(tmp_path, n=3)
    (seq_dir / "image_0" / "000001.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    seq = KittiSequence(seq_dir)
    np.testing.assert_array_equal(seq.image(2), frame_image(2))
    with pytest.raises(ValueError, match=r"cannot decode image file .*000001\.png"):
        seq.image(1)
    # a frame of the wrong size is reported with its file
    cv2.imwrite(str(seq_dir / "image_0" / "000002.png"), np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match=r"000002\.png: expected a 64x48 grey image"):
        seq.image(2)


def test_kitti_depth_folder_must_be_complete(tmp_path):
    seq_dir = make_kitti(tmp_path, n=3, depth=True)
    (seq_dir / "depth_0" / "000002.npy").unlink()
    with pytest.raises(ValueError, match=r"depth_0 lacks 1 of 3 depth files \(first missing: 000002\.npy"):
        KittiSequence(seq_dir)
    np.save(seq_dir / "depth_0" / "000002.npy", np.full((48, 64), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"000002\.npy: depth must be finite"):
        KittiSequence(seq_dir).depth(2)
    assert KittiSequence(make_kitti(tmp_path / "b", n=2)).depth(0) is None
