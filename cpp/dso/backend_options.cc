#include "dso/backend_options.h"

#include <cmath>

#include "dso/check_option.h"

namespace dso {
namespace {

constexpr char kOwner[] = "SystemOptions";

}  // namespace

void SystemOptions::Check() const {
  CHECK_OPTION_NESTED(kOwner, tracker);
  CHECK_OPTION_NESTED(kOwner, selector);

  CHECK_OPTION_GE(kOwner, points.desired_active_points, 10);
  CHECK_OPTION_GE(kOwner, points.desired_immature_points, 10);
  CHECK_OPTION_GE(kOwner, points.max_keypoint_candidates, 0);
  CHECK_OPTION_GT(kOwner, points.min_activation_distance_px, 0);
  CHECK_OPTION_GT(kOwner, points.trace_max_pixel_interval, 0);
  CHECK_OPTION_GE(kOwner, points.trace_min_quality, 1);
  CHECK_OPTION_GT(kOwner, points.trace_step_px, 0);
  CHECK_OPTION_GE(kOwner, points.trace_max_steps, 1);
  CHECK_OPTION_GE(kOwner, points.trace_gn_iterations, 0);
  CHECK_OPTION_GT(kOwner, points.trace_outlier_energy, 0);
  CHECK_OPTION_GT(kOwner, points.min_idepth, 0);
  CHECK_OPTION_GT(kOwner, points.prior_sigma_scale, 0);
  CHECK_OPTION_GT(kOwner, points.default_prior_relative_sigma, 0);
  CHECK_OPTION_GE(kOwner, points.max_prior_depth, 0);

  CHECK_OPTION_GE(kOwner, ba.max_iterations, 1);
  CHECK_OPTION_GT(kOwner, ba.huber_threshold, 0);
  // One photometric residual, one Huber threshold for tracking and mapping (photometric_residual.h).
  CHECK_OPTION(kOwner, tracker.huber_threshold,
               std::abs(tracker.huber_threshold - ba.huber_threshold) <= 1e-6 * ba.huber_threshold,
               "equal to ba.huber_threshold (one Huber threshold for tracker and BA: set both)");
  CHECK_OPTION_GT(kOwner, ba.gradient_weight_c, 0);
  CHECK_OPTION_GT(kOwner, ba.outlier_energy, 0);
  CHECK_OPTION_GT(kOwner, ba.initial_lambda, 0);
  CHECK_OPTION_GE(kOwner, ba.affine_a_prior, 0);
  CHECK_OPTION_GE(kOwner, ba.affine_b_prior, 0);
  CHECK_OPTION_GE(kOwner, ba.depth_prior_weight, 0);
  CHECK_OPTION_IN(kOwner, ba.prior_scale_gain, 0, 1);
  CHECK_OPTION_GE(kOwner, ba.prior_scale_min_points, 1);
  CHECK_OPTION_GE(kOwner, ba.prior_handover_planes, 0);
  CHECK_OPTION_GE(kOwner, ba.prior_handover_sigma_scale, 1.0);
  CHECK_OPTION_GT(kOwner, ba.prior_scale_near_fraction, 0.0);
  CHECK_OPTION_LE(kOwner, ba.prior_scale_near_fraction, 1.0);
  CHECK_OPTION_GE(kOwner, ba.ground_height_samples, 0);
  CHECK_OPTION_IN(kOwner, ba.ground_height_gain, 0, 1);
  CHECK_OPTION_GT(kOwner, ba.ground_height_max_error, 0);
  CHECK_OPTION_GE(kOwner, ba.ground_height_relock, 1);
  CHECK_OPTION_IN(kOwner, ba.ground_height_max_normal_deg, 0, 90);
  CHECK_OPTION_IN(kOwner, ba.ground_height_parallel_deg, 0, 90);
  CHECK_OPTION_GT(kOwner, ba.ground_height_parallel_max_error, 0);
  CHECK_OPTION_GE(kOwner, ba.camera_height, 0);
  CHECK_OPTION_GE(kOwner, ba.camera_height_relock_band, 0);
  CHECK_OPTION_GE(kOwner, ba.ground_target_prior_band, 0);
  CHECK_OPTION_GE(kOwner, ba.ground_height_drift_band, 0);
  CHECK_OPTION_IN(kOwner, ba.ground_height_bias, 1.0, 1.5);
  CHECK_OPTION_IN(kOwner, ba.ground_curvature_correction, 0.0, 1.0);
  CHECK_OPTION_IN(kOwner, ba.ground_search_near_held_deg, 0.0, 90.0);
  CHECK_OPTION_GT(kOwner, ba.first_frame_prior, 0);
  CHECK_OPTION_GT(kOwner, ba.stop_update_norm, 0);
  CHECK_OPTION_IN(kOwner, ba.num_threads, 1, 64);
  CHECK_OPTION_GE(kOwner, ba.marginalize_points_min_residuals, 1);

  CHECK_OPTION_IN(kOwner, keyframes.max_keyframes, 3, 20);
  CHECK_OPTION_IN(kOwner, keyframes.min_keyframes, 2, keyframes.max_keyframes);
  CHECK_OPTION_GT(kOwner, keyframes.translation_flow_fraction, 0);
  CHECK_OPTION_GT(kOwner, keyframes.rotation_translation_flow_fraction, 0);
  CHECK_OPTION_GT(kOwner, keyframes.brightness_threshold, 0);
  CHECK_OPTION_GE(kOwner, keyframes.rmse_increase, 1);
  CHECK_OPTION_GT(kOwner, keyframes.global_weight, 0);
  CHECK_OPTION_GE(kOwner, keyframes.max_frames_between_keyframes, 1);
  CHECK_OPTION_GE(kOwner, keyframes.forced_keyframe_min_translation, 0);
  CHECK_OPTION_GT(kOwner, keyframes.max_log_affine_in_window, 0);
  CHECK_OPTION_GE(kOwner, keyframes.marginalized_follow_keyframes, 0);
  CHECK_OPTION(kOwner, keyframes.min_points_remaining,
               keyframes.min_points_remaining >= 0.0 && keyframes.min_points_remaining < 1.0, "in [0, 1)");

  CHECK_OPTION_GE(kOwner, init.max_features, 20);
  CHECK_OPTION_GT(kOwner, init.min_parallax_px, 0);
  CHECK_OPTION_GT(kOwner, init.min_parallax_deg, 0);
  CHECK_OPTION_GT(kOwner, init.max_direction_sigma_deg, 0);
  CHECK_OPTION(kOwner, init.min_inlier_ratio, init.min_inlier_ratio > 0 && init.min_inlier_ratio <= 1, "in (0, 1]");
  CHECK_OPTION_GE(kOwner, init.reference_interval, 1);
  CHECK_OPTION_GE(kOwner, init.max_references, 1);
  CHECK_OPTION_GE(kOwner, init.ransac_iterations, 1);
  CHECK_OPTION_GT(kOwner, init.ransac_threshold_px, 0);
  CHECK_OPTION_GE(kOwner, init.min_inliers, 8);
  CHECK_OPTION_GE(kOwner, init.max_init_frames, 2);
  CHECK_OPTION_IN(kOwner, init.klt_levels, 1, 6);
  CHECK_OPTION(kOwner, init.klt_window, init.klt_window >= 3 && init.klt_window % 2 == 1, "odd and >= 3");

  CHECK_OPTION_GT(kOwner, tracking.max_rmse, 0);
  CHECK_OPTION_GE(kOwner, tracking.lost_frames_before_reinit, 1);
  CHECK_OPTION_IN(kOwner, tracking.pyramid_levels, 1, 8);
  CHECK_OPTION_IN(kOwner, tracking.retrack_rmse_history, 1, 100);
  CHECK_OPTION_IN(kOwner, tracking.init_pose_coarsest_level, -1, 20);
  CHECK_OPTION_IN(kOwner, tracking.init_pose_prediction_margin, -1.0, 0.5);
  CHECK_OPTION_IN(kOwner, tracking.init_pose_prediction_min_shift_px, 0.0, 1000.0);
  CHECK_OPTION_IN(kOwner, tracking.motion_time_tolerance, -1.0, 10.0);
  CHECK_OPTION_IN(kOwner, tracking.max_rotation_change_deg, -1.0, 180.0);
  CHECK_OPTION_IN(kOwner, mapping_max_backlog, 1, 1000);
}

}  // namespace dso
