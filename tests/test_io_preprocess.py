"""Resize/crop keeps images, depth and intrinsics consistent (projection before == after)."""
from __future__ import annotations

import numpy as np
import pytest

from apps.io.camera import Intrinsics
from apps.io.preprocess import CropWindow, Preprocess

KITTI = Intrinsics(718.856, 718.856, 607.1928, 185.2157, 1241, 376)


def project(k: Intrinsics, X: np.ndarray) -> np.ndarray:
    """(N, 3) camera points -> (N, 2) pixels."""
    return np.stack([k.fx * X[:, 0] / X[:, 2] + k.cx, k.fy * X[:, 1] / X[:, 2] + k.cy], axis=1)


def blob_image(k: Intrinsics, uv: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W) float32 Gaussian blob centred at pixel uv."""
    y, x = np.mgrid[0:k.height, 0:k.width].astype(np.float64)
    return np.exp(-((x - uv[0]) ** 2 + (y - uv[1]) ** 2) / (2 * sigma**2)).astype(np.float32)


def centroid(img: np.ndarray) -> np.ndarray:
    y, x = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    w = img.astype(np.float64)
    return np.array([(w * x).sum() / w.sum(), (w * y).sum() / w.sum()])


def test_crop_windows_for_kitti_to_640x192():
    assert Preprocess(640, 192, "none").window(1241, 376) == CropWindow(0, 0, 1241, 376)
    # 1241/376 = 3.30 < 640/192 = 3.33: keep the full width, crop the height to round(1241 * 0.3) = 372
    assert Preprocess(640, 192, "center").window(1241, 376) == CropWindow(0, 2, 1241, 372)
    assert Preprocess(640, 192, "bottom").window(1241, 376) == CropWindow(0, 4, 1241, 372)
    # too wide: keep the full height
    assert Preprocess(320, 320, "center").window(1241, 376) == CropWindow(432, 0, 376, 376)
    assert Preprocess(320, 320, "bottom").window(1241, 376) == CropWindow(432, 0, 376, 376)


@pytest.mark.parametrize("crop", ["none", "center", "bottom"])
@pytest.mark.parametrize("size", [(640, 192), (320, 240), (1500, 400)])
def test_points_project_to_the_transformed_pixel(crop, size):
    pre = Preprocess(*size, crop=crop)
    k_out = pre.intrinsics(KITTI)
    assert (k_out.width, k_out.height) == size
    win = pre.window(KITTI.width, KITTI.height)
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(-8, 8, 200), rng.uniform(-2, 2, 200), rng.uniform(4, 60, 200)])
    uv = project(KITTI, X)
    sx, sy = size[0] / win.width, size[1] / win.height
    expected = np.column_stack([(uv[:, 0] - win.x0 + 0.5) * sx - 0.5, (uv[:, 1] - win.y0 + 0.5) * sy - 0.5])
    np.testing.assert_allclose(project(k_out, X), expected, atol=1e-9)


@pytest.mark.parametrize("crop, size", [("none", (640, 192)), ("bottom", (640, 192)), ("center", (400, 300)),
                                        ("none", (2482, 752))])
def test_image_content_lands_where_the_new_intrinsics_project(crop, size):
    """A blob drawn at a 3D point's projection is found at the point's projection after resizing.

    This checks that cv2.resize and Intrinsics.scaled/cropped use the same pixel convention
    (a half-pixel convention error would show up as a ~0.5 px shift).
    """
    pre = Preprocess(*size, crop=crop)
    k_out = pre.intrinsics(KITTI)
    for X in ([0.5, 0.3, 10.0], [-0.8, -0.4, 12.0], [0.2, 0.5, 25.0]):
        X = np.array([X])
        uv_native = project(KITTI, X)[0]
        img = pre.image(blob_image(KITTI, uv_native, sigma=12.0))
        assert img.shape == (size[1], size[0]) and img.dtype == np.float32
        np.testing.assert_allclose(centroid(img), project(k_out, X)[0], atol=0.03)


def test_uint8_image_keeps_dtype_and_identity_is_exact():
    img = np.random.default_rng(1).integers(0, 256, (376, 1241), dtype=np.uint8)
    out = Preprocess(640, 192).image(img)
    assert out.dtype == np.uint8 and out.shape == (192, 640)
    # the mean brightness survives area averaging
    assert abs(float(out.mean()) - float(img.mean())) < 0.5
    np.testing.assert_array_equal(Preprocess(1241, 376).image(img), img)
    assert Preprocess(1241, 376).intrinsics(KITTI) == KITTI


@pytest.mark.parametrize("crop, size", [("none", (640, 192)), ("bottom", (640, 192)), ("center", (300, 300)),
                                        ("none", (2000, 500))])
def test_depth_stays_consistent_with_intrinsics(crop, size):
    """Every output depth back-projects (new intrinsics) to a 3D point whose native projection falls
    within half a pixel of a native pixel holding exactly that depth; unknown depth stays 0."""
    h, w = KITTI.height, KITTI.width
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    # a tilted plane z = 20 + 0.01 * (x - 600) + 0.02 * y, with a hole of unknown depth
    depth = (20.0 + 0.01 * (x - 600) + 0.02 * y).astype(np.float32)
    depth[100:150, 300:500] = 0.0
    pre = Preprocess(*size, crop=crop)
    k_out = pre.intrinsics(KITTI)
    out = pre.depth(depth)
    assert out.shape == (size[1], size[0]) and out.dtype == np.float32
    # no value is blended: every output depth is a native depth, holes included
    assert np.isin(out, depth).all()
    assert np.any(out == 0)
    v, u = np.mgrid[0:size[1], 0:size[0]].astype(np.float64)
    Z = out.astype(np.float64)
    X = np.stack([(u - k_out.cx) / k_out.fx * Z, (v - k_out.cy) / k_out.fy * Z, Z], axis=-1).reshape(-1, 3)
    valid = X[:, 2] > 0
    uv = project(KITTI, X[valid])
    src = np.round(uv).astype(int)
    assert np.all(np.abs(uv - src) <= 0.5 + 1e-6)
    # pixel centres exactly halfway between two native pixels may take either one
    tie = np.any(np.abs(np.abs(uv - src) - 0.5) < 1e-6, axis=1)
    assert tie.mean() < 0.2
    np.testing.assert_array_equal(depth[src[~tie, 1], src[~tie, 0]], out.reshape(-1)[valid][~tie])


def test_bad_arguments():
    with pytest.raises(ValueError, match="width must be a positive integer"):
        Preprocess(0, 192)
    with pytest.raises(ValueError, match="height must be a positive integer"):
        Preprocess(640, 19.5)
    with pytest.raises(ValueError, match="crop must be one of"):
        Preprocess(640, 192, crop="top")
    with pytest.raises(ValueError, match=r"depth must be a non-empty \(H, W\)"):
        Preprocess(64, 48).depth(np.zeros((4, 4, 2), np.float32))


def test_aspect_hint_names_the_sizes_and_a_height_that_keeps_the_aspect():
    from apps.io.preprocess import aspect_hint

    assert aspect_hint(1241, 376, Preprocess(640, 192)) is None  # KITTI: 3.30 vs 3.33
    assert aspect_hint(752, 480, Preprocess(752, 480)) is None
    squeezed = aspect_hint(1920, 1080, Preprocess(640, 192))
    assert "squeezed from 1920x1080 to 640x192" in squeezed and "height: 352" in squeezed
    cropped = aspect_hint(1920, 1080, Preprocess(640, 192, "bottom"))
    assert "cropped (bottom)" in cropped and "height: 352" in cropped
    assert "height: 480" in aspect_hint(640, 480, Preprocess(640, 192))
    # within 15 %: no hint; the suggested height stays a positive multiple of 32
    assert aspect_hint(700, 192, Preprocess(640, 192)) is None
    assert "height: 32" in aspect_hint(10000, 100, Preprocess(640, 192))
