"""Lens distortion in calibration files and undistortion of frames (apps.io.undistort, apps.io.calibration)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from apps.io.calibration import read_calibration, read_intrinsics
from apps.io.camera import Intrinsics
from apps.io.undistort import Distortion, Undistorter

SIZE = (640, 480)
K_D = Intrinsics(400.0, 402.0, 322.5, 236.0, *SIZE)  # the distorted camera
RADTAN = Distortion("radtan", (-0.28, 0.074, 0.0002, 0.00002, 0.0))  # a EuRoC-like wide-angle lens
FISHEYE = Distortion("equidistant", (0.08, -0.02, 0.004, -0.001))
FOV = Distortion("fov", (0.9,))  # DSO / PTAM's ATAN model, as TUM monoVO's wide-angle lenses


def _project(rays: np.ndarray, distortion: Distortion) -> np.ndarray:
    """Distorted pixels (N, 2) of camera-frame rays (N, 3)."""
    pts = rays.reshape(-1, 1, 3).astype(np.float64)
    D = np.asarray(distortion.coeffs, np.float64)
    if distortion.model == "fov":  # written out here (OpenCV has no FOV model)
        x, y = pts[:, 0, 0] / pts[:, 0, 2], pts[:, 0, 1] / pts[:, 0, 2]
        r_u, w = np.hypot(x, y), D[0]
        f = np.arctan(2.0 * r_u * np.tan(w / 2.0)) / (w * r_u)
        return np.stack([K_D.fx * f * x + K_D.cx, K_D.fy * f * y + K_D.cy], axis=1)
    if distortion.model == "equidistant":
        uv, _ = cv2.fisheye.projectPoints(pts, np.zeros(3), np.zeros(3), K_D.K, D)
    else:
        uv, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K_D.K, D)
    return uv.reshape(-1, 2)


def _blobs(centres: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """(H, W) uint8 image of Gaussian blobs at sub-pixel ``centres`` (N, 2) (pixel-centre convention)."""
    ys, xs = np.mgrid[0:SIZE[1], 0:SIZE[0]].astype(np.float64)
    img = np.zeros(ys.shape)
    for cx, cy in centres:
        sl = (slice(max(0, int(cy) - 8), int(cy) + 9), slice(max(0, int(cx) - 8), int(cx) + 9))
        img[sl] += np.exp(-((xs[sl] - cx) ** 2 + (ys[sl] - cy) ** 2) / (2 * sigma**2))
    return np.clip(img * 250.0, 0, 255).round().astype(np.uint8)


def _centroid(img: np.ndarray, near: np.ndarray, r: int = 7) -> np.ndarray:
    x0, y0 = int(round(near[0])), int(round(near[1]))
    win = img[y0 - r:y0 + r + 1, x0 - r:x0 + r + 1].astype(np.float64)
    win = np.maximum(win - 10.0, 0.0)  # ignore the faint tails
    ys, xs = np.mgrid[y0 - r:y0 + r + 1, x0 - r:x0 + r + 1]
    return np.array([(win * xs).sum(), (win * ys).sum()]) / win.sum()


@pytest.mark.parametrize("distortion", [RADTAN, FISHEYE, FOV], ids=["radtan", "equidistant", "fov"])
def test_undistorted_frames_are_pinhole(distortion):
    und = Undistorter(K_D, distortion)
    k = und.intrinsics
    assert (k.width, k.height) == SIZE
    assert k.fx / k.fy == pytest.approx(K_D.fx / K_D.fy)  # square pixels stay square
    # points of a grid in the undistorted frame, seen through the lens
    gx, gy = np.meshgrid(np.linspace(40, SIZE[0] - 41, 9), np.linspace(40, SIZE[1] - 41, 7))
    target = np.stack([gx.ravel(), gy.ravel()], axis=1)
    rays = np.column_stack([(target[:, 0] - k.cx) / k.fx, (target[:, 1] - k.cy) / k.fy, np.ones(len(target))])
    seen = _project(rays, distortion)
    assert (seen > 10).all() and (seen[:, 0] < SIZE[0] - 11).all() and (seen[:, 1] < SIZE[1] - 11).all()
    out = und.image(_blobs(seen))
    errors = np.array([np.linalg.norm(_centroid(out, t) - t) for t in target])
    # measured: max 0.034 px (radtan), 0.032 px (equidistant), 0.034 px (fov); the lens itself moves
    # them by up to 29-30 px, so the test fails without the undistortion
    assert errors.max() < 0.25, errors.max()
    assert np.linalg.norm(seen - target, axis=1).max() > 10.0
    # no border: every pixel of the undistorted frame sees the scene (alpha / balance 0)
    assert und.image(np.full(SIZE[::-1], 200, np.uint8)).min() == 200


def test_depth_is_resampled_by_nearest_neighbour():
    und = Undistorter(K_D, RADTAN)
    depth = np.full(SIZE[::-1], 5.0, np.float32)
    depth[:, SIZE[0] // 2:] = 20.0
    out = und.depth(depth)
    assert out.dtype == np.float32 and out.shape == depth.shape
    assert set(np.unique(out)) <= {5.0, 20.0}  # never blended across the edge
    with pytest.raises(ValueError, match="640x480"):
        und.depth(depth[:10])


def test_bad_distortion_is_refused():
    with pytest.raises(ValueError, match="radtan distortion needs"):
        Distortion("radtan", (0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="4 coefficients"):
        Distortion.parse("fisheye", [0.1, 0.2, 0.3, 0.4, 0.5])
    with pytest.raises(ValueError, match="unknown distortion model 'omni'"):
        Distortion.parse("omni", [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="finite"):
        Distortion("radtan", (0.1, float("nan"), 0.0, 0.0))
    with pytest.raises(ValueError, match="640x480"):
        Undistorter(K_D, RADTAN).image(np.zeros((10, 10), np.uint8))


@pytest.mark.parametrize("coeffs", [(-1.0, 0.0, 0.0, 0.0), (-0.5, 0.0, 0.0, 0.0), (0.9, -2.0, 0.0, 0.0)])
def test_a_distortion_that_folds_the_frame_is_refused(coeffs):
    # r (1 + k1 r^2 + ...) turns back inside the 640x480 view of a 400 px lens (its corners at r ~ 1):
    # the undistorted frame would show parts of the image mirrored, and tracking would never start
    with pytest.raises(ValueError, match="folds the 640x480 frame"):
        Undistorter(K_D, Distortion("radtan", coeffs))
    Undistorter(K_D, Distortion("radtan", (coeffs[0] * 0.3, 0.0, 0.0, 0.0)))  # a milder lens of the same sign


ROS = """image_width: 640
image_height: 480
camera_name: front
camera_matrix: {rows: 3, cols: 3, data: [400.0, 0.0, 322.5, 0.0, 402.0, 236.0, 0.0, 0.0, 1.0]}
distortion_model: plumb_bob
distortion_coefficients: {rows: 1, cols: 5, data: [-0.28, 0.074, 0.0002, 0.00002, 0.0]}
"""
KALIBR = """cam0:
  camera_model: pinhole
  intrinsics: [400.0, 402.0, 322.5, 236.0]
  distortion_model: equidistant
  distortion_coeffs: [0.08, -0.02, 0.004, -0.001]
  resolution: [640, 480]
