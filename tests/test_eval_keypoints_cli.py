"""``kp3d-vo eval-keypoints`` (issue 13 #7): the sequence folder as a positional argument, "ours" evaluated
with the shipped networks by default, as ``run`` does."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.* deprecation notices


def _textured(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur((rng.random((height, width)) * 255).astype(np.uint8), (0, 0), 2.0)
    for _ in range(25):  # corners and edges for every detector
        x, y = rng.integers(0, width - 30), rng.integers(0, height - 30)
        cv2.rectangle(image, (int(x), int(y)), (int(x + rng.integers(8, 30)), int(y + rng.integers(8, 30))),
                      int(rng.integers(0, 256)), -1)
    return image


def _hpatches_like(folder, height=256, width=320):
    """1.ppm..6.ppm with 6 = 1 warped by a known homography (small shifts and a zoom), H_1_k files."""
    folder.mkdir(parents=True)
    a = _textured(height, width, 3)
    cv2.imwrite(str(folder / "1.ppm"), cv2.cvtColor(a, cv2.COLOR_GRAY2BGR))
    for k in range(2, 7):
        H = np.array([[1.0 + 0.02 * k, 0, 3.0 * k], [0, 1.0 + 0.02 * k, -2.0 * k], [0, 0, 1]])
        b = cv2.warpPerspective(a, H, (width, height), flags=cv2.INTER_LINEAR)
        cv2.imwrite(str(folder / f"{k}.ppm"), cv2.cvtColor(b, cv2.COLOR_GRAY2BGR))
        np.savetxt(folder / f"H_1_{k}", H)
    return folder


def test_positional_hpatches_folder_evaluates_the_shipped_networks(tmp_path):
    from apps.cli import main

    seq = _hpatches_like(tmp_path / "v_synthetic")
    out = tmp_path / "eval.json"
    assert main(["eval-keypoints", str(seq), "--size", "320x256", "--top-k", "200", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert list(res) == ["ours", "orb", "sift"]
    for r in res.values():
        assert r["n_pairs"] == 5 and r["hpatches"] == str(seq) and r["top_k"] == 200
    # a clean zoom+shift: the shipped KeypointNet repeats its keypoints (measured 0.84, C3 1.0, mscore 0.83);
    # random weights (make_random_model_dir) measure repeatability 0.23, C5 0.0, mscore 0.14 here.
    assert res["ours"]["repeatability"] > 0.6 and res["ours"]["c5"] >= 0.8 and res["ours"]["mscore"] > 0.5
    assert res["sift"]["c3"] >= 0.6


def test_positional_image_folder_makes_synthetic_pairs(tmp_path):
    from apps.cli import main

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"{i:06d}.png"), _textured(192, 256, 10 + i))
    out = tmp_path / "eval.json"
    assert main(["eval-keypoints", str(folder), "--pairs", "3", "--size", "256x192", "--methods", "orb",
                 "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert list(res) == ["orb"] and res["orb"]["n_pairs"] == 3 and res["orb"]["images"] == str(folder)


def test_folder_and_flags_are_exclusive_and_checked(tmp_path, capsys):
    from apps.cli import main

    seq = _hpatches_like(tmp_path / "seq", 64, 96)
    assert main(["eval-keypoints", str(seq), "--hpatches", str(seq)]) != 0
    assert "exactly one of FOLDER" in capsys.readouterr().err
    assert main(["eval-keypoints", str(tmp_path / "missing")]) != 0
    assert "not a folder" in capsys.readouterr().err
