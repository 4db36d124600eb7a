"""Synthetic renderer: geometry/photometric consistency, layout, determinism, effects, CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from apps.synth import (FrameRenderer, SynthOptions, kitti_intrinsics, load_kitti_trajectory, make_trajectory,
                        render_sequence)
from apps.synth.scene import OBJECT, build_scene
from tests.conftest import SYNTH_FIXTURE
from apps.synth.consistency import reproject


def _read_png(path):
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.fixture(scope="module")
def turn_frames():
    """Frames 34, 35, 37 of a seeded "turns" trajectory at 640x192 (a right-angle turn starts at frame 31)."""
    poses = make_trajectory("turns", 60, seed=0)
    K = kitti_intrinsics(640, 192)
    fr = FrameRenderer(poses, K, SynthOptions(seed=0))
    return poses, K, fr, {i: fr.frame(i) for i in (34, 35, 37)}


def _check_pair(img_i, dep_i, pose_i, img_j, dep_j, pose_j, K, min_pixels):
    err, derr = reproject(img_i, dep_i, pose_i, img_j, dep_j, pose_j, K)
    assert err.size >= min_pixels, f"only {err.size} pixels visible in both frames"
    assert np.median(err) < 3.0, f"median photometric error {np.median(err):.2f} grey levels"
    assert np.mean(err < 10.0) > 0.85, f"only {np.mean(err < 10):.2f} of pixels within 10 grey levels"
    assert np.median(derr) < 1e-3, f"median relative depth error {np.median(derr):.2e}"
    assert np.percentile(derr, 90) < 5e-3


@pytest.mark.parametrize("gap", [1, 3])
def test_reprojection_consistency_straight_small_baseline(synth_sequence, gap):
    from apps.io.sequence import open_sequence

    seq = open_sequence(synth_sequence)
    for i in (5, 30, 50):
        j = i + gap
        _check_pair(seq.image(i), seq.depth(i), seq.gt_world_from_cam[i], seq.image(j), seq.depth(j),
                    seq.gt_world_from_cam[j], seq.intrinsics, min_pixels=0.25 * 320 * 96)


def test_reprojection_consistency_in_turn(turn_frames):
    poses, K, _, frames = turn_frames
    rel = np.linalg.inv(poses[34]) @ poses[37]
    yaw = np.degrees(np.arccos((np.trace(rel[:3, :3]) - 1) / 2))
    assert yaw > 5.0, f"frames 34-37 should be in the turn, rotation only {yaw:.1f} deg"
    for i, j in ((34, 35), (34, 37), (37, 34)):
        _check_pair(*frames[i], poses[i], *frames[j], poses[j], K, min_pixels=0.25 * 640 * 192)


def test_antialiasing_improves_consistency(turn_frames):
    poses, K, _, frames = turn_frames
    fine = FrameRenderer(poses, K, SynthOptions(seed=0, antialias=2))
    aa = {i: fine.frame(i) for i in (34, 37)}
    np.testing.assert_array_equal(aa[34][1], frames[34][1])  # depth is the same exact per-pixel value
    plain, _ = reproject(*frames[34], poses[34], *frames[37], poses[37], K)
    smooth, _ = reproject(*aa[34], poses[34], *aa[37], poses[37], K)
    assert smooth.mean() < 0.9 * plain.mean()
    assert np.abs(aa[34][0].astype(float) - frames[34][0]).mean() < 6.0  # same picture, softer edges


def test_wrong_pose_breaks_consistency(turn_frames):
    """The consistency check can fail: a 1 degree pose error gives large photometric errors."""
    poses, K, _, frames = turn_frames
    bad = poses[35].copy()
    c, s = np.cos(np.radians(1.0)), np.sin(np.radians(1.0))
    bad[:3, :3] = bad[:3, :3] @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    err, _ = reproject(frames[34][0], frames[34][1], poses[34], frames[35][0], frames[35][1], bad, K,
                       occlusion_tol=0.05)
    assert np.median(err) > 5.0


def test_layout_and_reader(synth_sequence):
    from apps.io.kitti import parse_calib, read_times
    from apps.io.sequence import open_sequence
    from apps.io.trajectory import read_kitti_poses

    cfg = SYNTH_FIXTURE
    n, w, h = cfg["frames"], cfg["width"], cfg["height"]
    root = synth_sequence.parent.parent
    assert len(list((synth_sequence / "image_0").glob("*.png"))) == n
    assert len(list((synth_sequence / "depth_0").glob("*.npy"))) == n
    seq = open_sequence(synth_sequence)
    assert len(seq) == n and (seq.intrinsics.width, seq.intrinsics.height) == (w, h)
    np.testing.assert_allclose(seq.intrinsics.K, kitti_intrinsics(w, h).K, rtol=1e-10)
    img, depth = seq.image(7), seq.depth(7)
    assert img.shape == (h, w) and img.dtype == np.uint8
    assert depth.shape == (h, w) and depth.dtype == np.float32
    sky = depth == 0
    assert 0.02 < sky.mean() < 0.4                       # some sky, mostly surfaces
    assert depth[~sky].min() > 1.0 and depth.max() < 200  # the road below the camera is >1 m away
    K = seq.intrinsics
    poses = make_trajectory(cfg["kind"], n, seed=cfg["seed"])
    np.testing.assert_allclose(read_kitti_poses(root / "poses" / "00.txt"), poses, atol=1e-8)
    np.testing.assert_allclose(seq.gt_world_from_cam, poses, atol=1e-8)
    np.testing.assert_allclose(read_times(synth_sequence / "times.txt"), np.arange(n) / 10.0)
    calib = parse_calib(synth_sequence / "calib.txt")
    np.testing.assert_allclose(calib["P0"][:, :3], K.K, rtol=1e-10)
    assert calib["P1"][0, 3] == pytest.approx(-K.fx * 0.54)
    meta = json.loads((synth_sequence / "synth.json").read_text())
    assert meta["options"]["seed"] == cfg["seed"] and meta["n_frames"] == n


def test_road_depth_matches_camera_height():
    """Straight, level drive: the road's depth at row y is camera_height * fy / (y - cy)."""
    poses = make_trajectory("straight", 3)
    K = kitti_intrinsics(320, 96)
    _, depth = FrameRenderer(poses, K, SynthOptions(seed=5)).frame(1)
    x = int(round(K.cx))
    for y in (80, 90, 95):
        expected = 1.65 * K.fy / (y - K.cy)
        assert depth[y, x] == pytest.approx(expected, rel=1e-5), f"row {y}"


