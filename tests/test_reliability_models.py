"""Issue 12 #7: model files are checked against frontend.json (SHA-256) and by their declared kind."""
import json
import shutil

import pytest
import torch

from frontend.export import make_random_model_dir
from frontend.inference import FrontendRuntime, read_frontend_meta
from apps.pipeline.config import DEFAULT_MODEL_DIR


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    make_random_model_dir(out, width=64, height=64, seed=0)
    return out


def _copy(src, tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(src, dst)
    return dst


def test_export_records_hash_and_kind(exported):
    meta = json.loads((exported / "frontend.json").read_text())
    assert len(meta["keypoint"]["sha256"]) == 64 and meta["keypoint"]["kind"] == "keypoint"
    assert meta["depth"]["kind"] == "depth"
    FrontendRuntime(exported, device="cpu")  # loads


def test_shipped_models_match_their_hashes():
    meta = read_frontend_meta(DEFAULT_MODEL_DIR)
    assert len(meta["keypoint"]["sha256"]) == 64 and len(meta["depth"]["sha256"]) == 64


def test_one_kilobyte_overwritten_is_refused(exported, tmp_path):
    """1 KB overwritten in keypoint_net.pt used to run with slightly worse results."""
    models = _copy(exported, tmp_path)
    path = models / "keypoint_net.pt"
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 1024] = bytes(1024)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"keypoint_net\.pt: SHA-256 .* corrupted"):
        FrontendRuntime(models, device="cpu")


def test_swapped_files_are_named(exported, tmp_path):
    """Swapped keypoint/depth files gave 'not enough values to unpack'."""
    models = _copy(exported, tmp_path)
    kp, depth = models / "keypoint_net.pt", models / "depth_net.pt"
    kp_bytes = kp.read_bytes()
    kp.write_bytes(depth.read_bytes())
    depth.write_bytes(kp_bytes)
    with pytest.raises(ValueError, match=r"keypoint_net\.pt: .*depth network's file .*swapped"):
        FrontendRuntime(models, device="cpu")


@pytest.mark.parametrize("declared", [True, False], ids=["kind-in-file", "old-export"])
def test_swapped_files_without_hashes_are_caught_by_kind(exported, tmp_path, declared):
    """Exports without hashes: the kind inside the file, or (older files) the outputs, tell them apart."""
    models = _copy(exported, tmp_path)
    meta = json.loads((models / "frontend.json").read_text())
    for role in ("keypoint", "depth"):
        del meta[role]["sha256"], meta[role]["bytes"]
    (models / "frontend.json").write_text(json.dumps(meta))
    kp, depth = models / "keypoint_net.pt", models / "depth_net.pt"
    if not declared:  # re-save without the kind record, as files exported before it existed
        for p in (kp, depth):
            torch.jit.save(torch.jit.load(str(p)), str(p))
    kp_bytes = kp.read_bytes()
    kp.write_bytes(depth.read_bytes())
    depth.write_bytes(kp_bytes)
    with pytest.raises(ValueError, match=r"keypoint_net\.pt: .*(declares kind 'depth'|returns one tensor).*swapped"):
        FrontendRuntime(models, device="cpu")
