#include "dso/point_tracer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "dso/synthetic_scene_test_util.h"

namespace dso {
namespace {

using testing_util::Render;
using testing_util::TestCamera;
using testing_util::TrajectoryPose;

struct TracedScene {
  std::unique_ptr<Keyframe> host, target;
  std::vector<ImmaturePoint> points;
  std::vector<double> true_idepth;
  int good = 0, contained = 0, narrowed = 0;
};

// Host = frame 0, target = frame `target_frame` of the rendered corridor; candidates on a grid of
// textured pixels are traced once from the unbounded interval.
TracedScene Trace(int target_frame) {
  const PinholeCamera cam = TestCamera();
  TracedScene s;
  std::vector<float> img0, depth0, img1, depth1;
  Render(cam, TrajectoryPose(0), &img0, &depth0);
  Render(cam, TrajectoryPose(target_frame), &img1, &depth1);
  s.host = std::make_unique<Keyframe>();
  s.host->cam_from_world = TrajectoryPose(0).Inverse();
  s.host->pyramid = std::make_shared<ImagePyramid>(img0.data(), cam.width, cam.height);
  s.target = std::make_unique<Keyframe>();
  s.target->id = 1;
  s.target->cam_from_world = TrajectoryPose(target_frame).Inverse();
  s.target->pyramid = std::make_shared<ImagePyramid>(img1.data(), cam.width, cam.height);
  const SE3 target_from_host = s.target->cam_from_world * TrajectoryPose(0);
  PointOptions opt;
  for (int y = 10; y < cam.height - 10; y += 7) {
    for (int x = 10; x < cam.width - 10; x += 7) {
      if (s.host->pyramid->GradSq(0)[y * cam.width + x] < 100.f) continue;
      ImmaturePoint ip;
      if (!MakeImmaturePoint(*s.host->pyramid, x, y, 50.0, &ip)) continue;
      const ImmaturePoint::Status st =
          TraceImmaturePoint(cam, opt, 9.0, target_from_host, AffineLight(), AffineLight(), *s.target->pyramid, &ip);
      const double truth = 1.0 / depth0[y * cam.width + x];
      if (st == ImmaturePoint::Status::kGood) {
        ++s.good;
        // 2% slack: pattern pixels on slanted surfaces do not share the centre's depth exactly.
        s.contained += (ip.idepth_min <= truth * 1.02 && truth <= ip.idepth_max * 1.02) ? 1 : 0;
        s.narrowed += ip.idepth_max < kUnboundedIdepth ? 1 : 0;
      }
      s.points.push_back(ip);
      s.true_idepth.push_back(truth);
    }
  }
  return s;
}

TEST(PointTracer, TracedIntervalContainsTheTrueInverseDepth) {
  TracedScene s = Trace(4);
  ASSERT_GT(s.points.size(), 100u);
  EXPECT_GT(s.good, static_cast<int>(0.5 * s.points.size()));
  EXPECT_GT(s.contained, static_cast<int>(0.9 * s.good)) << s.contained << " of " << s.good;
  EXPECT_GT(s.narrowed, static_cast<int>(0.9 * s.good));
}

TEST(PointTracer, ActivationConvergesToTheTrueInverseDepth) {
  TracedScene s = Trace(4);
  const PinholeCamera cam = TestCamera();
  std::vector<Keyframe*> window = {s.host.get(), s.target.get()};
  BundleAdjustmentOptions ba;
  std::vector<double> rel_err;
  for (size_t i = 0; i < s.points.size(); ++i) {
    const ImmaturePoint& ip = s.points[i];
    if (ip.status != ImmaturePoint::Status::kGood || !(ip.idepth_max < kUnboundedIdepth)) continue;
    ActivePoint ap;
    if (!ActivateImmaturePoint(cam, ba, ip, s.host.get(), window, &ap)) continue;
    EXPECT_FALSE(ap.residuals.empty());
    rel_err.push_back(std::abs(ap.idepth / s.true_idepth[i] - 1.0));
  }
  ASSERT_GT(rel_err.size(), 50u);
  std::nth_element(rel_err.begin(), rel_err.begin() + rel_err.size() / 2, rel_err.end());
  EXPECT_LT(rel_err[rel_err.size() / 2], 0.02);
}

TEST(PointTracer, MakeImmaturePointRejectsPatternsLeavingTheImage) {
  const PinholeCamera cam = TestCamera();
  std::vector<float> img, depth;
  Render(cam, TrajectoryPose(0), &img, &depth);
  ImagePyramid pyr(img.data(), cam.width, cam.height);
  ImmaturePoint ip;
  EXPECT_FALSE(MakeImmaturePoint(pyr, 0.f, 0.f, 50.0, &ip));
  EXPECT_FALSE(MakeImmaturePoint(pyr, cam.width - 1.f, 50.f, 50.0, &ip));
  ASSERT_TRUE(MakeImmaturePoint(pyr, 100.f, 50.f, 50.0, &ip));
  EXPECT_FLOAT_EQ(ip.intensity[4], pyr.At(0, 100 + kPattern[4][0], 50 + kPattern[4][1])[0]);
}

}  // namespace
}  // namespace dso