def test_texture_has_gradient_for_vo(synth_sequence):
    from apps.io.sequence import open_sequence

    seq = open_sequence(synth_sequence)
    fractions = []
    for i in (0, 20, 40, 59):
        img = seq.image(i).astype(np.float32)
        gx, gy = np.abs(np.diff(img, axis=1))[:-1], np.abs(np.diff(img, axis=0))[:, :-1]
        fractions.append(np.mean(np.maximum(gx, gy) > 10))
        assert img.std() > 25, "image contrast too low"
    assert min(fractions) > 0.12, f"fraction of pixels with |grad| > 10: {fractions}"


def _min_object_distance(poses: np.ndarray, seed: int, corridor: float) -> float:
    """Smallest horizontal distance from the camera path to any point of any object polygon."""
    from scipy.spatial import cKDTree

    from apps.synth.textures import build_tiles

    scene = build_scene(poses, tuple(build_tiles(0)), seed=seed, corridor=corridor)
    obj = scene.kind == OBJECT
    assert obj.sum() > 200
    down = scene.down
    e1 = np.cross(down, [0.0, 0.0, 1.0])
    e1 /= np.linalg.norm(e1)
    basis = np.stack([e1, np.cross(down, e1)])
    cams = poses[:, :3, 3]
    steps = np.linspace(0, 1, 8, endpoint=False)[:, None]
    fine = np.concatenate([cams[k] + steps * (cams[k + 1] - cams[k]) for k in range(len(cams) - 1)])
    tree = cKDTree(fine @ basis.T)
    w = np.random.default_rng(0).dirichlet(np.ones(4), size=64)  # points inside each polygon
    pts = np.einsum("sv,pvk->psk", w, scene.verts[obj]).reshape(-1, 3)
    pts = np.vstack([pts, scene.verts[obj].reshape(-1, 3)])
    return float(tree.query(pts @ basis.T)[0].min())


def test_corridor_is_clear():
    """No object comes within the corridor of the camera path, here through 90-degree turns."""
    d = _min_object_distance(make_trajectory("turns", 300, seed=1), seed=1, corridor=3.5)
    assert d >= 3.5 - 0.05, f"object at {d:.2f} m from the path"


@pytest.mark.shared_data
def test_corridor_is_clear_on_kitti_path(shared_data):
    """KITTI 05 (loops back over its own streets): objects stay out of the corridor."""
    poses = load_kitti_trajectory(shared_data / "kitti" / "poses" / "05.txt", stride=2)
    d = _min_object_distance(poses, seed=0, corridor=3.0)
    assert d >= 3.0 - 0.05, f"object at {d:.2f} m from the path"


