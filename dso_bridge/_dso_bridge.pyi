"""Type stub of the pybind11 extension dso_bridge._dso_bridge (C++ DS-DSO backend)."""
from typing import Any

import numpy as np
import numpy.typing as npt

def version() -> str: ...

class TrackerOptions:
    max_iterations: list[int]
    max_levels: int
    huber_threshold: float
    outlier_threshold: float
    max_outlier_fraction: float
    max_threshold_doublings: int
    gradient_weight_c: float
    affine_a_prior: float
    affine_b_prior: float
    estimate_affine_a: bool
    estimate_affine_b: bool
    lambda_initial: float
    lambda_up: float
    lambda_down: float
    convergence_px: float
    border_margin: float
    min_residuals: int
    retrack_threshold: float
    min_inlier_fraction: float
    merge_cell: int
    min_gradient: float
    def __init__(self) -> None: ...

class PixelSelectorOptions:
    block_size: int
    histogram_bins: int
    threshold_quantile: float
    threshold_offset: float
    coarse_threshold_factor: float
    num_tiers: int
    border: int
    count_tolerance: float
    max_iterations: int
    seed: int
    def __init__(self) -> None: ...

class PointOptions:
    desired_active_points: int
    desired_immature_points: int
    max_keypoint_candidates: int
    min_activation_distance_px: float
    trace_max_pixel_interval: float
    trace_min_quality: float
    trace_step_px: float
    trace_max_steps: int
    trace_gn_iterations: int
    trace_outlier_energy: float
    min_idepth: float
    prior_sigma_scale: float
    default_prior_relative_sigma: float
    def __init__(self) -> None: ...

class BundleAdjustmentOptions:
    max_iterations: int
    huber_threshold: float
    gradient_weight_c: float
    outlier_energy: float
    initial_lambda: float
    affine_a_prior: float
    affine_b_prior: float
    depth_prior_weight: float
    first_frame_prior: float
    stop_update_norm: float
    num_threads: int
    marginalize_points_min_residuals: int
    def __init__(self) -> None: ...

class KeyframeOptions:
    max_keyframes: int
    min_keyframes: int
    translation_flow_fraction: float
    rotation_translation_flow_fraction: float
    brightness_threshold: float
    rmse_increase: float
    global_weight: float
    max_frames_between_keyframes: int
    min_points_remaining: float
    def __init__(self) -> None: ...

class InitializerOptions:
    max_features: int
    min_parallax_px: float
    ransac_iterations: int
    ransac_threshold_px: float
    min_inliers: int
    max_init_frames: int
    klt_levels: int
    klt_window: int
    def __init__(self) -> None: ...

class TrackingOptions:
    max_rmse: float
    lost_frames_before_reinit: int
    pyramid_levels: int
    def __init__(self) -> None: ...

class SystemOptions:
    tracker: TrackerOptions
    selector: PixelSelectorOptions
    points: PointOptions
    ba: BundleAdjustmentOptions
    keyframes: KeyframeOptions
    init: InitializerOptions
    tracking: TrackingOptions
    use_depth_prior: bool
    def __init__(self) -> None: ...
    def check(self) -> None: ...

class System:
    def __init__(self, fx: float, fy: float, cx: float, cy: float, width: int, height: int,
                 options: SystemOptions = ...) -> None: ...
    def track(self, image: npt.NDArray[np.float32], timestamp: float,
              keypoints: npt.NDArray[np.float32] | None = None, scores: npt.NDArray[np.float32] | None = None,
              depth: npt.NDArray[np.float32] | None = None, keypoint_idepth: npt.NDArray[np.float32] | None = None,
              keypoint_idepth_var: npt.NDArray[np.float32] | None = None,
              init_pose: npt.NDArray[np.float64] | None = None) -> dict[str, Any]: ...
    def trajectory(self) -> npt.NDArray[np.float64]: ...
    def timestamps(self) -> list[float]: ...
    def keyframe_poses(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
    def points(self, include_marginalized: bool = True) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]: ...
    def frame_statuses(self) -> list[str]: ...
    @property
    def num_frames(self) -> int: ...
    @property
    def prior_frames(self) -> int: ...
