#include "dso/two_view_init.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <random>

namespace dso {
namespace {

constexpr double kDeg = M_PI / 180.0;

// Triangulates the depths (d1, d2) with d2 * x2 = R * d1 * x1 + t (least squares). False if behind.
bool Triangulate(const Mat3& r, const Vec3& t, const Vec3& x1, const Vec3& x2, double* d1) {
  Eigen::Matrix<double, 3, 2> a;
  a.col(0) = r * x1;
  a.col(1) = -x2;
  const Eigen::Vector2d d = (a.transpose() * a).ldlt().solve(-a.transpose() * t);
  *d1 = d(0);
  return d(0) > 0.0 && d(1) > 0.0 && std::isfinite(d(0));
}

// Signed Sampson distance of x2^T E x1 = 0 (normalised units; 1e15 when degenerate).
double SignedSampson(const Mat3& e, const Vec3& x1, const Vec3& x2) {
  const Vec3 ex1 = e * x1, etx2 = e.transpose() * x2;
  const double den = ex1.head<2>().squaredNorm() + etx2.head<2>().squaredNorm();
  return den > 0 ? x2.dot(ex1) / std::sqrt(den) : 1e15;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Orthonormal 3x2 basis of the plane orthogonal to the unit vector t.
Eigen::Matrix<double, 3, 2> TangentBasis(const Vec3& t) {
  const Vec3 a = std::abs(t.x()) < 0.9 ? Vec3::UnitX() : Vec3::UnitY();
  const Vec3 b1 = t.cross(a).normalized();
  Eigen::Matrix<double, 3, 2> b;
  b.col(0) = b1;
  b.col(1) = t.cross(b1);
  return b;
}

// Gauss-Newton (Levenberg damping) on (rotation, unit translation) minimising the Huber-weighted
// Sampson error in pixels of the correspondences `idx`. Returns the 5x5 Hessian at the solution
// (unit pixel noise): rotation tangent first (rad), then translation direction tangent (rad).
Eigen::Matrix<double, 5, 5> RefinePose(const std::vector<Vec3>& x1, const std::vector<Vec3>& x2,
                                       const std::vector<int>& idx, double focal, double huber_px, Mat3* r,
                                       Vec3* t) {
  auto update = [&](const Eigen::Matrix<double, 5, 1>& d, const Mat3& r0, const Vec3& t0, Mat3* r1, Vec3* t1) {
    *r1 = SO3::Exp(d.head<3>()).Matrix() * r0;
    *t1 = (t0 + TangentBasis(t0) * d.tail<2>()).normalized();
  };
  auto residuals = [&](const Mat3& rr, const Vec3& tt, Eigen::VectorXd* res) {
    const Mat3 e = Hat(tt) * rr;
    res->resize(idx.size());
    for (size_t k = 0; k < idx.size(); ++k) (*res)(k) = focal * SignedSampson(e, x1[idx[k]], x2[idx[k]]);
  };
  auto cost = [&](const Eigen::VectorXd& res) {
    double c = 0.0;
    for (int k = 0; k < res.size(); ++k) {
      const double a = std::abs(res(k));
      c += a <= huber_px ? 0.5 * a * a : huber_px * (a - 0.5 * huber_px);
    }
    return c;
  };
  Eigen::Matrix<double, 5, 5> h = Eigen::Matrix<double, 5, 5>::Zero();
  double lambda = 1e-4;
  Eigen::VectorXd res;
  residuals(*r, *t, &res);
  double c0 = cost(res);
  for (int it = 0; it < 15; ++it) {
    // Central-difference Jacobian (5 parameters, cheap).
    Eigen::MatrixXd jac(idx.size(), 5);
    for (int p = 0; p < 5; ++p) {
      Eigen::Matrix<double, 5, 1> d = Eigen::Matrix<double, 5, 1>::Zero();
      d(p) = 1e-6;
      Mat3 rp, rm;
      Vec3 tp, tm;
      update(d, *r, *t, &rp, &tp);
      update(-d, *r, *t, &rm, &tm);
      Eigen::VectorXd rsp, rsm;
      residuals(rp, tp, &rsp);
      residuals(rm, tm, &rsm);
      jac.col(p) = (rsp - rsm) / 2e-6;
    }
    Eigen::Matrix<double, 5, 1> g = Eigen::Matrix<double, 5, 1>::Zero();
    h.setZero();
    for (int k = 0; k < res.size(); ++k) {
      const double a = std::abs(res(k));
      const double w = a <= huber_px ? 1.0 : huber_px / a;
      h += w * jac.row(k).transpose() * jac.row(k);
      g += w * jac.row(k).transpose() * res(k);
    }
    bool accepted = false;
    for (int tries = 0; tries < 6 && !accepted; ++tries) {
      Eigen::Matrix<double, 5, 5> hd = h;
      hd.diagonal() *= 1.0 + lambda;
      const Eigen::Matrix<double, 5, 1> d = -hd.ldlt().solve(g);
      Mat3 r1;
      Vec3 t1;
      update(d, *r, *t, &r1, &t1);
      Eigen::VectorXd res1;
      residuals(r1, t1, &res1);
      const double c1 = cost(res1);
      if (c1 < c0) {
        accepted = true;
        const bool converged = d.norm() < 1e-9 || c0 - c1 < 1e-10 * c0;
        *r = r1;
        *t = t1;
        res = res1;
        c0 = c1;
        lambda = std::max(1e-7, lambda * 0.1);
        if (converged) return h;
      } else {
        lambda *= 10.0;
      }
    }
    if (!accepted) break;
  }
  return h;
}

std::vector<Vec2> DetectCorners(const ImagePyramid& pyr, const InitializerOptions& options) {
  const int w = pyr.Width(0), h = pyr.Height(0);
  const int cell = std::max(8, static_cast<int>(std::sqrt(static_cast<double>(w) * h / options.max_features)));
  const int border = options.klt_window + 2;
  std::vector<std::pair<double, Vec2>> best_per_cell;
  for (int cy = border; cy + cell <= h - border; cy += cell) {
    for (int cx = border; cx + cell <= w - border; cx += cell) {
      double best = 0.0;
      Vec2 best_px;
      for (int y = cy; y < cy + cell; y += 2) {
        for (int x = cx; x < cx + cell; x += 2) {
          double sxx = 0, sxy = 0, syy = 0;
          for (int dy = -2; dy <= 2; ++dy) {
            for (int dx = -2; dx <= 2; ++dx) {
              const Eigen::Vector3f& g = pyr.At(0, x + dx, y + dy);
              sxx += g[1] * g[1];
              sxy += g[1] * g[2];
              syy += g[2] * g[2];
            }
          }
          const double min_eig = 0.5 * (sxx + syy) - std::sqrt(0.25 * (sxx - syy) * (sxx - syy) + sxy * sxy);
          if (min_eig > best) {
            best = min_eig;
            best_px = Vec2(x, y);
          }
        }
      }
      best_per_cell.emplace_back(best, best_px);
    }
  }
  // Mean min-eigenvalue of 4 (grey/px)^2 over the 5x5 window; down to 0.4 when texture is scarce.
  std::vector<Vec2> out;
  for (double thr : {25.0 * 4.0, 25.0 * 0.4}) {
    out.clear();
    for (const auto& [score, px] : best_per_cell) {
      if (score > thr) out.push_back(px);
    }
    if (static_cast<int>(out.size()) >= 3 * options.min_inliers) break;
  }
  return out;
}

}  // namespace

TwoViewInitializer::TwoViewInitializer(const PinholeCamera& camera, const InitializerOptions& options, unsigned seed)
    : camera_(camera), options_(options), seed_(seed) {}

int TwoViewInitializer::num_tracks() const { return refs_.empty() ? 0 : refs_.front().num_alive; }

void TwoViewInitializer::AddReference(std::shared_ptr<const ImagePyramid> pyr) {
  Reference ref;
  ref.pyramid = pyr;
  ref.frame = frames_;
  ref.first_px = DetectCorners(*pyr, options_);
  ref.cur_px = ref.first_px;
  ref.velocity.assign(ref.first_px.size(), last_shift_);
  ref.alive.assign(ref.first_px.size(), true);
  ref.num_alive = static_cast<int>(ref.first_px.size());
  refs_.push_back(std::move(ref));
}

void TwoViewInitializer::Reset(std::shared_ptr<const ImagePyramid> first) {
  refs_.clear();
  frames_ = 0;
  last_shift_ = Vec2::Zero();
  prev_ = first;
  AddReference(first);
}

bool TwoViewInitializer::TrackLK(const ImagePyramid& prev, const ImagePyramid& cur, const Vec2& p_prev,
                                 Vec2* p_cur) const {
  const int half = options_.klt_window / 2;
  const int levels = std::min({options_.klt_levels, prev.NumLevels(), cur.NumLevels()});
  Vec2 d = *p_cur - p_prev;  // displacement guess at level 0
  std::vector<Eigen::Vector3f> tmpl;
  tmpl.reserve(options_.klt_window * options_.klt_window);
  for (int l = levels - 1; l >= 0; --l) {
    const double sc = 1.0 / (1 << l);
    const Vec2 pl((p_prev.x() + 0.5) * sc - 0.5, (p_prev.y() + 0.5) * sc - 0.5);
    Vec2 dl = d * sc;
    // Inverse compositional: template and Hessian from the previous frame.
    tmpl.clear();
    Eigen::Matrix2d hes = Eigen::Matrix2d::Zero();
    for (int dy = -half; dy <= half; ++dy) {
      for (int dx = -half; dx <= half; ++dx) {
        Eigen::Vector3f v;
        if (!prev.InterpolateChecked(l, pl.x() + dx, pl.y() + dy, &v)) return false;
        tmpl.push_back(v);
        hes += Eigen::Vector2d(v[1], v[2]) * Eigen::RowVector2d(v[1], v[2]);
      }
    }
    if (hes.determinant() < 1e-6) return false;
    const Eigen::Matrix2d hinv = hes.inverse();
    double err = 0.0;
    for (int it = 0; it < 12; ++it) {
      Eigen::Vector2d g = Eigen::Vector2d::Zero();
      int k = 0;
      err = 0.0;
      for (int dy = -half; dy <= half; ++dy) {
        for (int dx = -half; dx <= half; ++dx, ++k) {
          const float x = pl.x() + dl.x() + dx, y = pl.y() + dl.y() + dy;
          if (!cur.InBounds(l, x, y)) return false;
          const double e = cur.InterpolateValue(l, x, y) - tmpl[k][0];
          g += Eigen::Vector2d(tmpl[k][1], tmpl[k][2]) * e;
          err += std::abs(e);
        }
      }
      const Vec2 step = hinv * g;
      dl -= step;
      if (step.norm() < 0.01) break;
    }
    if (l == 0 && err / tmpl.size() > 12.0) return false;
    d = dl / sc;
  }
  *p_cur = p_prev + d;
  return cur.InBounds(0, p_cur->x(), p_cur->y(), 2.f);
}

bool TwoViewInitializer::AddFrame(std::shared_ptr<const ImagePyramid> frame, TwoViewResult* result) {
  ++frames_;
  std::vector<double> shift_x, shift_y;
  for (Reference& ref : refs_) {
    for (size_t i = 0; i < ref.first_px.size(); ++i) {
      if (!ref.alive[i]) continue;
      const Vec2 prev = ref.cur_px[i];
      Vec2 cur = prev + ref.velocity[i];  // constant-flow guess
      Vec2 back = prev;  // guess for tracking back: where the track came from
      // Forward-backward check: tracking back must land within 1 px of where the track came from.
      const bool ok = TrackLK(*prev_, *frame, prev, &cur) && TrackLK(*frame, *prev_, cur, &back) &&
                      (back - prev).norm() <= 1.0;
      if (!ok) {
        ref.alive[i] = false;
        --ref.num_alive;
        continue;
      }
      ref.velocity[i] = cur - prev;
      ref.cur_px[i] = cur;
      shift_x.push_back(cur.x() - prev.x());
      shift_y.push_back(cur.y() - prev.y());
    }
  }
  last_shift_ = Vec2(Median(shift_x), Median(shift_y));
  prev_ = frame;
  refs_.erase(std::remove_if(refs_.begin(), refs_.end(),
                             [&](const Reference& r) {
                               return r.num_alive < options_.min_inliers ||
                                      frames_ - r.frame > options_.max_init_frames;
                             }),
              refs_.end());
  bool found = false;
  for (const Reference& ref : refs_) {
    std::vector<Vec2> p1, p2;
    std::vector<double> flow;
    for (size_t i = 0; i < ref.first_px.size(); ++i) {
      if (!ref.alive[i]) continue;
      p1.push_back(ref.first_px[i]);
      p2.push_back(ref.cur_px[i]);
      flow.push_back((ref.cur_px[i] - ref.first_px[i]).norm());
    }
    if (Median(flow) < options_.min_parallax_px) continue;
    TwoViewResult cand;
    if (!SolvePair(p1, p2, &cand)) continue;
    if (!found || cand.direction_sigma_deg < result->direction_sigma_deg) {
      *result = std::move(cand);
      result->span = frames_ - ref.frame;
      found = true;
    }
  }
  if (found) return true;
  if (refs_.empty() || (frames_ - refs_.back().frame >= options_.reference_interval &&
                        static_cast<int>(refs_.size()) < options_.max_references)) {
    AddReference(frame);
  }
  return false;
}

Mat3 TwoViewInitializer::EightPoint(const std::vector<Vec3>& x1, const std::vector<Vec3>& x2,
                                    const std::vector<int>& idx) {
  Eigen::Matrix<double, 9, 9> ata = Eigen::Matrix<double, 9, 9>::Zero();
  for (int i : idx) {
    Eigen::Matrix<double, 9, 1> row;
    row << x2[i].x() * x1[i].x(), x2[i].x() * x1[i].y(), x2[i].x(), x2[i].y() * x1[i].x(), x2[i].y() * x1[i].y(),
        x2[i].y(), x1[i].x(), x1[i].y(), 1.0;
    ata += row * row.transpose();
  }
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix<double, 9, 9>> es(ata);
  const Eigen::Matrix<double, 9, 1> e = es.eigenvectors().col(0);
  Mat3 em;
  em << e(0), e(1), e(2), e(3), e(4), e(5), e(6), e(7), e(8);
  Eigen::JacobiSVD<Mat3> svd(em, Eigen::ComputeFullU | Eigen::ComputeFullV);
  return svd.matrixU() * Vec3(1, 1, 0).asDiagonal() * svd.matrixV().transpose();
}

bool TwoViewInitializer::SolvePair(const std::vector<Vec2>& first_px, const std::vector<Vec2>& second_px,
                                   TwoViewResult* result) const {
  const int n = static_cast<int>(first_px.size());
  if (n < options_.min_inliers || n != static_cast<int>(second_px.size())) return false;
  std::vector<Vec3> x1(n), x2(n);
  for (int i = 0; i < n; ++i) {
    x1[i] = camera_.Unproject(first_px[i]);
    x2[i] = camera_.Unproject(second_px[i]);
  }
  const double focal = 0.5 * (camera_.fx + camera_.fy);
  const double thr = options_.ransac_threshold_px / focal;
  // The sample sequence depends only on the seed and n: the same tracks give the same result.
  std::mt19937 rng(seed_ * 7919u + static_cast<unsigned>(n));
  std::uniform_int_distribution<int> pick(0, n - 1);
  Mat3 best_e;
  int best_count = -1;
  std::vector<int> sample(8);
  for (int it = 0; it < options_.ransac_iterations; ++it) {
    for (int k = 0; k < 8; ++k) sample[k] = pick(rng);
    const Mat3 e = EightPoint(x1, x2, sample);
    int count = 0;
    for (int i = 0; i < n; ++i) count += std::abs(SignedSampson(e, x1[i], x2[i])) < thr ? 1 : 0;
    if (count > best_count) {
      best_count = count;
      best_e = e;
    }
  }
  if (best_count < options_.min_inliers) return false;
  std::vector<int> inl;
  for (int i = 0; i < n; ++i) {
    if (std::abs(SignedSampson(best_e, x1[i], x2[i])) < thr) inl.push_back(i);
  }
  // Decompose the refit on all inliers; keep the (R, t) with most points in front of both cameras.
  const Mat3 e = EightPoint(x1, x2, inl);
  Eigen::JacobiSVD<Mat3> svd(e, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Mat3 u = svd.matrixU(), v = svd.matrixV();
  if (u.determinant() < 0) u = -u;
  if (v.determinant() < 0) v = -v;
  Mat3 w;
  w << 0, -1, 0, 1, 0, 0, 0, 0, 1;
  auto count_in_front = [&](const Mat3& r, const Vec3& t) {
    int good = 0;
    double d1 = 0.0;
    for (int i : inl) good += Triangulate(r, t, x1[i], x2[i], &d1) ? 1 : 0;
    return good;
  };
  int best_good = -1;
  Mat3 r;
  Vec3 t;
  for (const Mat3& rc : {Mat3(u * w * v.transpose()), Mat3(u * w.transpose() * v.transpose())}) {
    for (double sign : {1.0, -1.0}) {
      const Vec3 tc = sign * u.col(2);
      const int good = count_in_front(rc, tc);
      if (good > best_good) {
        best_good = good;
        r = rc;
        t = tc;
      }
    }
  }
  // Refine on the inliers, re-select them with the refined model, refine again.
  Eigen::Matrix<double, 5, 5> h;
  for (int round = 0; round < 2; ++round) {
    h = RefinePose(x1, x2, inl, focal, options_.ransac_threshold_px, &r, &t);
    const Mat3 er = Hat(t) * r;
    inl.clear();
    for (int i = 0; i < n; ++i) {
      if (std::abs(SignedSampson(er, x1[i], x2[i])) < thr) inl.push_back(i);
    }
    if (static_cast<int>(inl.size()) < options_.min_inliers) return false;
  }
  const int inliers = static_cast<int>(inl.size());
  if (inliers < options_.min_inlier_ratio * n || count_in_front(r, t) < 0.8 * inliers) return false;
  // Conditioning: translation-direction std from the Gauss-Newton Hessian (1 px noise).
  Eigen::FullPivLU<Eigen::Matrix<double, 5, 5>> lu(h);
  if (!lu.isInvertible()) return false;
  const Eigen::Matrix<double, 5, 5> cov = lu.inverse();
  const Eigen::Matrix2d cov_t = cov.bottomRightCorner<2, 2>();
  const double dir_sigma = std::sqrt(std::max(0.0, Eigen::SelfAdjointEigenSolver<Eigen::Matrix2d>(cov_t)
                                                       .eigenvalues()
                                                       .maxCoeff())) / kDeg;
  std::vector<double> angles;
  result->first_pixels.clear();
  result->idepths.clear();
  for (int i : inl) {
    const double angle = std::acos(std::clamp((r * x1[i]).normalized().dot(x2[i].normalized()), -1.0, 1.0));
    angles.push_back(angle / kDeg);
    double d1 = 0.0;
    if (!Triangulate(r, t, x1[i], x2[i], &d1)) continue;
    if (angle < 0.3 * kDeg) continue;  // too little parallax for a depth
    result->first_pixels.push_back(first_px[i]);
    result->idepths.push_back(1.0 / d1);
  }
  result->parallax_deg = Median(angles);
  result->inliers = inliers;
  result->direction_sigma_deg = dir_sigma;
  if (result->parallax_deg < options_.min_parallax_deg || dir_sigma > options_.max_direction_sigma_deg ||
      static_cast<int>(result->idepths.size()) < options_.min_inliers) {
    return false;
  }
  const double m = Median(result->idepths);
  for (double& id : result->idepths) id /= m;
  result->second_from_first = SE3(r, t * m);
  result->inliers = static_cast<int>(result->idepths.size());
  return true;
}

}  // namespace dso
