"""
pybind11 bindings of the kp3d-vo C++ DS-DSO backend
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['BundleAdjustmentOptions', 'InitializerOptions', 'KeyframeOptions', 'PixelSelectorOptions', 'PointOptions', 'System', 'SystemOptions', 'TrackerOptions', 'TrackingOptions', 'version']
class TrackerOptions:
    """
    Coarse-to-fine direct alignment (coarse_tracker.h).
    """
    estimate_affine_a: bool
    estimate_affine_b: bool
    @typing.overload
    def __init__(self, **kwargs) -> None:
        """
        Defaults, then the given fields (option groups as dicts).
        """
    @typing.overload
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def mergedict(self, values: dict) -> None:
        """
        Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.
        """
    def todict(self) -> dict:
        """
        Nested dict of every field.
        """
    @property
    def affine_a_prior(self) -> float:
        ...
    @affine_a_prior.setter
    def affine_a_prior(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def affine_b_prior(self) -> float:
        ...
    @affine_b_prior.setter
    def affine_b_prior(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def border_margin(self) -> float:
        ...
    @border_margin.setter
    def border_margin(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def convergence_px(self) -> float:
        ...
    @convergence_px.setter
    def convergence_px(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def gradient_weight_c(self) -> float:
        ...
    @gradient_weight_c.setter
    def gradient_weight_c(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def huber_threshold(self) -> float:
        ...
    @huber_threshold.setter
    def huber_threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def lambda_down(self) -> float:
        ...
    @lambda_down.setter
    def lambda_down(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def lambda_initial(self) -> float:
        ...
    @lambda_initial.setter
    def lambda_initial(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def lambda_up(self) -> float:
        ...
    @lambda_up.setter
    def lambda_up(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_iterations(self) -> list[int]:
        ...
    @max_iterations.setter
    def max_iterations(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def max_levels(self) -> int:
        ...
    @max_levels.setter
    def max_levels(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_outlier_fraction(self) -> float:
        ...
    @max_outlier_fraction.setter
    def max_outlier_fraction(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_threshold_doublings(self) -> int:
        ...
    @max_threshold_doublings.setter
    def max_threshold_doublings(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def merge_cell(self) -> int:
        ...
    @merge_cell.setter
    def merge_cell(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def min_gradient(self) -> float:
        ...
    @min_gradient.setter
    def min_gradient(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_inlier_fraction(self) -> float:
        ...
    @min_inlier_fraction.setter
    def min_inlier_fraction(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_residuals(self) -> int:
        ...
    @min_residuals.setter
    def min_residuals(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def outlier_threshold(self) -> float:
        ...
    @outlier_threshold.setter
    def outlier_threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def retrack_threshold(self) -> float:
        ...
    @retrack_threshold.setter
    def retrack_threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class PixelSelectorOptions:
    """
    Gradient candidate selection (pixel_selector.h).
    """
    @typing.overload
    def __init__(self, **kwargs) -> None:
        """
        Defaults, then the given fields (option groups as dicts).
        """
    @typing.overload
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def mergedict(self, values: dict) -> None:
        """
        Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.
        """
    def todict(self) -> dict:
        """
        Nested dict of every field.
        """
    @property
    def block_size(self) -> int:
        ...
    @block_size.setter
    def block_size(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def border(self) -> int:
        ...
    @border.setter
    def border(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def coarse_threshold_factor(self) -> float:
        ...
    @coarse_threshold_factor.setter
    def coarse_threshold_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def count_tolerance(self) -> float:
        ...
    @count_tolerance.setter
    def count_tolerance(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def histogram_bins(self) -> int:
        ...
    @histogram_bins.setter
    def histogram_bins(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_iterations(self) -> int:
        ...
    @max_iterations.setter
    def max_iterations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def num_tiers(self) -> int:
        ...
    @num_tiers.setter
    def num_tiers(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def seed(self) -> int:
        ...
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold_offset(self) -> float:
        ...
    @threshold_offset.setter
    def threshold_offset(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold_quantile(self) -> float:
        ...
    @threshold_quantile.setter
    def threshold_quantile(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class PointOptions:
    """
    Immature/active point management.
    """
    @typing.overload
    def __init__(self, **kwargs) -> None:
        """
        Defaults, then the given fields (option groups as dicts).
        """
    @typing.overload
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def mergedict(self, values: dict) -> None:
        """
        Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.
        """
    def todict(self) -> dict:
        """
        Nested dict of every field.
        """
    @property
    def default_prior_relative_sigma(self) -> float:
        ...
    @default_prior_relative_sigma.setter
    def default_prior_relative_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def desired_active_points(self) -> int:
        ...
    @desired_active_points.setter
    def desired_active_points(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def desired_immature_points(self) -> int:
        ...
    @desired_immature_points.setter
    def desired_immature_points(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_keypoint_candidates(self) -> int:
        ...
    @max_keypoint_candidates.setter
    def max_keypoint_candidates(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_prior_depth(self) -> float:
        ...
    @max_prior_depth.setter
    def max_prior_depth(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_activation_distance_px(self) -> float:
        ...
    @min_activation_distance_px.setter
    def min_activation_distance_px(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_idepth(self) -> float:
        ...
    @min_idepth.setter
    def min_idepth(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def prior_sigma_scale(self) -> float:
        ...
    @prior_sigma_scale.setter
    def prior_sigma_scale(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trace_gn_iterations(self) -> int:
        ...
    @trace_gn_iterations.setter
    def trace_gn_iterations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def trace_max_pixel_interval(self) -> float:
        ...
    @trace_max_pixel_interval.setter
    def trace_max_pixel_interval(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trace_max_steps(self) -> int:
        ...
    @trace_max_steps.setter
    def trace_max_steps(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def trace_min_quality(self) -> float:
        ...
    @trace_min_quality.setter
    def trace_min_quality(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trace_outlier_energy(self) -> float:
        ...
    @trace_outlier_energy.setter
    def trace_outlier_energy(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trace_step_px(self) -> float:
        ...
    @trace_step_px.setter
    def trace_step_px(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class BundleAdjustmentOptions:
    """
    Windowed photometric bundle adjustment.
    """
    prior_scale_ground: bool
    @typing.overload
    def __init__(self, **kwargs) -> None:
        """
        Defaults, then the given fields (option groups as dicts).
        """
    @typing.overload
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def mergedict(self, values: dict) -> None:
        """
        Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.
        """
    def todict(self) -> dict:
        """
        Nested dict of every field.
        """
    @property
    def affine_a_prior(self) -> float:
        ...
    @affine_a_prior.setter
    def affine_a_prior(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def affine_b_prior(self) -> float:
        ...
    @affine_b_prior.setter
    def affine_b_prior(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def camera_height(self) -> float:
        ...
    @camera_height.setter
    def camera_height(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def camera_height_relock_band(self) -> float:
        ...
    @camera_height_relock_band.setter
    def camera_height_relock_band(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def depth_prior_weight(self) -> float:
        ...
    @depth_prior_weight.setter
    def depth_prior_weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def first_frame_prior(self) -> float:
        ...
    @first_frame_prior.setter
    def first_frame_prior(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def gradient_weight_c(self) -> float:
        ...
    @gradient_weight_c.setter
    def gradient_weight_c(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_curvature_correction(self) -> float:
        ...
    @ground_curvature_correction.setter
    def ground_curvature_correction(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_bias(self) -> float:
        ...
    @ground_height_bias.setter
    def ground_height_bias(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_drift_band(self) -> float:
        ...
    @ground_height_drift_band.setter
    def ground_height_drift_band(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_gain(self) -> float:
        ...
    @ground_height_gain.setter
    def ground_height_gain(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_max_error(self) -> float:
        ...
    @ground_height_max_error.setter
    def ground_height_max_error(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_max_normal_deg(self) -> float:
        ...
    @ground_height_max_normal_deg.setter
    def ground_height_max_normal_deg(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_parallel_deg(self) -> float:
        ...
    @ground_height_parallel_deg.setter
    def ground_height_parallel_deg(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_parallel_max_error(self) -> float:
        ...
    @ground_height_parallel_max_error.setter
    def ground_height_parallel_max_error(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_relock(self) -> int:
        ...
    @ground_height_relock.setter
    def ground_height_relock(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_height_samples(self) -> int:
        ...
    @ground_height_samples.setter
    def ground_height_samples(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_search_near_held_deg(self) -> float:
        ...
    @ground_search_near_held_deg.setter
    def ground_search_near_held_deg(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ground_target_prior_band(self) -> float:
        ...
    @ground_target_prior_band.setter
    def ground_target_prior_band(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def huber_threshold(self) -> float:
        ...
    @huber_threshold.setter
    def huber_threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def initial_lambda(self) -> float:
        ...
    @initial_lambda.setter
    def initial_lambda(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def marginalize_points_min_residuals(self) -> int:
        ...
    @marginalize_points_min_residuals.setter
    def marginalize_points_min_residuals(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_iterations(self) -> int:
        ...
    @max_iterations.setter
    def max_iterations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def num_threads(self) -> int:
        ...
    @num_threads.setter
    def num_threads(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def outlier_energy(self) -> float:
        ...
    @outlier_energy.setter
    def outlier_energy(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def prior_handover_planes(self) -> int:
        ...
    @prior_handover_planes.setter
    def prior_handover_planes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def prior_handover_sigma_scale(self) -> float:
        ...
    @prior_handover_sigma_scale.setter
    def prior_handover_sigma_scale(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def prior_scale_gain(self) -> float:
        ...
    @prior_scale_gain.setter
    def prior_scale_gain(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def prior_scale_min_points(self) -> int:
        ...
    @prior_scale_min_points.setter
    def prior_scale_min_points(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def prior_scale_near_fraction(self) -> float:
        ...
    @prior_scale_near_fraction.setter
    def prior_scale_near_fraction(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def stop_update_norm(self) -> float:
        ...
    @stop_update_norm.setter
    def stop_update_norm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class KeyframeOptions:
    """
    Sliding window and keyframe decision.
    """
    @typing.overload
    def __init__(self, **kwargs) -> None:
        """
        Defaults, then the given fields (option groups as dicts).
        """
    @typing.overload
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def mergedict(self, values: dict) -> None:
        """
        Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.
        """
    def todict(self) -> dict:
        """
        Nested dict of every field.
        """
    @property
    def brightness_threshold(self) -> float:
        ...
    @brightness_threshold.setter
    def brightness_threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def forced_keyframe_min_translation(self) -> float:
        ...
    @forced_keyframe_min_translation.setter
    def forced_keyframe_min_translation(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def global_weight(self) -> float:
        ...
    @global_weight.setter
    def global_weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def marginalized_follow_keyframes(self) -> int:
        ...
    @marginalized_follow_keyframes.setter
    def marginalized_follow_keyframes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_frames_between_keyframes(self) -> int:
        ...
    @max_frames_between_keyframes.setter
    def max_frames_between_keyframes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_keyframes(self) -> int:
        ...
    @max_keyframes.setter
    def max_keyframes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_log_affine_in_window(self) -> float:
        ...
    @max_log_affine_in_window.setter
    def max_log_affine_in_window(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_keyframes(self) -> int:
        ...
    @min_keyframes.setter
    def min_keyframes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def min_points_remaining(self) -> float:
        ...
    @min_points_remaining.setter
    def min_points_remaining(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def rmse_increase(self) -> float:
        ...
    @rmse_increase.setter
    def rmse_increase(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def rotation_translation_flow_fraction(self) -> float:
        ...
    @rotation_translation_flow_fraction.setter
    def rotation_translation_flow_fraction(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def translation_flow_fraction(self) -> float:
        ...
    @translation_flow_fraction.setter
    def translation_flow_fraction(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class InitializerOptions:
    """
    Two-view initialisation (no depth prior).
    """
    @typing.overload
    def __init__(self, **kwargs) -> None:
        """
        Defaults, then the given fields (option groups as dicts).
        """
    @typing.overload
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def mergedict(self, values: dict) -> None:
        """
        Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.
        """
    def todict(self) -> dict:
        """
        Nested dict of every field.
        """
    @property
    def klt_levels(self) -> int:
        ...
    @klt_levels.setter
    def klt_levels(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def klt_window(self) -> int:
        ...
    @klt_window.setter
    def klt_window(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_direction_sigma_deg(self) -> float:
        ...
    @max_direction_sigma_deg.setter
    def max_direction_sigma_deg(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_features(self) -> int:
        ...
    @max_features.setter
    def max_features(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_init_frames(self) -> int:
        ...
    @max_init_frames.setter
    def max_init_frames(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_references(self) -> int:
        ...
    @max_references.setter
    def max_references(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def min_inlier_ratio(self) -> float:
        ...
    @min_inlier_ratio.setter
    def min_inlier_ratio(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_inliers(self) -> int:
        ...
    @min_inliers.setter
    def min_inliers(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def min_parallax_deg(self) -> float:
        ...
    @min_parallax_deg.setter
    def min_parallax_deg(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_parallax_px(self) -> float:
        ...
    @min_parallax_px.setter
    def min_parallax_px(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ransac_iterations(self) -> int:
        ...
    @ransac_iterations.setter
    def ransac_iterations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def ransac_threshold_px(self) -> float:
        ...
    @ransac_threshold_px.setter
    def ransac_threshold_px(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def reference_interval(self) -> int:
        ...
    @reference_interval.setter
    def reference_interval(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class TrackingOptions:
    """
    Tracking-quality checks and recovery.
    """
    @typing.overload
    def __init__(self, **kwargs) -> None:
        """
        Defaults, then the given fields (option groups as dicts).
        """
    @typing.overload
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def mergedict(self, values: dict) -> None:
        """
        Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.
        """
    def todict(self) -> dict:
        """
        Nested dict of every field.
        """
    @property
    def init_pose_coarsest_level(self) -> int:
        ...
    @init_pose_coarsest_level.setter
    def init_pose_coarsest_level(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def init_pose_prediction_margin(self) -> float:
        ...
    @init_pose_prediction_margin.setter
    def init_pose_prediction_margin(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def init_pose_prediction_min_shift_px(self) -> float:
        ...
    @init_pose_prediction_min_shift_px.setter
    def init_pose_prediction_min_shift_px(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def lost_frames_before_reinit(self) -> int:
        ...
    @lost_frames_before_reinit.setter
    def lost_frames_before_reinit(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_rmse(self) -> float:
        ...
    @max_rmse.setter
    def max_rmse(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_rotation_change_deg(self) -> float:
        ...
    @max_rotation_change_deg.setter
    def max_rotation_change_deg(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def motion_time_tolerance(self) -> float:
        ...
    @motion_time_tolerance.setter
    def motion_time_tolerance(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def pyramid_levels(self) -> int:
        ...
    @pyramid_levels.setter
    def pyramid_levels(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def retrack_rmse_history(self) -> int:
        ...
    @retrack_rmse_history.setter
    def retrack_rmse_history(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class SystemOptions:
    """
    All backend options; check() raises ValueError naming a bad field.
    """
    ba: BundleAdjustmentOptions
    init: InitializerOptions
    keyframes: KeyframeOptions
    mapping_thread: bool
    points: PointOptions
    selector: PixelSelectorOptions
    tracker: TrackerOptions
    tracking: TrackingOptions
    use_depth_prior: bool
    @typing.overload
    def __init__(self, **kwargs) -> None:
        """
        Defaults, then the given fields (option groups as dicts).
        """
    @typing.overload
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def check(self) -> None:
        """
        Raises ValueError naming the first invalid field.
        """
    def mergedict(self, values: dict) -> None:
        """
        Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.
        """
    def todict(self) -> dict:
        """
        Nested dict of every field.
        """
    @property
    def mapping_max_backlog(self) -> int:
        ...
    @mapping_max_backlog.setter
    def mapping_max_backlog(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class System:
    """
    DS-DSO backend (C++). Use dso_bridge.Backend for the typed wrapper.
    """
    def __init__(self, fx: typing.SupportsFloat | typing.SupportsIndex, fy: typing.SupportsFloat | typing.SupportsIndex, cx: typing.SupportsFloat | typing.SupportsIndex, cy: typing.SupportsFloat | typing.SupportsIndex, width: typing.SupportsInt | typing.SupportsIndex, height: typing.SupportsInt | typing.SupportsIndex, options: SystemOptions = ...) -> None:
        ...
    def flush(self) -> None:
        """
        Waits for the mapping thread to process every tracked frame (no-op without one).
        """
    def frame_statuses(self) -> list[str]:
        ...
    def keyframe_poses(self) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.int64]]:
        """
        ((M, 4, 4) float64 world_from_cam, (M,) int64 frame indices) of every keyframe.
        """
    def mapping_timings(self) -> dict:
        """
        Summed milliseconds of the mapping thread's work (zeros without one).
        """
    def marginalized_points(self, start: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
        """
        Marginalised points from the start-th on: ((M - start, 3) float32 world xyz, (M - start,) uint8 grey).
        """
    def points(self, include_marginalized: bool = True) -> tuple:
        """
        ((M, 3) float32 world xyz, (M,) uint8 grey).
        """
    def set_photometric_calibration(self, inverse_response: typing.Any = None, vignette: typing.Any = None) -> None:
        """
        DSO's photometric calibration: frames become G^-1(I) / V before tracking (before the first frame).
        """
    def timestamps(self) -> list[float]:
        ...
    def track(self, image: typing.Any, timestamp: typing.SupportsFloat | typing.SupportsIndex, keypoints: typing.Any = None, scores: typing.Any = None, depth: typing.Any = None, keypoint_idepth: typing.Any = None, keypoint_idepth_var: typing.Any = None, init_pose: typing.Any = None, exposure: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> dict:
        """
        Processes one frame; returns a dict (see dso_bridge.FrameResult).
        """
    def trajectory(self) -> numpy.typing.NDArray[numpy.float64]:
        """
        (N, 4, 4) float64 world_from_cam of every frame (current estimates; flush() first for final ones).
        """
    @property
    def ground_height(self) -> float:
        """
        The camera's height above the road held by ba.ground_height_*, in the map's unit (the planes' fitted height / ba.ground_height_bias; 0 until measured, and again while it is measured anew after a relock).
        """
    @property
    def ground_hold(self) -> dict:
        """
        What the camera-height hold (ba.ground_height_*) did with the road planes so far: planes given, taken while a target was measured, accepted (corrected the scale), rejected as tilted from the held road or at a height outside the band, and targets set (the first and one per relock).
        """
    @property
    def in_metres(self) -> bool:
        """
        True once ba.camera_height has put the map in metres (for the rest of the run, relocks of the held height and map resets included).
        """
    @property
    def marginalized_revision(self) -> int:
        """
        Changes of the map's unit that moved the marginalised points already returned (ba.camera_height): when it changes, fetch them all again.
        """
    @property
    def num_frames(self) -> int:
        ...
    @property
    def prior_frames(self) -> int:
        ...
def version() -> str:
    """
    Version of the C++ backend library.
    """
