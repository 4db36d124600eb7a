"""KP3D frame-to-frame odometry: top-k keypoints, mutual-NN matching, PnP-RANSAC on depth-lifted keypoints.

This is the KP3D paper's Table 1 baseline. The previous frame's keypoints are lifted to 3D with its
predicted depth; the current frame's matched keypoints give 2D-3D correspondences; OpenCV's
``solvePnPRansac`` returns ``cam_cur_from_cam_prev`` and poses are chained.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from apps.io.camera import Intrinsics
from apps.pipeline.status import FrameStatus
from frontend.common.typed_config import check_ranges
from frontend.sparse_depth import sample_at

INT32_MAX = 2**31 - 1  # OpenCV's int arguments (RANSAC iterations)


# PnP-RANSAC variants (F2FOptions.ransac_solver): OpenCV's classic RANSAC around a minimal solver
# ("epnp": 5 points, "p3p": 4 points), or its USAC framework (P3P samples, MSAC / MAGSAC scoring,
# fixed random state, single-threaded): "usac" is ~2.5x cheaper than "p3p" at the same or better
# rotations on KITTI 02 (the classic loop pays ~0.2 ms per hypothesis in solvePnP's overhead).
PNP_SOLVERS = {"epnp": cv2.SOLVEPNP_EPNP, "p3p": cv2.SOLVEPNP_P3P, "usac": cv2.SCORE_METHOD_MSAC,
               "usac-magsac": cv2.SCORE_METHOD_MAGSAC}


@dataclass
class F2FOptions:
    min_matches: int = 12              # fewer matches -> constant-velocity fallback
    max_descriptor_distance: float = 1.2  # L2 distance between unit descriptors (<= 2)
    ransac_reprojection_px: float = 2.0   # PnP-RANSAC inlier threshold (pixels at the processing size)
    ransac_iterations: int = 200
    # RANSAC variant (PNP_SOLVERS): classic RANSAC around "epnp" (5 points) or "p3p" (OpenCV's 4-point
    # P3P: fewer iterations to an all-inlier sample, each cheaper), or OpenCV's USAC ("usac": MSAC
    # scoring, "usac-magsac"); the LM refinement on the inliers is the same for all.
    ransac_solver: str = "epnp"
    ransac_confidence: float = 0.999
    min_inliers: int = 10
    min_depth_m: float = 0.5           # keypoints lifted outside [min, max] depth are ignored
    max_depth_m: float = 60.0

    def check(self) -> None:
        """Ranges of every option (what OpenCV's solvePnPRansac would otherwise refuse mid-run)."""
        check_ranges("f2f", {
            "min_matches": (self.min_matches, self.min_matches >= 4, ">= 4 (PnP needs 4 points)"),
            "min_inliers": (self.min_inliers, self.min_inliers >= 4, ">= 4 (PnP needs 4 points)"),
            "max_descriptor_distance": (self.max_descriptor_distance, 0 < self.max_descriptor_distance <= 2,
                                        "in (0, 2]"),
            "ransac_reprojection_px": (self.ransac_reprojection_px, 0 < self.ransac_reprojection_px < math.inf,
                                       "a finite number of pixels > 0"),
            "ransac_iterations": (self.ransac_iterations, 0 < self.ransac_iterations <= INT32_MAX,
                                  f"in 1..{INT32_MAX}"),
            "ransac_confidence": (self.ransac_confidence, 0 < self.ransac_confidence < 1, "in (0, 1)"),
            "ransac_solver": (self.ransac_solver, self.ransac_solver in PNP_SOLVERS, f"one of {tuple(PNP_SOLVERS)}"),
            "min_depth_m": (self.min_depth_m, 0 < self.min_depth_m < self.max_depth_m, "in (0, max_depth_m)"),
            "max_depth_m": (self.max_depth_m, self.max_depth_m < math.inf, "finite")})


def mutual_nn_matches(desc_a: np.ndarray, desc_b: np.ndarray, max_distance: float) -> np.ndarray:
    """Mutual nearest neighbours in L2 descriptor distance, pairs sorted by the index into ``desc_a``.

    desc_a: (N, D) float32, desc_b: (M, D) float32. Returns (P, 2) int64 index pairs (a, b) with
    distance <= ``max_distance``. The distances come from one matrix product (OpenCV ``gemm``,
    |a|^2 + |b|^2 - 2 a.b): the same pairs as ``cv2.BFMatcher(NORM_L2, crossCheck=True)`` at about half
    its CPU time for 1000 x 1000 64-D descriptors (bench/RESULTS.md).
    """
    if len(desc_a) == 0 or len(desc_b) == 0:
        return np.zeros((0, 2), np.int64)
    a = np.ascontiguousarray(desc_a, np.float32)
    b = np.ascontiguousarray(desc_b, np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"mutual_nn_matches: need (N, D) and (M, D) descriptors, got {a.shape} and {b.shape}")
    dot = cv2.gemm(a, b, 1.0, None, 0.0, flags=cv2.GEMM_2_T)  # (N, M)
    sq_a, sq_b = np.einsum("ij,ij->i", a, a), np.einsum("ij,ij->i", b, b)
    nn_ab = np.argmin(sq_b[None, :] - 2.0 * dot, axis=1)  # per row |a_i|^2 is a constant
    nn_ba = np.argmin(sq_a[:, None] - 2.0 * dot, axis=0)
    idx = np.arange(len(a))
    dist = np.sqrt(np.maximum(sq_a + sq_b[nn_ab] - 2.0 * dot[idx, nn_ab], 0.0))
    keep = (nn_ba[nn_ab] == idx) & (dist <= max_distance)
    return np.stack([idx[keep], nn_ab[keep]], axis=1).astype(np.int64)


def sample_depth(depth: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """Bilinear depth at keypoints. depth: (H, W) float32 metres, 0 = unknown; keypoints: (K, 2) pixels.

    Returns (K,) float32; 0 where any of the four neighbours is unknown or outside the image.
    """
    kp = np.asarray(keypoints, np.float32).reshape(-1, 2)
    return sample_at(depth, kp, (depth.shape[1], depth.shape[0])).astype(np.float32)


def lift_matches(
    kp_prev: np.ndarray, depth_prev: np.ndarray, kp_cur: np.ndarray, matches: np.ndarray,
    intrinsics: Intrinsics, options: F2FOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """2D-3D correspondences of matched keypoints: the previous frame's keypoints lifted with its depth
    (``(P, 3)`` float64, previous camera frame, metres; depth within the options' range) and the current
    frame's matched keypoints (``(P, 2)`` float64 pixels)."""
    z = sample_depth(depth_prev, kp_prev[matches[:, 0]])
    ok = (z > options.min_depth_m) & (z < options.max_depth_m)
    uv = kp_prev[matches[ok, 0]].astype(np.float64)
    z = z[ok].astype(np.float64)
    pts3d = np.stack([(uv[:, 0] - intrinsics.cx) / intrinsics.fx * z,
                      (uv[:, 1] - intrinsics.cy) / intrinsics.fy * z, z], axis=1)
    return pts3d, kp_cur[matches[ok, 1]].astype(np.float64)


def relative_pose_pnp(
    kp_prev: np.ndarray, depth_prev: np.ndarray, kp_cur: np.ndarray, matches: np.ndarray,
    intrinsics: Intrinsics, options: F2FOptions,
) -> tuple[np.ndarray | None, int]:
    """``cam_cur_from_cam_prev`` (4, 4) from depth-lifted previous keypoints, or None; and the inlier count."""
    if len(matches) < options.min_matches:
        return None, 0
    pts3d, pts2d = lift_matches(kp_prev, depth_prev, kp_cur, matches, intrinsics, options)
    if len(pts3d) < options.min_matches:
        return None, 0
    found, rvec, tvec, inliers = pnp_ransac(pts3d, pts2d, intrinsics.K, options)
    n_inliers = 0 if inliers is None else len(inliers)
    if not found or n_inliers < options.min_inliers:
        return None, n_inliers
    idx = inliers.reshape(-1)
    rvec, tvec = cv2.solvePnPRefineLM(pts3d[idx], pts2d[idx], intrinsics.K, None, rvec, tvec)
    pose = np.eye(4)
    pose[:3, :3] = cv2.Rodrigues(rvec)[0]
    pose[:3, 3] = tvec.reshape(3)
    return pose, n_inliers


def pnp_ransac(pts3d: np.ndarray, pts2d: np.ndarray, K: np.ndarray, options: F2FOptions):
    """PnP-RANSAC with the options' variant (PNP_SOLVERS), threshold, hypotheses and confidence.

    pts3d: (P, 3) float64 points in the reference camera (metres); pts2d: (P, 2) float64 pixels in the
    current image; K: (3, 3) float64. Returns OpenCV's (found, rvec (3, 1), tvec (3, 1), inliers (I, 1)
    int32 or None) of ``cam_cur_from_cam_ref``, before any refinement.
    """
    if options.ransac_solver.startswith("usac"):
        params = cv2.UsacParams()
        params.sampler = cv2.SAMPLING_UNIFORM
        params.score = PNP_SOLVERS[options.ransac_solver]
        params.loMethod, params.loIterations, params.loSampleSize = cv2.LOCAL_OPTIM_NULL, 0, 0
        params.maxIterations = options.ransac_iterations
        params.threshold = options.ransac_reprojection_px
        params.confidence = options.ransac_confidence
        params.randomGeneratorState = 0
        params.isParallel = False
        found, _, rvec, tvec, inliers = cv2.solvePnPRansac(pts3d, pts2d, K, None, params=params)
        return found, rvec, tvec, inliers
    return cv2.solvePnPRansac(pts3d, pts2d, K, None, iterationsCount=options.ransac_iterations,
                              reprojectionError=options.ransac_reprojection_px,
                              confidence=options.ransac_confidence, flags=PNP_SOLVERS[options.ransac_solver])


class FrameToFrameOdometry:
    """Chains PnP poses between consecutive frames. Needs keypoints, descriptors and depth per frame."""

    def __init__(self, intrinsics: Intrinsics, options: F2FOptions | None = None):
        self.intrinsics = intrinsics
        self.options = options or F2FOptions()
        self.options.check()
        self._prev = None  # (keypoints, descriptors, depth)
        self._poses: list[np.ndarray] = []
        self._velocity = np.eye(4)  # cam_cur_from_cam_prev of the last good step
        self.last_inliers = 0       # PnP inliers of the last step (0: first frame or no pose)

    def step(self, keypoints: np.ndarray, descriptors: np.ndarray, depth: np.ndarray
             ) -> tuple[np.ndarray, FrameStatus]:
        """Add one frame. keypoints (K, 2) float32 px, descriptors (K, D) float32, depth (H, W) float32 m.

        Returns (world_from_cam (4, 4) float64, status): INITIALIZING for the first frame (the
        reference), then TRACKED, or LOST when PnP failed (constant-velocity pose).
        """
        self.last_inliers = 0
        if self._prev is None:
            pose, status = np.eye(4), FrameStatus.INITIALIZING
        else:
            kp_prev, desc_prev, depth_prev = self._prev
            matches = mutual_nn_matches(desc_prev, descriptors, self.options.max_descriptor_distance)
            rel, self.last_inliers = relative_pose_pnp(kp_prev, depth_prev, keypoints, matches, self.intrinsics,
                                                       self.options)
            if rel is None:
                rel, status = self._velocity, FrameStatus.LOST  # constant-velocity fallback, never a gap
            else:
                self._velocity, status = rel, FrameStatus.TRACKED
            pose = self._poses[-1] @ np.linalg.inv(rel)
        self._prev = (keypoints, descriptors, depth)
        self._poses.append(pose)
        return pose, status

    def trajectory(self) -> np.ndarray:
        """(P, 4, 4) float64 world_from_cam, one per frame given to :meth:`step`."""
        return np.asarray(self._poses, dtype=np.float64).reshape(-1, 4, 4)
