"""Issue 12 regressions for bad inputs: calibration vs images (#2), frame-number gaps and TUM pairing
(#4), backend API values (#8), calib/times files and CLI notes (#13). The table of every bad input
with its exit code and message is docs/BAD_INPUTS.md (checked by tests/test_reliability_table.py).
"""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

import dso_bridge  # a hard import: a missing extension fails here instead of skipping
from apps.io.calibration import check_intrinsics_fit, read_intrinsics
from apps.io.camera import Intrinsics
from apps.io.kitti import KittiSequence, parse_calib, read_times, write_calib
from apps.io.kitti_format import normalized_projection
from apps.io.sequence import open_sequence
from apps.io.trajectory import write_kitti_poses, write_tum
from io_helpers import INTRINSICS, make_kitti, poses

KITTI_K = Intrinsics(718.856, 718.856, 607.1928, 185.2157, 1241, 376)


# ---- #2 calibration checked against the images ---------------------------------------------------

def test_full_size_calibration_with_resized_frames_is_refused(tmp_path):
    """#2: KITTI's 1241x376 calib with frames resized to 620x188 by someone else (ATE 14 m before)."""
    seq = make_kitti(tmp_path, n=3)
    write_calib(seq / "calib.txt", np.hstack([KITTI_K.K, np.zeros((3, 1))]))
    for p in (seq / "image_0").iterdir():
        cv2.imwrite(str(p), np.full((188, 620), 90, np.uint8))
    with pytest.raises(ValueError, match=r"calib\.txt, P0 .*does not fit the 620x188 frames: cx = 607\.193 px is "
                                         r"48% .*calibration of 1215x371 frames"):
        KittiSequence(seq)


def test_frames_resized_by_us_get_scaled_intrinsics(tmp_path):
    """#2: the other half of the rule: our own resize scales the calibration (and passes the check)."""
    seq = make_kitti(tmp_path, n=3)
    view = open_sequence(seq, resize=(32, 24))
    k = view.intrinsics
    assert (k.width, k.height) == (32, 24)
    assert k.fx == pytest.approx(INTRINSICS.fx / 2) and k.cx == pytest.approx((INTRINSICS.cx + 0.5) / 2 - 0.5)
    check_intrinsics_fit(k, "scaled")


@pytest.mark.parametrize("values, match", [
    ("1e-9 1e-9 31.5 23.5", r"fx = 1e-09 px gives a 180 degree field of view over 64 px \(expected 2-160\)"),
    ("5000 5000 31.5 23.5", r"fx = 5000 px gives a 0\.733 degree field of view"),
    ("50 50 131.5 23.5", r"cx = 131\.5 px is outside the 64-px frame"),
    ("50 50 31.5 -3", r"cy = -3 px is outside the 48-px frame"),
    ("50 50 60 23.5", r"cx = 60 px is 45% of the 64-px frame from its centre \(at most 25% expected\)"),
])
def test_implausible_calibration_is_refused_naming_the_file(tmp_path, values, match):
    """#2: fx = 1e-9 or a principal point outside the frame gave identity poses."""
    path = tmp_path / "cam.txt"
    path.write_text(values + "\n")
    with pytest.raises(ValueError, match=r"calibration file .*cam\.txt: .*" + match):
        read_intrinsics(path, image_size=(64, 48))


def test_projection_with_p22_not_one_is_normalised(tmp_path, caplog):
    """#2: P = 2 K [I|t] used 2 fx as the focal length (ATE 10 m); it is the same camera."""
    seq = make_kitti(tmp_path, n=3)
    P = 2.0 * np.hstack([INTRINSICS.K, np.zeros((3, 1))])
    write_calib(seq / "calib.txt", P)
    with caplog.at_level(logging.WARNING):
        k = KittiSequence(seq).intrinsics
    assert "P[2,2] = 2, not 1" in caplog.text
    assert k == INTRINSICS
    np.testing.assert_allclose(normalized_projection(P, "x"), P / 2)


