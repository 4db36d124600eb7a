#include "dso/backend_options.h"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace dso {
namespace {

// Expects Check() to throw std::invalid_argument whose message names `field`.
void ExpectRejected(const std::function<void(SystemOptions*)>& mutate, const std::string& field) {
  SystemOptions o;
  mutate(&o);
  try {
    o.Check();
    ADD_FAILURE() << "Check() accepted a bad " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(SystemOptions, DefaultsAreValid) { EXPECT_NO_THROW(SystemOptions().Check()); }

TEST(SystemOptions, RejectsBadValuesNamingTheField) {
  ExpectRejected([](SystemOptions* o) { o->points.desired_active_points = 0; }, "points.desired_active_points");
  ExpectRejected([](SystemOptions* o) { o->ba.huber_threshold = -1; }, "ba.huber_threshold");
  ExpectRejected([](SystemOptions* o) { o->ba.max_iterations = 0; }, "ba.max_iterations");
  ExpectRejected([](SystemOptions* o) { o->keyframes.max_keyframes = 2; }, "keyframes.max_keyframes");
  ExpectRejected([](SystemOptions* o) { o->keyframes.min_keyframes = 9; }, "keyframes.min_keyframes");
  ExpectRejected([](SystemOptions* o) { o->init.klt_window = 8; }, "init.klt_window");
  ExpectRejected([](SystemOptions* o) { o->tracking.max_rmse = std::nan(""); }, "tracking.max_rmse");
  ExpectRejected([](SystemOptions* o) { o->tracking.retrack_rmse_history = 0; }, "tracking.retrack_rmse_history");
  ExpectRejected([](SystemOptions* o) { o->tracking.init_pose_coarsest_level = -2; },
                 "tracking.init_pose_coarsest_level");
  ExpectRejected([](SystemOptions* o) { o->tracking.init_pose_prediction_margin = 0.6; },
                 "tracking.init_pose_prediction_margin");
  ExpectRejected([](SystemOptions* o) { o->tracking.init_pose_prediction_min_shift_px = -1.0; },
                 "tracking.init_pose_prediction_min_shift_px");
  ExpectRejected([](SystemOptions* o) { o->tracking.max_rotation_change_deg = 200.0; },
                 "tracking.max_rotation_change_deg");
  ExpectRejected([](SystemOptions* o) { o->tracker.huber_threshold = -1.f; }, "SystemOptions.tracker");
  ExpectRejected([](SystemOptions* o) { o->selector.block_size = 1; }, "SystemOptions.selector");
  ExpectRejected([](SystemOptions* o) { o->mapping_max_backlog = 0; }, "mapping_max_backlog");
  ExpectRejected([](SystemOptions* o) { o->ba.ground_height_parallel_deg = 95; }, "ba.ground_height_parallel_deg");
  ExpectRejected([](SystemOptions* o) { o->ba.ground_height_parallel_max_error = 0; },
                 "ba.ground_height_parallel_max_error");
  ExpectRejected([](SystemOptions* o) { o->ba.ground_height_bias = 0.99; }, "ba.ground_height_bias");
  ExpectRejected([](SystemOptions* o) { o->ba.ground_curvature_correction = -0.01; }, "ba.ground_curvature_correction");
  ExpectRejected([](SystemOptions* o) { o->ba.ground_search_near_held_deg = -1.0; }, "ba.ground_search_near_held_deg");
  ExpectRejected([](SystemOptions* o) { o->ba.camera_height_relock_band = -0.1; }, "ba.camera_height_relock_band");
  ExpectRejected([](SystemOptions* o) { o->ba.ground_target_prior_band = -0.1; }, "ba.ground_target_prior_band");
  ExpectRejected([](SystemOptions* o) { o->ba.ground_height_drift_band = -0.1; }, "ba.ground_height_drift_band");
}

TEST(SystemOptions, OneHuberThresholdForTrackerAndBa) {
  ExpectRejected([](SystemOptions* o) { o->ba.huber_threshold = 12.0; }, "tracker.huber_threshold");
  SystemOptions both;
  both.ba.huber_threshold = 12.0;
  both.tracker.huber_threshold = 12.f;
  EXPECT_NO_THROW(both.Check());
}

}  // namespace
}  // namespace dso
