#include "dso/schur.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace dso {

void PointBlock::AddCoupling(int frame, const Vec8& h) {
  for (auto& fh : hfp) {
    if (fh.first == frame) {
      fh.second += h;
      return;
    }
  }
  hfp.emplace_back(frame, h);
}

SchurSystem::SchurSystem(int num_frames)
    : num_frames_(num_frames),
      hff_(Eigen::MatrixXd::Zero(num_frames * kFrameDim, num_frames * kFrameDim)),
      bf_(Eigen::VectorXd::Zero(num_frames * kFrameDim)) {
  if (num_frames < 0) throw std::invalid_argument("SchurSystem: num_frames must be >= 0");
}

void SchurSystem::Reset(size_t num_points) {
  hff_.setZero();
  bf_.setZero();
  points_.resize(num_points);
  for (PointBlock& p : points_) {
    p.hpp = 0.0;
    p.bp = 0.0;
    p.hfp.clear();  // keeps its capacity: no allocation when the system is reused
  }
}

void SchurSystem::Reduce(double point_lambda, Eigen::MatrixXd* hsc, Eigen::VectorXd* bsc) const {
  *hsc = hff_;
  *bsc = bf_;
  // Only the frame blocks (fi, fj) with fi <= fj are accumulated; the lower ones are their
  // transposes (Hff's off-diagonal blocks are exact transposes of each other).
  for (const PointBlock& p : points_) {
    if (!(p.hpp > 0.0)) continue;
    const double inv = 1.0 / (p.hpp * (1.0 + point_lambda));
    const size_t n = p.hfp.size();
    for (size_t a = 0; a < n; ++a) {
      const auto& [fi, hi] = p.hfp[a];
      bsc->segment<kFrameDim>(fi * kFrameDim) -= hi * (inv * p.bp);
      const Vec8 hi_inv = inv * hi;
      hsc->block<kFrameDim, kFrameDim>(fi * kFrameDim, fi * kFrameDim).noalias() -= hi_inv * hi.transpose();
      for (size_t b = a + 1; b < n; ++b) {
        const auto& [fj, hj] = p.hfp[b];
        if (fi < fj) {
          hsc->block<kFrameDim, kFrameDim>(fi * kFrameDim, fj * kFrameDim).noalias() -= hi_inv * hj.transpose();
        } else {
          hsc->block<kFrameDim, kFrameDim>(fj * kFrameDim, fi * kFrameDim).noalias() -= hj * hi_inv.transpose();
        }
      }
    }
  }
  for (int fi = 0; fi < num_frames_; ++fi) {
    for (int fj = fi + 1; fj < num_frames_; ++fj) {
      hsc->block<kFrameDim, kFrameDim>(fj * kFrameDim, fi * kFrameDim) =
          hsc->block<kFrameDim, kFrameDim>(fi * kFrameDim, fj * kFrameDim).transpose();
    }
  }
}

void SchurSystem::Solve(double lambda, const std::vector<bool>& fixed, Eigen::VectorXd* dx_frames,
                        std::vector<double>* dx_points, const std::vector<Eigen::VectorXd>* gauge) const {
  const int n = num_frames_ * kFrameDim;
  if (static_cast<int>(fixed.size()) != n) {
    throw std::invalid_argument("SchurSystem::Solve: fixed has " + std::to_string(fixed.size()) +
                                " entries, expected " + std::to_string(n));
  }
  Eigen::MatrixXd hsc;
  Eigen::VectorXd bsc;
  Reduce(lambda, &hsc, &bsc);
  for (int i = 0; i < n; ++i) {
    if (fixed[i]) {
      hsc.row(i).setZero();
      hsc.col(i).setZero();
      hsc(i, i) = 1.0;
      bsc(i) = 0.0;
    } else {
      // Damping on the reduced diagonal (Levenberg-Marquardt); a tiny absolute term keeps
      // unobserved directions (e.g. monocular scale) regular.
      hsc(i, i) = hsc(i, i) * (1.0 + lambda) + 1e-9;
    }
  }
  // Jacobi preconditioning: variables have very different units (pixels vs affine offsets).
  Eigen::VectorXd s = hsc.diagonal().cwiseAbs().cwiseMax(1e-12).cwiseSqrt().cwiseInverse();
  Eigen::MatrixXd hs = s.asDiagonal() * hsc * s.asDiagonal();
  Eigen::VectorXd bs = s.cwiseProduct(bsc);
  // Gauge directions: orthonormal basis (Gram-Schmidt) in the solver's variables; fixed entries
  // are not part of them.
  std::vector<Eigen::VectorXd> basis;
  if (gauge != nullptr) {
    for (const Eigen::VectorXd& g : *gauge) {
      if (g.size() != n) {
        throw std::invalid_argument("SchurSystem::Solve: gauge direction has " + std::to_string(g.size()) +
                                    " entries, expected " + std::to_string(n));
      }
      Eigen::VectorXd v = g;
      for (int i = 0; i < n; ++i) {
        if (fixed[i]) v(i) = 0.0;
      }
      for (const Eigen::VectorXd& e : basis) v -= e.dot(v) * e;
      const double norm = v.norm();
      if (norm > 1e-12 * std::max(g.norm(), 1e-300)) basis.push_back(v / norm);
    }
  }
  // A unit-curvature term along each (preconditioned) gauge direction keeps the solve well
  // conditioned: for an exact null direction the step on its complement does not depend on it,
  // and the component it leaves along the direction is projected out below.
  for (const Eigen::VectorXd& e : basis) {
    const Eigen::VectorXd es = e.cwiseQuotient(s).normalized();
    hs.noalias() += es * es.transpose();
  }
  Eigen::LDLT<Eigen::MatrixXd> ldlt(hs);
  *dx_frames = -s.cwiseProduct(ldlt.solve(bs));
  for (int i = 0; i < n; ++i) {
    if (fixed[i] || !std::isfinite((*dx_frames)(i))) (*dx_frames)(i) = 0.0;
  }
  for (const Eigen::VectorXd& e : basis) *dx_frames -= e.dot(*dx_frames) * e;
  dx_points->assign(points_.size(), 0.0);
  for (size_t k = 0; k < points_.size(); ++k) {
    const PointBlock& p = points_[k];
    if (!(p.hpp > 0.0)) continue;
    double rhs = p.bp;
    for (const auto& [fi, hi] : p.hfp) rhs += hi.dot(dx_frames->segment<kFrameDim>(fi * kFrameDim));
    (*dx_points)[k] = -rhs / (p.hpp * (1.0 + lambda));
  }
}