def test_rotated_projection_is_refused():
    """#2: a P whose left 3x3 block is not upper triangular is not a rectified K [I | t]."""
    R = cv2.Rodrigues(np.array([0.0, 0.3, 0.0]))[0]
    with pytest.raises(ValueError, match=r"calib\.txt, P0: not a rectified projection matrix"):
        normalized_projection(np.hstack([INTRINSICS.K @ R, np.zeros((3, 1))]), "calib.txt, P0")


# ---- #4 missing frame numbers and TUM pairing ------------------------------------------------------

def test_gap_in_frame_numbers_without_times_is_reported_and_keeps_the_pairing(tmp_path, caplog):
    """#4: without times.txt a missing 000002.png shifted every later GT pose by one frame."""
    seq = make_kitti(tmp_path, n=6, times=False)
    (seq / "image_0" / "000002.png").unlink()
    with caplog.at_level(logging.WARNING):
        s = KittiSequence(seq)
    assert "1 frame number(s) missing in 1 gap(s), the first between 000001.png and 000003.png" in caplog.text
    assert len(s) == 5
    np.testing.assert_allclose(s.timestamps, [0.0, 0.1, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(s.gt_world_from_cam, poses(6)[[0, 1, 3, 4, 5]], atol=1e-8)


def test_gap_in_an_image_folder_keeps_number_pairing(tmp_path, caplog):
    """#4: the same rule for a plain image folder (frame_1.png, frame_2.png, frame_4.png)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for n in (1, 2, 4):
        cv2.imwrite(str(folder / f"frame_{n}.png"), np.full((48, 64), 40 * n, np.uint8))
    (folder / "cam.txt").write_text("50 52 31.5 23.25\n")
    write_kitti_poses(tmp_path / "gt.txt", poses(4))
    with caplog.at_level(logging.WARNING):
        s = open_sequence(folder, calib=folder / "cam.txt", gt=tmp_path / "gt.txt")
    assert "between frame_2.png and frame_4.png" in caplog.text
    np.testing.assert_allclose(s.timestamps, [0.0, 0.1, 0.3])
    np.testing.assert_allclose(s.gt_world_from_cam, poses(4)[[0, 1, 3]], atol=1e-8)


def test_consecutive_frames_log_no_gap(tmp_path, caplog):
    seq = make_kitti(tmp_path, n=4, times=False)
    with caplog.at_level(logging.WARNING):
        s = KittiSequence(seq)
    assert "missing" not in caplog.text
    np.testing.assert_allclose(s.timestamps, 0.1 * np.arange(4))


def test_tum_ground_truth_with_a_kitti_folder_is_paired_by_time(tmp_path):
    """#4: a TUM GT with extra poses before the first frame used to be paired by index."""
    seq = make_kitti(tmp_path, n=5, n_poses=0)  # times 0.5 + 0.1037 k
    times = read_times(seq / "times.txt")
    early = poses(3)
    early[:, 0, 3] += 7.0  # three poses before the sequence starts, clearly elsewhere
    write_tum(tmp_path / "gt_tum.txt", np.r_[times[0] - 0.3 + 0.1 * np.arange(3), times],
              np.concatenate([early, poses(5)]))
    s = open_sequence(seq, gt=tmp_path / "gt_tum.txt")
    np.testing.assert_allclose(s.gt_world_from_cam, poses(5), atol=1e-6)


def test_tum_ground_truth_that_does_not_match_names_the_nominal_times(tmp_path):
    seq = make_kitti(tmp_path, n=4, n_poses=0, times=False)
    write_tum(tmp_path / "gt_tum.txt", 1.6e9 + 0.1 * np.arange(4), poses(4))
    with pytest.raises(ValueError, match=r"gt_tum\.txt: no pose within .*no times\.txt: nominal 10 Hz"):
        open_sequence(seq, gt=tmp_path / "gt_tum.txt")


# ---- #13 calib/times files --------------------------------------------------------------------------

def test_missing_calib_is_reported_as_missing_calib(tmp_path):
    """#13: a KITTI folder without calib.txt said 'contains no images'."""
    seq = make_kitti(tmp_path, n=3)
    (seq / "calib.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"calibration file not found: .*00/calib\.txt .*looks like a KITTI"):
        open_sequence(seq)
    (tmp_path / "cam.txt").write_text("50 52 31.5 23.25\n")
    assert open_sequence(seq, calib=tmp_path / "cam.txt").intrinsics == INTRINSICS  # --calib still works


def test_utf8_bom_is_stripped_from_calib_and_times(tmp_path):
    """#13: a byte-order mark made the first key '\\ufeffP0'."""
    seq = make_kitti(tmp_path, n=3)
    for name in ("calib.txt", "times.txt"):
        p = seq / name
        p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert "P0" in parse_calib(seq / "calib.txt")
    s = KittiSequence(seq)
    assert s.intrinsics == INTRINSICS and len(s.timestamps) == 3
    (tmp_path / "cam.txt").write_bytes(b"\xef\xbb\xbf" + b"50 52 31.5 23.25\n")
    assert read_intrinsics(tmp_path / "cam.txt", image_size=(64, 48)) == INTRINSICS


def test_zero_focal_length_names_the_file(tmp_path):
    """#13: 'Intrinsics.fx must be a positive finite number' did not say which file."""
    seq = make_kitti(tmp_path, n=3)
    K = INTRINSICS.K.copy()
    K[0, 0] = 0.0
    write_calib(seq / "calib.txt", K)
    with pytest.raises(ValueError, match=r"calibration file .*calib\.txt, P0: Intrinsics\.fx must be a positive"):
        KittiSequence(seq)


def test_non_rigid_ground_truth_names_the_file(tmp_path):
    """#13: a singular GT pose surfaced later as 'Singular matrix' without the file."""
    seq = make_kitti(tmp_path, n=4)
    gt = poses(4)
    gt[2, :3, :3] = 0.0
    write_kitti_poses(tmp_path / "poses" / "00.txt", gt)
    with pytest.raises(ValueError, match=r"ground-truth file .*00\.txt: pose 2 is not a rigid transform"):
        KittiSequence(seq)


def test_device_is_ignored_in_dso_mode_and_said_so(tmp_path, caplog):
    """#13: --device cuda with --mode dso was silently ignored."""
    from apps import cli

    with caplog.at_level(logging.WARNING):
        rc = cli.main(["run", str(tmp_path / "absent"), "--output", str(tmp_path / "out"), "--mode", "dso",
                       "--device", "cuda", "--no-progress"])
    assert rc == 2
    assert "--device cuda has no effect with --mode dso" in caplog.text


# ---- #8 backend API ----------------------------------------------------------------------------------

W, H = 64, 48
INTR = dict(fx=50.0, fy=50.0, cx=31.5, cy=23.5, width=W, height=H)


def _image(scale: float = 1.0) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return (scale * (128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0))).astype(np.float32)


@pytest.mark.parametrize("depth_value, match", [
    (3e38, r"depth: 1 values exceed 10000 m \(first 3e\+38 at row 5, column 7\)"),
    (np.inf, r"depth contains NaN or infinite values"),
    (-2.0, r"depth must be >= 0 metres"),
])
def test_depth_prior_out_of_range_is_refused(depth_value, match):
    """#8: a depth prior of 3e38 gave inf map points."""
    be = dso_bridge.Backend(INTR)
    depth = np.full((H, W), 5.0, np.float32)
    depth[5, 7] = depth_value
    with pytest.raises(ValueError, match=match):
        be.track(_image(), 0.0, depth=depth)
    assert be.num_frames == 0


@pytest.mark.parametrize("idepth, match", [(-0.5, "keypoint_idepth: 1 negative"), (1e-30, "below 0.0001 1/m")])
def test_keypoint_idepth_out_of_range_is_refused(idepth, match):
    be = dso_bridge.Backend(INTR)
    kps = np.array([[10.0, 10.0], [20.0, 20.0]], np.float32)
    with pytest.raises(ValueError, match=match):
        be.track(_image(), 0.0, kps, keypoint_idepth=np.array([0.2, idepth], np.float32))


@pytest.mark.parametrize("second", [0.1, 0.05])
def test_repeated_or_backwards_timestamps_are_refused(second):
    """#8: timestamps going backwards or repeated were accepted."""
    be = dso_bridge.Backend(INTR)
    be.track(_image(), 0.1)
    with pytest.raises(ValueError, match=r"timestamp .* is not after the previous frame's 0\.1 s"):
        be.track(_image(), second)
    assert be.num_frames == 1
    be.track(_image(), 0.2)  # a later one is fine
    assert be.num_frames == 2


def test_images_in_unit_range_are_refused_with_a_hint():
    """#8: images in [0, 1] never initialised, with no hint."""
    be = dso_bridge.Backend(INTR)
    with pytest.raises(ValueError, match=r"image: grey levels look like \[0, 1\] .*multiply by 255"):
        be.track(_image(1.0 / 255.0), 0.0)
    with pytest.raises(ValueError, match=r"image: grey levels up to .* exceed 255"):
        be.track(_image(16.0), 0.0)
    assert be.num_frames == 0
    be.track(np.zeros((H, W), np.float32), 0.0)  # an all-black frame is valid input (it just has no texture)


@pytest.mark.parametrize("change, match", [
    (dict(cx=200.0), r"intrinsics: cx = 200\.0 px is outside the 64x48 image"),
    (dict(fx=1e-9), r"intrinsics: fx = 1e-09 px gives a 180 degree field of view"),
    (dict(fy=0.0), r"intrinsics: fy must be a positive finite number"),
])
def test_backend_refuses_intrinsics_that_cannot_fit_the_image(change, match):
    with pytest.raises(ValueError, match=match):
        dso_bridge.Backend(dict(INTR, **change))


def test_backend_rejects_nothing_valid():
    """The checks above leave a normal textured sequence with a depth prior alone (positive control)."""
    be = dso_bridge.Backend(INTR)
    for i in range(3):
        r = be.track(np.roll(_image(), i, axis=1), 0.1 * i, depth=np.full((H, W), 4.0, np.float32))
        assert r.status in dso_bridge.FRAME_STATUSES
    assert be.num_frames == 3


# ---- #3 an odd first frame is not the reference size ------------------------------------------------

def test_first_frame_of_another_size_is_not_the_reference(tmp_path, caplog):
    """#3: a first frame of another size became the reference and the 29 good frames were blamed."""
    seq = make_kitti(tmp_path, n=6)
    cv2.imwrite(str(seq / "image_0" / "000000.png"), np.zeros((40, 50), np.uint8))
    with caplog.at_level(logging.WARNING):
        s = KittiSequence(seq)
    assert "000000.png is 50x40 but most frames are 64x48" in caplog.text
    assert (s.intrinsics.width, s.intrinsics.height) == (64, 48)
    with pytest.raises(ValueError, match=r"000000\.png: expected a 64x48 grey image"):
        s.image(0)
    assert s.image(1).shape == (48, 64)


# ---- a path of the wrong kind is named as such, not as missing -------------------------------------

def _wrong_kind_cases(tmp_path):
    from apps.evaluation.batch import entries_from_dirs
    from apps.io.photometric import read_photometric
    from apps.io.trajectory import read_trajectory
    from frontend.inference import read_frontend_meta

    a_file, a_dir = tmp_path / "a.txt", tmp_path / "d"
    a_file.write_text("1\n")
    a_dir.mkdir()
    return [
        (lambda: read_frontend_meta(a_file), NotADirectoryError, "model dir"),
        (lambda: read_trajectory(a_dir), IsADirectoryError, "trajectory"),
        (lambda: read_intrinsics(a_dir), IsADirectoryError, "calibration file"),
        (lambda: read_photometric(a_dir, image_size=(64, 48)), IsADirectoryError, "photometric calibration file"),
        (lambda: read_times(a_dir), IsADirectoryError, "timestamps file"),
        (lambda: entries_from_dirs(a_file, a_dir), NotADirectoryError, r"ground-truth folder \(--gt-dir\)"),
    ]


@pytest.mark.parametrize("case", range(6))
def test_a_path_of_the_wrong_kind_says_so(tmp_path, case):
    call, error, what = _wrong_kind_cases(tmp_path)[case]
    kind = "folder" if error is NotADirectoryError else "file"
    with pytest.raises(error, match=rf"{what}.* exists but is not a {kind}: {tmp_path}"):
        call()
