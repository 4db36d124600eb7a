"""Issue 12 #5: the VO batch cache and --keep-going (batch runs, --gt-dir scoring)."""
import json
import shutil
import subprocess
import sys

import pytest

from apps.pipeline.batch import SequenceSpec, VOBatchConfig, run_key, run_vo_batch


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "apps.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def _config(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_cache_key_follows_path_config_and_models(synth_sequence, tmp_path):
    """Same folder name elsewhere, a changed config or other model files give another key."""
    other = tmp_path / "elsewhere" / synth_sequence.name
    shutil.copytree(synth_sequence, other)
    cfg_a = VOBatchConfig(tmp_path / "out", [], config=_config(tmp_path, "width: 320\nheight: 96\n"))
    key = run_key(SequenceSpec("s", synth_sequence, 40), "dso", cfg_a)
    assert key == run_key(SequenceSpec("renamed", synth_sequence, 40), "dso", cfg_a)
    assert key != run_key(SequenceSpec("s", other, 40), "dso", cfg_a)
    assert key != run_key(SequenceSpec("s", synth_sequence, 41), "dso", cfg_a)
    cfg_b = VOBatchConfig(tmp_path / "out", [], config=_config(tmp_path, "width: 320\nheight: 96\ntop_k: 50\n"))
    assert key != run_key(SequenceSpec("s", synth_sequence, 40), "dso", cfg_b)
    dsdso = run_key(SequenceSpec("s", synth_sequence, 40), "dsdso", cfg_a)
    assert set(dsdso["models"]) == {"frontend.json", "keypoint_net.pt", "depth_net.pt"}


def test_changed_config_reruns_instead_of_reusing_stale_results(synth_sequence, tmp_path):
    run_cfg = _config(tmp_path, "width: 320\nheight: 96\n")
    cfg = VOBatchConfig(tmp_path / "out", [SequenceSpec("s00", synth_sequence, 35)], modes=["dso"], config=run_cfg)
    assert run_vo_batch(cfg)["status"] == {"s00/dso": "ran"}
    assert run_vo_batch(cfg)["status"] == {"s00/dso": "cached"}
    run_cfg.write_text("width: 320\nheight: 96\nbackend: {ba: {max_iterations: 3}}\n")
    assert run_vo_batch(cfg)["status"] == {"s00/dso": "ran"}
    # a poses file replaced behind the batch's back is not reused either
    poses = tmp_path / "out" / "s00" / "dso" / "poses_kitti.txt"
    poses.write_text(poses.read_text().replace("e+00", "e+00 ", 1))
    assert run_vo_batch(cfg)["status"] == {"s00/dso": "ran"}


def test_two_sequences_with_one_name_are_refused(synth_sequence, tmp_path):
    other = tmp_path / "b" / synth_sequence.name
    shutil.copytree(synth_sequence, other)
    cfg = VOBatchConfig(tmp_path / "out", [SequenceSpec("00", synth_sequence), SequenceSpec("00", other)],
                        modes=["dso"])
    with pytest.raises(ValueError, match="several sequences are named.*'00'"):
        run_vo_batch(cfg)


def test_missing_sequence_stops_the_batch_unless_keep_going(synth_sequence, tmp_path):
    run_cfg = _config(tmp_path, "width: 320\nheight: 96\n")
    specs = [SequenceSpec("gone", tmp_path / "nope"), SequenceSpec("s00", synth_sequence, 35)]
    cfg = VOBatchConfig(tmp_path / "out", specs, modes=["dso"], config=run_cfg)
    with pytest.raises(ValueError, match="batch sequence gone:.*nope.*--keep-going"):
        run_vo_batch(cfg)
    out = run_vo_batch(cfg, keep_going=True)
    assert out["status"]["s00/dso"] == "ran" and out["status"]["gone/dso"].startswith("failed (cannot open")
    rows = {r["sequence"]: r for r in out["rows"]}
    assert "ate_rmse" in rows["s00"] and "nope" in rows["gone"]["error"]


