#include "dso/schur.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <random>

namespace dso {
namespace {

// A random well-posed frame/point system: each point couples with 2-3 frames.
SchurSystem RandomSystem(int num_frames, int num_points, std::mt19937* rng) {
  std::normal_distribution<double> n01(0.0, 1.0);
  SchurSystem sys(num_frames);
  const int nf = num_frames * kFrameDim;
  Eigen::MatrixXd a = Eigen::MatrixXd::NullaryExpr(nf, nf, [&] { return n01(*rng); });
  sys.hff() = a * a.transpose() + nf * Eigen::MatrixXd::Identity(nf, nf);
  sys.bf() = Eigen::VectorXd::NullaryExpr(nf, [&] { return n01(*rng); });
  for (int k = 0; k < num_points; ++k) {
    PointBlock p;
    p.hpp = 50.0 + std::abs(n01(*rng)) * 10.0;
    p.bp = n01(*rng);
    for (int f = 0; f < num_frames; ++f) {
      if ((k + f) % 3 == 0) continue;
      p.AddCoupling(f, Vec8::NullaryExpr([&] { return 0.5 * n01(*rng); }));
    }
    sys.points().push_back(p);
  }
  return sys;
}

TEST(Schur, SolveEqualsDenseSolve) {
  std::mt19937 rng(3);
  SchurSystem sys = RandomSystem(4, 60, &rng);
  Eigen::MatrixXd h;
  Eigen::VectorXd b;
  sys.ToDense(&h, &b);
  const Eigen::VectorXd dense = h.ldlt().solve(-b);
  Eigen::VectorXd dxf;
  std::vector<double> dxp;
  sys.Solve(0.0, std::vector<bool>(4 * kFrameDim, false), &dxf, &dxp);
  const int nf = 4 * kFrameDim;
  // Tiny absolute regulariser in Solve (1e-9) => agreement to ~1e-7 relative.
  EXPECT_LT((dxf - dense.head(nf)).norm(), 1e-6 * dense.norm());
  for (size_t k = 0; k < dxp.size(); ++k) EXPECT_NEAR(dxp[k], dense(nf + k), 1e-6 * dense.norm());
}

TEST(Schur, ReduceMatchesDenseSchurComplementForAnyCouplingOrder) {
  std::mt19937 rng(7);
  SchurSystem sys = RandomSystem(4, 40, &rng);
  // Couplings listed in decreasing frame order must give the same (symmetric) reduced system.
  for (size_t k = 0; k < sys.points().size(); k += 2) {
    auto& hfp = sys.points()[k].hfp;
    std::reverse(hfp.begin(), hfp.end());
  }
  Eigen::MatrixXd h;
  Eigen::VectorXd b;
  sys.ToDense(&h, &b);
  const int nf = 4 * kFrameDim, np = static_cast<int>(sys.points().size());
  const Eigen::MatrixXd hpp_inv = h.bottomRightCorner(np, np).diagonal().cwiseInverse().asDiagonal();
  const Eigen::MatrixXd expected_h = h.topLeftCorner(nf, nf) - h.topRightCorner(nf, np) * hpp_inv * h.bottomLeftCorner(np, nf);
  const Eigen::VectorXd expected_b = b.head(nf) - h.topRightCorner(nf, np) * hpp_inv * b.tail(np);
  Eigen::MatrixXd hsc;
  Eigen::VectorXd bsc;
  sys.Reduce(0.0, &hsc, &bsc);
  EXPECT_LT((hsc - expected_h).norm(), 1e-9 * expected_h.norm());
  EXPECT_LT((bsc - expected_b).norm(), 1e-9 * expected_b.norm());
  EXPECT_LT((hsc - hsc.transpose()).norm(), 1e-12 * hsc.norm());
}

TEST(Schur, ResetClearsEverythingAndKeepsSize) {
  std::mt19937 rng(9);
  SchurSystem sys = RandomSystem(3, 20, &rng);
  sys.Reset(25);
  EXPECT_EQ(sys.points().size(), 25u);
  EXPECT_EQ(sys.hff().norm(), 0.0);
  EXPECT_EQ(sys.bf().norm(), 0.0);
  EXPECT_EQ(sys.hff().rows(), 3 * kFrameDim);
  for (const PointBlock& p : sys.points()) {
    EXPECT_EQ(p.hpp, 0.0);
    EXPECT_EQ(p.bp, 0.0);
    EXPECT_TRUE(p.hfp.empty());
  }
}

TEST(Schur, FixedVariablesStayZeroAndOthersMatchConstrainedSolve) {
  std::mt19937 rng(5);
  SchurSystem sys = RandomSystem(3, 30, &rng);
  std::vector<bool> fixed(3 * kFrameDim, false);
  for (int i = 0; i < kFrameDim; ++i) fixed[i] = true;  // gauge: first frame fixed
  Eigen::VectorXd dxf;
  std::vector<double> dxp;
  sys.Solve(0.0, fixed, &dxf, &dxp);
  EXPECT_EQ(dxf.head(kFrameDim).norm(), 0.0);
  // Dense solve with the first frame's rows/cols removed.
  Eigen::MatrixXd h;
  Eigen::VectorXd b;
  sys.ToDense(&h, &b);
  const int n = static_cast<int>(h.rows()) - kFrameDim;
  const Eigen::VectorXd dense = h.bottomRightCorner(n, n).ldlt().solve(-b.tail(n));
  EXPECT_LT((dxf.tail(2 * kFrameDim) - dense.head(2 * kFrameDim)).norm(), 1e-6 * dense.norm());
}

TEST(Marginalization, KeepsSolutionOfLinearProblem) {
  std::mt19937 rng(7);
  std::normal_distribution<double> n01(0.0, 1.0);
  const int n = 20;
  Eigen::MatrixXd a = Eigen::MatrixXd::NullaryExpr(n, n, [&] { return n01(rng); });
  const Eigen::MatrixXd h = a * a.transpose() + Eigen::MatrixXd::Identity(n, n);
  const Eigen::VectorXd b = Eigen::VectorXd::NullaryExpr(n, [&] { return n01(rng); });
  std::vector<bool> marg(n, false);
  for (int i = 3; i < 11; ++i) marg[i] = true;
  Eigen::MatrixXd hk;
  Eigen::VectorXd bk;
  MarginalizeDense(h, b, marg, &hk, &bk);
  ASSERT_EQ(hk.rows(), n - 8);
  const Eigen::VectorXd full = h.ldlt().solve(-b);
  const Eigen::VectorXd reduced = hk.ldlt().solve(-bk);
  int k = 0;
  for (int i = 0; i < n; ++i) {
    if (marg[i]) continue;
    EXPECT_NEAR(reduced(k), full(i), 1e-8 * full.norm());
    ++k;
  }
}

TEST(Schur, GaugeDirectionIsProjectedOutOfTheFrameStep) {
  // A system with an exact null direction n (as monocular scale is for the window BA): the solver's
  // frame step must have no component along n, and still minimise the model on n's complement.
  std::mt19937 rng(5);
  std::normal_distribution<double> n01(0.0, 1.0);
  const int nf = 3 * kFrameDim;
  SchurSystem sys(3);
  Eigen::VectorXd n = Eigen::VectorXd::NullaryExpr(nf, [&] { return n01(rng); });
  n /= n.norm();
  const Eigen::MatrixXd p = Eigen::MatrixXd::Identity(nf, nf) - n * n.transpose();
  Eigen::MatrixXd a = Eigen::MatrixXd::NullaryExpr(nf, nf, [&] { return n01(rng); });
  sys.hff() = p * (a * a.transpose() + nf * Eigen::MatrixXd::Identity(nf, nf)) * p;
  // Gradient with a small component along n (noise): without the projection the step along n is
  // that component divided by the solver's tiny regulariser, i.e. huge.
  sys.bf() = p * Eigen::VectorXd::NullaryExpr(nf, [&] { return n01(rng); }) + 1e-3 * n;
  const std::vector<bool> fixed(nf, false);
  Eigen::VectorXd free_step, dxf;
  std::vector<double> dxp;
  sys.Solve(0.0, fixed, &free_step, &dxp);
  EXPECT_GT(std::abs(n.dot(free_step)), 1e3);  // the failure mode the projection removes
  const std::vector<Eigen::VectorXd> gauge = {3.0 * n};  // any length
  sys.Solve(0.0, fixed, &dxf, &dxp, &gauge);
  EXPECT_LT(std::abs(n.dot(dxf)), 1e-12 * dxf.norm());
  // On the complement the step solves the system: P H dx = -P b.
  const Eigen::VectorXd expected = -(sys.hff() + n * n.transpose()).ldlt().solve(p * sys.bf());
  // (b's small inconsistent part along n is removed in the preconditioned metric: O(1e-3) difference.)
  EXPECT_LT((dxf - expected).norm(), 1e-3 * expected.norm());
  const std::vector<Eigen::VectorXd> wrong = {Eigen::VectorXd::Ones(nf - 1)};
  EXPECT_THROW(sys.Solve(0.0, fixed, &dxf, &dxp, &wrong), std::invalid_argument);
}

TEST(Marginalization, SchurOnPointsEqualsDenseMarginalization) {
  std::mt19937 rng(11);
  SchurSystem sys = RandomSystem(3, 25, &rng);
  Eigen::MatrixXd hsc, h, hk;
  Eigen::VectorXd bsc, b, bk;
  sys.Reduce(0.0, &hsc, &bsc);
  sys.ToDense(&h, &b);
  std::vector<bool> marg(h.rows(), false);
  for (int i = 3 * kFrameDim; i < h.rows(); ++i) marg[i] = true;
  MarginalizeDense(h, b, marg, &hk, &bk);
  EXPECT_LT((hk - hsc).norm(), 1e-8 * hsc.norm());
  EXPECT_LT((bk - bsc).norm(), 1e-8 * (bsc.norm() + 1.0));
}

TEST(Marginalization, RejectsSizeMismatch) {
  Eigen::MatrixXd h = Eigen::MatrixXd::Identity(3, 3), ho;
  Eigen::VectorXd b = Eigen::VectorXd::Zero(3), bo;
  EXPECT_THROW(MarginalizeDense(h, b, std::vector<bool>(2, false), &ho, &bo), std::invalid_argument);
}

}  // namespace
}  // namespace dso
