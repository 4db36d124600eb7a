"""Trajectory plots (evo): files written and sane, alignment numbers, inputs untouched, errors, CLI."""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from apps.cli import main as cli_main
from apps.io.trajectory import write_kitti_poses, write_tum
from apps.plotting import aligned_ape, plot_trajectories


def synthetic_gt(n: int = 120) -> np.ndarray:
    """Drive forward 1 m per frame, turning right after frame 40 and left after 80 (KITTI axes)."""
    poses = np.tile(np.eye(4), (n, 1, 1))
    yaw, pos = 0.0, np.zeros(3)
    for i in range(n):
        poses[i, :3, :3] = Rotation.from_euler("y", yaw).as_matrix()
        poses[i, :3, 3] = pos
        pos = pos + poses[i, :3, 2] + np.array([0.0, 0.01 * np.sin(i / 7), 0.0])
        yaw += 0.03 if 40 <= i < 80 else (-0.02 if i >= 80 else 0.0)
    return poses


def scaled_noisy(gt: np.ndarray, scale: float, sigma: float, seed: int = 0) -> np.ndarray:
    est = gt.copy()
    est[:, :3, 3] = scale * gt[:, :3, 3] + np.random.default_rng(seed).normal(0, sigma, (len(gt), 3))
    return est


def test_plot_files_written_and_not_blank(tmp_path):
    gt = synthetic_gt()
    estimates = {"noisy run": scaled_noisy(gt, 0.5, 0.05), "drift": scaled_noisy(gt[:100], 0.3, 0.2, seed=1)}
    before = {k: v.copy() for k, v in estimates.items()}
    gt_before = gt.copy()
    written = plot_trajectories(gt, estimates, tmp_path / "plots", align="scale", formats=("png", "pdf"),
                                title="synthetic")
    names = sorted(p.name for p in written)
    # local_scale: the 120 m run has 100 m windows (the 99 m "drift" run has none and is left out of it)
    assert names == sorted(f"{stem}.{fmt}" for stem in ("trajectories_xz", "trajectories_xyz", "local_scale",
                                                         "ape_noisy_run", "ape_drift") for fmt in ("png", "pdf"))
    assert all(p.parent == tmp_path / "plots" and p.is_file() for p in written)
    assert not list((tmp_path / "plots").glob(".*.tmp"))  # no temporary files left behind
    for p in written:
        if p.suffix == ".png":
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            assert img is not None and img.shape[0] > 300 and img.shape[1] > 300
            # an empty axis has std ~13 and no saturated pixels; the coloured paths add both
            assert img.std() > 15.0
            saturated = (img.max(axis=2).astype(int) - img.min(axis=2)) > 60
            assert saturated.mean() > 0.002
        else:
            assert p.read_bytes()[:5] == b"%PDF-"
    # inputs unmodified (evo's align/APE work in place; the library must copy)
    np.testing.assert_array_equal(gt, gt_before)
    for k in estimates:
        np.testing.assert_array_equal(estimates[k], before[k])


def test_aligned_ape_numbers():
    gt = synthetic_gt(60)
    aligned, errors, s = aligned_ape(gt, scaled_noisy(gt, 0.25, 0.0), "scale")
    assert s == pytest.approx(4.0, rel=1e-9)
    assert errors.shape == (60,) and errors.max() < 1e-9
    np.testing.assert_allclose(aligned, gt, atol=1e-9)
    # se3: a rigidly moved copy is brought back exactly; sim3 also undoes a scale; none leaves it
    moved = np.einsum("ij,njk->nik", np.block([[Rotation.from_euler("xyz", [0.1, -0.4, 0.2]).as_matrix(),
                                                 np.array([[3.0], [-1.0], [7.0]])], [np.zeros((1, 3)), 1.0]]), gt)
    _, errors, s = aligned_ape(gt, moved, "se3")
    assert s == 1.0 and errors.max() < 1e-9
    moved_scaled = moved.copy()
    moved_scaled[:, :3, 3] *= 2.5
    _, errors, s = aligned_ape(gt, moved_scaled, "sim3")
    assert s == pytest.approx(1 / 2.5, rel=1e-9) and errors.max() < 1e-9
    aligned, errors, s = aligned_ape(gt, moved, "none")
    np.testing.assert_array_equal(aligned, moved)
    assert errors[0] == pytest.approx(np.linalg.norm([3.0, -1.0, 7.0]))
    # an exactly straight drive (collinear positions: evo's Umeyama refuses the fit) still scale-aligns
    straight = np.tile(np.eye(4), (30, 1, 1))
    straight[:, 2, 3] = np.arange(30.0)
    _, errors, s = aligned_ape(straight, scaled_noisy(straight, 0.5, 0.0), "scale")
    assert s == pytest.approx(2.0, rel=1e-6) and errors.max() < 1e-6
    # noise: APE RMSE after scale alignment is about scale * sigma * sqrt(3)
    sigma = 0.1
    _, errors, s = aligned_ape(gt, scaled_noisy(gt, 0.5, sigma, seed=3), "scale")
    assert s == pytest.approx(2.0, rel=0.01)
    assert np.sqrt(np.mean(errors ** 2)) == pytest.approx(2.0 * sigma * np.sqrt(3), rel=0.15)


