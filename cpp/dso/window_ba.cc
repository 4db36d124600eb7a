#include "dso/window_ba.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "dso/photometric_residual.h"
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

// Numbers the window's keyframes (window_index) and lists its points that are not marked for
// removal, each with its host.
void CollectWindowPoints(const std::vector<Keyframe*>& window, std::vector<ActivePoint*>* points,
                         std::vector<const Keyframe*>* hosts) {
  for (int i = 0; i < static_cast<int>(window.size()); ++i) window[i]->window_index = i;
  for (Keyframe* kf : window) {
    for (ActivePoint& p : kf->points) {
      if (p.marked_for_removal) continue;
      points->push_back(&p);
      hosts->push_back(kf);
    }
  }
}

}  // namespace

WindowOptimizer::WindowOptimizer(const PinholeCamera& camera, const BundleAdjustmentOptions& options)
    : camera_(camera),
      options_(options),
      pool_(options.num_threads > 1 ? std::make_shared<WorkerPool>(options.num_threads) : nullptr) {}

void WindowOptimizer::ResetPrior(Keyframe* first) {
  prior_ids_.assign(1, first->id);
  prior_h_ = Eigen::MatrixXd::Zero(kFrameDim, kFrameDim);
  prior_b_ = Eigen::VectorXd::Zero(kFrameDim);
  for (int i = 0; i < 6; ++i) prior_h_(i, i) = options_.first_frame_prior;
  prior_h_(6, 6) = prior_h_(7, 7) = options_.first_frame_prior;
  first->in_prior = true;
  scale_anchor_world_ = first->cam_from_world.Inverse().Translation();
  first->fej_cam_from_world = first->cam_from_world;
  first->fej_light = first->light;
}

std::vector<Eigen::VectorXd> WindowOptimizer::ScaleGauge(const std::vector<Keyframe*>& window) const {
  // World scaled by s about c: X' = c + s (X - c); every camera keeps its image when its camera-frame
  // points scale by s too, i.e. t' = s t + (s - 1) R c, so d t / d s = t + R c (rotation, light: 0).
  Eigen::VectorXd n = Eigen::VectorXd::Zero(static_cast<int>(window.size()) * kFrameDim);
  for (size_t i = 0; i < window.size(); ++i) {
    const SE3& t = window[i]->cam_from_world;
    n.segment<3>(static_cast<int>(i) * kFrameDim) = t.Translation() + t.RotationMatrix() * scale_anchor_world_;
  }
  if (!(n.norm() > 0.0)) return {};
  return {n};
}

void WindowOptimizer::RescalePrior(double s, const Vec3& centre_world) {
  if (!(s > 0.0) || !std::isfinite(s)) throw std::invalid_argument("WindowOptimizer::RescalePrior: s must be > 0");
  scale_anchor_world_ = centre_world + s * (scale_anchor_world_ - centre_world);
  Eigen::VectorXd d = Eigen::VectorXd::Ones(prior_b_.size());
  for (int i = 0; i + kFrameDim <= d.size(); i += kFrameDim) d.segment<3>(i).setConstant(1.0 / s);
  prior_h_ = d.asDiagonal() * prior_h_ * d.asDiagonal();
  prior_b_ = d.asDiagonal() * prior_b_;
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
  const PairProjection proj(camera_, g.r_th, g.t_th);
  return PatternEnergy(p, host, target, proj, g.s, energy);
}

WindowOptimizer::PairProjection::PairProjection(const PinholeCamera& cam, const Mat3& r_th, const Vec3& t_th) {
  Mat3 k = Mat3::Identity(), k_inv = Mat3::Identity();
  k(0, 0) = cam.fx;
  k(1, 1) = cam.fy;
  k(0, 2) = cam.cx;
  k(1, 2) = cam.cy;
  k_inv(0, 0) = 1.0 / cam.fx;
  k_inv(1, 1) = 1.0 / cam.fy;
  k_inv(0, 2) = -cam.cx / cam.fx;
  k_inv(1, 2) = -cam.cy / cam.fy;
  const Mat3 krki_d = k * r_th * k_inv;
  krki = krki_d.cast<float>();
  kt = (k * t_th).cast<float>();
  for (int i = 0; i < kPatternSize; ++i) {
    pattern[i] = (krki_d.col(0) * kPattern[i][0] + krki_d.col(1) * kPattern[i][1]).cast<float>();
  }
}