def test_determinism_by_seed(tmp_path):
    poses = make_trajectory("kitti-like", 4, seed=2)
    opts = SynthOptions(width=160, height=48, seed=2, noise=2.0, exposure=0.1)
    a = render_sequence(tmp_path / "a", poses, None, opts)
    b = render_sequence(tmp_path / "b", poses, None, SynthOptions(**{**opts.__dict__, "jobs": 2}))
    c = render_sequence(tmp_path / "c", poses, None, SynthOptions(**{**opts.__dict__, "seed": 3}))
    for i in range(4):
        for sub, ext in (("image_0", "png"), ("depth_0", "npy")):
            name = f"{sub}/{i:06d}.{ext}"
            assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs for the same seed"
        assert (a / f"image_0/{i:06d}.png").read_bytes() != (c / f"image_0/{i:06d}.png").read_bytes()
    assert (a / "synth.json").read_bytes() == (b / "synth.json").read_bytes()


def test_rerender_shorter_removes_stale_frames(tmp_path):
    opts = SynthOptions(width=64, height=32)
    render_sequence(tmp_path, make_trajectory("straight", 4), None, opts)
    seq = render_sequence(tmp_path, make_trajectory("straight", 2), None, opts)
    assert sorted(p.name for p in (seq / "image_0").iterdir()) == ["000000.png", "000001.png"]


@pytest.fixture(scope="module")
def effects_setup():
    """A straight drive at 320x96 and clean renders of frames 2 and 3."""
    poses = make_trajectory("straight", 6)
    K = kitti_intrinsics(320, 96)
    clean = FrameRenderer(poses, K, SynthOptions(seed=4))
    return poses, K, {i: clean.frame(i) for i in (2, 3)}


class TestEffects:
    @pytest.fixture
    def setup(self, effects_setup):
        return effects_setup

    def test_noise_has_requested_sigma(self, setup):
        poses, K, clean = setup
        img, depth = FrameRenderer(poses, K, SynthOptions(seed=4, noise=4.0)).frame(2)
        diff = img.astype(float) - clean[2][0]
        inside = (clean[2][0] > 20) & (clean[2][0] < 235)
        assert diff[inside].std() == pytest.approx(4.0, rel=0.08)
        assert abs(diff[inside].mean()) < 0.2
        np.testing.assert_array_equal(depth, clean[2][1])

    def test_exposure_is_affine(self, setup):
        poses, K, clean = setup
        fr = FrameRenderer(poses, K, SynthOptions(seed=4, exposure=0.3))
        img = fr.frame(3)[0].astype(float)
        g, b = fr.gain[3], fr.bias[3]
        assert abs(np.log(g)) > 0.01 or abs(b) > 1.0
        pred = g * clean[3][0].astype(float) + b
        ok = (pred > 2) & (pred < 253)
        assert np.abs(img - pred)[ok].max() <= g / 2 + 0.51  # rounding of clean and of the result
        gains = FrameRenderer(poses, K, SynthOptions(seed=4, exposure=0.3)).gain
        assert np.std(np.log(gains)) > 0.01

    def test_vignetting_darkens_corners(self, setup):
        poses, K, clean = setup
        img = FrameRenderer(poses, K, SynthOptions(seed=4, vignetting=0.4)).frame(2)[0].astype(float)
        ref = clean[2][0].astype(float)
        assert img[48, 160] == pytest.approx(ref[48, 160], abs=1.0)
        corners = [(0, 0), (0, -1), (-1, 0), (-1, -1)]
        for y, x in corners:
            if ref[y, x] > 30:
                assert img[y, x] == pytest.approx(0.6 * ref[y, x], abs=1.5)

    def test_motion_blur_smooths_along_motion(self, setup):
        poses, K, clean = setup
        img, depth = FrameRenderer(poses, K, SynthOptions(seed=4, blur=0.8)).frame(2)
        ref = clean[2][0].astype(float)
        grad = lambda a: np.abs(np.diff(a.astype(float), axis=1)).mean()  # noqa: E731
        assert grad(img) < 0.9 * grad(ref)
        np.testing.assert_array_equal(depth, clean[2][1])
        # The image centre (focus of expansion) barely moves: blur leaves it nearly unchanged.
        assert np.abs(img[40:56, 150:170].astype(float) - ref[40:56, 150:170]).mean() < 3.0


def test_trajectory_kinds():
    for kind in ("straight", "turns", "kitti-like", "loop"):
        p = make_trajectory(kind, 150, seed=1, speed=1.2)
        assert p.shape == (150, 4, 4)
        R = p[:, :3, :3]
        np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-9)
        np.testing.assert_allclose(p[0], np.eye(4), atol=1e-12)
        step = np.linalg.norm(np.diff(p[:, :3, 3], axis=0), axis=1)
        assert 0.5 < step.mean() / 1.2 < 1.5, kind
    loop = make_trajectory("loop", 120)
    assert np.linalg.norm(loop[-1, :3, 3] - loop[0, :3, 3]) < 1.5
    turns = make_trajectory("turns", 400, seed=0)
    yaw = np.degrees(np.arctan2(turns[:, 0, 2], turns[:, 2, 2]))
    settled = np.abs(np.diff(yaw)) < 1e-6
    assert np.all(np.isclose(np.mod(yaw[1:][settled] + 45, 90), 45, atol=0.5))  # straight legs are axis-aligned
    with pytest.raises(ValueError, match="trajectory kind"):
        make_trajectory("zigzag", 10)