def test_gt_dir_scoring_honours_keep_going(tmp_path):
    gt_dir, est_dir = tmp_path / "gt", tmp_path / "est"
    gt_dir.mkdir()
    est_dir.mkdir()
    line = "1 0 0 {x} 0 1 0 0 0 0 1 {z}\n"
    text = "".join(line.format(x=0.1 * i, z=1.0 * i) for i in range(30))
    for name in ("00", "01"):
        (est_dir / f"{name}.txt").write_text(text)
    (gt_dir / "00.txt").write_text(text)  # no ground truth for 01
    r = _cli("evaluate", "--gt-dir", gt_dir, "--est-dir", est_dir)
    assert r.returncode == 2 and "01" in r.stderr
    r = _cli("evaluate", "--gt-dir", gt_dir, "--est-dir", est_dir, "--keep-going", "--json", "-")
    assert r.returncode == 1, r.stderr
    result = json.loads(r.stdout)
    assert [s["name"] for s in result["sequences"]] == ["00"]
    assert result["failures"][0]["name"] == "01" and "01.txt" in result["failures"][0]["error"]


def _vo_batch(tmp_path, text):
    path = tmp_path / "vo.yaml"
    path.write_text("output: out\nmodes: [dso]\n" + text)
    return path


@pytest.mark.parametrize("text, error, match", [
    ("sequences:\n  - {name: '../../evil', path: seq}\n", ValueError,
     r"vo\.yaml: sequences\[0\]\.name must be a plain folder name.*'\.\./\.\./evil'"),
    ("sequences:\n  - {path: seq}\nreferences: [{name: r, dir: /nonexistent}]\n", FileNotFoundError,
     r"vo\.yaml: references\[0\]\.dir not found: /nonexistent"),
    ("jobs: -2\nsequences:\n  - {path: seq}\n", ValueError, r"vo\.yaml: jobs must be >= 1, got -2"),
])
def test_vo_batch_refuses_bad_names_references_and_jobs(tmp_path, text, error, match):
    from apps.pipeline.batch import load_vo_batch

    with pytest.raises(error, match=match):
        load_vo_batch(_vo_batch(tmp_path, text))


def test_vo_batch_output_that_is_a_file_is_refused(tmp_path):
    from apps.pipeline.batch import load_vo_batch

    (tmp_path / "out").write_text("")
    with pytest.raises(NotADirectoryError, match=r"vo\.yaml: output .*out exists and is not a folder"):
        load_vo_batch(_vo_batch(tmp_path, "sequences:\n  - {path: seq}\n"))


@pytest.mark.parametrize("flags, named", [(["--lengths", "5"], "--lengths"), (["--max-frames", "9"], "--max-frames"),
                                          (["--truncate-gt", "--split"], "--truncate-gt, --split"),
                                          (["--arithmetic", "float64"], "--arithmetic"),
                                          (["--max-time-diff", "1"], "--max-time-diff"),
                                          (["--jobs", "-3"], "--jobs: expected an integer >= 1, got -3")])
def test_vo_batch_refuses_the_flags_it_cannot_honour(tmp_path, flags, named, capsys):
    from apps.cli import main

    path = _vo_batch(tmp_path, "sequences:\n  - {path: seq}\n")
    assert main(["evaluate", "--batch", str(path), *flags]) == 2
    err = capsys.readouterr().err
    assert named in err and ("not supported with a VO batch" in err or "--jobs" in named)


def test_vo_batch_writes_json_csv_and_markdown(synth_sequence, tmp_path):
    run_cfg = _config(tmp_path, "width: 320\nheight: 96\n")
    path = _vo_batch(tmp_path, f"config: {run_cfg}\nsequences:\n"
                               f"  - {{name: s00, path: {synth_sequence}, max_frames: 35}}\n")
    r = _cli("evaluate", "--batch", path, "--json", "-", "--csv", tmp_path / "t.csv", "--markdown", tmp_path / "t.md")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == {"s00/dso": "ran"}
    assert (tmp_path / "t.csv").read_text().startswith("sequence,method,t_rel")
    assert "| s00 | dso |" in (tmp_path / "t.md").read_text()
