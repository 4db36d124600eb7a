#include "dso/two_view_init.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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
  ASSERT_GE(res.span, 1);
  ASSERT_LE(res.span, frame - 1);
  const SE3 truth = testing_util::TrajectoryPose(frame - 1).Inverse() *
                    testing_util::TrajectoryPose(frame - 1 - res.span);  // second_from_first
  // Rotation exact up to noise; translation direction (scale is arbitrary).
  EXPECT_LT((res.second_from_first.Rotation() * truth.Rotation().Inverse()).Log().norm(), 0.01);
  EXPECT_GT(res.second_from_first.Translation().normalized().dot(truth.Translation().normalized()), 0.99);
  EXPECT_GE(res.inliers, opt.min_inliers);
  EXPECT_LE(res.direction_sigma_deg, opt.max_direction_sigma_deg);
}

// Correspondences of random points 6-30 m in front of the camera seen from the origin and from
// `second_from_first`, with pixel noise and a fraction of outliers (uniform in the image).
void MakePairs(const PinholeCamera& cam, const SE3& second_from_first, int n, double noise_px,
               double outlier_fraction, unsigned seed, std::vector<Vec2>* p1, std::vector<Vec2>* p2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> g(0.0, noise_px);
  p1->clear();
  p2->clear();
  while (static_cast<int>(p1->size()) < n) {
    const Vec2 px(u(rng) * (cam.width - 1), u(rng) * (cam.height - 1));
    const Vec3 x = cam.Unproject(px, 6.0 + 24.0 * u(rng));
    const Vec3 y = second_from_first * x;
    if (y.z() < 0.5) continue;
    Vec2 q = cam.Project(y);
    if (q.x() < 0 || q.y() < 0 || q.x() > cam.width - 1 || q.y() > cam.height - 1) continue;
    if (u(rng) < outlier_fraction) q = Vec2(u(rng) * (cam.width - 1), u(rng) * (cam.height - 1));
    p1->push_back(px);
    p2->push_back(q + Vec2(g(rng), g(rng)));
  }
}

double AngleDeg(const Vec3& a, const Vec3& b) {
  return std::acos(std::clamp(a.normalized().dot(b.normalized()), -1.0, 1.0)) * 180.0 / M_PI;
}

TEST(TwoViewInitializer, SolvePairRecoversPoseDespiteOutliers) {
  const PinholeCamera cam = testing_util::TestCamera();
  InitializerOptions opt;
  TwoViewInitializer init(cam, opt, 0);
  // Forward motion with a slight turn (the hard case of a road camera).
  const SE3 truth(SO3::Exp(Vec3(0.0, 0.03, 0.0)).Matrix(), Vec3(0.05, 0.0, -1.5));
  std::vector<Vec2> p1, p2;
  MakePairs(cam, truth, 300, 0.3, 0.25, 7, &p1, &p2);
  TwoViewResult res;
  ASSERT_TRUE(init.SolvePair(p1, p2, &res));
  EXPECT_LT((res.second_from_first.Rotation() * truth.Rotation().Inverse()).Log().norm() * 180.0 / M_PI, 0.3);
  EXPECT_LT(AngleDeg(res.second_from_first.Translation(), truth.Translation()), 1.5);
  EXPECT_GT(res.inliers, 150);  // ~225 inliers, minus points without parallax near the epipole
  EXPECT_LT(res.inliers, 260);
  EXPECT_GT(res.parallax_deg, opt.min_parallax_deg);
  EXPECT_GT(res.direction_sigma_deg, 0.0);
  EXPECT_LT(res.direction_sigma_deg, opt.max_direction_sigma_deg);
  // Inverse depths normalised to median 1, consistent with the truth up to that one scale.
  std::vector<double> sorted = res.idepths;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  EXPECT_NEAR(sorted[sorted.size() / 2], 1.0, 1e-9);
}

TEST(TwoViewInitializer, SolvePairIsASmoothFunctionOfTheTracks) {
  // The start must not hinge on the last bit of a pixel: a 1e-4 px change of every track moves
  // the pose by a comparable amount, not by a different RANSAC winner.
  const PinholeCamera cam = testing_util::TestCamera();
  InitializerOptions opt;
  TwoViewInitializer init(cam, opt, 0);
  const SE3 truth(SO3::Exp(Vec3(0.01, -0.02, 0.0)).Matrix(), Vec3(-0.1, 0.02, -1.2));
  std::vector<Vec2> p1, p2;
  MakePairs(cam, truth, 250, 0.5, 0.2, 11, &p1, &p2);
  TwoViewResult a, b, c;
  ASSERT_TRUE(init.SolvePair(p1, p2, &a));
  ASSERT_TRUE(init.SolvePair(p1, p2, &b));  // deterministic
  EXPECT_EQ(a.second_from_first.Matrix(), b.second_from_first.Matrix());
  std::mt19937 rng(3);
  std::normal_distribution<double> g(0.0, 1e-4);
  for (Vec2& q : p2) q += Vec2(g(rng), g(rng));
  ASSERT_TRUE(init.SolvePair(p1, p2, &c));
  EXPECT_LT(AngleDeg(a.second_from_first.Translation(), c.second_from_first.Translation()), 0.01);
  EXPECT_LT((a.second_from_first.Rotation() * c.second_from_first.Rotation().Inverse()).Log().norm(), 1e-4);
}

TEST(TwoViewInitializer, SolvePairRejectsRotationWithoutParallax) {
  const PinholeCamera cam = testing_util::TestCamera();
  InitializerOptions opt;
  TwoViewInitializer init(cam, opt, 0);
  const SE3 rotation_only(SO3::Exp(Vec3(0.0, 0.05, 0.01)).Matrix(), Vec3(0.0, 0.0, -1e-4));
  std::vector<Vec2> p1, p2;
  MakePairs(cam, rotation_only, 300, 0.3, 0.0, 5, &p1, &p2);
  TwoViewResult res;
  EXPECT_FALSE(init.SolvePair(p1, p2, &res));
  // Too few tracks: rejected whatever the geometry.
  const SE3 good(SO3(), Vec3(0.3, 0.0, -1.5));
  MakePairs(cam, good, opt.min_inliers - 1, 0.3, 0.0, 5, &p1, &p2);
  EXPECT_FALSE(init.SolvePair(p1, p2, &res));
  MakePairs(cam, good, 300, 0.3, 0.0, 5, &p1, &p2);
  EXPECT_TRUE(init.SolvePair(p1, p2, &res));
}

}  // namespace
}  // namespace dso