template <typename PixelFn>
bool WindowOptimizer::ProjectPattern(const ActivePoint& p, const ImagePyramid& img, const PairProjection& proj,
                                     PixelFn&& fn) {
  // The homogeneous target pixel of every pattern pixel: centre + K R K^-1 offset.
  const Eigen::Vector3f centre = proj.Centre(p.pixel, p.idepth);
  for (int k = 0; k < kPatternSize; ++k) {
    const Eigen::Vector3f x = centre + proj.pattern[k];
    if (!(x.z() > 1e-6f)) return false;
    const float inv_z = 1.f / x.z();
    const float u = x.x() * inv_z, v = x.y() * inv_z;
    if (!img.InBounds(0, u, v, 1.f)) return false;
    fn(k, img.Interpolate(0, u, v), u, v, inv_z);
  }
  return true;
}

void WindowOptimizer::PrefetchPattern(const ActivePoint& p, const ImagePyramid& img, const PairProjection& proj) {
  const Eigen::Vector3f centre = proj.Centre(p.pixel, p.idepth);
  if (!(centre.z() > 1e-6f)) return;
  const float u = centre.x() / centre.z(), v = centre.y() / centre.z();
  constexpr int kReach = kPatternRadius + 1;  // pattern radius plus the bilinear neighbour
  if (!img.InBounds(0, u, v, static_cast<float>(kReach))) return;
  const int ix = static_cast<int>(u), iy = static_cast<int>(v);
  for (int dy = -kReach; dy <= kReach; ++dy) {
    const Eigen::Vector3f* row = &img.At(0, ix, iy + dy);
    __builtin_prefetch(row - kReach);
    __builtin_prefetch(row + kReach);
  }
}

bool WindowOptimizer::PatternEnergy(const ActivePoint& p, const Keyframe& host, const Keyframe& target,
                                    const PairProjection& proj, double s, double* energy) const {
  const float c2 = static_cast<float>(options_.gradient_weight_c * options_.gradient_weight_c);
  const float huber = static_cast<float>(options_.huber_threshold);
  const float sf = static_cast<float>(s), bh = static_cast<float>(host.light.b);
  const float bt = static_cast<float>(target.light.b), of = bt - sf * bh;
  float e = 0.f;
  const bool ok = ProjectPattern(p, *target.pyramid, proj, [&](int k, const Eigen::Vector3f& hit, float, float, float) {
    const float r = PhotometricResidual(hit[0], p.intensity[k], sf, of);
    const float w = 0.5f * (GradientWeight(c2, hit[1], hit[2]) + p.weight[k]);
    e += 0.5f * w * HuberNorm(r, huber);
  });
  *energy = e;
  return ok;
}

