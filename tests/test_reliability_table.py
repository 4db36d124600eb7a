"""docs/BAD_INPUTS.md is true: every row's bad input gives the exit code and message the table says.

Rows whose "checked by" cell says ``this table`` are built here (on copies of the synthetic render of
the ``synth_sequence`` fixture) and run through ``python -m apps.cli`` exactly as a user would; the
`code` spans of the message cell (split at ``…``) must appear in what is printed. Rows checked by
another test name it as ``tests/FILE.py::TEST``, which must exist. Every case of issue 12 (#1-#14)
has at least one row.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from apps.io.kitti import parse_calib, write_calib
from apps.io.trajectory import read_kitti_poses, write_kitti_poses, write_tum

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "docs" / "BAD_INPUTS.md"
ROW_ID = re.compile(r"\d+[a-z]")


def table_rows() -> list[dict[str, str]]:
    """The rows of the table: id, case, exit, message, by (cells split on unescaped ``|``)."""
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())]
        if len(cells) == 7 and cells[0] == cells[-1] == "" and ROW_ID.fullmatch(cells[1]):
            rows.append(dict(zip(("id", "case", "exit", "message", "by"), cells[1:6])))
    return rows


def _fragments(message_cell: str) -> list[str]:
    """The printed text of a message cell: its `code` spans, each split at ``…``."""
    spans = re.findall(r"`([^`]*)`", message_cell.replace("\\|", "|"))
    return [f.strip() for span in spans for f in span.split("…") if f.strip()]


# ---- builders: each returns the argv of `kp3d-vo` for one bad input ------------------------------

def _copy(synth: Path, dst: Path) -> Path:
    """Copy of the render as dst/sequences/00 (+ dst/poses/00.txt), without the depth folder."""
    seq = dst / "sequences" / "00"
    shutil.copytree(synth, seq, ignore=shutil.ignore_patterns("depth_0"))
    (dst / "poses").mkdir()
    shutil.copy(synth.parent.parent / "poses" / "00.txt", dst / "poses" / "00.txt")
    return seq


def _run(seq: Path, tmp: Path, *extra: str, frames: int = 40) -> list[str]:
    """A dso run of the first ``frames`` frames. Rows with exit 0 need tracking to start: dso initialises
    after 9-15 frames of this render at the default 640x192 (measured 2026-12-03), so 40 leaves a margin."""
    return ["run", str(seq), "--output", str(tmp / "out"), "--mode", "dso", "--max-frames", str(frames),
            "--no-progress", *extra]


def _edit_p0(seq: Path, **change: float) -> None:
    P = parse_calib(seq / "calib.txt")["P0"].copy()
    index = {"fx": (0, 0), "fy": (1, 1), "cx": (0, 2), "cy": (1, 2)}
    for name, value in change.items():
        P[index[name]] = value
    write_calib(seq / "calib.txt", P)


def b_resized_elsewhere(seq, tmp):
    for p in (seq / "image_0").iterdir():
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(p), cv2.resize(img, (160, 48), interpolation=cv2.INTER_AREA))
    return _run(seq, tmp)


def b_tiny_focal(seq, tmp):
    _edit_p0(seq, fx=1e-9, fy=1e-9)
    return _run(seq, tmp)


def b_pp_outside(seq, tmp):
    _edit_p0(seq, cx=400.0)
    return _run(seq, tmp)


def b_scaled_p(seq, tmp):
    P = parse_calib(seq / "calib.txt")["P0"]
    write_calib(seq / "calib.txt", 2.0 * P)
    return _run(seq, tmp)


def b_calib_other_size(seq, tmp):
    (tmp / "cam.txt").write_text("370.7 367.1 312.9 94.3 640 192\n")
    return _run(seq, tmp, "--calib", str(tmp / "cam.txt"))


def b_odd_first_frame(seq, tmp):
    cv2.imwrite(str(seq / "image_0" / "000000.png"), np.full((48, 160), 100, np.uint8))
    return _run(seq, tmp)


def b_gap(seq, tmp):
    (seq / "times.txt").unlink()
    (seq / "image_0" / "000012.png").unlink()
    return _run(seq, tmp)


def b_tum_gt_other_times(seq, tmp):
    gt = read_kitti_poses(seq.parent.parent / "poses" / "00.txt")
    write_tum(tmp / "gt_tum.txt", 1.6e9 + 0.1 * np.arange(len(gt)), gt)
    return _run(seq, tmp, "--gt", str(tmp / "gt_tum.txt"))


def b_scaled_rotation(seq, tmp):
    gt = read_kitti_poses(seq.parent.parent / "poses" / "00.txt")
    est = gt.copy()
    est[7, :3, :3] *= 2.0
    write_kitti_poses(tmp / "est.txt", est)
    return ["evaluate", "--gt", str(seq.parent.parent / "poses" / "00.txt"), "--est", str(tmp / "est.txt")]


def b_output_is_file(seq, tmp):
    (tmp / "afile").write_text("x")
    return ["run", str(seq), "--output", str(tmp / "afile"), "--mode", "dso", "--no-progress"]


def b_output_empty(seq, tmp):
    return ["run", str(seq), "--output", "", "--mode", "dso", "--no-progress"]


def b_config_type(seq, tmp):
    (tmp / "run.yaml").write_text('mode: dso\nwidth: "abc"\n')
    return ["run", str(seq), "--output", str(tmp / "out"), "--config", str(tmp / "run.yaml"), "--no-progress"]


def b_opencv_yaml(seq, tmp):
    (tmp / "cam.yaml").write_text("%YAML:1.0\n---\ncamera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n"
                                  "   dt: d\n   data: [ 185., 0., 156., 0., 183.\n")
    return _run(seq, tmp, "--calib", str(tmp / "cam.yaml"))


def b_distortion_count(seq, tmp):
    (tmp / "lens.yaml").write_text("fx: 185.4\nfy: 183.5\ncx: 156.2\ncy: 46.9\ndistortion_model: plumb_bob\n"
                                   "D: [-0.2, 0.05, 0.001]\n")
    return _run(seq, tmp, "--calib", str(tmp / "lens.yaml"))


def b_no_calib(seq, tmp):
    (seq / "calib.txt").unlink()
    return _run(seq, tmp)


def b_bom(seq, tmp):
    for name in ("calib.txt", "times.txt"):
        (seq / name).write_bytes(b"\xef\xbb\xbf" + (seq / name).read_bytes())
    return _run(seq, tmp)


def b_zero_focal(seq, tmp):
    _edit_p0(seq, fx=0.0)
    return _run(seq, tmp)


def b_device_in_dso(seq, tmp):
    return _run(seq, tmp, "--device", "cuda")


def b_singular_gt(seq, tmp):
    gt_path = seq.parent.parent / "poses" / "00.txt"
    gt = read_kitti_poses(gt_path)
    gt[4, :3, :3] = 0.0
    gt_path.write_text("".join(" ".join(f"{v:.9e}" for v in p[:3].ravel()) + "\n" for p in gt))
    return _run(seq, tmp)


BUILDERS = {
    "2a": b_resized_elsewhere, "2b": b_tiny_focal, "2c": b_pp_outside, "2d": b_scaled_p, "2e": b_calib_other_size, "3b": b_odd_first_frame,
    "4a": b_gap, "4c": b_tum_gt_other_times, "6a": b_scaled_rotation, "9a": b_output_is_file,
    "11a": b_output_empty, "12a": b_config_type, "12b": b_opencv_yaml, "13a": b_no_calib, "13b": b_bom,
    "13c": b_zero_focal, "13d": b_device_in_dso, "13e": b_singular_gt, "15a": b_distortion_count,
}


def test_table_covers_every_case_and_names_real_tests():
    rows = table_rows()
    cases = {int(m) for r in rows for m in re.findall(r"#(\d+)", r["case"])}
    assert cases >= set(range(1, 15)), f"issue 12 cases without a row: {sorted(set(range(1, 15)) - cases)}"
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate row ids"
    table_checked = {r["id"] for r in rows if r["by"] == "this table"}
    assert table_checked == set(BUILDERS), "rows marked 'this table' and the builders here differ"
    for r in rows:
        if r["by"] == "this table":
            continue
        for ref in re.findall(r"tests/[\w/]+\.py::\w+", r["by"]):
            file, name = ref.split("::")
            assert (REPO / file).is_file() and re.search(rf"^def {name}\(", (REPO / file).read_text(), re.M), ref
        assert re.search(r"tests/[\w/]+\.py::\w+|bench/\w+\.py", r["by"]), f"row {r['id']}: no check named"


@pytest.mark.parametrize("row_id", sorted(BUILDERS))
def test_bad_input_gives_the_tabled_exit_code_and_message(row_id, synth_sequence, tmp_path):
    row = next(r for r in table_rows() if r["id"] == row_id)
    seq = _copy(synth_sequence, tmp_path / "data")
    argv = BUILDERS[row_id](seq, tmp_path)
    r = subprocess.run([sys.executable, "-m", "apps.cli", *argv], capture_output=True, text=True, timeout=600,
                       cwd=REPO)
    printed = " ".join((r.stdout + "\n" + r.stderr).split())
    assert str(r.returncode) == row["exit"], f"row {row_id}: exit {r.returncode}\n{r.stderr[-3000:]}"
    for fragment in _fragments(row["message"]):
        assert fragment in printed, f"row {row_id}: {fragment!r} not in the output:\n{r.stderr[-3000:]}"
    assert "Traceback" not in r.stderr
