"""HPatches-protocol metrics on hand-built pairs, data loading, and the eval-keypoints CLI."""
from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from frontend.homography_eval import (PairMetrics, corner_error, estimate_homography, evaluate_pair,
                                      matching_score, mutual_matches, repeatability, summarize)
from frontend.hpatches import load_hpatches_pairs, random_homography, resize_matrix, synthetic_pairs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.* deprecation notices

SHAPE = (100, 200)  # (height, width) of both images
H_SHIFT = np.array([[1.0, 0, 10], [0, 1, 5], [0, 0, 1]])  # B = A + (10, 5)


def _hand_pair():
    """Keypoints/descriptors with known metrics under H_SHIFT (see test docstrings)."""
    kps_a = np.array([[20, 20], [50, 50], [100, 40], [195, 50]], np.float64)
    # warped A: (30,25) (60,55) (110,45) (205,55: outside B)
    kps_b = np.array([[31, 25], [62, 55], [110, 49], [5, 5], [150, 80]], np.float64)
    # back-warped B: (21,20) (52,50) (100,44) (-5,0: outside A) (140,75)
    eye = np.eye(8, dtype=np.float32)
    desc_a = eye[[0, 1, 2, 3]]
    b4 = eye[3] + 0.5 * eye[5]
    desc_b = np.stack([eye[0], eye[1], eye[2], eye[3], b4 / np.linalg.norm(b4)])
    return kps_a, kps_b, desc_a, desc_b


def test_repeatability_and_localization_by_hand():
    """Kept A: a0..a2 (a3 leaves B); kept B: b0, b1, b2, b4 (b3 leaves A).
    Nearest distances: a0 1, a1 2, a2 4 (> 3); b0 1, b1 2, b2 4, b4 far. -> rep 4/7, loc (1+2+1+2)/4."""
    kps_a, kps_b, _, _ = _hand_pair()
    rep, loc = repeatability(kps_a, kps_b, H_SHIFT, SHAPE, SHAPE, eps=3.0)
    assert rep == pytest.approx(4 / 7)
    assert loc == pytest.approx(1.5)
    rep5, loc5 = repeatability(kps_a, kps_b, H_SHIFT, SHAPE, SHAPE, eps=4.0)  # a2/b2 now count
    assert rep5 == pytest.approx(6 / 7) and loc5 == pytest.approx((1 + 2 + 4) * 2 / 6)
    assert math.isnan(repeatability(kps_a, np.zeros((0, 2)), H_SHIFT, SHAPE, SHAPE)[1])


def test_matching_score_by_hand():
    """A->B: visible a0, a1, a2 match b0 (1 px), b1 (2 px), b2 (4 px): 2/3.
    B->A: visible b0, b1, b2, b4 match a0, a1, a2, a3 (b4 is nearest to a3, 55+ px off): 2/4."""
    kps_a, kps_b, desc_a, desc_b = _hand_pair()
    ms = matching_score(kps_a, kps_b, desc_a, desc_b, H_SHIFT, SHAPE, SHAPE, eps=3.0)
    assert ms == pytest.approx((2 / 3 + 2 / 4) / 2)
    assert mutual_matches(desc_a, desc_b, binary=False).tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]


def test_corner_error_and_thresholds_by_hand():
    h, w = SHAPE
    off_by_1 = H_SHIFT + np.array([[0, 0, 1.0], [0, 0, 0], [0, 0, 0]])
    assert corner_error(off_by_1, H_SHIFT, SHAPE) == pytest.approx(1.0)
    off_by_5 = H_SHIFT + np.array([[0, 0, 3.0], [0, 0, 4.0], [0, 0, 0]])
    assert corner_error(off_by_5, H_SHIFT, SHAPE) == pytest.approx(5.0)
    # scale 1.01 about the origin: corner errors 0, 1.99, 0.99, |(1.99, 0.99)| -> mean
    scaled = np.diag([1.01, 1.01, 1.0]) @ H_SHIFT
    corners = np.array([[10, 5], [w - 1 + 10, 5], [10, h - 1 + 5], [w - 1 + 10, h - 1 + 5]])
    expected = np.linalg.norm(corners * 0.01, axis=1).mean()
    assert corner_error(scaled, H_SHIFT, SHAPE) == pytest.approx(expected)
    assert corner_error(None, H_SHIFT, SHAPE) == math.inf
    summary = summarize([PairMetrics(1.0, 0.5, e, 0.5, 10) for e in (0.5, 1.0, 2.0, 4.0, math.inf)])
    assert (summary.c1, summary.c3, summary.c5) == (0.4, 0.6, 0.8)
    assert summary.mscore == 0.5 and summary.n_pairs == 5


def test_perfect_detector_on_exact_homography():
    """Exact correspondences: repeatability 1, localisation 0, corner error ~0, matching score 1."""
    rng = np.random.default_rng(0)
    H = random_homography(320, 256, rng, max_angle_deg=10, scale_range=(0.95, 1.05), max_perspective=0.03,
                          max_translation=0.02)
    xs, ys = np.meshgrid(np.linspace(60, 260, 8), np.linspace(60, 196, 6))
    kps_a = np.stack([xs.ravel(), ys.ravel()], axis=1)
    kps_b = cv2.perspectiveTransform(kps_a.reshape(-1, 1, 2), H).reshape(-1, 2)
    desc = rng.normal(size=(len(kps_a), 32)).astype(np.float32)
    m = evaluate_pair(kps_a, desc, kps_b, desc, H, (256, 320), (256, 320))
    assert m.repeatability == 1.0 and m.localization == pytest.approx(0.0, abs=1e-9)
    assert m.corner_error < 1e-3 and m.mscore == 1.0 and m.n_matches == len(kps_a)
    assert estimate_homography(kps_a, kps_b, np.zeros((3, 2), np.int64)) is None