cam1:
  camera_model: pinhole
  intrinsics: [410.0, 410.0, 320.0, 240.0]
  distortion_model: radtan
  distortion_coeffs: [0.0, 0.0, 0.0, 0.0]
  resolution: [640, 480]
"""
EUROC = """%YAML:1.0
---
# as EuRoC's mav0/cam0/sensor.yaml (an untagged T_BS matrix, a comment string, plain lists)
sensor_type: camera
comment: VI-Sensor cam0 (MT9M034)
T_BS:
  cols: 4
  rows: 4
  data: [0.0148655429818, -0.999880929698, 0.00414029679422, -0.0216401454975,
         0.999557249008, 0.0149672133247, 0.025715529948, -0.064676986768,
        -0.0257744366974, 0.00375618835797, 0.999660727178, 0.00981073058949,
         0.0, 0.0, 0.0, 1.0]
rate_hz: 20
resolution: [640, 480]
camera_model: pinhole
intrinsics: [400.0, 402.0, 322.5, 236.0]
distortion_model: radial-tangential
distortion_coefficients: [-0.28, 0.074, 0.0002, 0.00002]
"""


def test_calibration_formats_with_distortion(tmp_path):
    (tmp_path / "ros.yaml").write_text(ROS)
    c = read_calibration(tmp_path / "ros.yaml")
    assert c.intrinsics == K_D and c.distortion == RADTAN
    (tmp_path / "kalibr.yaml").write_text(KALIBR)
    c = read_calibration(tmp_path / "kalibr.yaml")
    assert c.intrinsics == K_D and c.distortion == FISHEYE
    c1 = read_calibration(tmp_path / "kalibr.yaml", camera=1)
    assert c1.intrinsics.fx == 410.0 and c1.distortion is None  # all-zero coefficients: pinhole
    with pytest.raises(ValueError, match="no camera cam2"):
        read_calibration(tmp_path / "kalibr.yaml", camera=2)
    (tmp_path / "sensor.yaml").write_text(EUROC)
    c = read_calibration(tmp_path / "sensor.yaml", image_size=SIZE)
    assert c.intrinsics == K_D and c.distortion == Distortion("radtan", RADTAN.coeffs[:4])
    (tmp_path / "keys.yaml").write_text("fx: 400\nfy: 402\ncx: 322.5\ncy: 236\nk1: -0.28\nk2: 0.074\n"
                                        "p1: 0.0002\np2: 0.00002\n")
    c = read_calibration(tmp_path / "keys.yaml", image_size=SIZE)
    assert c.distortion == RADTAN  # k3 missing: 0
    # DSO's camera.txt: a named model with absolute intrinsics, and the relative form of the FOV model
    (tmp_path / "camera.txt").write_text("RadTan 400 402 322.5 236 -0.28 0.074 0.0002 0.00002\n640 480\n"
                                         "crop\n640 480\n")
    c = read_calibration(tmp_path / "camera.txt")
    assert c.intrinsics == K_D and c.distortion == Distortion("radtan", RADTAN.coeffs[:4])
    (tmp_path / "fov.txt").write_text(f"{400 / 640} {402 / 480} {323 / 640} {236.5 / 480} 0.9\n640 480\n"
                                      "full\n320 240\n")
    c = read_calibration(tmp_path / "fov.txt")
    assert (c.intrinsics.fx, c.intrinsics.fy, c.intrinsics.cx, c.intrinsics.cy) == pytest.approx((400, 402, 322.5, 236))
    assert c.distortion == FOV
    (tmp_path / "kb.txt").write_text("KannalaBrandt 400 402 322.5 236 0.08 -0.02 0.004\n640 480\n")
    with pytest.raises(ValueError, match=r"kb\.txt: DSO KannalaBrandt camera needs fx fy cx cy and 4 coefficient"):
        read_calibration(tmp_path / "kb.txt")
    # the plain intrinsics reader still works and says the frames need undistortion
    assert read_intrinsics(tmp_path / "keys.yaml", image_size=SIZE) == K_D


@pytest.mark.parametrize("text, match", [
    ("fx: 400\nfy: 400\ncx: 320\ncy: 240\nD: [0.1, 0.2, 0.3]\n", "radtan distortion needs"),
    ("fx: 400\nfy: 400\ncx: 320\ncy: 240\ndistortion_model: omni\nD: [0.1, 0.2, 0.3, 0.4]\n",
     "unknown distortion model"),
    ("fx: 400\nfy: 400\ncx: 320\ncy: 240\nD: [0.1, oops, 0.0, 0.0]\n", "must be numbers"),
    ("camera_model: omni\nintrinsics: [400, 400, 320, 240]\nresolution: [640, 480]\n", "camera_model 'omni'"),
    ("intrinsics: [400, 400, 320]\nresolution: [640, 480]\n", "intrinsics must have 4 numbers"),
])
def test_bad_distortion_in_a_file_names_it(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        read_calibration(path, image_size=SIZE)
    assert "bad.yaml" in str(err.value)


def test_image_folder_frames_are_undistorted(tmp_path):
    from apps.io.sequence import open_sequence

    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 255, SIZE[::-1], dtype=np.uint8), (0, 0), 3) for _ in range(3)]
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"{i:06d}.png"), f)
    (tmp_path / "calib.yaml").write_text(ROS)
    seq = open_sequence(tmp_path)
    und = Undistorter(K_D, RADTAN)
    assert seq.intrinsics == und.intrinsics and seq.undistorter is not None
    assert np.array_equal(seq.image(1), und.image(frames[1]))
    # resized by kp3d-vo after the undistortion: the undistorted camera scaled
    small = open_sequence(tmp_path, resize=(320, 240))
    assert small.intrinsics == und.intrinsics.scaled(320, 240)
    assert small.image(0).shape == (240, 320)


def _distorted_copy(seq, folder, scale: float, distortion: Distortion) -> Intrinsics:
    """Writes ``seq``'s frames as seen by a lens with ``distortion`` and ``scale`` x its focal lengths into
    ``folder`` (PNG); returns that lens's ``K``."""
    kr = seq.intrinsics
    kd = Intrinsics(kr.fx * scale, kr.fy * scale, kr.cx, kr.cy, kr.width, kr.height)
    mx, my = _render_maps(kd, distortion, kr)
    assert mx.min() > 0 and my.min() > 0 and mx.max() < kr.width - 1 and my.max() < kr.height - 1  # inside the render
    for i in range(len(seq)):
        cv2.imwrite(str(folder / f"{i:06d}.png"), cv2.remap(seq.image(i), mx, my, cv2.INTER_LINEAR))
    return kd


