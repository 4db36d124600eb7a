"""`kp3d-vo evaluate`, reports and batch evaluation (run in-process through apps.cli.main)."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from evaluation_helpers import apply_sim3, curvy
from scipy.spatial.transform import Rotation

from apps.cli import main
from apps.evaluation.batch import BatchEntry, load_batch_config, run_batch
from apps.evaluation.evaluate import EvaluateOptions, evaluate_trajectory
from apps.evaluation.report import format_batch, format_result, to_csv
from apps.io.trajectory import read_kitti_poses, write_kitti_poses, write_tum


@pytest.fixture(scope="module")
def trajectories(tmp_path_factory):
    """Two 'sequences' of 650 frames: GT files and estimates at a wrong scale with drift."""
    root = tmp_path_factory.mktemp("eval")
    (root / "gt").mkdir()
    (root / "est").mkdir()
    truth = {}
    for k, name in enumerate(("00", "01")):
        gt = curvy(650, seed=20 + k)
        rng = np.random.default_rng(30 + k)
        est = apply_sim3(gt, 0.5, np.eye(3), [0, 0, 0])
        est[:, :3, 3] += np.cumsum(rng.normal(0, 0.01 * (k + 1), (650, 3)), axis=0)
        yaw_drift = Rotation.from_rotvec(np.cumsum(rng.normal(0, 1e-4, (650, 3)), axis=0))
        est[:, :3, :3] = yaw_drift.as_matrix() @ est[:, :3, :3]
        write_kitti_poses(root / "gt" / f"{name}.txt", gt)
        write_kitti_poses(root / "est" / f"{name}.txt", est)
        # expected values from the files as written (the writer rounds to 10 significant digits)
        truth[name] = evaluate_trajectory(read_kitti_poses(root / "gt" / f"{name}.txt"),
                                          read_kitti_poses(root / "est" / f"{name}.txt"), align="scale")
    return root, truth


def _run(capsys, *argv):
    code = main(["evaluate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_single_pair_table_and_json(capsys, trajectories, tmp_path):
    root, truth = trajectories
    code, out, _ = _run(capsys, "--gt", root / "gt/00.txt", "--est", root / "est/00.txt",
                        "--json", tmp_path / "r.json", "--csv", tmp_path / "r.csv")
    assert code == 0
    expected = truth["00"]
    assert f"t_rel {expected.t_rel:.2f} %   r_rel {expected.r_rel:.2f} deg/100m" in out
    assert "lengths used: 100 200 300 400 500 600 700 m; skipped (trajectory too short): 800 m" in out
    assert expected.kitti.used_lengths == (100, 200, 300, 400, 500, 600, 700)
    code, out, _ = _run(capsys, "--gt", root / "gt/00.txt", "--est", root / "est/00.txt", "--lengths", "100", "200")
    assert code == 0 and "lengths used: 100 200 m; skipped (trajectory too short): none)" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["t_rel"] == pytest.approx(expected.t_rel, rel=1e-12)
    assert data["r_rel"] == pytest.approx(expected.r_rel, rel=1e-12)
    assert data["ate_rmse"] == pytest.approx(expected.ate_rmse, rel=1e-9)
    assert data["scale"] == pytest.approx(expected.scale, rel=1e-9) and data["align"] == "scale"
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == 1 and float(rows[0]["t_rel"]) == pytest.approx(expected.t_rel, rel=1e-12)
    assert rows[0]["t_rel_800m"] == "" and float(rows[0]["t_rel_100m"]) > 0

    code, out, _ = _run(capsys, "--gt", root / "gt/00.txt", "--est", root / "est/00.txt",
                        "--json", "-")
    assert code == 0
    assert json.loads(out)["t_rel"] == pytest.approx(expected.t_rel, rel=1e-12)


def test_split_scores_each_part_of_the_motion_from_the_ground_truth(capsys, trajectories):
    root, truth = trajectories
    code, out, _ = _run(capsys, "--gt", root / "gt/00.txt", "--est", root / "est/00.txt", "--split")
    assert code == 0 and "error split" in out and "true step length (our rotation, direction)" in out
    code, out, _ = _run(capsys, "--gt", root / "gt/00.txt", "--est", root / "est/00.txt", "--split", "--json", "-")
    split = json.loads(out)["error_split"]
    assert split["estimated"]["t_rel"] == pytest.approx(truth["00"].t_rel, rel=1e-9)
    # this estimate's error is a random walk of the positions plus a slow rotation drift: the truth's
    # translation removes most of it (measured 0.10 of 0.23 % left), the truth's rotation nothing (0.27 %)
    assert split["gt_translation"]["t_rel"] < 0.6 * split["estimated"]["t_rel"]
    assert split["gt_rotation"]["t_rel"] > 0.9 * split["estimated"]["t_rel"]
    assert split["gt_rotation"]["r_rel"] < 1e-3 < split["gt_translation"]["r_rel"]
    assert set(split["per_frame"]) >= {"rot_mean_deg_x", "direction_error_deg_median", "length_ratio_iqr"}


def test_align_none_and_max_frames(capsys, trajectories):
    root, _ = trajectories
    code, out, _ = _run(capsys, "--gt", root / "gt/00.txt", "--est", root / "est/00.txt",
                        "--align", "none", "--max-frames", "250", "--json", "-")
    data = json.loads(out)
    assert code == 0 and data["n_frames"] == 250 and data["scale"] == 1.0
    assert data["t_rel"] == pytest.approx(50.0, rel=0.1)          # estimate at half scale
    assert data["skipped_lengths"] == [300, 400, 500, 600, 700, 800]


def test_folders_pair_only_sequence_files(capsys, trajectories, tmp_path):
    from apps.evaluation.batch import entries_from_dirs

    root, _ = trajectories
    est = tmp_path / "est"
    est.mkdir()
    for name in ("00.txt", "readme.txt", "00_stats.txt"):
        (est / name).write_text((root / "est" / "00.txt").read_text())
    assert [e.name for e in entries_from_dirs(root / "gt", est)] == ["00"]
    (est / "00.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"no trajectory files \(NN\.txt, e\.g\. 00\.txt\) in estimate folder"):
        entries_from_dirs(root / "gt", est)


def test_batch_over_folders_gives_one_table_with_means(capsys, trajectories, tmp_path):
    root, truth = trajectories
    code, out, _ = _run(capsys, "--gt-dir", root / "gt", "--est-dir", root / "est",
                        "--sequences", "00", "01", "--json", tmp_path / "b.json",
                        "--csv", tmp_path / "b.csv", "--markdown", tmp_path / "b.md")
    assert code == 0
    mean_t = (truth["00"].t_rel + truth["01"].t_rel) / 2
    mean_r = (truth["00"].r_rel + truth["01"].r_rel) / 2
    mean_line = next(line for line in out.splitlines() if line.startswith("mean (2)"))
    assert f"{mean_t:.2f}" in mean_line and f"{mean_r:.2f}" in mean_line
    data = json.loads((tmp_path / "b.json").read_text())
    assert [s["name"] for s in data["sequences"]] == ["00", "01"]
    assert data["mean"]["t_rel"] == pytest.approx(mean_t, rel=1e-12)
    assert data["mean"]["ate_rmse"] == pytest.approx(
        (truth["00"].ate_rmse + truth["01"].ate_rmse) / 2, rel=1e-9)
    rows = list(csv.DictReader((tmp_path / "b.csv").open()))
    assert [r["name"] for r in rows] == ["00", "01", "mean"]
    assert float(rows[2]["r_rel"]) == pytest.approx(mean_r, rel=1e-12)
    md = (tmp_path / "b.md").read_text()
    assert md.startswith("| sequence |") and f"**{mean_t:.2f}**" in md


def test_batch_yaml_with_per_entry_alignment(capsys, trajectories, tmp_path):
    root, truth = trajectories
    config = tmp_path / "batch.yaml"
    config.write_text(
        "entries:\n"
        f"  - {{name: a, gt: {root}/gt/00.txt, est: {root}/est/00.txt}}\n"
        f"  - {{name: b, gt: {root}/gt/01.txt, est: {root}/est/01.txt, align: none}}\n")
    code, out, _ = _run(capsys, "--batch", config, "--json", "-")
    assert code == 0
    data = json.loads(out)
    a, b = data["sequences"]
    assert a["align"] == "scale" and a["t_rel"] == pytest.approx(truth["00"].t_rel, rel=1e-12)
    assert b["align"] == "none" and b["t_rel"] == pytest.approx(50.0, rel=0.1)
    assert data["mean"]["t_rel"] == pytest.approx((a["t_rel"] + b["t_rel"]) / 2, rel=1e-12)


def test_run_batch_library_hook_and_keep_going(trajectories, tmp_path):
    root, truth = trajectories
    entries = [BatchEntry("00", root / "gt/00.txt", root / "est/00.txt"),
               BatchEntry("bad", root / "gt/01.txt", tmp_path / "missing.txt")]
    with pytest.raises(ValueError, match=r"batch entry 'bad'.*missing\.txt"):
        run_batch(entries)
    result = run_batch(entries, keep_going=True)
    assert [r.name for r in result.results] == ["00"] and result.failures[0][0] == "bad"
    assert result.mean["t_rel"] == pytest.approx(truth["00"].t_rel, rel=1e-12)
    assert "FAILED bad" in format_batch(result)
    seen = []

    def custom(entry, options):               # e.g. "run VO first, then score"
        seen.append((entry.name, options.align))
        return evaluate_trajectory(np.eye(4)[None].repeat(3, 0), np.eye(4)[None].repeat(3, 0),
                                   options=options, name=entry.name)

    result = run_batch(entries, EvaluateOptions(align="none"), evaluate_entry=custom)
    assert seen == [("00", "none"), ("bad", "none")]
    assert math.isnan(result.results[0].t_rel) and result.mean["t_rel"] is None
    assert result.mean["ate_rmse"] == 0.0
    assert "mean" in to_csv(result)


def test_load_batch_config_resolves_relative_paths_and_rejects_typos(tmp_path):
    (tmp_path / "c.yaml").write_text("- {name: x, gt: g/00.txt, est: e/00.txt, align: sim3}\n")
    entries, overrides = load_batch_config(tmp_path / "c.yaml")
    assert entries[0].gt == tmp_path / "g/00.txt" and entries[0].align == "sim3" and overrides == {}
    (tmp_path / "d.yaml").write_text("- {name: x, gt: g.txt, est: e.txt, allign: sim3}\n")
    with pytest.raises(ValueError, match=r"d\.yaml: entries\[0\]\.allign: unknown key"):
        load_batch_config(tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_text("align: se3\nentries:\n  - {gt: g.txt, est: e/07.txt}\n")
    entries, overrides = load_batch_config(tmp_path / "e.yaml")
    assert overrides == {"align": "se3"} and entries[0].name == "07"


def test_tum_estimate_paired_by_time_with_kitti_gt_and_times(capsys, tmp_path):
    gt = curvy(300, seed=40)
    times = 0.1 * np.arange(300)
    write_kitti_poses(tmp_path / "gt.txt", gt)
    (tmp_path / "times.txt").write_text("".join(f"{t:.6e}\n" for t in times))
    write_tum(tmp_path / "est.tum", times[30:], apply_sim3(gt[30:], 3.0, np.eye(3), [1, 2, 3]))
    code, out, err = _run(capsys, "--gt", tmp_path / "gt.txt", "--est", tmp_path / "est.tum",
                          "--gt-times", tmp_path / "times.txt", "--align", "sim3", "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["n_frames"] == 270 and data["association"].startswith("time")
    assert data["ate_rmse"] < 1e-5 and data["scale"] == pytest.approx(1 / 3, rel=1e-6)


@pytest.mark.parametrize("times, line", [("0.0\n0.2\n0.1\n", 3), ("0.0\nnan\n0.2\n", 2)])
def test_gt_times_must_be_finite_and_increasing(capsys, tmp_path, times, line):
    write_kitti_poses(tmp_path / "gt.txt", curvy(3))
    write_tum(tmp_path / "est.tum", [0.0, 0.1, 0.2], curvy(3))
    (tmp_path / "times.txt").write_text(times)
    code, _, err = _run(capsys, "--gt", tmp_path / "gt.txt", "--est", tmp_path / "est.tum",
                        "--gt-times", tmp_path / "times.txt")
    assert code == 2 and f"{tmp_path / 'times.txt'}:{line}: timestamp" in err


def test_bad_inputs_give_clear_errors(capsys, trajectories, tmp_path):
    root, _ = trajectories
    missing = tmp_path / "nope.txt"
    code, _, err = _run(capsys, "--gt", root / "gt/00.txt", "--est", missing)
    assert code == 2 and str(missing) in err and "not found" in err

    eleven = tmp_path / "eleven.txt"
    eleven.write_text("1 0 0 0 0 1 0 0 0 0 1\n")
    code, _, err = _run(capsys, "--gt", root / "gt/00.txt", "--est", eleven)
    assert code == 2 and f"{eleven}:1" in err and "got 11" in err

    short = tmp_path / "short.txt"
    short.write_text("".join(open(root / "est/00.txt").readlines()[:200]))
    code, _, err = _run(capsys, "--gt", root / "gt/00.txt", "--est", short)
    assert code == 2
    assert f"{root / 'gt/00.txt'} has 650 poses" in err and f"{short} has 200" in err
    assert "--truncate-gt" in err
    code, out, _ = _run(capsys, "--gt", root / "gt/00.txt", "--est", short, "--truncate-gt",
                        "--json", "-")
    assert code == 0 and json.loads(out)["n_frames"] == 200

    code, _, err = _run(capsys, "--gt", root / "gt/00.txt")
    assert code == 2 and "--est" in err
    code, _, err = _run(capsys, "--gt-dir", root / "gt", "--est-dir", root / "est", "--sequences", "05")
    assert code == 2 and "05.txt" in err


@pytest.mark.shared_data
def test_acceptance_command_on_published_trajectory(capsys, shared_data):
    gt = shared_data / "kitti/poses/03.txt"
    est = shared_data / "kp3d_reference/ds_dso_kitti_00_10/03.txt"
    code, out, _ = _run(capsys, "--gt", gt, "--est", est, "--align", "none")
    assert code == 0 and "t_rel 1.19 %   r_rel 0.26 deg/100m" in out
    code, out, _ = _run(capsys, "--gt", gt, "--est", est, "--align", "none", "--json", "-")
    data = json.loads(out)
    assert (round(data["t_rel"], 2), round(data["r_rel"], 2)) == (1.19, 0.26)


def test_format_result_lists_every_used_length(trajectories):
    _, truth = trajectories
    text = format_result(truth["00"])
    for length in truth["00"].kitti.used_lengths:
        assert any(line.split()[:1] == [str(length)] for line in text.splitlines())