def test_resize_matrix_and_hpatches_loader(tmp_path):
    # Original 200x160 images, B = A shifted by (10, 6); at 100x80 the shift must be (5, 3) exactly.
    rng = np.random.default_rng(1)
    a = (rng.random((160, 200)) * 255).astype(np.uint8)
    for k in range(1, 7):
        assert cv2.imwrite(str(tmp_path / f"{k}.ppm"), cv2.cvtColor(a, cv2.COLOR_GRAY2BGR))
        if k > 1:
            np.savetxt(tmp_path / f"H_1_{k}", [[1, 0, 10], [0, 1, 6], [0, 0, 1]])
    pairs = load_hpatches_pairs(tmp_path, 96, 64)
    assert len(pairs) == 5 and pairs[0].image_a.shape == (64, 96)
    S = resize_matrix((200, 160), (96, 64))
    # image edges map to image edges (pixel-centre convention: edges at -0.5 and size - 0.5)
    assert np.allclose(S @ [-0.5, -0.5, 1.0], [-0.5, -0.5, 1.0]) and np.allclose(S @ [199.5, 159.5, 1], [95.5, 63.5, 1])
    pairs = load_hpatches_pairs(tmp_path, 100, 80)
    assert np.allclose(pairs[2].H_ab, [[1, 0, 5], [0, 1, 3], [0, 0, 1]])
    (tmp_path / "H_1_4").write_text("1 2 3\n")
    with pytest.raises(ValueError, match="H_1_4"):
        load_hpatches_pairs(tmp_path, 100, 80)
    with pytest.raises(FileNotFoundError, match="HPatches"):
        load_hpatches_pairs(tmp_path / "nothing", 100, 80)
    (tmp_path / "H_1_4").write_text("1 0 nan\n0 1 0\n0 0 1\n")
    with pytest.raises(ValueError, match=r"H_1_4: the homography has non-finite values"):
        load_hpatches_pairs(tmp_path, 100, 80)
    (tmp_path / "H_1_4").write_text("1 2 0\n2 4 0\n0 0 1\n")
    with pytest.raises(ValueError, match=r"H_1_4: the homography is singular"):
        load_hpatches_pairs(tmp_path, 100, 80)


@pytest.mark.parametrize("eps", [-1.0, 0.0, math.nan, math.inf])
def test_the_distance_threshold_must_be_finite_and_positive(eps):
    from frontend.hpatches import evaluate_all

    with pytest.raises(ValueError, match=r"threshold \(--threshold\): expected a finite distance > 0 px"):
        evaluate_all([], [], eps)


def test_synthetic_pairs_are_seeded_and_consistent(tmp_path):
    rng = np.random.default_rng(2)
    img = cv2.GaussianBlur((rng.random((120, 160)) * 255).astype(np.uint8), (0, 0), 2.0)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    p1 = synthetic_pairs(tmp_path, 128, 96, n_pairs=2, seed=7)
    p2 = synthetic_pairs(tmp_path, 128, 96, n_pairs=2, seed=7)
    assert np.array_equal(p1[1].H_ab, p2[1].H_ab) and not np.array_equal(p1[0].H_ab, p1[1].H_ab)
    # image_b(H x) == image_a(x) wherever H x stays inside image B (nearest-pixel lookup on a blurred image)
    pair = p1[0]
    xs, ys = np.meshgrid(np.arange(8, 120, 4.0), np.arange(8, 88, 4.0))
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
    warped = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), pair.H_ab).reshape(-1, 2)
    ok = (warped[:, 0] > 2) & (warped[:, 0] < 125) & (warped[:, 1] > 2) & (warped[:, 1] < 93)
    assert ok.sum() > 50
    va = pair.image_a[pts[ok, 1].astype(int), pts[ok, 0].astype(int)].astype(float)
    vb = pair.image_b[np.round(warped[ok, 1]).astype(int), np.round(warped[ok, 0]).astype(int)].astype(float)
    assert np.abs(va - vb).mean() < 4.0 < np.abs(va - np.roll(vb, 7)).mean()


@pytest.mark.shared_data
def test_eval_keypoints_cli_on_v_churchill(shared_data, tmp_path):
    from apps.cli import main
    from frontend.export import make_random_model_dir

    seq = shared_data / "hpatches" / "v_churchill"
    if not (seq / "1.ppm").is_file():
        pytest.skip(f"{seq} not found")
    model_dir = make_random_model_dir(tmp_path / "models", width=128, height=64)  # fully convolutional
    out = tmp_path / "eval.json"
    assert main(["eval-keypoints", "--hpatches", str(seq), "--model-dir", str(model_dir), "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert set(res) == {"ours", "orb", "sift"}
    for r in res.values():
        assert r["n_pairs"] == 5 and r["top_k"] == 300 and (r["width"], r["height"]) == (320, 256)
        for key in ("repeatability", "c1", "c3", "c5", "mscore"):
            assert 0.0 <= r[key] <= 1.0
    # OpenCV 4.13 on this sequence at 320x256 / 300 keypoints (measured): SIFT C3 0.6, rep 0.58, mscore 0.39;
    # ORB rep 0.77, mscore 0.41.
    assert res["sift"]["c3"] >= 0.6 and 0.45 < res["sift"]["repeatability"] < 0.75
    assert res["sift"]["mscore"] > 0.3 and res["sift"]["localization"] < 1.5
    assert res["orb"]["repeatability"] > 0.6 and res["orb"]["mscore"] > 0.3
    # random weights are far worse than SIFT at matching
    assert res["ours"]["mscore"] < res["sift"]["mscore"]