void WindowOptimizer::PreparePairs(const std::vector<Keyframe*>& window, Pairs* pairs) const {
  const int nf = static_cast<int>(window.size());
  pairs->nf = nf;
  pairs->r_th.assign(nf * nf, Mat3::Identity());
  pairs->t_th.assign(nf * nf, Vec3::Zero());
  pairs->proj.assign(nf * nf, PairProjection());
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
      pairs->proj[i] = PairProjection(camera_, pairs->r_th[i], pairs->t_th[i]);
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
                                       PointBlock* block, LinearizeTotals* totals) const {
  using Vec9 = Eigen::Matrix<double, 9, 1>;  // [target pose 6, a_t, b_t, idepth]
  double energy = 0.0;
  const int hi = host.window_index;
  const float c2 = static_cast<float>(options_.gradient_weight_c * options_.gradient_weight_c);
  const float huber = static_cast<float>(options_.huber_threshold);
  const double rho = p.idepth;
  for (const PointResidual& res : p.residuals) {
    if (res.outlier || res.target->window_index < 0) continue;
    PrefetchPattern(p, *res.target->pyramid, pairs->proj[hi * pairs->nf + res.target->window_index]);
  }
  for (PointResidual& res : p.residuals) {
    if (res.outlier) continue;
    const Keyframe& target = *res.target;
    const int ti = target.window_index;
    if (ti < 0) continue;
    const int pi = hi * pairs->nf + ti;
    const double s = pairs->s[pi];
    const float sf = static_cast<float>(s), bh = static_cast<float>(host.light.b);
    const float bt = static_cast<float>(target.light.b), of = bt - sf * bh;
    const WindowOptimizer::PairProjection& proj = pairs->proj[pi];
    const float fx = static_cast<float>(camera_.fx), fy = static_cast<float>(camera_.fy);
    const float cx = static_cast<float>(camera_.cx), cy = static_cast<float>(camera_.cy);
    const float ifx = 1.f / fx, ify = 1.f / fy, rhof = static_cast<float>(rho);
    // Per pattern pixel k (structure of arrays, so the sums over the 8 pixels vectorise): the
    // exact Jacobian J_k = [d r / d target pose (6), a_t, b_t, d r / d idepth], the Huber-weighted
    // weight wt_k and the residual r_k.
    Eigen::Array<float, kPatternSize, 9> jk;
    Eigen::Array<float, kPatternSize, 1> wk, rk;
    float e_res = 0.f, sq = 0.f;
    const bool in_image = ProjectPattern(p, *target.pyramid, proj, [&](int k, const Eigen::Vector3f& hit, float u,
                                                                       float v, float inv_z) {
      const float ja = -sf * (p.intensity[k] - bh);  // d r / d a_t
      const float r = PhotometricResidual(hit[0], p.intensity[k], sf, of);
      const float gx = hit[1], gy = hit[2];
      const float w = 0.5f * (GradientWeight(c2, gx, gy) + p.weight[k]);
      e_res += 0.5f * w * HuberNorm(r, huber);
      sq += r * r;
      wk(k) = w * HuberWeight(std::abs(r), huber);
      rk(k) = r;
      // Target point X_t = depth * (un, vn, 1), rz = 1 / depth = rho * inv_z.
      const float un = (u - cx) * ifx, vn = (v - cy) * ify, rz = rhof * inv_z;
      float j[6];
      GradientPoseJacobian(gx * fx, gy * fy, un, vn, rz, j);
      for (int i = 0; i < 6; ++i) jk(k, i) = j[i];
      jk(k, 6) = ja;
      jk(k, 7) = -1.f;
      jk(k, 8) = (gx * (proj.kt.x() - u * proj.kt.z()) + gy * (proj.kt.y() - v * proj.kt.z())) * inv_z;
    });
    if (!in_image || (flag_outliers && e_res > 0.5 * options_.outlier_energy * kPatternSize)) {
      if (flag_outliers) {
        res.outlier = true;
      } else {
        // A projection leaving the image (after a step) counts as the outlier energy.
        if (totals) totals->out_of_image_energy += 0.5 * options_.outlier_energy * kPatternSize;
      }
      if (!in_image) res.energy = std::numeric_limits<double>::infinity();  // removed by the final pass
      continue;
    }
    res.energy = e_res;
    energy += e_res;
    if (totals) {
      totals->sq_sum += sq;
      totals->num_pixels += kPatternSize;
      ++totals->num_residuals;
    }
    if (pairs == nullptr || block == nullptr) continue;
    // sum_k wt_k J_k^T J_k (upper triangle, mirrored) and sum_k wt_k J_k^T r_k.
    Eigen::Matrix<double, 9, 9> a;
    Vec9 bl;
    for (int i = 0; i < 9; ++i) {
      const Eigen::Array<float, kPatternSize, 1> wj = wk * jk.col(i);
      bl(i) = (wj * rk).sum();
      for (int c = i; c < 9; ++c) a(i, c) = a(c, i) = (wj * jk.col(c)).sum();
    }
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

int WindowOptimizer::NumThreads(size_t work) const {
  return work < 256 ? 1 : std::max(1, options_.num_threads);
}

void WindowOptimizer::ParallelFor(size_t n, const std::function<void(int, size_t, size_t)>& body) const {
  const int nt = NumThreads(n);
  if (nt == 1) {
    body(0, 0, n);
    return;
  }
  pool_->Run(nt, [&](int t) { body(t, n * t / nt, n * (t + 1) / nt); });
}

double WindowOptimizer::LinearizeWindow(const std::vector<Keyframe*>& window, const std::vector<ActivePoint*>& points,
                                        const std::vector<const Keyframe*>& hosts, bool flag_outliers,
                                        std::vector<Pairs>* pairs, SchurSystem* sys, LinearizeTotals* sum) const {
  // Reuses `sys` and `pairs` (no per-point allocations once warm). The partition of the points
  // over threads depends only on their number and the merge runs in thread order: deterministic.
  const int nt = NumThreads(points.size());
  pairs->resize(nt);
  sys->Reset(points.size());
  for (Pairs& p : *pairs) PreparePairs(window, &p);
  std::vector<LinearizeTotals> part(nt);
  ParallelFor(points.size(), [&](int t, size_t k0, size_t k1) {
    for (size_t k = k0; k < k1; ++k) {
      part[t].energy +=
          LinearizePoint(*points[k], *hosts[k], flag_outliers, &(*pairs)[t], &sys->points()[k], &part[t]);
    }
  });
  *sum = LinearizeTotals();
  sum->energy = AddPriors(window, sys);
  for (int t = 0; t < nt; ++t) {
    sum->energy += part[t].energy;
    sum->out_of_image_energy += part[t].out_of_image_energy;
    sum->sq_sum += part[t].sq_sum;
    sum->num_pixels += part[t].num_pixels;
    sum->num_residuals += part[t].num_residuals;
    FlushPairs((*pairs)[t], sys);
  }
  return sum->energy;
}

double WindowOptimizer::Linearize(const std::vector<Keyframe*>& window, SchurSystem* sys) {
  std::vector<ActivePoint*> points;
  std::vector<const Keyframe*> hosts;
  CollectWindowPoints(window, &points, &hosts);
  *sys = SchurSystem(static_cast<int>(window.size()));
  std::vector<Pairs> pairs;
  LinearizeTotals sum;
  return LinearizeWindow(window, points, hosts, true, &pairs, sys, &sum);
}

BundleAdjustmentStats WindowOptimizer::Optimize(const std::vector<Keyframe*>& window) {
  BundleAdjustmentStats stats;
  const int nf = static_cast<int>(window.size());
  std::vector<ActivePoint*> points;
  std::vector<const Keyframe*> hosts;
  CollectWindowPoints(window, &points, &hosts);
  stats.num_points = static_cast<int>(points.size());
  double lambda = options_.initial_lambda;
  std::vector<bool> fixed(nf * kFrameDim, false);
  std::vector<Pairs> pairs(NumThreads(points.size()));
  auto linearize = [&](SchurSystem* sys, bool flag, LinearizeTotals* sum) {
    return LinearizeWindow(window, points, hosts, flag, &pairs, sys, sum);
  };
  auto rmse = [](const LinearizeTotals& t) { return t.num_pixels > 0 ? std::sqrt(t.sq_sum / t.num_pixels) : 0.0; };
  SchurSystem sys(nf), trial(nf);
  LinearizeTotals current, next;
  double energy = linearize(&sys, true, &current);
  stats.initial_rmse = stats.final_rmse = rmse(current);
  Eigen::VectorXd dxf;
  std::vector<double> dxp, idepth_bak(points.size()), energy_bak;
  std::vector<SE3> pose_bak(nf);
  std::vector<AffineLight> light_bak(nf);
  const std::vector<Eigen::VectorXd> gauge = ScaleGauge(window);
  for (int it = 0; it < options_.max_iterations; ++it) {
    ++stats.iterations;
    sys.Solve(lambda, fixed, &dxf, &dxp, &gauge);
    // Back up (state and the residual energies of the current linearisation) and apply.
    energy_bak.clear();
    for (const ActivePoint* p : points) {
      for (const PointResidual& r : p->residuals) energy_bak.push_back(r.energy);
    }
    for (int i = 0; i < nf; ++i) {
      pose_bak[i] = window[i]->cam_from_world;
      light_bak[i] = window[i]->light;
      window[i]->cam_from_world = SE3::Exp(dxf.segment<6>(i * kFrameDim)) * window[i]->cam_from_world;
      window[i]->light.a += dxf(i * kFrameDim + 6);
      window[i]->light.b += dxf(i * kFrameDim + 7);
    }
    for (size_t k = 0; k < points.size(); ++k) {
      idepth_bak[k] = points[k]->idepth;
      points[k]->idepth = std::max(points[k]->idepth + dxp[k], 1e-6);
    }
    // The trial state is evaluated and linearised in one pass; residuals that left the image
    // count with the outlier energy in the acceptance test.
    linearize(&trial, false, &next);
    const double step = dxf.norm();
    if (next.energy + next.out_of_image_energy < energy) {
      ++stats.accepted_steps;
      lambda = std::max(lambda * 0.25, 1e-8);
      std::swap(sys, trial);
      current = next;
      energy = current.energy;
      stats.final_rmse = rmse(current);
      if (step < options_.stop_update_norm) break;
    } else {
      for (int i = 0; i < nf; ++i) {
        window[i]->cam_from_world = pose_bak[i];
        window[i]->light = light_bak[i];
      }
      size_t e = 0;
      for (size_t k = 0; k < points.size(); ++k) {
        points[k]->idepth = idepth_bak[k];
        for (PointResidual& r : points[k]->residuals) r.energy = energy_bak[e++];
      }
      lambda *= 8.0;
      if (lambda > 1e4) break;
    }
  }
  stats.num_residuals = current.num_residuals;
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
  // The light priors of kf (quadratic, so exact around its first estimate) go with it.
  {
    const int o = kf->window_index * kFrameDim;
    sys.hff()(o + 6, o + 6) += options_.affine_a_prior;
    sys.hff()(o + 7, o + 7) += options_.affine_b_prior;
    sys.bf()(o + 6) += options_.affine_a_prior * kf->fej_light.a;
    sys.bf()(o + 7) += options_.affine_b_prior * kf->fej_light.b;
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
    LinearizePoint(p, *kf, true, &pairs, &block, nullptr);
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