def test_bad_library_inputs():
    gt = synthetic_gt(30)
    with pytest.raises(ValueError, match="estimate 'long'.*31 poses.*30"):
        plot_trajectories(gt, {"long": synthetic_gt(31)}, "unused", formats=("png",))
    with pytest.raises(ValueError, match="estimate 'bad'.*shape"):
        plot_trajectories(gt, {"bad": np.zeros((5, 3, 4))}, "unused")
    with pytest.raises(ValueError, match="align"):
        plot_trajectories(gt, {"a": gt}, "unused", align="affine")
    with pytest.raises(ValueError, match="formats"):
        plot_trajectories(gt, {"a": gt}, "unused", formats=("jpg",))
    with pytest.raises(ValueError, match="estimate 'still'.*(do not move|degenerate|invalid scale)"):
        plot_trajectories(gt, {"still": np.tile(np.eye(4), (30, 1, 1))}, "unused")


def test_cli_plot_kitti_and_tum(tmp_path, caplog, capsys):
    gt = synthetic_gt(80)
    write_kitti_poses(tmp_path / "gt.txt", gt)
    write_kitti_poses(tmp_path / "runA" / "poses_kitti.txt", scaled_noisy(gt[:70], 0.5, 0.05))
    write_tum(tmp_path / "runB" / "poses_tum.txt", np.arange(80) * 0.1, scaled_noisy(gt, 2.0, 0.1))
    args = ["plot", "--gt", str(tmp_path / "gt.txt"), "--est", str(tmp_path / "runA" / "poses_kitti.txt"),
            "--est", str(tmp_path / "runB" / "poses_tum.txt"), "--out", str(tmp_path / "out"), "--formats", "png"]
    # evaluate's rule: a longer ground truth is an error unless --truncate-gt (plot used to cut it silently)
    assert cli_main(args) == 2 and "--truncate-gt" in capsys.readouterr().err
    with caplog.at_level(logging.INFO, logger="apps.plotting"):
        rc = cli_main(args + ["--truncate-gt"])
    assert rc == 0
    out = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert out == ["ape_runA.png", "ape_runB.png", "trajectories_xyz.png", "trajectories_xz.png"]
    assert "using the first 70 ground-truth poses" in caplog.text
    assert str(tmp_path / "out" / "ape_runA.png") in capsys.readouterr().out


