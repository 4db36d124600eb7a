"""bench/clip_variants.py: the gains, the frame orders and a clip written in KITTI's layout."""
from __future__ import annotations

import numpy as np
import pytest

from bench_helpers import load_bench


def test_gains_and_frame_orders():
    m = load_bench("clip_variants")
    walk = m.gains("walk", 300)
    assert np.array_equal(walk, m.gains("walk", 300))  # deterministic
    assert walk.min() >= 0.55 - 1e-12 and walk.max() <= 1.6 + 1e-12
    assert np.abs(np.diff(np.log(walk))).max() > 0.14  # at least one exposure step
    flicker = np.log(m.gains("flicker", 2000))
    assert abs(flicker.std() - 0.12) < 0.01 and abs(np.corrcoef(flicker[:-1], flicker[1:])[0, 1]) < 0.1
    assert m.frame_order("repeat", 11) == [0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10]
    assert m.frame_order("drop", 15) == [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 14]
    assert m.frame_order("stamped-drop", 15) == m.frame_order("drop", 15)
    assert m.frame_order("walk", 4) == [0, 1, 2, 3]
    assert m.frame_order("late", 6, late_start=2) == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="late_start"):
        m.frame_order("late", 6, late_start=5)
    assert m.frame_order("every", 8, every=3) == [0, 3, 6]
    with pytest.raises(ValueError, match="every"):
        m.frame_order("every", 8, every=1)
    assert m.clip_name("02", "every", 3) == "02s3" and m.clip_name("02", "late") == "02m"


def test_clip_in_kitti_layout(tmp_path):
    import cv2

    m = load_bench("clip_variants")
    src = tmp_path / "kitti"
    (src / "sequences" / "05" / "image_0").mkdir(parents=True)
    (src / "poses").mkdir()
    (src / "sequences" / "05" / "calib.txt").write_text("P0: 1 0 0 0 0 1 0 0 0 0 1 0\n")
    (src / "sequences" / "05" / "times.txt").write_text("".join(f"{0.1 * i:.6f}\n" for i in range(8)))
    (src / "poses" / "05.txt").write_text("".join(f"1 0 0 {i} 0 1 0 0 0 0 1 0\n" for i in range(8)))
    for i in range(8):
        cv2.imwrite(str(src / "sequences" / "05" / "image_0" / f"{i:06d}.png"), np.full((4, 6), 200, np.uint8))
    out = tmp_path / "out"
    flicker = m.make_clip(src, "05", "flicker", 8, out)
    g = np.loadtxt(flicker / "gains.txt")
    grey = [cv2.imread(str(flicker / "image_0" / f"{k:06d}.png"), cv2.IMREAD_GRAYSCALE)[0, 0] for k in range(8)]
    assert grey == [min(255, round(200 * x)) for x in g]  # scaled, saturated at 255
    drop = m.make_clip(src, "05", "drop", 8, out)
    assert len(list((drop / "image_0").glob("*.png"))) == 7
    assert [float(line.split()[3]) for line in (out / "poses" / "05x.txt").read_text().splitlines()] == \
        [0, 1, 2, 3, 4, 5, 7]
    assert np.allclose(np.loadtxt(drop / "times.txt"), 0.1 * np.arange(7))  # a stream that does not know
    stamped = m.make_clip(src, "05", "stamped-drop", 8, out)
    assert np.allclose(np.loadtxt(stamped / "times.txt"), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7])  # the gap shows
    # A late start: frames 3-7 with their own timestamps, the ground truth re-based to the clip's first frame.
    (src / "poses" / "05.txt").write_text("".join(f"0 -1 0 {i} 1 0 0 {2 * i} 0 0 1 0\n" for i in range(8)))
    late = m.make_clip(src, "05", "late", 8, out, late_start=3)
    assert len(list((late / "image_0").glob("*.png"))) == 5
    assert np.allclose(np.loadtxt(late / "times.txt"), 0.1 * np.arange(3, 8))
    rebased = np.loadtxt(out / "poses" / "05m.txt").reshape(-1, 3, 4)
    assert np.allclose(rebased[0], np.eye(4)[:3]) and np.allclose(rebased[:, :3, :3], np.eye(3))
    # world steps (1, 2, 0) per frame seen in the first camera (rotated by -90 deg about z): (2, -1, 0)
    assert np.allclose(rebased[:, :3, 3], np.outer(np.arange(5), [2, -1, 0]))
    # every 3rd frame: the recorded timestamps and ground truth of frames 0, 3, 6; a late start under its own name
    fast = m.make_clip(src, "05", "every", 8, out, every=3)
    assert fast.name == "05s3" and len(list((fast / "image_0").glob("*.png"))) == 3
    assert np.allclose(np.loadtxt(fast / "times.txt"), [0, 0.3, 0.6])
    assert np.allclose(np.loadtxt(out / "poses" / "05s3.txt").reshape(-1, 3, 4)[:, 0, 3], [0, 3, 6])
    assert m.make_clip(src, "05", "late", 8, out, late_start=2, name="05m2").name == "05m2"
    assert (out / "poses" / "05m2.txt").is_file()
    with pytest.raises(FileNotFoundError, match="no .png frames"):
        m.make_clip(src, "06", "walk", 8, out)


def test_a_cut_to_another_aspect_keeps_the_projection(tmp_path):
    import cv2

    m = load_bench("clip_variants")
    src = tmp_path / "kitti" / "sequences" / "05"
    (src / "image_0").mkdir(parents=True)
    fx, cx, cy, base = 20.0, 30.5, 6.0, -10.0  # 64x12 frames, P1 with a baseline term
    (src / "calib.txt").write_text(f"P0: {fx} 0 {cx} 0 0 {fx} {cy} 0 0 0 1 0\nP1: {fx} 0 {cx} {base} 0 {fx} {cy} 0 0 0 1 0\n")
    (src / "times.txt").write_text("0.0\n0.1\n")
    image = np.tile(np.arange(64, dtype=np.uint8), (12, 1))  # grey = column
    for i in range(2):
        cv2.imwrite(str(src / "image_0" / f"{i:06d}.png"), image)
    wide = m.make_clip(tmp_path / "kitti", "05", "cut169", 2, tmp_path / "out")
    assert wide.name == "05w"
    cut = cv2.imread(str(wide / "image_0" / "000001.png"), cv2.IMREAD_GRAYSCALE)
    x0 = int(round(cx - 21 / 2))  # 12 x 16/9 = 21 columns centred on cx
    assert cut.shape == (12, 21) and np.array_equal(cut[0], np.arange(x0, x0 + 21))
    P = [np.array(line.split()[1:], float).reshape(3, 4) for line in (wide / "calib.txt").read_text().splitlines()]
    X = np.array([0.7, -0.2, 3.0, 1.0])  # a point projects x0 columns further left, in both cameras
    for before, after in zip(([fx, 0, cx, 0], [fx, 0, cx, base]), P):
        u_before = np.dot(before, X) / X[2]
        assert np.isclose(np.dot(after[0], X) / np.dot(after[2], X), u_before - x0)
    assert m.make_clip(tmp_path / "kitti", "05", "cut43", 2, tmp_path / "out").name == "05q"
