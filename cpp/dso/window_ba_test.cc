#include "dso/window_ba.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "dso/residual_pattern.h"
#include "dso/synthetic_scene_test_util.h"

namespace dso {
namespace {

using testing_util::Render;
using testing_util::TestCamera;
using testing_util::TrajectoryPose;

struct Scene {
  std::vector<std::unique_ptr<Keyframe>> keyframes;
  std::vector<std::vector<double>> true_idepth;  // per keyframe, per point
  std::vector<SE3> true_cam_from_world;
};

Scene MakeScene(const PinholeCamera& cam, const std::vector<int>& frames, double prior_rel_sigma) {
  Scene s;
  for (size_t i = 0; i < frames.size(); ++i) {
    std::vector<float> image, depth;
    const SE3 world_from_cam = TrajectoryPose(frames[i]);
    Render(cam, world_from_cam, &image, &depth);
    auto kf = std::make_unique<Keyframe>();
    kf->id = static_cast<int>(i);
    kf->frame_index = frames[i];
    kf->cam_from_world = world_from_cam.Inverse();
    kf->pyramid = std::make_shared<ImagePyramid>(image.data(), cam.width, cam.height);
    s.true_cam_from_world.push_back(kf->cam_from_world);
    std::vector<double> idepths;
    for (int y = 8; y < cam.height - 8; y += 8) {
      for (int x = 8 + (y % 3); x < cam.width - 8; x += 8) {
        if (kf->pyramid->GradSq(0)[y * cam.width + x] < 30.f) continue;
        ActivePoint p;
        p.pixel = Eigen::Vector2f(x, y);
        for (int k = 0; k < kPatternSize; ++k) {
          const Eigen::Vector3f v = kf->pyramid->At(0, x + kPattern[k][0], y + kPattern[k][1]);
          p.intensity[k] = v[0];
          p.weight[k] = 2500.f / (2500.f + v[1] * v[1] + v[2] * v[2]);
        }
        const double idepth = 1.0 / depth[y * cam.width + x];
        p.idepth = idepth;
        if (prior_rel_sigma > 0) {
          p.prior_idepth = idepth;
          p.prior_idepth_var = std::pow(prior_rel_sigma * idepth, 2);
        }
        kf->points.push_back(p);
        idepths.push_back(idepth);
      }
    }
    s.true_idepth.push_back(idepths);
    s.keyframes.push_back(std::move(kf));
  }
  for (auto& host : s.keyframes) {
    for (ActivePoint& p : host->points) {
      for (auto& target : s.keyframes) {
        if (target != host) p.residuals.push_back(PointResidual{target.get()});
      }
    }
  }
  return s;
}

double MedianIdepthRelError(const Scene& s) {
  std::vector<double> err;
  for (size_t i = 0; i < s.keyframes.size(); ++i) {
    for (size_t k = 0; k < s.keyframes[i]->points.size(); ++k) {
      err.push_back(std::abs(s.keyframes[i]->points[k].idepth / s.true_idepth[i][k] - 1.0));
    }
  }
  std::nth_element(err.begin(), err.begin() + err.size() / 2, err.end());
  return err[err.size() / 2];
}

TEST(WindowOptimizer, RecoversPerturbedPosesAndDepths) {
  const PinholeCamera cam = TestCamera();
  Scene s = MakeScene(cam, {0, 2, 4, 6}, 0.1);
  std::mt19937 rng(1);
  std::normal_distribution<double> n01(0.0, 1.0);
  for (size_t i = 1; i < s.keyframes.size(); ++i) {
    Vec6 xi;
    for (int k = 0; k < 3; ++k) xi(k) = 0.03 * n01(rng);
    for (int k = 3; k < 6; ++k) xi(k) = 0.005 * n01(rng);
    s.keyframes[i]->cam_from_world = SE3::Exp(xi) * s.keyframes[i]->cam_from_world;
  }
  for (auto& kf : s.keyframes) {
    for (ActivePoint& p : kf->points) p.idepth *= 1.0 + 0.15 * std::clamp(n01(rng), -2.0, 2.0);
  }
  const double initial_depth_error = MedianIdepthRelError(s);
  ASSERT_GT(initial_depth_error, 0.05);

  BundleAdjustmentOptions opt;
  opt.max_iterations = 10;
  WindowOptimizer ba(cam, opt);
  std::vector<Keyframe*> window;
  for (auto& kf : s.keyframes) window.push_back(kf.get());
  ba.ResetPrior(window[0]);
  BundleAdjustmentStats first = ba.Optimize(window), stats;
  for (int round = 0; round < 2; ++round) stats = ba.Optimize(window);
  // Residual floor at the true state is ~3.4 (pattern pixels share the centre's depth on slanted
  // surfaces, bilinear interpolation); the perturbed start is far above it.
  EXPECT_GT(first.initial_rmse, 2.0 * stats.final_rmse);
  EXPECT_LT(stats.final_rmse, 4.0);
  // The solve never moves the window's scale (the 7th gauge, window_ba.h; the System applies the
  // depth prior's scale outside it): compare after rescaling the estimate about keyframe 0's centre.
  const Vec3 c0 = window[0]->cam_from_world.Inverse().Translation();
  const Vec3 g0 = s.true_cam_from_world[0].Inverse().Translation();
  double num = 0, den = 0;
  for (size_t i = 1; i < window.size(); ++i) {
    const Vec3 e = window[i]->cam_from_world.Inverse().Translation() - c0;
    num += e.dot(s.true_cam_from_world[i].Inverse().Translation() - g0);
    den += e.squaredNorm();
  }
  const double scale = num / den;
  EXPECT_NEAR(scale, 1.0, 0.05);  // what the perturbation left
  for (Keyframe* kf : window) {
    const Vec3 c = c0 + scale * (kf->cam_from_world.Inverse().Translation() - c0);
    kf->cam_from_world.SetTranslation(-(kf->cam_from_world.RotationMatrix() * c));
    for (ActivePoint& p : kf->points) p.idepth /= scale;
  }
  for (size_t i = 0; i < window.size(); ++i) {
    const Vec6 err = (window[i]->cam_from_world * s.true_cam_from_world[i].Inverse()).Log();
    EXPECT_LT(err.head<3>().norm(), 0.01) << "keyframe " << i;
    EXPECT_LT(err.tail<3>().norm(), 0.002) << "keyframe " << i;
  }
  EXPECT_LT(MedianIdepthRelError(s), 0.02);
}

// The scene's keyframes as a window, optimised once with the gauge prior on the first, which is then
// marginalised (the prior spans the others). Returns the whole window, the first included.
std::vector<Keyframe*> OptimizeAndMarginalizeFirst(Scene* s, WindowOptimizer* ba) {
  std::vector<Keyframe*> window;
  for (auto& kf : s->keyframes) window.push_back(kf.get());
  ba->ResetPrior(window[0]);
  ba->Optimize(window);
  ba->MarginalizeKeyframe(window, window[0]);
  return window;
}

TEST(WindowOptimizer, RescalePriorScalesTranslationRowsAndColumns) {
  const PinholeCamera cam = TestCamera();
  Scene s = MakeScene(cam, {0, 2, 4, 6}, 0.1);
  WindowOptimizer ba(cam, BundleAdjustmentOptions());
  const std::vector<Keyframe*> window = OptimizeAndMarginalizeFirst(&s, &ba);
  const Eigen::MatrixXd h = ba.prior_h();
  ASSERT_EQ(h.rows(), 3 * kFrameDim);
  ba.RescalePrior(2.0, Vec3::Zero());
  const Eigen::MatrixXd& h2 = ba.prior_h();
  for (int i = 0; i < h.rows(); ++i) {
    for (int j = 0; j < h.cols(); ++j) {
      const double fi = (i % kFrameDim) < 3 ? 0.5 : 1.0, fj = (j % kFrameDim) < 3 ? 0.5 : 1.0;
      EXPECT_NEAR(h2(i, j), fi * fj * h(i, j), 1e-9 * (1.0 + std::abs(h(i, j))));
    }
  }
  EXPECT_THROW(ba.RescalePrior(0.0, Vec3::Zero()), std::invalid_argument);
}

// The LM steps are kept orthogonal to the scale gauge (scaling the world about a centre), which must
// be the prior's null direction. When the world is rescaled about another point (System::HoldPriorScale
// scales the window about its oldest keyframe), that centre moves with it; left behind, the projected
// direction is a scale plus a rigid translation, and the window drifts along the true null direction.
TEST(WindowOptimizer, ScaleGaugeCentreFollowsRescaledWorld) {
  const PinholeCamera cam = TestCamera();
  Scene s = MakeScene(cam, {0, 2, 4, 6}, 0.0);
  WindowOptimizer ba(cam, BundleAdjustmentOptions());
  const std::vector<Keyframe*> window = OptimizeAndMarginalizeFirst(&s, &ba);
  const std::vector<Keyframe*> rest(window.begin() + 1, window.end());
  ASSERT_EQ(ba.prior_h().rows(), 3 * kFrameDim);
  // |H n| / (|H| |n|) of the scale direction about `centre` at the prior's linearisation points.
  auto null_residual = [&](const Vec3& centre) {
    Eigen::VectorXd n = Eigen::VectorXd::Zero(3 * kFrameDim);
    for (int i = 0; i < 3; ++i) {
      const SE3& t = rest[i]->fej_cam_from_world;
      n.segment<3>(i * kFrameDim) = t.Translation() + t.RotationMatrix() * centre;
    }
    return (ba.prior_h() * n).norm() / (ba.prior_h().norm() * n.norm());
  };
  const Vec3 first_centre = window[0]->cam_from_world.Inverse().Translation();
  EXPECT_LT((ba.scale_gauge_centre_world() - first_centre).norm(), 1e-6);
  EXPECT_LT(null_residual(first_centre), 1e-6);

  // Scale states, linearisation points and depths by s about the second keyframe, as HoldPriorScale.
  const double scale = 1.7;
  const Vec3 about = rest[0]->cam_from_world.Inverse().Translation();
  auto rescale = [&](SE3* cam_from_world) {
    const Vec3 centre = about + scale * (cam_from_world->Inverse().Translation() - about);
    cam_from_world->SetTranslation(-(cam_from_world->RotationMatrix() * centre));
  };
  for (Keyframe* kf : rest) {
    rescale(&kf->cam_from_world);
    rescale(&kf->fej_cam_from_world);
    for (ActivePoint& p : kf->points) p.idepth /= scale;
  }
  ba.RescalePrior(scale, about);
  const Vec3 moved = about + scale * (first_centre - about);
  EXPECT_LT((ba.scale_gauge_centre_world() - moved).norm(), 1e-9);
  EXPECT_LT(null_residual(ba.scale_gauge_centre_world()), 1e-6);
  const double kept = null_residual(ba.scale_gauge_centre_world()), stale = null_residual(first_centre);
  EXPECT_GT(stale, 100.0 * kept);  // the old centre is not (measured: 1e-9 vs 2e-4)
}

TEST(WindowOptimizer, MarginalizationKeepsPriorSizeBoundedAndSolutionStable) {
  const PinholeCamera cam = TestCamera();
  Scene s = MakeScene(cam, {0, 2, 4, 6}, 0.1);
  BundleAdjustmentOptions opt;
  WindowOptimizer ba(cam, opt);
  std::vector<Keyframe*> window;
  for (auto& kf : s.keyframes) window.push_back(kf.get());
  ba.ResetPrior(window[0]);
  for (int round = 0; round < 3; ++round) ba.Optimize(window);
  ba.MarginalizeKeyframe(window, window[0]);
  EXPECT_EQ(ba.PriorFrames(), 3);
  EXPECT_EQ(ba.prior_h().rows(), 3 * kFrameDim);
  window.erase(window.begin());
  // At the (exact) optimum, marginalising must not move the remaining estimate.
  std::vector<SE3> before;
  for (Keyframe* kf : window) before.push_back(kf->cam_from_world);
  ba.Optimize(window);
  for (size_t i = 0; i < window.size(); ++i) {
    const Vec6 d = (window[i]->cam_from_world * before[i].Inverse()).Log();
    EXPECT_LT(d.head<3>().norm(), 6e-3);  // residuals into the marginalised frame are dropped (DSO)
    EXPECT_LT(d.tail<3>().norm(), 1.5e-3);
  }
}

// Moves poses, light and inverse depths of `s` away from the optimum (deterministic).
void Perturb(Scene* s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  for (size_t i = 1; i < s->keyframes.size(); ++i) {
    Vec6 xi;
    for (int k = 0; k < 3; ++k) xi(k) = 0.02 * n01(rng);
    for (int k = 3; k < 6; ++k) xi(k) = 0.004 * n01(rng);
    s->keyframes[i]->cam_from_world = SE3::Exp(xi) * s->keyframes[i]->cam_from_world;
    s->keyframes[i]->light.a = 0.01 * n01(rng);
    s->keyframes[i]->light.b = 0.5 * n01(rng);
  }
  for (auto& kf : s->keyframes) {
    for (ActivePoint& p : kf->points) p.idepth *= 1.0 + 0.05 * std::clamp(n01(rng), -2.0, 2.0);
  }
}

// Removes the residuals of points hosted by keyframes >= first_host that observe keyframe `target`
// (marginalising `target` drops them, DSO-style).
void DropObservations(Scene* s, size_t target, size_t first_host) {
  const Keyframe* t = s->keyframes[target].get();
  for (size_t h = first_host; h < s->keyframes.size(); ++h) {
    for (ActivePoint& p : s->keyframes[h]->points) {
      p.residuals.erase(std::remove_if(p.residuals.begin(), p.residuals.end(),
                                       [t](const PointResidual& r) { return r.target == t; }),
                        p.residuals.end());
    }
  }
}

// Marginalising keyframes 0 and then 1 from a NON-optimal state (gradients non-zero, the prior then
// spans three and two keyframes) must leave the remaining keyframes with exactly the Gauss-Newton
// step of the dense, un-marginalised problem at that state: Schur complement + marginalisation
// prior == dense solve. Ignoring or mis-shifting prior_h_ / prior_b_, or losing a term of the
// marginalised keyframes (e.g. their light priors), changes the step.
TEST(WindowOptimizer, MarginalizationFromNonOptimalStateMatchesDenseSolve) {
  const PinholeCamera cam = TestCamera();
  BundleAdjustmentOptions opt;
  opt.marginalize_points_min_residuals = 1;  // every observed point enters the prior
  Scene dense = MakeScene(cam, {0, 2, 4, 6}, 0.1), marg = MakeScene(cam, {0, 2, 4, 6}, 0.1);
  Perturb(&dense, 5);
  Perturb(&marg, 5);
  // Reference: the whole problem at this state without the observations marginalisation drops.
  DropObservations(&dense, 0, 1);
  DropObservations(&dense, 1, 2);
  std::vector<Keyframe*> wd;
  for (auto& kf : dense.keyframes) wd.push_back(kf.get());
  WindowOptimizer ba_dense(cam, opt);
  ba_dense.ResetPrior(wd[0]);
  SchurSystem full(4);
  ba_dense.Linearize(wd, &full);
  Eigen::MatrixXd h;
  Eigen::VectorXd b;
  full.ToDense(&h, &b);
  const Eigen::VectorXd dense_step = -h.ldlt().solve(b);
  const Eigen::VectorXd expected = dense_step.segment(2 * kFrameDim, 2 * kFrameDim);
  ASSERT_GT(expected.head<6>().norm(), 1e-3);  // really non-optimal: the step is not ~0

  WindowOptimizer ba(cam, opt);
  std::vector<Keyframe*> w;
  for (auto& kf : marg.keyframes) w.push_back(kf.get());
  ba.ResetPrior(w[0]);
  ba.MarginalizeKeyframe(w, w[0]);
  w.erase(w.begin());
  ASSERT_EQ(ba.PriorFrames(), 3);
  ba.MarginalizeKeyframe(w, w[0]);
  w.erase(w.begin());
  ASSERT_EQ(ba.PriorFrames(), 2);
  SchurSystem reduced(2);
  ba.Linearize(w, &reduced);
  Eigen::VectorXd step;
  std::vector<double> point_step;
  reduced.Solve(0.0, std::vector<bool>(2 * kFrameDim, false), &step, &point_step);
  // Per block (pose, light) relative agreement; the prior's first-frame gauge weight (1e10) limits
  // the dense solve to ~1e-6 relative.
  for (int f = 0; f < 2; ++f) {
    const Vec8 e = expected.segment<kFrameDim>(f * kFrameDim), got = step.segment<kFrameDim>(f * kFrameDim);
    EXPECT_LT((got.head<6>() - e.head<6>()).norm(), 1e-4 * e.head<6>().norm()) << "keyframe " << f + 2;
    EXPECT_LT((got.tail<2>() - e.tail<2>()).norm(), 1e-4 * e.tail<2>().norm() + 1e-9) << "keyframe " << f + 2;
  }
  // The remaining points' steps match too.
  const int first_point = 4 * kFrameDim + static_cast<int>(dense.keyframes[0]->points.size() +
                                                           dense.keyframes[1]->points.size());
  ASSERT_EQ(static_cast<int>(point_step.size()) + first_point, static_cast<int>(dense_step.size()));
  double max_err = 0.0;
  for (size_t k = 0; k < point_step.size(); ++k) {
    max_err = std::max(max_err, std::abs(point_step[k] - dense_step(first_point + static_cast<int>(k))));
  }
  EXPECT_LT(max_err, 1e-4 * dense_step.tail(point_step.size()).cwiseAbs().maxCoeff());
}

}  // namespace
}  // namespace dso
