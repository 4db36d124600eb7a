#include "dso/window_ba.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <thread>
#include <limits>
#include <unordered_map>

#include "dso/residual_pattern.h"

namespace dso {
namespace {

using Vec17 = Eigen::Matrix<double, 17, 1>;  // [host pose 6, a_h, b_h, target pose 6, a_t, b_t, idepth]

struct PairGeometry {
  Mat3 r_th;
  Vec3 t_th;
  double s = 1.0;  // exp(a_t - a_h)
};

PairGeometry MakePair(const Keyframe& host, const Keyframe& target) {
  PairGeometry g;
  const SE3 target_from_host = target.cam_from_world * host.cam_from_world.Inverse();
  g.r_th = target_from_host.RotationMatrix();
  g.t_th = target_from_host.Translation();
  g.s = std::exp(target.light.a - host.light.a);
  return g;
}

double HuberWeight(double r, double k) { return std::abs(r) < k ? 1.0 : k / std::abs(r); }
double HuberEnergy(double r, double k) {
  const double ar = std::abs(r);
  return ar < k ? r * r : 2.0 * k * ar - k * k;
}

}  // namespace

WindowOptimizer::WindowOptimizer(const PinholeCamera& camera, const BundleAdjustmentOptions& options)
    : camera_(camera), options_(options) {}

void WindowOptimizer::ResetPrior(Keyframe* first) {
  prior_ids_.assign(1, first->id);
  prior_h_ = Eigen::MatrixXd::Zero(kFrameDim, kFrameDim);
  prior_b_ = Eigen::VectorXd::Zero(kFrameDim);
  for (int i = 0; i < 6; ++i) prior_h_(i, i) = options_.first_frame_prior;
  prior_h_(6, 6) = prior_h_(7, 7) = options_.first_frame_prior;
  first->in_prior = true;
  first->fej_cam_from_world = first->cam_from_world;
  first->fej_light = first->light;
}

Vec8 WindowOptimizer::FejDelta(const Keyframe& kf) {
  Vec8 d;
  d.head<6>() = (kf.cam_from_world * kf.fej_cam_from_world.Inverse()).Log();
  d(6) = kf.light.a - kf.fej_light.a;
  d(7) = kf.light.b - kf.fej_light.b;
  return d;
}

bool WindowOptimizer::ResidualEnergy(const ActivePoint& p, const Keyframe& host, const Keyframe& target,
                                     double* energy) const {
  const PairGeometry g = MakePair(host, target);
  return PatternEnergy(p, host, target, g.r_th, g.t_th, g.s, energy);
}

bool WindowOptimizer::PatternEnergy(const ActivePoint& p, const Keyframe& host, const Keyframe& target,
                                    const Mat3& r_th, const Vec3& t_th, double s, double* energy) const {
  const ImagePyramid& img = *target.pyramid;
  const double c2 = options_.gradient_weight_c * options_.gradient_weight_c;
  double e = 0.0;
  for (int k = 0; k < kPatternSize; ++k) {
    const Vec3 ray((p.pixel.x() + kPattern[k][0] - camera_.cx) / camera_.fx,
                   (p.pixel.y() + kPattern[k][1] - camera_.cy) / camera_.fy, 1.0);
    const Vec3 xs = r_th * ray + t_th * p.idepth;
    if (xs.z() <= 1e-6) return false;
    const float u = static_cast<float>(camera_.fx * xs.x() / xs.z() + camera_.cx);
    const float v = static_cast<float>(camera_.fy * xs.y() / xs.z() + camera_.cy);
    if (!img.InBounds(0, u, v, 1.f)) return false;
    const Eigen::Vector3f hit = img.Interpolate(0, u, v);
    const double r = hit[0] - s * (p.intensity[k] - host.light.b) - target.light.b;
    const double w = 0.5 * (c2 / (c2 + hit[1] * hit[1] + hit[2] * hit[2]) + p.weight[k]);
    e += 0.5 * w * HuberEnergy(r, options_.huber_threshold);
  }
  *energy = e;
  return true;
}

void WindowOptimizer::PreparePairs(const std::vector<Keyframe*>& window, Pairs* pairs) const {
  const int nf = static_cast<int>(window.size());
  pairs->nf = nf;
  pairs->r_th.assign(nf * nf, Mat3::Identity());
  pairs->t_th.assign(nf * nf, Vec3::Zero());
  pairs->s.assign(nf * nf, 1.0);
  pairs->m.assign(nf * nf, Mat88::Zero());
  pairs->h.assign(nf * nf, Mat88::Zero());
  pairs->b.assign(nf * nf, Vec8::Zero());
  pairs->used.assign(nf * nf, 0);
  for (int h = 0; h < nf; ++h) {
    for (int t = 0; t < nf; ++t) {
      if (h == t) continue;
      const int i = h * nf + t;
      const SE3 target_from_host = window[t]->cam_from_world * window[h]->cam_from_world.Inverse();
      pairs->r_th[i] = target_from_host.RotationMatrix();
      pairs->t_th[i] = target_from_host.Translation();
      pairs->s[i] = std::exp(window[t]->light.a - window[h]->light.a);
      pairs->m[i].topLeftCorner<6, 6>() = target_from_host.Adjoint();
      pairs->m[i](6, 6) = 1.0;
      pairs->m[i](7, 7) = pairs->s[i];
    }
  }
}

void WindowOptimizer::FlushPairs(const Pairs& pairs, SchurSystem* sys) const {
  const int nf = pairs.nf;
  for (int h = 0; h < nf; ++h) {
    for (int t = 0; t < nf; ++t) {
      const int i = h * nf + t;
      if (!pairs.used[i]) continue;
      const Mat88& a = pairs.h[i];
      const Mat88& m = pairs.m[i];
      const Mat88 mta = m.transpose() * a;
      const int ho = h * kFrameDim, to = t * kFrameDim;
      sys->hff().block<8, 8>(to, to) += a;
      sys->hff().block<8, 8>(ho, ho) += mta * m;
      sys->hff().block<8, 8>(ho, to) -= mta;
      sys->hff().block<8, 8>(to, ho) -= mta.transpose();
      sys->bf().segment<8>(to) += pairs.b[i];
      sys->bf().segment<8>(ho) -= m.transpose() * pairs.b[i];
    }
  }
}

double WindowOptimizer::LinearizePoint(ActivePoint& p, const Keyframe& host, bool flag_outliers, Pairs* pairs,
                                       PointBlock* block, int* num_residuals, double* sq_sum,
                                       int* num_pixels) const {
  using Vec9 = Eigen::Matrix<double, 9, 1>;  // [target pose 6, a_t, b_t, idepth]
  double energy = 0.0;
  const int hi = host.window_index;
  const double c2 = options_.gradient_weight_c * options_.gradient_weight_c;
  const double rho = p.idepth;
  for (PointResidual& res : p.residuals) {
    if (res.outlier) continue;
    const Keyframe& target = *res.target;
    const int ti = target.window_index;
    if (ti < 0) continue;
    const int pi = hi * pairs->nf + ti;
    const Mat3& r_th = pairs->r_th[pi];
    const Vec3& t_th = pairs->t_th[pi];
    const double s = pairs->s[pi];
    const ImagePyramid& img = *target.pyramid;
    Eigen::Matrix<double, 9, 9> a = Eigen::Matrix<double, 9, 9>::Zero();
    Vec9 bl = Vec9::Zero();
    double e_res = 0.0, sq = 0.0;
    bool oob = false;
    for (int k = 0; k < kPatternSize; ++k) {
      const Vec3 ray((p.pixel.x() + kPattern[k][0] - camera_.cx) / camera_.fx,
                     (p.pixel.y() + kPattern[k][1] - camera_.cy) / camera_.fy, 1.0);
      const Vec3 rray = r_th * ray;
      const Vec3 xs = rray + t_th * rho;
      if (xs.z() <= 1e-6) { oob = true; break; }
      const float u = static_cast<float>(camera_.fx * xs.x() / xs.z() + camera_.cx);
      const float v = static_cast<float>(camera_.fy * xs.y() / xs.z() + camera_.cy);
      if (!img.InBounds(0, u, v, 1.f)) { oob = true; break; }
      const Eigen::Vector3f hit = img.Interpolate(0, u, v);
      const double ih = p.intensity[k] - host.light.b;
      const double r = hit[0] - s * ih - target.light.b;
      const double w = 0.5 * (c2 / (c2 + hit[1] * hit[1] + hit[2] * hit[2]) + p.weight[k]);
      const double hw = HuberWeight(r, options_.huber_threshold);
      e_res += 0.5 * w * HuberEnergy(r, options_.huber_threshold);
      sq += r * r;
      // d r / d X_t = grad^T * d pi / d X_t, with X_t = xs / rho.
      const Vec3 x_t = xs / rho;
      const Eigen::RowVector3d gd =
          Eigen::RowVector2d(hit[1], hit[2]) * ProjectionJacobian(camera_.fx, camera_.fy, x_t);
      Vec9 j;
      j.head<3>() = gd.transpose();
      j.segment<3>(3) = x_t.cross(gd.transpose());  // gd * (-Hat(x_t)) as a column
      j(6) = -s * ih;
      j(7) = -1.0;
      j(8) = -gd.dot(rray) / (rho * rho);
      const double wt = w * hw;
      a.selfadjointView<Eigen::Upper>().rankUpdate(j, wt);
      bl += j * (wt * r);
    }
    if (oob || (flag_outliers && e_res > 0.5 * options_.outlier_energy * kPatternSize)) {
      if (flag_outliers) res.outlier = true;
      if (oob) res.energy = std::numeric_limits<double>::infinity();  // removed by the final pass
      continue;
    }
    res.energy = e_res;
    energy += e_res;
    if (sq_sum) *sq_sum += sq;
    if (num_pixels) *num_pixels += kPatternSize;
    if (num_residuals) ++*num_residuals;
    if (pairs == nullptr || block == nullptr) continue;
    a.triangularView<Eigen::StrictlyLower>() = a.transpose();
    pairs->used[pi] = 1;
    pairs->h[pi] += a.topLeftCorner<8, 8>();
    pairs->b[pi] += bl.head<8>();
    block->hpp += a(8, 8);
    block->bp += bl(8);
    const Vec8 hft = a.block<8, 1>(0, 8);
    block->AddCoupling(ti, hft);
    block->AddCoupling(hi, -(pairs->m[pi].transpose() * hft));
  }
  if (p.prior_idepth > 0.0 && p.prior_idepth_var > 0.0 && options_.depth_prior_weight > 0.0) {
    const double wp = options_.depth_prior_weight / p.prior_idepth_var;
    const double r = rho - p.prior_idepth;
    energy += 0.5 * wp * r * r;
    if (block) {
      block->hpp += wp;
      block->bp += wp * r;
    }
  }
  return energy;
}

double WindowOptimizer::AddPriors(const std::vector<Keyframe*>& window, SchurSystem* sys) const {
  double energy = 0.0;
  for (const Keyframe* kf : window) {
    const int o = kf->window_index * kFrameDim;
    energy += 0.5 * options_.affine_a_prior * kf->light.a * kf->light.a +
              0.5 * options_.affine_b_prior * kf->light.b * kf->light.b;
    if (sys) {
      sys->hff()(o + 6, o + 6) += options_.affine_a_prior;
      sys->hff()(o + 7, o + 7) += options_.affine_b_prior;
      sys->bf()(o + 6) += options_.affine_a_prior * kf->light.a;
      sys->bf()(o + 7) += options_.affine_b_prior * kf->light.b;
    }
  }
  if (prior_ids_.empty()) return energy;
  std::unordered_map<int, const Keyframe*> by_id;
  for (const Keyframe* kf : window) by_id[kf->id] = kf;
  const int n = static_cast<int>(prior_ids_.size());
  Eigen::VectorXd d = Eigen::VectorXd::Zero(n * kFrameDim);
  std::vector<int> widx(n, -1);
  for (int i = 0; i < n; ++i) {
    auto it = by_id.find(prior_ids_[i]);
    if (it == by_id.end()) continue;  // cannot happen: prior frames are always in the window
    widx[i] = it->second->window_index;
    d.segment<kFrameDim>(i * kFrameDim) = FejDelta(*it->second);
  }
  const Eigen::VectorXd grad = prior_h_ * d + prior_b_;
  energy += 0.5 * d.dot(prior_h_ * d) + prior_b_.dot(d);
  if (sys) {
    for (int i = 0; i < n; ++i) {
      if (widx[i] < 0) continue;
      sys->bf().segment<kFrameDim>(widx[i] * kFrameDim) += grad.segment<kFrameDim>(i * kFrameDim);
      for (int j = 0; j < n; ++j) {
        if (widx[j] < 0) continue;
        sys->hff().block<kFrameDim, kFrameDim>(widx[i] * kFrameDim, widx[j] * kFrameDim) +=
            prior_h_.block<kFrameDim, kFrameDim>(i * kFrameDim, j * kFrameDim);
      }
    }
  }
  return energy;
}

double WindowOptimizer::TotalEnergy(const std::vector<Keyframe*>& window, const std::vector<ActivePoint*>& points,
                                    const std::vector<const Keyframe*>& hosts) const {
  Pairs pairs;
  PreparePairs(window, &pairs);
  std::vector<double> part(NumThreads(points.size()), 0.0);
  ParallelFor(points.size(), [&](int t, size_t k0, size_t k1) {
    double energy = 0.0;
    for (size_t k = k0; k < k1; ++k) {
      const ActivePoint& p = *points[k];
      const Keyframe* host = hosts[k];
      for (const PointResidual& res : p.residuals) {
        if (res.outlier || res.target->window_index < 0) continue;
        double e = 0.0;
        const int pi = host->window_index * pairs.nf + res.target->window_index;
        // A projection leaving the image during a trial step counts as the outlier energy.
        energy += PatternEnergy(p, *host, *res.target, pairs.r_th[pi], pairs.t_th[pi], pairs.s[pi], &e)
                      ? e
                      : 0.5 * options_.outlier_energy * kPatternSize;
      }
      if (p.prior_idepth > 0.0 && p.prior_idepth_var > 0.0) {
        const double r = p.idepth - p.prior_idepth;
        energy += 0.5 * options_.depth_prior_weight / p.prior_idepth_var * r * r;
      }
    }
    part[t] = energy;
  });
  double energy = AddPriors(window, nullptr);
  for (double e : part) energy += e;  // fixed order: deterministic
  return energy;
}

int WindowOptimizer::NumThreads(size_t work) const {
  return work < 256 ? 1 : std::max(1, options_.num_threads);
}

void WindowOptimizer::ParallelFor(size_t n, const std::function<void(int, size_t, size_t)>& body) const {
  const int nt = NumThreads(n);
  if (nt == 1) {
    body(0, 0, n);
    return;
  }
  std::vector<std::thread> threads;
  for (int t = 1; t < nt; ++t) threads.emplace_back(body, t, n * t / nt, n * (t + 1) / nt);
  body(0, 0, n / nt);
  for (std::thread& th : threads) th.join();
}

BundleAdjustmentStats WindowOptimizer::Optimize(const std::vector<Keyframe*>& window) {
  BundleAdjustmentStats stats;
  const int nf = static_cast<int>(window.size());
  for (int i = 0; i < nf; ++i) window[i]->window_index = i;
  std::vector<ActivePoint*> points;
  std::vector<const Keyframe*> hosts;
  for (Keyframe* kf : window) {
    for (ActivePoint& p : kf->points) {
      if (p.marked_for_removal) continue;
      points.push_back(&p);
      hosts.push_back(kf);
    }
  }
  stats.num_points = static_cast<int>(points.size());
  double lambda = options_.initial_lambda;
  std::vector<bool> fixed(nf * kFrameDim, false);
  auto linearize = [&](SchurSystem* sys, bool flag, double* rmse, int* nres) {
    double e = AddPriors(window, sys);
    double sq = 0.0;
    int npx = 0;
    sys->points().assign(points.size(), PointBlock());
    const int nt = NumThreads(points.size());
    std::vector<Pairs> pairs(nt);
    for (Pairs& p : pairs) PreparePairs(window, &p);
    std::vector<double> part_e(nt, 0.0), part_sq(nt, 0.0);
    std::vector<int> part_px(nt, 0), part_res(nt, 0);
    ParallelFor(points.size(), [&](int t, size_t k0, size_t k1) {
      for (size_t k = k0; k < k1; ++k) {
        part_e[t] += LinearizePoint(*points[k], *hosts[k], flag, &pairs[t], &sys->points()[k], &part_res[t],
                                    &part_sq[t], &part_px[t]);
      }
    });
    for (int t = 0; t < nt; ++t) {  // merge in a fixed order: deterministic
      e += part_e[t];
      sq += part_sq[t];
      npx += part_px[t];
      *nres += part_res[t];
      FlushPairs(pairs[t], sys);
    }
    *rmse = npx > 0 ? std::sqrt(sq / npx) : 0.0;
    return e;
  };
  SchurSystem sys(nf);
  int nres = 0;
  double energy = linearize(&sys, true, &stats.initial_rmse, &nres);
  stats.final_rmse = stats.initial_rmse;
  for (int it = 0; it < options_.max_iterations; ++it) {
    ++stats.iterations;
    Eigen::VectorXd dxf;
    std::vector<double> dxp;
    sys.Solve(lambda, fixed, &dxf, &dxp);
    // Back up and apply.
    std::vector<SE3> pose_bak(nf);
    std::vector<AffineLight> light_bak(nf);
    for (int i = 0; i < nf; ++i) {
      pose_bak[i] = window[i]->cam_from_world;
      light_bak[i] = window[i]->light;
      window[i]->cam_from_world = SE3::Exp(dxf.segment<6>(i * kFrameDim)) * window[i]->cam_from_world;
      window[i]->light.a += dxf(i * kFrameDim + 6);
      window[i]->light.b += dxf(i * kFrameDim + 7);
    }
    std::vector<double> idepth_bak(points.size());
    for (size_t k = 0; k < points.size(); ++k) {
      idepth_bak[k] = points[k]->idepth;
      points[k]->idepth = std::max(points[k]->idepth + dxp[k], 1e-6);
    }
    const double new_energy = TotalEnergy(window, points, hosts);
    const double step = dxf.norm();
    if (new_energy < energy) {
      ++stats.accepted_steps;
      lambda = std::max(lambda * 0.25, 1e-8);
      SchurSystem next(nf);
      nres = 0;
      energy = linearize(&next, false, &stats.final_rmse, &nres);
      sys = std::move(next);
      if (step < options_.stop_update_norm) break;
    } else {
      for (int i = 0; i < nf; ++i) {
        window[i]->cam_from_world = pose_bak[i];
        window[i]->light = light_bak[i];
      }
      for (size_t k = 0; k < points.size(); ++k) points[k]->idepth = idepth_bak[k];
      lambda *= 8.0;
      if (lambda > 1e4) break;
    }
  }
  stats.num_residuals = nres;
  // Final outlier pass: residuals whose energy at the last linearisation (the final state unless
  // the last step was rejected, then the state it returned to) is too large are removed.
  for (size_t k = 0; k < points.size(); ++k) {
    ActivePoint& p = *points[k];
    const size_t before = p.residuals.size();
    for (PointResidual& res : p.residuals) {
      if (!res.outlier && res.energy > 0.5 * options_.outlier_energy * kPatternSize) res.outlier = true;
    }
    p.residuals.erase(std::remove_if(p.residuals.begin(), p.residuals.end(),
                                     [](const PointResidual& r) { return r.outlier; }),
                      p.residuals.end());
    stats.removed_outliers += static_cast<int>(before - p.residuals.size());
    if (p.residuals.empty()) p.marked_for_removal = true;
  }
  return stats;
}

void WindowOptimizer::MarginalizeKeyframe(const std::vector<Keyframe*>& window, Keyframe* kf) {
  const int nf = static_cast<int>(window.size());
  for (int i = 0; i < nf; ++i) window[i]->window_index = i;
  // 1. Every window keyframe joins the prior with its current state as first estimate.
  std::unordered_map<int, int> prior_pos;
  for (int i = 0; i < static_cast<int>(prior_ids_.size()); ++i) prior_pos[prior_ids_[i]] = i;
  SchurSystem sys(nf);
  // 2. Current prior in window order (shifted linearisation handled by FejDelta = 0 for new ones).
  for (Keyframe* f : window) {
    if (!f->in_prior) {
      f->in_prior = true;
      f->fej_cam_from_world = f->cam_from_world;
      f->fej_light = f->light;
    }
  }
  for (int i = 0; i < nf; ++i) {
    auto it = prior_pos.find(window[i]->id);
    if (it == prior_pos.end()) continue;
    sys.bf().segment<kFrameDim>(i * kFrameDim) += prior_b_.segment<kFrameDim>(it->second * kFrameDim);
    for (int j = 0; j < nf; ++j) {
      auto jt = prior_pos.find(window[j]->id);
      if (jt == prior_pos.end()) continue;
      sys.hff().block<kFrameDim, kFrameDim>(i * kFrameDim, j * kFrameDim) +=
          prior_h_.block<kFrameDim, kFrameDim>(it->second * kFrameDim, jt->second * kFrameDim);
    }
  }
  // 3. Points hosted by kf with enough inlier residuals: linearised at the current state, then
  // shifted to the first-estimate point of the prior: b' = b - H * (x - x_fej).
  SchurSystem points_sys(nf);
  Pairs pairs;
  PreparePairs(window, &pairs);
  for (ActivePoint& p : kf->points) {
    if (p.marked_for_removal) continue;
    int good = 0;
    for (const PointResidual& r : p.residuals) good += (!r.outlier && r.target->window_index >= 0) ? 1 : 0;
    if (good < options_.marginalize_points_min_residuals) continue;
    PointBlock block;
    LinearizePoint(p, *kf, true, &pairs, &block, nullptr, nullptr, nullptr);
    points_sys.points().push_back(block);
  }
  FlushPairs(pairs, &points_sys);
  Eigen::MatrixXd h_points;
  Eigen::VectorXd b_points;
  points_sys.Reduce(0.0, &h_points, &b_points);
  Eigen::VectorXd d(nf * kFrameDim);
  for (int i = 0; i < nf; ++i) d.segment<kFrameDim>(i * kFrameDim) = FejDelta(*window[i]);
  b_points -= h_points * d;
  Eigen::MatrixXd h = sys.hff() + h_points;
  Eigen::VectorXd b = sys.bf() + b_points;
  // 4. Schur-eliminate kf.
  std::vector<bool> marg(nf * kFrameDim, false);
  for (int k = 0; k < kFrameDim; ++k) marg[kf->window_index * kFrameDim + k] = true;
  MarginalizeDense(h, b, marg, &prior_h_, &prior_b_);
  prior_ids_.clear();
  for (Keyframe* f : window) {
    if (f != kf) prior_ids_.push_back(f->id);
  }
  // 5. Residuals of other points that observe kf are dropped.
  for (Keyframe* f : window) {
    if (f == kf) continue;
    for (ActivePoint& p : f->points) {
      p.residuals.erase(std::remove_if(p.residuals.begin(), p.residuals.end(),
                                       [kf](const PointResidual& r) { return r.target == kf; }),
                        p.residuals.end());
      if (p.residuals.empty()) p.marked_for_removal = true;
    }
  }
  kf->in_prior = false;
  kf->window_index = -1;
}

}  // namespace dso
