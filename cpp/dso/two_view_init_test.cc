#include "dso/two_view_init.h"

#include <gtest/gtest.h>

#include <random>

#include "dso/synthetic_scene_test_util.h"

namespace dso {
namespace {

TEST(TwoViewInitializer, EightPointRecoversEssentialMatrix) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const SE3 second_from_first(SO3::Exp(Vec3(0.02, -0.05, 0.01)), Vec3(0.1, -0.02, 1.0));
  std::vector<Vec3> x1, x2;
  std::vector<int> idx;
  for (int i = 0; i < 40; ++i) {
    const Vec3 p(4 * u(rng), 2 * u(rng), 8 + 4 * u(rng));
    const Vec3 q = second_from_first * p;
    x1.push_back(p / p.z());
    x2.push_back(q / q.z());
    idx.push_back(i);
  }
  const Mat3 e = TwoViewInitializer::EightPoint(x1, x2, idx);
  const Mat3 e_true = Hat(second_from_first.Translation()) * second_from_first.RotationMatrix();
  const double sign = e.cwiseProduct(e_true).sum() > 0 ? 1.0 : -1.0;
  EXPECT_LT((sign * e / e.norm() - e_true / e_true.norm()).norm(), 1e-6);
}

TEST(TwoViewInitializer, InitializesOnRenderedForwardMotion) {
  const PinholeCamera cam = testing_util::TestCamera();
  InitializerOptions opt;
  TwoViewInitializer init(cam, opt, 0);
  bool ok = false;
  TwoViewResult res;
  int frame = 0;
  for (; frame < 12 && !ok; ++frame) {
    std::vector<float> image, depth;
    testing_util::Render(cam, testing_util::TrajectoryPose(frame), &image, &depth);
    auto pyr = std::make_shared<const ImagePyramid>(image.data(), cam.width, cam.height);
    if (frame == 0) {
      init.Reset(pyr);
    } else {
      ok = init.AddFrame(pyr, &res);
    }
  }
  ASSERT_TRUE(ok);
  const SE3 truth =
      testing_util::TrajectoryPose(frame - 1).Inverse() * testing_util::TrajectoryPose(0);  // second_from_first
  // Rotation exact up to noise; translation direction (scale is arbitrary).
  EXPECT_LT((res.second_from_first.Rotation() * truth.Rotation().Inverse()).Log().norm(), 0.01);
  EXPECT_GT(res.second_from_first.Translation().normalized().dot(truth.Translation().normalized()), 0.99);
  EXPECT_GE(res.inliers, opt.min_inliers);
}

}  // namespace
}  // namespace dso