void SchurSystem::ToDense(Eigen::MatrixXd* h, Eigen::VectorXd* b) const {
  const int nf = num_frames_ * kFrameDim;
  const int n = nf + static_cast<int>(points_.size());
  h->setZero(n, n);
  b->setZero(n);
  h->topLeftCorner(nf, nf) = hff_;
  b->head(nf) = bf_;
  for (size_t k = 0; k < points_.size(); ++k) {
    const int pk = nf + static_cast<int>(k);
    (*h)(pk, pk) = points_[k].hpp;
    (*b)(pk) = points_[k].bp;
    for (const auto& [fi, hi] : points_[k].hfp) {
      h->block<kFrameDim, 1>(fi * kFrameDim, pk) += hi;
      h->block<1, kFrameDim>(pk, fi * kFrameDim) += hi.transpose();
    }
  }
}

void MarginalizeDense(const Eigen::MatrixXd& h, const Eigen::VectorXd& b, const std::vector<bool>& marginalize,
                      Eigen::MatrixXd* h_out, Eigen::VectorXd* b_out, double eps) {
  const int n = static_cast<int>(h.rows());
  if (h.cols() != n || b.size() != n || static_cast<int>(marginalize.size()) != n) {
    throw std::invalid_argument("MarginalizeDense: H must be square and match b and marginalize in size");
  }
  std::vector<int> keep, marg;
  for (int i = 0; i < n; ++i) (marginalize[i] ? marg : keep).push_back(i);
  const int nk = static_cast<int>(keep.size()), nm = static_cast<int>(marg.size());
  Eigen::MatrixXd hkk(nk, nk), hkm(nk, nm), hmm(nm, nm);
  Eigen::VectorXd bk(nk), bm(nm);
  for (int i = 0; i < nk; ++i) {
    bk(i) = b(keep[i]);
    for (int j = 0; j < nk; ++j) hkk(i, j) = h(keep[i], keep[j]);
    for (int j = 0; j < nm; ++j) hkm(i, j) = h(keep[i], marg[j]);
  }
  for (int i = 0; i < nm; ++i) {
    bm(i) = b(marg[i]);
    for (int j = 0; j < nm; ++j) hmm(i, j) = h(marg[i], marg[j]);
  }
  if (nm == 0) {
    *h_out = hkk;
    *b_out = bk;
    return;
  }
  // Symmetric pseudo-inverse of Hmm, with Jacobi scaling for conditioning.
  Eigen::VectorXd s = hmm.diagonal().cwiseAbs().cwiseMax(1e-30).cwiseSqrt().cwiseInverse();
  Eigen::MatrixXd hs = s.asDiagonal() * hmm * s.asDiagonal();
  hs = 0.5 * (hs + hs.transpose()).eval();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(hs);
  const Eigen::VectorXd& ev = es.eigenvalues();
  const double thr = eps * std::max(ev.cwiseAbs().maxCoeff(), 1e-300);
  Eigen::VectorXd inv_ev(nm);
  for (int i = 0; i < nm; ++i) inv_ev(i) = ev(i) > thr ? 1.0 / ev(i) : 0.0;
  Eigen::MatrixXd hmm_inv = s.asDiagonal() * (es.eigenvectors() * inv_ev.asDiagonal() * es.eigenvectors().transpose()) *
                            s.asDiagonal();
  *h_out = hkk - hkm * hmm_inv * hkm.transpose();
  *h_out = 0.5 * (*h_out + h_out->transpose()).eval();
  *b_out = bk - hkm * (hmm_inv * bm);
}

}  // namespace dso
