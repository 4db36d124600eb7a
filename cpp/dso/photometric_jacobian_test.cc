// Finite-difference checks of the photometric Jacobians: the window BA's point linearisation
// (through WindowOptimizer::Linearize: every frame and point entry of b = J^T W r must be the
// derivative of the energy it returns) and the tracker's residual evaluation (through
// CoarseTracker::EnergyAndGradient). Images are affine in the pixel coordinates, so bilinear
// interpolation and the pyramid's central-difference gradients are exact and any disagreement is
// an error of the analytic Jacobian (pose, inverse depth, affine brightness, Huber weighting).
#include <gtest/gtest.h>

#include <Eigen/Core>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "dso/coarse_tracker.h"
#include "dso/residual_pattern.h"
#include "dso/schur.h"
#include "dso/synthetic_scene_test_util.h"
#include "dso/window_ba.h"

namespace dso {
namespace {

using testing_util::TestCamera;

std::shared_ptr<ImagePyramid> AffineImage(const PinholeCamera& cam, float c0, float cu, float cv) {
  std::vector<float> img(cam.width * cam.height);
  for (int y = 0; y < cam.height; ++y) {
    for (int x = 0; x < cam.width; ++x) img[y * cam.width + x] = c0 + cu * x + cv * y;
  }
  return std::make_shared<ImagePyramid>(img.data(), cam.width, cam.height);
}

SE3 Pose(double tx, double ty, double tz, double rx, double ry, double rz) {
  return SE3(SO3::Exp(Vec3(rx, ry, rz)), Vec3(tx, ty, tz));
}

// Three keyframes with different affine images, light and poses; points hosted by the first two,
// observed in both other keyframes, some with a depth prior.
struct BaScene {
  std::vector<std::unique_ptr<Keyframe>> kfs;
  std::vector<Keyframe*> window;
};

BaScene MakeBaScene(const PinholeCamera& cam) {
  BaScene s;
  const float coeffs[3][3] = {{60.f, 0.55f, 0.8f}, {70.f, 0.6f, 0.7f}, {55.f, 0.5f, 0.9f}};
  const SE3 poses[3] = {SE3(), Pose(0.08, 0.02, -0.25, 0.01, -0.02, 0.005), Pose(-0.05, 0.03, -0.5, -0.015, 0.01, -0.01)};
  const double light_a[3] = {0.0, 0.03, -0.02}, light_b[3] = {0.0, 2.0, -3.0};
  for (int i = 0; i < 3; ++i) {
    auto kf = std::make_unique<Keyframe>();
    kf->id = i;
    kf->cam_from_world = poses[i];
    kf->light.a = light_a[i];
    kf->light.b = light_b[i];
    kf->pyramid = AffineImage(cam, coeffs[i][0], coeffs[i][1], coeffs[i][2]);
    s.kfs.push_back(std::move(kf));
  }
  std::mt19937 rng(17);
  std::uniform_real_distribution<double> idepth(0.2, 0.5), offset(-3.0, 3.0);
  for (int h = 0; h < 2; ++h) {
    Keyframe& host = *s.kfs[h];
    int n = 0;
    for (int y = 45; y <= 75; y += 10) {
      for (int x = 110; x <= 210; x += 20) {
        ActivePoint p;
        p.pixel = Eigen::Vector2f(x + 0.3f * h, y + 0.2f);
        for (int k = 0; k < kPatternSize; ++k) {
          // Host intensities away from the exact warp of the target image: non-zero residuals,
          // some above the Huber threshold.
          p.intensity[k] = host.pyramid->At(0, x + kPattern[k][0], y + kPattern[k][1])[0] + offset(rng) * (1 + k % 4);
          p.weight[k] = 0.3f + 0.1f * k;
        }
        p.idepth = idepth(rng);
        if (++n % 3 == 0) {
          p.prior_idepth = p.idepth * 1.1;
          p.prior_idepth_var = 0.01;
        }
        for (int t = 0; t < 3; ++t) {
          if (t != h) p.residuals.push_back(PointResidual{s.kfs[t].get()});
        }
        host.points.push_back(p);
      }
    }
  }
  for (auto& kf : s.kfs) s.window.push_back(kf.get());
  return s;
}

TEST(PhotometricJacobian, WindowBaGradientIsTheEnergyDerivative) {
  const PinholeCamera cam = TestCamera();
  BaScene s = MakeBaScene(cam);
  BundleAdjustmentOptions opt;
  opt.outlier_energy = 1e12;  // nothing flagged: the energy is smooth in the state
  opt.num_threads = 1;
  WindowOptimizer ba(cam, opt);
  ba.ResetPrior(s.window[0]);
  for (int h = 0; h < 2; ++h) {
    for (const ActivePoint& p : s.kfs[h]->points) {
      for (const PointResidual& r : p.residuals) {
        double e = 0.0;
        ASSERT_TRUE(ba.ResidualEnergy(p, *s.kfs[h], *r.target, &e)) << "scene point leaves the image";
      }
    }
  }
  SchurSystem sys(3);
  ba.Linearize(s.window, &sys);
  Eigen::MatrixXd hd;
  Eigen::VectorXd b;
  sys.ToDense(&hd, &b);
  auto energy = [&]() {
    SchurSystem tmp(3);
    return ba.Linearize(s.window, &tmp);
  };
  int checked = 0, huber_points = 0;
  // Frames 1 and 2 (frame 0 carries the gauge prior): pose (left increments) and light.
  for (int f = 1; f < 3; ++f) {
    Keyframe* kf = s.window[f];
    for (int i = 0; i < kFrameDim; ++i) {
      const double h = i < 6 ? 1e-3 : (i == 6 ? 1e-4 : 1e-2);
      const SE3 pose = kf->cam_from_world;
      const AffineLight light = kf->light;
      double e[2];
      for (int sgn = 0; sgn < 2; ++sgn) {
        const double d = sgn == 0 ? h : -h;
        if (i < 6) {
          Vec6 xi = Vec6::Zero();
          xi(i) = d;
          kf->cam_from_world = SE3::Exp(xi) * pose;
        } else if (i == 6) {
          kf->light.a = light.a + d;
        } else {
          kf->light.b = light.b + d;
        }
        e[sgn] = energy();
        kf->cam_from_world = pose;
        kf->light = light;
      }
      const double fd = (e[0] - e[1]) / (2 * h), an = b(f * kFrameDim + i);
      EXPECT_NEAR(an, fd, 2e-3 * std::abs(fd) + 1e-2 * std::sqrt(b.head(3 * kFrameDim).squaredNorm() / 24))
          << "frame " << f << " variable " << i;
      ++checked;
    }
  }
  // Inverse depths (the point block and, through the Schur coupling, the frame-point terms).
  int k = 0;
  for (int hst = 0; hst < 2; ++hst) {
    for (ActivePoint& p : s.kfs[hst]->points) {
      const double h = 2e-3, rho = p.idepth;
      p.idepth = rho + h;
      const double ep = energy();
      p.idepth = rho - h;
      const double em = energy();
      p.idepth = rho;
      const double fd = (ep - em) / (2 * h), an = b(3 * kFrameDim + k);
      EXPECT_NEAR(an, fd, 2e-3 * std::abs(fd) + 0.05) << "point " << k;
      ++k;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16 + k);
  EXPECT_GT(k, 40);
  // Some residuals are past the Huber kink (an all-inlier pattern has energy <= 0.5 * 9^2 * 8 with
  // weights <= 1), so the Huber weighting is exercised too.
  for (int hst = 0; hst < 2; ++hst) {
    for (const ActivePoint& p : s.kfs[hst]->points) huber_points += p.residuals[0].energy > 0.5 * 81 * 8 ? 1 : 0;
  }
  EXPECT_GT(huber_points, 0);
}

TEST(PhotometricJacobian, TrackerGradientIsHalfTheEnergyDerivative) {
  const PinholeCamera cam = TestCamera();
  TrackerOptions opt;
  opt.gradient_weight_c = 1e4f;     // gradient weight ~1: the energy is the plain Huber sum
  opt.outlier_threshold = 1e4f;     // no outliers
  CoarseTracker tracker(cam, opt);
  const auto ref = AffineImage(cam, 60.f, 0.55f, 0.8f);
  const auto cur = AffineImage(cam, 75.f, 0.6f, 0.7f);
  std::vector<TrackerPoint> pts;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> idepth(0.2f, 0.5f);
  for (int y = 30; y <= 90; y += 6) {
    for (int x = 60; x <= 260; x += 10) pts.push_back(TrackerPoint{static_cast<float>(x), static_cast<float>(y), idepth(rng), 1.f});
  }
  const AffineLight ref_light{0.02, 1.5};
  tracker.SetReference(*ref, pts, ref_light);
  const SE3 pose = Pose(0.05, -0.02, -0.2, 0.01, 0.015, -0.01);
  const AffineLight light{-0.03, 4.0};
  Eigen::Matrix<double, 8, 1> g, unused;
  const double e0 = tracker.EnergyAndGradient(*cur, 0, pose, light, &g);
  ASSERT_GT(e0, 0.0);
  ASSERT_GT(g.head<6>().norm(), 1.0);
  for (int i = 0; i < 8; ++i) {
    const double h = i < 6 ? 1e-3 : (i == 6 ? 1e-4 : 1e-2);
    double e[2];
    for (int sgn = 0; sgn < 2; ++sgn) {
      const double d = sgn == 0 ? h : -h;
      SE3 p = pose;
      AffineLight l = light;
      if (i < 6) {
        Vec6 xi = Vec6::Zero();
        xi(i) = d;
        p = SE3::Exp(xi) * pose;
      } else if (i == 6) {
        l.a += d;
      } else {
        l.b += d;
      }
      e[sgn] = tracker.EnergyAndGradient(*cur, 0, p, l, &unused);
    }
    const double fd = 0.5 * (e[0] - e[1]) / (2 * h);
    EXPECT_NEAR(g(i), fd, 3e-3 * std::abs(fd) + 1e-2) << "variable " << i;
  }
  EXPECT_THROW(tracker.EnergyAndGradient(*cur, 99, pose, light, &g), std::invalid_argument);
}

}  // namespace
}  // namespace dso
