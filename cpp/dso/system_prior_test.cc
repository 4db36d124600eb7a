#include "dso/system_prior.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "dso/synthetic_scene_test_util.h"

namespace dso {
namespace {

using testing_util::TestCamera;

TEST(DepthPrior, DisabledOrEmptyGivesNothing) {
  const PinholeCamera cam = TestCamera();
  std::vector<float> depth(cam.width * cam.height, 4.f);
  FrameInput in;
  in.depth = depth.data();
  PointOptions opt;
  double id = -1, var = -1;
  const DepthPrior off(in, cam, opt, false);
  EXPECT_FALSE(off.Available());
  EXPECT_FALSE(off.Lookup(10.f, 10.f, -1, &id, &var));
  const DepthPrior empty(FrameInput(), cam, opt, true);
  EXPECT_FALSE(empty.Available());
  EXPECT_FALSE(empty.Lookup(10.f, 10.f, 0, &id, &var));
}

TEST(DepthPrior, DepthMapLookupRoundsToThePixelAndPropagatesTheRelativeSigma) {
  const PinholeCamera cam = TestCamera();
  std::vector<float> depth(cam.width * cam.height, 0.f);
  depth[20 * cam.width + 31] = 5.f;
  depth[20 * cam.width + 30] = 2.f;
  depth[21 * cam.width + 30] = std::numeric_limits<float>::quiet_NaN();
  FrameInput in;
  in.depth = depth.data();
  PointOptions opt;
  opt.default_prior_relative_sigma = 0.1;
  const DepthPrior prior(in, cam, opt, true);
  ASSERT_TRUE(prior.Available());
  double id = 0, var = 0;
  ASSERT_TRUE(prior.Lookup(30.6f, 19.7f, -1, &id, &var));  // rounds to (31, 20)
  EXPECT_NEAR(id, 0.2, 1e-12);
  EXPECT_NEAR(var, std::pow(0.1 / 5.0, 2), 1e-12);  // sigma(1/d) = rel_sigma / d
  ASSERT_TRUE(prior.Lookup(30.4f, 20.4f, -1, &id, &var));  // (30, 20)
  EXPECT_NEAR(id, 0.5, 1e-12);
  DepthPrior in_window_unit(in, cam, opt, true);  // the prior in a map whose unit is half the prior's
  in_window_unit.SetIdepthScale(2.0);
  ASSERT_TRUE(in_window_unit.Lookup(30.6f, 19.7f, -1, &id, &var));
  EXPECT_NEAR(id, 0.4, 1e-12);
  EXPECT_NEAR(var, std::pow(2.0 * 0.1 / 5.0, 2), 1e-12);
  in_window_unit.SetVarianceScale(16.0);  // a prior handed over to the road (sigma x4): the depth stays
  ASSERT_TRUE(in_window_unit.Lookup(30.6f, 19.7f, -1, &id, &var));
  EXPECT_NEAR(id, 0.4, 1e-12);
  EXPECT_NEAR(var, 16.0 * std::pow(2.0 * 0.1 / 5.0, 2), 1e-12);
  EXPECT_FALSE(prior.Lookup(30.f, 21.f, -1, &id, &var));   // NaN depth
  EXPECT_FALSE(prior.Lookup(40.f, 40.f, -1, &id, &var));   // 0 = unknown
  EXPECT_FALSE(prior.Lookup(-1.f, 20.f, -1, &id, &var));   // outside the image
  EXPECT_FALSE(prior.Lookup(cam.width - 0.4f, 20.f, -1, &id, &var));
}

TEST(DepthPrior, DepthsBeyondTheMaximumAreUnknown) {
  const PinholeCamera cam = TestCamera();
  std::vector<float> depth(cam.width * cam.height, 0.f);
  depth[10 * cam.width + 10] = 39.f;
  depth[10 * cam.width + 11] = 41.f;
  FrameInput in;
  in.depth = depth.data();
  const std::vector<float> kps = {12.f, 10.f, 13.f, 10.f};
  const std::vector<float> kp_idepth = {1.f / 50.f, 1.f / 20.f};
  in.keypoints = kps.data();
  in.num_keypoints = 2;
  in.keypoint_idepth = kp_idepth.data();
  PointOptions opt;
  opt.max_prior_depth = 40.0;
  const DepthPrior prior(in, cam, opt, true);
  double id = 0, var = 0;
  ASSERT_TRUE(prior.Lookup(10.f, 10.f, -1, &id, &var));
  EXPECT_NEAR(id, 1.0 / 39.0, 1e-9);
  EXPECT_FALSE(prior.Lookup(11.f, 10.f, -1, &id, &var));   // 41 m: left to parallax
  EXPECT_FALSE(prior.Lookup(12.f, 10.f, 0, &id, &var));    // keypoint at 50 m (no depth map value there)
  ASSERT_TRUE(prior.Lookup(13.f, 10.f, 1, &id, &var));
  EXPECT_NEAR(id, 1.0 / 20.0, 1e-7);
  opt.max_prior_depth = 0.0;  // no limit
  ASSERT_TRUE(DepthPrior(in, cam, opt, true).Lookup(11.f, 10.f, -1, &id, &var));
  EXPECT_NEAR(id, 1.0 / 41.0, 1e-9);
}

TEST(DepthPrior, KeypointPriorIsSelectedByIndexAndFallsBackToTheDepthMap) {
  const PinholeCamera cam = TestCamera();
  std::vector<float> depth(cam.width * cam.height, 10.f);
  const std::vector<float> kps = {50.25f, 30.5f, 80.f, 60.f, 90.f, 20.f};
  const std::vector<float> kp_idepth = {0.5f, 0.25f, -1.f};
  const std::vector<float> kp_var = {0.01f, 0.f, 0.02f};
  FrameInput in;
  in.depth = depth.data();
  in.keypoints = kps.data();
  in.num_keypoints = 3;
  in.keypoint_idepth = kp_idepth.data();
  in.keypoint_idepth_var = kp_var.data();
  PointOptions opt;
  opt.default_prior_relative_sigma = 0.2;
  const DepthPrior prior(in, cam, opt, true);
  double id = 0, var = 0;
  ASSERT_TRUE(prior.Lookup(50.25f, 30.5f, 0, &id, &var));
  EXPECT_NEAR(id, 0.5, 1e-7);
  EXPECT_NEAR(var, 0.01, 1e-9);
  ASSERT_TRUE(prior.Lookup(80.f, 60.f, 1, &id, &var));  // no variance given: relative sigma
  EXPECT_NEAR(id, 0.25, 1e-7);
  EXPECT_NEAR(var, std::pow(0.2 * 0.25, 2), 1e-9);
  DepthPrior weak = prior;  // the keypoints' own variances scale too
  weak.SetVarianceScale(4.0);
  ASSERT_TRUE(weak.Lookup(50.25f, 30.5f, 0, &id, &var));
  EXPECT_NEAR(var, 0.04, 1e-9);
  // The index, not the position, selects the keypoint: a sub-pixel-shifted keypoint keeps its prior.
  ASSERT_TRUE(prior.Lookup(50.3f, 30.45f, 0, &id, &var));
  EXPECT_NEAR(id, 0.5, 1e-7);
  // Invalid keypoint idepth, an index out of range, or no keypoint (-1): the depth map.
  for (const int index : {2, 3, -1}) {
    ASSERT_TRUE(prior.Lookup(50.25f, 30.5f, index, &id, &var));
    EXPECT_NEAR(id, 0.1, 1e-7);
  }
  // Without a depth map a keypoint without a valid prior has none.
  in.depth = nullptr;
  const DepthPrior kp_only(in, cam, opt, true);
  EXPECT_TRUE(kp_only.Available());
  EXPECT_FALSE(kp_only.Lookup(90.f, 20.f, 2, &id, &var));
  EXPECT_TRUE(kp_only.Lookup(90.f, 20.f, 1, &id, &var));
}

}  // namespace
}  // namespace dso