def _render_maps(k: Intrinsics, distortion: Distortion | None, kr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """For every pixel of camera ``k`` (pinhole when ``distortion`` is None), where its ray meets the
    pinhole render of intrinsics ``kr``: two (H, W) float32 maps for ``cv2.remap``."""
    ys, xs = np.mgrid[0:k.height, 0:k.width].astype(np.float64)
    if distortion is None:
        u, v = (xs - k.cx) / k.fx, (ys - k.cy) / k.fy
    else:
        pix = np.stack([xs.ravel(), ys.ravel()], 1).reshape(-1, 1, 2)
        rays = cv2.undistortPoints(pix, k.K, np.asarray(distortion.coeffs)).reshape(xs.shape + (2,))
        u, v = rays[..., 0], rays[..., 1]
    return (u * kr.fx + kr.cx).astype(np.float32), (v * kr.fy + kr.cy).astype(np.float32)


def test_backend_on_a_distorted_render(synth_sequence, tmp_path):
    """The fixture render seen through a barrel lens (k1 -0.25, edges moved by up to ~25 px at 320x96),
    run with the exact depth as prior: undistorted on reading it tracks as well as the pinhole render;
    the same frames with the distortion ignored do not."""
    from apps.evaluation.evaluate import evaluate_trajectory
    from apps.io.sequence import open_sequence
    from dso_bridge import Backend

    render = open_sequence(synth_sequence)
    lens = Distortion("radtan", (-0.25, 0.05, 0.0, 0.0))
    kd = _distorted_copy(render, tmp_path, 1.3, lens)
    text = (f"fx: {kd.fx}\nfy: {kd.fy}\ncx: {kd.cx}\ncy: {kd.cy}\nwidth: {kd.width}\nheight: {kd.height}\n")
    (tmp_path / "lens.yaml").write_text(text + f"distortion_model: plumb_bob\nD: {list(lens.coeffs)}\n")
    (tmp_path / "pinhole.yaml").write_text(text)

    def run(calib: str) -> tuple[float, float]:
        seq = open_sequence(tmp_path, calib=tmp_path / calib, gt=False)
        distortion = None if seq.undistorter is not None else lens  # where each pixel's ray really goes
        mx, my = _render_maps(seq.intrinsics, distortion, render.intrinsics)
        backend = Backend(seq.intrinsics)
        for i in range(len(seq)):
            depth = cv2.remap(render.depth(i), mx, my, cv2.INTER_NEAREST)
            backend.track(seq.image(i).astype(np.float32), float(seq.timestamps[i]), depth=depth)
        est, gt = backend.trajectory(), render.gt_world_from_cam
        ev = evaluate_trajectory(gt, est, align="scale", lengths=(10, 20, 30, 40))
        return ev.t_rel, evaluate_trajectory(gt, est, align="sim3", lengths=(10, 20, 30, 40)).ate_rmse

    # Measured (this fixture, seed 3): pinhole render t_rel 0.50 %, sim3 ATE 0.043 m; undistorted 0.87 % /
    # 0.065 m (k1 -0.15..-0.35 and +0.1: 0.31-1.33 %); distortion ignored 12.7 % / 1.06 m (2.3-5.1 % for
    # the milder lenses).
    t_rel, ate = run("lens.yaml")
    assert t_rel < 2.5 and ate < 0.2
    t_rel_ignored, _ = run("pinhole.yaml")
    assert t_rel_ignored > 5.0


def test_run_records_the_lens(synth_sequence, tmp_path):
    import json

    from apps.cli import main
    from apps.io.sequence import open_sequence

    lens = Distortion("equidistant", (0.05, -0.01, 0.0, 0.0))
    frames = tmp_path / "frames"
    frames.mkdir()
    kd = _distorted_copy(open_sequence(synth_sequence, max_frames=12), frames, 1.2, lens)
    (frames / "calib.yaml").write_text(f"camera_model: pinhole\nintrinsics: [{kd.fx}, {kd.fy}, {kd.cx}, {kd.cy}]\n"
                                       f"resolution: [{kd.width}, {kd.height}]\ndistortion_model: equidistant\n"
                                       f"distortion_coeffs: {list(lens.coeffs)}\n")
    out = tmp_path / "out"
    # 12 frames may not start tracking (exit 3); the summary is written either way
    assert main(["run", str(frames), "--mode", "dso", "--output", str(out), "--no-progress"]) in (0, 3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["undistorted_from"] == {"intrinsics": vars(kd), **lens.to_dict()}
    assert summary["intrinsics"] == pytest.approx(vars(Undistorter(kd, lens).intrinsics.scaled(640, 192)))