@pytest.mark.shared_data
def test_kitti_poses_source(shared_data, tmp_path):
    path = shared_data / "kitti" / "poses" / "05.txt"
    poses = load_kitti_trajectory(path, n_frames=40, start=100, stride=2)
    assert poses.shape == (40, 4, 4)
    np.testing.assert_allclose(poses[0], np.eye(4), atol=1e-9)
    seq = render_sequence(tmp_path, poses[:3], None, SynthOptions(width=128, height=48))
    assert len(list((seq / "image_0").glob("*.png"))) == 3
    with pytest.raises(ValueError, match="beyond"):
        load_kitti_trajectory(path, start=10 ** 6)
    with pytest.raises(ValueError, match="only 2761 poses"):
        load_kitti_trajectory(path, n_frames=3000)


def test_cli(tmp_path, capsys):
    from apps.cli import main

    rc = main(["synth", "--out", str(tmp_path), "--trajectory", "straight", "--frames", "3", "--width", "96",
               "--height", "32", "--noise", "1", "--name", "09"])
    assert rc == 0
    assert _read_png(tmp_path / "sequences/09/image_0/000002.png").shape == (32, 96)
    assert (tmp_path / "poses/09.txt").read_text().count("\n") == 3
    assert main(["synth", "--out", str(tmp_path), "--poses", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path), "--frames", "2", "--blur", "3"]) == 2
    assert "blur" in capsys.readouterr().err


def test_cli_renders_with_a_users_calibration(tmp_path, capsys):
    from apps.cli import main
    from apps.io.calibration import read_intrinsics

    calib = tmp_path / "calib.yaml"
    calib.write_text("fx: 60.0\nfy: 60.0\ncx: 47.5\ncy: 26.5\nwidth: 96\nheight: 54\n")
    assert main(["synth", "--out", str(tmp_path), "--trajectory", "straight", "--frames", "1", "--calib",
                 str(calib), "--name", "c"]) == 0
    assert _read_png(tmp_path / "sequences/c/image_0/000000.png").shape == (54, 96)
    k = read_intrinsics(tmp_path / "sequences/c/calib.txt", image_size=(96, 54))
    assert (k.fx, k.fy, k.cx, k.cy) == pytest.approx((60.0, 60.0, 47.5, 26.5))
    # a size on the command line must agree with the file's; a lens distortion cannot be rendered
    assert main(["synth", "--out", str(tmp_path), "--frames", "2", "--calib", str(calib), "--width", "64"]) == 2
    assert "calib.yaml" in capsys.readouterr().err
    calib.write_text(calib.read_text() + "distortion_model: radtan\nD: [-0.2, 0.05, 0.0, 0.0]\n")
    assert main(["synth", "--out", str(tmp_path), "--frames", "2", "--calib", str(calib)]) == 2
    assert "lens distortion" in capsys.readouterr().err


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match=r"\(N, 4, 4\)"):
        render_sequence(tmp_path, np.eye(4), None, SynthOptions())
    with pytest.raises(ValueError, match="name"):
        render_sequence(tmp_path, make_trajectory("straight", 2), None, SynthOptions(), name="../x")
    with pytest.raises(ValueError, match="noise"):
        SynthOptions(noise=-1).check()
    (tmp_path / "taken").write_text("")
    with pytest.raises(NotADirectoryError, match=r"output root .*taken exists and is not a folder"):
        render_sequence(tmp_path / "taken", make_trajectory("straight", 2), None, SynthOptions())
    bent = make_trajectory("straight", 3)
    bent[1, :3, :3] *= 2.0
    with pytest.raises(ValueError, match=r"world_from_cam: pose 1 is not a rigid transform"):
        render_sequence(tmp_path, bent, None, SynthOptions())


def test_poses_file_that_is_not_rigid_is_named_with_the_pose(tmp_path):
    from apps.synth import load_kitti_trajectory

    poses = make_trajectory("straight", 4)
    poses[2, 0, 0] = 3.0
    path = tmp_path / "nonrot.txt"
    np.savetxt(path, poses[:, :3, :].reshape(-1, 12))
    with pytest.raises(ValueError, match=r"nonrot\.txt: pose 2 is not a rigid transform"):
        load_kitti_trajectory(path)


def test_generated_trajectories_refuse_the_options_of_poses(tmp_path, capsys):
    from apps.cli import main

    assert main(["synth", "--out", str(tmp_path), "--trajectory", "loop", "--road-smoothing", "5"]) == 2
    assert "--start/--stride/--road-smoothing apply to --poses only" in capsys.readouterr().err
