#include "dso/two_view_init.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

namespace dso {
namespace {

// Triangulates the depths (d1, d2) with d2 * x2 = R * d1 * x1 + t (least squares). False if behind.
bool Triangulate(const Mat3& r, const Vec3& t, const Vec3& x1, const Vec3& x2, double* d1) {
  Eigen::Matrix<double, 3, 2> a;
  a.col(0) = r * x1;
  a.col(1) = -x2;
  const Eigen::Vector2d d = (a.transpose() * a).ldlt().solve(-a.transpose() * t);
  *d1 = d(0);
  return d(0) > 0.0 && d(1) > 0.0 && std::isfinite(d(0));
}

double Sampson(const Mat3& e, const Vec3& x1, const Vec3& x2) {
  const Vec3 ex1 = e * x1, etx2 = e.transpose() * x2;
  const double num = x2.dot(ex1);
  const double den = ex1.head<2>().squaredNorm() + etx2.head<2>().squaredNorm();
  return den > 0 ? num * num / den : 1e30;
}

}  // namespace

TwoViewInitializer::TwoViewInitializer(const PinholeCamera& camera, const InitializerOptions& options, unsigned seed)
    : camera_(camera), options_(options), rng_(seed) {}

int TwoViewInitializer::num_tracks() const { return static_cast<int>(std::count(alive_.begin(), alive_.end(), true)); }

void TwoViewInitializer::Reset(std::shared_ptr<const ImagePyramid> first) {
  first_ = first;
  prev_ = first;
  frames_ = 0;
  first_px_.clear();
  const int w = first->Width(0), h = first->Height(0);
  const int cell = std::max(8, static_cast<int>(std::sqrt(static_cast<double>(w) * h / options_.max_features)));
  const int border = options_.klt_window + 2;
  for (int cy = border; cy + cell <= h - border; cy += cell) {
    for (int cx = border; cx + cell <= w - border; cx += cell) {
      double best = 0.0;
      Vec2 best_px;
      for (int y = cy; y < cy + cell; y += 2) {
        for (int x = cx; x < cx + cell; x += 2) {
          double sxx = 0, sxy = 0, syy = 0;
          for (int dy = -2; dy <= 2; ++dy) {
            for (int dx = -2; dx <= 2; ++dx) {
              const Eigen::Vector3f& g = first->At(0, x + dx, y + dy);
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
      if (best > 25.0 * 4.0) first_px_.push_back(best_px);  // mean min-eigenvalue of 4 (grey/px)^2
    }
  }
  cur_px_ = first_px_;
  alive_.assign(first_px_.size(), true);
}

bool TwoViewInitializer::TrackLK(const ImagePyramid& prev, const ImagePyramid& cur, const Vec2& p_prev,
                                 Vec2* p_cur) const {
  const int half = options_.klt_window / 2;
  const int levels = std::min({options_.klt_levels, prev.NumLevels(), cur.NumLevels()});
  Vec2 d = *p_cur - p_prev;  // displacement guess at level 0
  for (int l = levels - 1; l >= 0; --l) {
    const double sc = 1.0 / (1 << l);
    const Vec2 pl((p_prev.x() + 0.5) * sc - 0.5, (p_prev.y() + 0.5) * sc - 0.5);
    Vec2 dl = d * sc;
    // Inverse compositional: template and Hessian from the previous frame.
    std::vector<Eigen::Vector3f> tmpl;
    Eigen::Matrix2d hes = Eigen::Matrix2d::Zero();
    bool ok = true;
    for (int dy = -half; dy <= half && ok; ++dy) {
      for (int dx = -half; dx <= half; ++dx) {
        Eigen::Vector3f v;
        if (!prev.InterpolateChecked(l, pl.x() + dx, pl.y() + dy, &v)) { ok = false; break; }
        tmpl.push_back(v);
        hes += Eigen::Vector2d(v[1], v[2]) * Eigen::RowVector2d(v[1], v[2]);
      }
    }
    if (!ok || hes.determinant() < 1e-6) return false;
    const Eigen::Matrix2d hinv = hes.inverse();
    double err = 0.0;
    for (int it = 0; it < 12; ++it) {
      Eigen::Vector2d g = Eigen::Vector2d::Zero();
      int k = 0;
      err = 0.0;
      for (int dy = -half; dy <= half && ok; ++dy) {
        for (int dx = -half; dx <= half; ++dx, ++k) {
          const float x = pl.x() + dl.x() + dx, y = pl.y() + dl.y() + dy;
          if (!cur.InBounds(l, x, y)) { ok = false; break; }
          const double e = cur.InterpolateValue(l, x, y) - tmpl[k][0];
          g += Eigen::Vector2d(tmpl[k][1], tmpl[k][2]) * e;
          err += std::abs(e);
        }
      }
      if (!ok) return false;
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
  std::vector<double> flow;
  for (size_t i = 0; i < first_px_.size(); ++i) {
    if (!alive_[i]) continue;
    const Vec2 prev = cur_px_[i];
    Vec2 cur = prev;  // zero-motion guess relative to the previous frame
    if (!TrackLK(*prev_, *frame, prev, &cur)) {
      alive_[i] = false;
      continue;
    }
    cur_px_[i] = cur;
    flow.push_back((cur - first_px_[i]).norm());
  }
  prev_ = frame;
  if (static_cast<int>(flow.size()) < options_.min_inliers) return false;
  std::nth_element(flow.begin(), flow.begin() + flow.size() / 2, flow.end());
  if (flow[flow.size() / 2] < options_.min_parallax_px) return false;
  return Solve(result);
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

bool TwoViewInitializer::Solve(TwoViewResult* result) {
  std::vector<Vec3> x1, x2;
  std::vector<int> ids;
  for (size_t i = 0; i < first_px_.size(); ++i) {
    if (!alive_[i]) continue;
    x1.push_back(camera_.Unproject(first_px_[i]));
    x2.push_back(camera_.Unproject(cur_px_[i]));
    ids.push_back(static_cast<int>(i));
  }
  const int n = static_cast<int>(x1.size());
  const double thr = std::pow(options_.ransac_threshold_px / camera_.fx, 2);
  std::uniform_int_distribution<int> pick(0, n - 1);
  Mat3 best_e;
  int best_count = -1;
  std::vector<int> sample(8);
  for (int it = 0; it < options_.ransac_iterations; ++it) {
    for (int k = 0; k < 8; ++k) sample[k] = pick(rng_);
    const Mat3 e = EightPoint(x1, x2, sample);
    int count = 0;
    for (int i = 0; i < n; ++i) count += Sampson(e, x1[i], x2[i]) < thr ? 1 : 0;
    if (count > best_count) {
      best_count = count;
      best_e = e;
    }
  }
  if (best_count < options_.min_inliers) return false;
  std::vector<int> inl;
  for (int i = 0; i < n; ++i) {
    if (Sampson(best_e, x1[i], x2[i]) < thr) inl.push_back(i);
  }
  const Mat3 e = EightPoint(x1, x2, inl);  // refit on all inliers
  Eigen::JacobiSVD<Mat3> svd(e, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Mat3 u = svd.matrixU(), v = svd.matrixV();
  if (u.determinant() < 0) u = -u;
  if (v.determinant() < 0) v = -v;
  Mat3 w;
  w << 0, -1, 0, 1, 0, 0, 0, 0, 1;
  const Mat3 rots[2] = {u * w * v.transpose(), u * w.transpose() * v.transpose()};
  int best_good = -1;
  Mat3 best_r;
  Vec3 best_t;
  for (const Mat3& r : rots) {
    for (double sign : {1.0, -1.0}) {
      const Vec3 t = sign * u.col(2);
      int good = 0;
      double d1 = 0.0;
      for (int i : inl) good += Triangulate(r, t, x1[i], x2[i], &d1) ? 1 : 0;
      if (good > best_good) {
        best_good = good;
        best_r = r;
        best_t = t;
      }
    }
  }
  if (best_good < options_.min_inliers || best_good < 0.8 * inl.size()) return false;
  result->first_pixels.clear();
  result->idepths.clear();
  for (int i : inl) {
    double d1 = 0.0;
    if (!Triangulate(best_r, best_t, x1[i], x2[i], &d1)) continue;
    // Reject points with too little parallax (ray angle < 0.3 deg).
    const double angle = std::acos(std::clamp((best_r * x1[i]).normalized().dot(x2[i].normalized()), -1.0, 1.0));
    if (angle < 0.3 * M_PI / 180.0) continue;
    result->first_pixels.push_back(first_px_[ids[i]]);
    result->idepths.push_back(1.0 / d1);
  }
  if (static_cast<int>(result->idepths.size()) < options_.min_inliers) return false;
  std::vector<double> sorted = result->idepths;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double m = sorted[sorted.size() / 2];
  for (double& id : result->idepths) id /= m;
  result->second_from_first = SE3(best_r, best_t * m);
  result->inliers = static_cast<int>(result->idepths.size());
  return true;
}

}  // namespace dso