def test_cli_errors_name_the_file(tmp_path, capsys):
    gt = synthetic_gt(20)
    write_kitti_poses(tmp_path / "gt.txt", gt)
    write_kitti_poses(tmp_path / "long.txt", synthetic_gt(25))
    missing = tmp_path / "nope" / "poses_kitti.txt"
    rc = cli_main(["plot", "--gt", str(tmp_path / "gt.txt"), "--est", str(missing), "--out", str(tmp_path / "o")])
    assert rc == 2 and str(missing) in capsys.readouterr().err
    rc = cli_main(["plot", "--gt", str(tmp_path / "gt.txt"), "--est", str(tmp_path / "long.txt"),
                   "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and str(tmp_path / "long.txt") in err and str(tmp_path / "gt.txt") in err and "25" in err
    rc = cli_main(["plot", "--gt", str(tmp_path / "gt.txt"), "--est", str(tmp_path / "gt.txt"),
                   "--labels", "a", "b", "--out", str(tmp_path / "o")])
    assert rc == 2 and "--labels" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_local_scale_figure_only_for_runs_of_100m(tmp_path):
    gt = synthetic_gt()
    short = plot_trajectories(gt[:90], {"short": scaled_noisy(gt[:90], 0.5, 0.01)}, tmp_path / "a", formats=("png",))
    assert sorted(p.name for p in short) == ["ape_short.png", "trajectories_xyz.png", "trajectories_xz.png"]
    est = scaled_noisy(gt, 0.5, 0.0)
    est[60:, :3, 3] = est[59, :3, 3] + 1.3 * (est[60:, :3, 3] - est[59, :3, 3])  # 30 % too far from frame 60
    written = plot_trajectories(gt, {"stretched": est}, tmp_path / "b", formats=("png",))
    img = cv2.imread(str(tmp_path / "b" / "local_scale.png"), cv2.IMREAD_COLOR)
    assert tmp_path / "b" / "local_scale.png" in written and img is not None and img.std() > 15.0



def _frame_rows(n: int = 40) -> list[dict]:
    rows = []
    for i in range(n):
        status = "initializing" if i < 3 else "lost" if i in (20, 21) else "keyframe" if i % 4 == 0 else "tracked"
        rows.append({"frame": i, "timestamp": 0.1 * i, "status": status,
                     "tracking_rmse": 0.0 if status in ("initializing", "lost") else 6.0 + (i % 4),
                     "active_points": 0 if i < 3 else 800 + 10 * i, "immature_points": 1500,
                     "window_keyframes": min(i // 4, 6), "rotation_change_deg": -1.0 if i < 4 else 0.2,
                     "init_pose": "pnp" if i >= 4 else "", "pnp_inliers": 120 if i >= 4 else None})
    return rows


def test_frame_log_plot_and_its_cli(tmp_path, capsys):
    """frames.png from a run's frames.csv (no ground truth): written atomically, in each format asked for."""
    from apps.pipeline.outputs import frame_log_csv, read_frame_log
    from apps.plotting import plot_frame_log

    rows = _frame_rows()
    written = plot_frame_log(rows, tmp_path / "p", formats=("png", "svg"), title="t")
    assert sorted(p.name for p in written) == ["frames.png", "frames.svg"]
    img = cv2.imread(str(tmp_path / "p" / "frames.png"))
    assert img is not None and img.shape[0] > 500 and img.std() > 10
    assert not list((tmp_path / "p").glob(".*.tmp"))
    csv_path = tmp_path / "run" / "frames.csv"
    csv_path.parent.mkdir()
    csv_path.write_text(frame_log_csv(rows))
    back = read_frame_log(csv_path)
    assert [r["status"] for r in back] == [r["status"] for r in rows]
    assert back[10]["active_points"] == 900 and back[0]["pnp_inliers"] is None and back[5]["tracking_rmse"] == 7.0
    assert cli_main(["plot", "--frames", str(csv_path), "--out", str(tmp_path / "cli"), "--formats", "png"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cli" / "frames.png")
    with pytest.raises(ValueError, match="no rows"):
        plot_frame_log([], tmp_path / "p")


@pytest.mark.parametrize("content, args, match", [
    ("frame,timestamp,status\n0,0.0,tracked\n", [], "nothing to plot"),
    ("1 0 0 0 0 1 0 0 0 0 1 0\n", ["--frames"], "not a frame log.*'frame', 'status'"),
    ("frame,timestamp,status,active_points\n0,0.0,tracked,many\n", ["--frames"], "line 2.*active_points.*'many'"),
    ("frame,timestamp,status\n0,0.0,tracked\n", ["--est"], "--est needs --gt"),
])
def test_frame_log_plot_errors_name_the_file(tmp_path, capsys, content, args, match):
    f = tmp_path / "frames.csv"
    f.write_text(content)
    assert cli_main(["plot", *args, *([str(f)] if args else []), "--out", str(tmp_path / "o")]) == 2
    import re

    assert re.search(match, capsys.readouterr().err)
