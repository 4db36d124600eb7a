"""Nothing in the repository names one machine's folders (issue 13 #5): configs, docs, shipped metadata
and the model archives record paths relative to the repository (data under ``../shared/data``)."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(rb"(?<![\w.])/(?:work|tmp|root|home)/")
CODE_SUFFIXES = {".py", ".pyi", ".cc", ".cpp", ".h", ".hpp", ".sh", ".cmake", ".txt.in"}
TEXT_SUFFIXES = {".yaml", ".yml", ".json", ".md", ".txt", ".toml", ".cfg", ".ini", ".csv", ""}


def _tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout (no list of tracked files)")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in out.decode().split("\0") if name]


def test_machine_path_pattern_finds_what_it_should():
    assert MACHINE_PATH.search(b"path: /work/shared/data/kitti")
    assert MACHINE_PATH.search(b'"/home/me/x.pt"')
    assert not MACHINE_PATH.search(b"path: ../shared/data/kitti")
    assert not MACHINE_PATH.search(b"runs/tmp/x and work/tmp/")


def test_tracked_non_code_files_name_no_machine_folders():
    offenders = []
    for path in _tracked_files():
        if path.suffix in CODE_SUFFIXES or path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            if MACHINE_PATH.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.decode(errors='replace').strip()[:120]}")
    assert not offenders, "absolute machine paths in tracked files:\n" + "\n".join(offenders)


def test_model_archives_name_no_machine_folders():
    """Inside the tracked .pt archives (TorchScript debug records, checkpoint configs) too."""
    archives = [p for p in _tracked_files() if p.suffix == ".pt" and p.is_file()]
    assert archives, "the repository ships .pt files"
    offenders = []
    for path in archives:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if MACHINE_PATH.search(archive.read(name)):
                    offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert not offenders, "machine paths inside model archives:\n" + "\n".join(offenders)


def test_shipped_metadata_records_repo_relative_sources():
    meta = json.loads((REPO / "frontend/models/shipped/frontend.json").read_text(encoding="utf-8"))
    for kind in ("keypoint", "depth"):
        source = meta[kind]["source"]["checkpoint"]
        assert not Path(source).is_absolute() and (REPO / source).is_file(), source
    assert not Path(meta["depth"]["scale"]["calibrated_on"]).is_absolute()


def test_strip_debug_records_keeps_the_module_and_drops_the_call_stacks():
    torch = pytest.importorskip("torch")
    from frontend.export import strip_debug_records

    module = torch.jit.trace(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU()).eval(),
                             torch.rand(1, 1, 8, 8))
    buf = io.BytesIO()
    torch.jit.save(module, buf, _extra_files={"kind.json": '{"kind": "x"}'})
    before = buf.getvalue()
    after = strip_debug_records(before)
    names_before = zipfile.ZipFile(io.BytesIO(before)).namelist()
    names_after = zipfile.ZipFile(io.BytesIO(after)).namelist()
    assert any(n.endswith(".debug_pkl") for n in names_before)
    assert not any(n.endswith(".debug_pkl") for n in names_after)
    extra = {"kind.json": ""}
    reloaded = torch.jit.load(io.BytesIO(after), _extra_files=extra)
    assert extra["kind.json"] == b'{"kind": "x"}'
    x = torch.rand(1, 1, 8, 8)
    assert torch.equal(reloaded(x), module(x))


def test_portable_label_is_relative_inside_the_base_and_short_outside(tmp_path):
    from frontend.common.paths import portable_label

    inside = tmp_path / "runs" / "synth" / "sequences" / "01"
    assert portable_label(inside, base=tmp_path) == "runs/synth/sequences/01"
    assert portable_label(inside, base=tmp_path / "elsewhere") == "synth/sequences/01"


def test_train_data_root_replaces_the_default_root_only(tmp_path):
    from apps.commands.train import with_data_root

    data = {"sources": [{"kind": "sequences", "path": "../shared/data/kitti", "sequences": ["00"]},
                        {"kind": "folder", "path": "my/frames"}, {"kind": "skimage", "repeat": 2}],
            "image_size": [64, 128]}
    out = with_data_root(data, str(tmp_path))
    assert out["sources"][0]["path"] == str((tmp_path / "kitti").resolve())
    assert out["sources"][1]["path"] == "my/frames" and out["sources"][2] == {"kind": "skimage", "repeat": 2}
    assert out["image_size"] == [64, 128] and data["sources"][0]["path"] == "../shared/data/kitti"
    with pytest.raises(ValueError, match="--data-root"):
        with_data_root(data, str(tmp_path / "missing"))
