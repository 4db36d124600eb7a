#include "dso/backend_options.h"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace dso {
namespace {

template <typename T>
void Require(bool ok, const char* field, T value, const char* expected) {
  if (ok) return;
  std::ostringstream os;
  os << "SystemOptions." << field << " must be " << expected << ", got " << value;
  throw std::invalid_argument(os.str());
}

void Positive(double v, const char* field) { Require(std::isfinite(v) && v > 0.0, field, v, "> 0 and finite"); }
void NonNegative(double v, const char* field) {
  Require(std::isfinite(v) && v >= 0.0, field, v, ">= 0 and finite");
}

}  // namespace

void SystemOptions::Check() const {
  try {
    tracker.Check();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("SystemOptions.tracker: ") + e.what());
  }
  try {
    selector.Check();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("SystemOptions.selector: ") + e.what());
  }
  Require(points.desired_active_points >= 10, "points.desired_active_points", points.desired_active_points, ">= 10");
  Require(points.desired_immature_points >= 10, "points.desired_immature_points", points.desired_immature_points,
          ">= 10");
  Require(points.max_keypoint_candidates >= 0, "points.max_keypoint_candidates", points.max_keypoint_candidates,
          ">= 0");
  Positive(points.min_activation_distance_px, "points.min_activation_distance_px");
  Positive(points.trace_max_pixel_interval, "points.trace_max_pixel_interval");
  Require(points.trace_min_quality >= 1.0, "points.trace_min_quality", points.trace_min_quality, ">= 1");
  Positive(points.trace_step_px, "points.trace_step_px");
  Require(points.trace_max_steps >= 1, "points.trace_max_steps", points.trace_max_steps, ">= 1");
  Require(points.trace_gn_iterations >= 0, "points.trace_gn_iterations", points.trace_gn_iterations, ">= 0");
  Positive(points.trace_outlier_energy, "points.trace_outlier_energy");
  Positive(points.min_idepth, "points.min_idepth");
  Positive(points.prior_sigma_scale, "points.prior_sigma_scale");
  Positive(points.default_prior_relative_sigma, "points.default_prior_relative_sigma");

  Require(ba.max_iterations >= 1, "ba.max_iterations", ba.max_iterations, ">= 1");
  Positive(ba.huber_threshold, "ba.huber_threshold");
  Positive(ba.gradient_weight_c, "ba.gradient_weight_c");
  Positive(ba.outlier_energy, "ba.outlier_energy");
  Positive(ba.initial_lambda, "ba.initial_lambda");
  NonNegative(ba.affine_a_prior, "ba.affine_a_prior");
  NonNegative(ba.affine_b_prior, "ba.affine_b_prior");
  NonNegative(ba.depth_prior_weight, "ba.depth_prior_weight");
  Positive(ba.first_frame_prior, "ba.first_frame_prior");
  Positive(ba.stop_update_norm, "ba.stop_update_norm");
  Require(ba.num_threads >= 1 && ba.num_threads <= 64, "ba.num_threads", ba.num_threads, "in [1, 64]");
  Require(ba.marginalize_points_min_residuals >= 1, "ba.marginalize_points_min_residuals",
          ba.marginalize_points_min_residuals, ">= 1");

  Require(keyframes.max_keyframes >= 3 && keyframes.max_keyframes <= 20, "keyframes.max_keyframes",
          keyframes.max_keyframes, "in [3, 20]");
  Require(keyframes.min_keyframes >= 2 && keyframes.min_keyframes <= keyframes.max_keyframes,
          "keyframes.min_keyframes", keyframes.min_keyframes, "in [2, keyframes.max_keyframes]");
  Positive(keyframes.translation_flow_fraction, "keyframes.translation_flow_fraction");
  Positive(keyframes.rotation_translation_flow_fraction, "keyframes.rotation_translation_flow_fraction");
  Positive(keyframes.brightness_threshold, "keyframes.brightness_threshold");
  Require(keyframes.rmse_increase >= 1.0, "keyframes.rmse_increase", keyframes.rmse_increase, ">= 1");
  Positive(keyframes.global_weight, "keyframes.global_weight");
  Require(keyframes.max_frames_between_keyframes >= 1, "keyframes.max_frames_between_keyframes",
          keyframes.max_frames_between_keyframes, ">= 1");
  Require(keyframes.min_points_remaining >= 0.0 && keyframes.min_points_remaining < 1.0,
          "keyframes.min_points_remaining", keyframes.min_points_remaining, "in [0, 1)");

  Require(init.max_features >= 20, "init.max_features", init.max_features, ">= 20");
  Positive(init.min_parallax_px, "init.min_parallax_px");
  Require(init.ransac_iterations >= 1, "init.ransac_iterations", init.ransac_iterations, ">= 1");
  Positive(init.ransac_threshold_px, "init.ransac_threshold_px");
  Require(init.min_inliers >= 8, "init.min_inliers", init.min_inliers, ">= 8");
  Require(init.max_init_frames >= 2, "init.max_init_frames", init.max_init_frames, ">= 2");
  Require(init.klt_levels >= 1 && init.klt_levels <= 6, "init.klt_levels", init.klt_levels, "in [1, 6]");
  Require(init.klt_window >= 3 && init.klt_window % 2 == 1, "init.klt_window", init.klt_window, "odd and >= 3");

  Positive(tracking.max_rmse, "tracking.max_rmse");
  Require(tracking.lost_frames_before_reinit >= 1, "tracking.lost_frames_before_reinit",
          tracking.lost_frames_before_reinit, ">= 1");
  Require(tracking.pyramid_levels >= 1 && tracking.pyramid_levels <= 8, "tracking.pyramid_levels",
          tracking.pyramid_levels, "in [1, 8]");
}

}  // namespace dso
