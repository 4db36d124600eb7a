#include "dso/se3.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "dso/camera.h"

namespace dso {
namespace {

constexpr double kPi = 3.14159265358979323846;

Vec3 RandomVec3(std::mt19937* rng, double scale) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  return scale * Vec3(u(*rng), u(*rng), u(*rng));
}

Vec6 RandomVec6(std::mt19937* rng, double t_scale, double r_scale) {
  Vec6 xi;
  xi << RandomVec3(rng, t_scale), RandomVec3(rng, r_scale);
  return xi;
}

// Central finite-difference Jacobian of f: R^N -> R^M at x.
template <int M, int N, typename F>
Eigen::Matrix<double, M, N> NumericJacobian(const F& f, const Eigen::Matrix<double, N, 1>& x,
                                            double h = 1e-6) {
  Eigen::Matrix<double, M, N> j;
  for (int i = 0; i < N; ++i) {
    Eigen::Matrix<double, N, 1> dx = Eigen::Matrix<double, N, 1>::Zero();
    dx(i) = h;
    j.col(i) = (f(x + dx) - f(x - dx)) / (2.0 * h);
  }
  return j;
}

TEST(SO3, ExpLogRoundTripIncludingSmallAndNearPi) {
  std::mt19937 rng(1);
  for (double angle : {0.0, 1e-12, 1e-8, 1e-5, 1e-3, 0.3, 1.0, 2.5, kPi - 1e-3, kPi - 1e-7}) {
    for (int k = 0; k < 20; ++k) {
      Vec3 axis = RandomVec3(&rng, 1.0).normalized();
      const Vec3 omega = angle * axis;
      const SO3 r = SO3::Exp(omega);
      const Vec3 back = r.Log();
      // Near pi the sign of the axis is ambiguous only at exactly pi; here angle < pi.
      EXPECT_LT((back - omega).norm(), 1e-9 + 1e-9 * angle) << "angle " << angle;
      // Matrix must agree with Rodrigues.
      const Mat3 h = Hat(omega);
      const Mat3 expected = angle < 1e-6
                                ? Mat3(Mat3::Identity() + h + 0.5 * h * h)
                                : Mat3(Mat3::Identity() + std::sin(angle) / angle * h +
                                       (1 - std::cos(angle)) / (angle * angle) * h * h);
      EXPECT_LT((r.Matrix() - expected).norm(), 1e-12);
    }
  }
}

TEST(SO3, LogOfExactPiHasAnglePi) {
  const SO3 r = SO3::Exp(Vec3(0.0, kPi, 0.0));
  EXPECT_NEAR(r.Log().norm(), kPi, 1e-9);
  EXPECT_LT((SO3::Exp(r.Log()).Matrix() - r.Matrix()).norm(), 1e-9);
}

TEST(SO3, FromMatrixProjectsToRotation) {
  std::mt19937 rng(2);
  const SO3 r = SO3::Exp(RandomVec3(&rng, 1.0));
  Mat3 noisy = r.Matrix();
  noisy(0, 1) += 1e-4;
  const SO3 p = SO3::FromMatrix(noisy);
  EXPECT_LT((p.Matrix() - r.Matrix()).norm(), 1e-3);
  EXPECT_LT((p.Matrix() * p.Matrix().transpose() - Mat3::Identity()).norm(), 1e-12);
  EXPECT_THROW(SO3::FromMatrix(Mat3::Constant(NAN)), std::invalid_argument);
}

TEST(SO3, JacobiansMatchFiniteDifferences) {
  std::mt19937 rng(3);
  for (double scale : {1e-7, 0.1, 1.0, 2.8}) {
    const Vec3 w = RandomVec3(&rng, scale);
    // Exp(w + d) = Exp(J_l d) Exp(w)  =>  J_l = d Log(Exp(w + d) Exp(w)^-1) / d d.
    auto left = [&](const Vec3& x) { return Vec3((SO3::Exp(x) * SO3::Exp(w).Inverse()).Log()); };
    auto right = [&](const Vec3& x) { return Vec3((SO3::Exp(w).Inverse() * SO3::Exp(x)).Log()); };
    EXPECT_LT((NumericJacobian<3, 3>(left, w) - SO3::LeftJacobian(w)).norm(), 1e-7);
    EXPECT_LT((NumericJacobian<3, 3>(right, w) - SO3::RightJacobian(w)).norm(), 1e-7);
    EXPECT_LT((SO3::LeftJacobian(w) * SO3::LeftJacobianInverse(w) - Mat3::Identity()).norm(), 1e-10);
  }
}

TEST(SE3, ExpLogRoundTripAndMatrix) {
  std::mt19937 rng(4);
  for (double r_scale : {0.0, 1e-9, 1e-4, 0.5, 1.7}) {
    for (int k = 0; k < 20; ++k) {
      const Vec6 xi = RandomVec6(&rng, 3.0, r_scale);
      const SE3 t = SE3::Exp(xi);
      EXPECT_LT((t.Log() - xi).norm(), 1e-9);
      // Compare with the matrix exponential of the 4x4 generator via a long Taylor series.
      Mat4 g = Mat4::Zero();
      g.topLeftCorner<3, 3>() = Hat(xi.tail<3>());
      g.topRightCorner<3, 1>() = xi.head<3>();
      Mat4 e = Mat4::Identity(), term = Mat4::Identity();
      for (int i = 1; i < 40; ++i) {
        term = term * g / i;
        e += term;
      }
      EXPECT_LT((t.Matrix() - e).norm(), 1e-9);
    }
  }
  // Near pi.
  Vec6 xi;
  xi << 0.5, -1.0, 2.0, 0.0, 0.0, kPi - 1e-6;
  EXPECT_LT((SE3::Exp(xi).Log() - xi).norm(), 1e-6);
}

TEST(SE3, CompositionInverseAndAction) {
  std::mt19937 rng(5);
  const SE3 a = SE3::Exp(RandomVec6(&rng, 2.0, 1.0)), b = SE3::Exp(RandomVec6(&rng, 2.0, 1.0));
  const Vec3 p = RandomVec3(&rng, 5.0);
  EXPECT_LT(((a * b) * p - a * (b * p)).norm(), 1e-12);
  EXPECT_LT(((a * b).Matrix() - a.Matrix() * b.Matrix()).norm(), 1e-12);
  EXPECT_LT(((a * a.Inverse()).Matrix() - Mat4::Identity()).norm(), 1e-12);
  EXPECT_LT((SE3::FromMatrix(a.Matrix()).Matrix() - a.Matrix()).norm(), 1e-12);
  EXPECT_LT((a.Matrix3x4() * p.homogeneous() - a * p).norm(), 1e-12);
}

TEST(SE3, AdjointAndJacobiansMatchFiniteDifferences) {
  std::mt19937 rng(6);
  for (double r_scale : {1e-7, 0.2, 1.5}) {
    const SE3 t = SE3::Exp(RandomVec6(&rng, 2.0, 1.0));
    const Vec6 xi = RandomVec6(&rng, 1.0, r_scale);
    EXPECT_LT(((t * SE3::Exp(xi) * t.Inverse()).Matrix() - SE3::Exp(t.Adjoint() * xi).Matrix()).norm(),
              1e-10);
    auto left = [&](const Vec6& x) { return Vec6((SE3::Exp(x) * SE3::Exp(xi).Inverse()).Log()); };
    auto right = [&](const Vec6& x) { return Vec6((SE3::Exp(xi).Inverse() * SE3::Exp(x)).Log()); };
    EXPECT_LT((NumericJacobian<6, 6>(left, xi) - SE3::LeftJacobian(xi)).norm(), 1e-6) << r_scale;
    EXPECT_LT((NumericJacobian<6, 6>(right, xi) - SE3::RightJacobian(xi)).norm(), 1e-6) << r_scale;
    EXPECT_LT((SE3::LeftJacobian(xi) * SE3::LeftJacobianInverse(xi) - Mat6::Identity()).norm(), 1e-9);
  }
}

TEST(SE3, PointAndProjectionJacobiansMatchFiniteDifferences) {
  std::mt19937 rng(7);
  const PinholeCamera cam(718.0, 716.0, 607.0, 185.0, 1241, 376);
  for (int k = 0; k < 10; ++k) {
    const SE3 t = SE3::Exp(RandomVec6(&rng, 0.5, 0.2));
    const Vec3 p_in = Vec3(0, 0, 8.0) + RandomVec3(&rng, 3.0);
    const Vec3 p = t * p_in;
    auto point = [&](const Vec6& x) { return Vec3(SE3::Exp(x) * t * p_in); };
    auto pixel = [&](const Vec6& x) { return Vec2(cam.Project(SE3::Exp(x) * t * p_in)); };
    auto proj = [&](const Vec3& x) { return Vec2(cam.Project(x)); };
    EXPECT_LT((NumericJacobian<3, 6>(point, Vec6::Zero().eval()) - PointJacobianLeftIncrement(p)).norm(),
              1e-7);
    EXPECT_LT((NumericJacobian<2, 6>(pixel, Vec6::Zero().eval()) -
               ProjectedPointJacobianLeftIncrement(cam.fx, cam.fy, p)).norm(),
              1e-4);
    EXPECT_LT((NumericJacobian<2, 3>(proj, p) - cam.ProjectJacobian(p)).norm(), 1e-5);
  }
}

TEST(Sim3, ExpLogRoundTripAndConsistency) {
  std::mt19937 rng(8);
  for (double sigma : {0.0, 1e-9, 1e-3, 0.7, -1.5, 3.0}) {
    for (double r_scale : {0.0, 1e-8, 1e-3, 0.05, 1.2}) {
      Vec7 xi;
      xi << RandomVec3(&rng, 2.0), RandomVec3(&rng, r_scale), sigma;
      const Sim3 s = Sim3::Exp(xi);
      EXPECT_NEAR(s.Scale(), std::exp(sigma), 1e-12);
      EXPECT_LT((s.Log() - xi).norm(), 1e-9) << sigma << " " << r_scale;
      // Matrix exponential of the 4x4 generator.
      Mat4 g = Mat4::Zero();
      g.topLeftCorner<3, 3>() = Hat(xi.segment<3>(3)) + sigma * Mat3::Identity();
      g.topRightCorner<3, 1>() = xi.head<3>();
      Mat4 e = Mat4::Identity(), term = Mat4::Identity();
      for (int i = 1; i < 60; ++i) {
        term = term * g / i;
        e += term;
      }
      EXPECT_LT((s.Matrix() - e).norm(), 1e-9 * e.norm()) << sigma << " " << r_scale;
    }
  }
}

TEST(Sim3, GroupOperationsAndAdjoint) {
  std::mt19937 rng(9);
  Vec7 xa, xb, xi;
  xa << RandomVec3(&rng, 2.0), RandomVec3(&rng, 1.0), 0.3;
  xb << RandomVec3(&rng, 2.0), RandomVec3(&rng, 1.0), -0.6;
  xi << RandomVec3(&rng, 0.5), RandomVec3(&rng, 0.4), 0.2;
  const Sim3 a = Sim3::Exp(xa), b = Sim3::Exp(xb);
  const Vec3 p = RandomVec3(&rng, 4.0);
  EXPECT_LT(((a * b) * p - a * (b * p)).norm(), 1e-12);
  EXPECT_LT(((a * b).Matrix() - a.Matrix() * b.Matrix()).norm(), 1e-12);
  EXPECT_LT(((a * a.Inverse()).Matrix() - Mat4::Identity()).norm(), 1e-12);
  EXPECT_LT(((a * Sim3::Exp(xi) * a.Inverse()).Matrix() - Sim3::Exp(a.Adjoint() * xi).Matrix()).norm(),
            1e-10);
  // Scale-1 Sim3 agrees with SE3.
  const SE3 t = SE3::Exp(RandomVec6(&rng, 1.0, 1.0));
  EXPECT_LT((Sim3(t).Matrix() - t.Matrix()).norm(), 1e-14);
  Vec7 x7;
  x7 << t.Log(), 0.0;
  EXPECT_LT((Sim3::Exp(x7).Matrix() - t.Matrix()).norm(), 1e-12);
  EXPECT_THROW(Sim3(SO3(), Vec3::Zero(), 0.0), std::invalid_argument);
}

}  // namespace
}  // namespace dso
