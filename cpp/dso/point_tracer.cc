#include "dso/point_tracer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "dso/photometric_residual.h"
#include "dso/residual_pattern.h"

namespace dso {
namespace {

// Pattern energy at level-0 position (u, v) of the target; +inf if out of bounds (every pattern
// pixel keeps a one-pixel margin). The epipolar search calls this ~100 times per point and frame:
// one bounds test for the whole pattern (it reaches kPatternRadius px along both axes), float sums.
double PatternEnergy(const ImagePyramid& target, const ImmaturePoint& p, double s, double o, float u, float v,
                     double huber) {
  if (!target.InBounds(0, u, v, kPatternRadius + 1.f)) return std::numeric_limits<double>::infinity();
  const float sf = static_cast<float>(s), of = static_cast<float>(o), kf = static_cast<float>(huber);
  float e = 0.f;
  for (int k = 0; k < kPatternSize; ++k) {
    const float value = target.InterpolateValue(0, u + kPattern[k][0], v + kPattern[k][1]);
    e += HuberNorm(PhotometricResidual(value, p.intensity[k], sf, of), kf);
  }
  return e;
}

// Inverse depth whose projection has normalised coordinate `un` (x) or `vn` (y) along the line
// defined by a = R * ray, b = t (projection of a + b * idepth).
double IdepthFromPixel(const Vec3& a, const Vec3& b, double un, double vn, bool use_x) {
  return use_x ? (a.x() - un * a.z()) / (un * b.z() - b.x()) : (a.y() - vn * a.z()) / (vn * b.z() - b.y());
}

}  // namespace

bool MakeImmaturePoint(const ImagePyramid& pyramid, float x, float y, double gradient_weight_c,
                       ImmaturePoint* point) {
  if (!pyramid.InBounds(0, x, y, kPatternRadius + 1.f)) return false;
  const double c2 = gradient_weight_c * gradient_weight_c;
  point->pixel = Eigen::Vector2f(x, y);
  for (int k = 0; k < kPatternSize; ++k) {
    const Eigen::Vector3f v = pyramid.Interpolate(0, x + kPattern[k][0], y + kPattern[k][1]);
    point->intensity[k] = v[0];
    point->weight[k] = static_cast<float>(GradientWeight<double>(c2, v[1], v[2]));
  }
  const Eigen::Vector3f c = pyramid.Interpolate(0, x, y);
  point->grad_sq = c[1] * c[1] + c[2] * c[2];
  return true;
}

ImmaturePoint::Status TraceImmaturePoint(const PinholeCamera& camera, const PointOptions& options,
                                         double huber, const SE3& target_from_host, const AffineLight& host_light,
                                         const AffineLight& target_light, const ImagePyramid& target,
                                         ImmaturePoint* point) {
  using Status = ImmaturePoint::Status;
  const Vec3 ray = camera.Unproject(Vec2(point->pixel.x(), point->pixel.y()));
  const Vec3 a = target_from_host.RotationMatrix() * ray;
  const Vec3 b = target_from_host.Translation();
  const Eigen::Vector2d so = AffineLight::FromTo(host_light, target_light);
  const double s = so(0), o = so(1);
  // Far end of the search (idepth_min) must be visible.
  const Vec3 far = a + b * point->idepth_min;
  if (far.z() <= 1e-9) return point->status = Status::kOutOfBounds;
  const Vec2 p_far = camera.Project(far);
  if (!target.InBounds(0, p_far.x(), p_far.y(), kPatternRadius + 2.f)) return point->status = Status::kOutOfBounds;
  const double max_len = options.trace_max_steps * options.trace_step_px;
  Vec2 p_near;
  const bool bounded = point->idepth_max < kUnboundedIdepth;
  const Vec3 near = a + b * (bounded ? point->idepth_max : 1.0);
  if (bounded && near.z() > 1e-9) {
    p_near = camera.Project(near);
  } else {
    // Unknown near bound: search along the direction the line takes as idepth grows.
    const Vec3 n2 = a + b * (point->idepth_min + 1e-3);
    if (n2.z() <= 1e-9) return point->status = Status::kOutOfBounds;
    Vec2 dir = camera.Project(n2) - p_far;
    if (dir.norm() < 1e-9) return point->status = Status::kSkipped;  // no translation: no parallax
    p_near = p_far + dir.normalized() * max_len;
  }
  Vec2 dir = p_near - p_far;
  double len = dir.norm();
  if (len < 1.5) {  // Interval already shorter than the slack: nothing to learn from this frame.
    point->last_pixel_interval = len;
    return point->status = Status::kSkipped;
  }
  dir /= len;
  len = std::min(len, max_len);
  // Discrete search.
  const int steps = static_cast<int>(len / options.trace_step_px) + 1;
  double best = std::numeric_limits<double>::infinity(), second = best;
  int best_i = -1;
  thread_local std::vector<double> energies;  // reused: no allocation per trace
  energies.resize(steps);
  for (int i = 0; i < steps; ++i) {
    const Vec2 q = p_far + dir * (i * options.trace_step_px);
    energies[i] = PatternEnergy(target, *point, s, o, q.x(), q.y(), huber);
    if (energies[i] < best) {
      best = energies[i];
      best_i = i;
    }
  }
  if (best_i < 0 || !std::isfinite(best)) return point->status = Status::kOutOfBounds;
  for (int i = 0; i < steps; ++i) {
    if (std::abs(i - best_i) > 2 && energies[i] < second) second = energies[i];
  }
  point->quality = std::isfinite(second) ? second / std::max(best, 1e-9) : 1e3;
  // Gauss-Newton refinement of the position along the line.
  double lambda = best_i * options.trace_step_px;
  double energy = best;
  for (int it = 0; it < options.trace_gn_iterations; ++it) {
    double h = 0.0, g = 0.0;
    const Vec2 q = p_far + dir * lambda;
    bool ok = true;
    for (int k = 0; k < kPatternSize && ok; ++k) {
      Eigen::Vector3f hit;
      if (!target.InterpolateChecked(0, q.x() + kPattern[k][0], q.y() + kPattern[k][1], &hit)) {
        ok = false;
        break;
      }
      const double r = PhotometricResidual<double>(hit[0], point->intensity[k], s, o);
      const double w = HuberWeight(std::abs(r), huber);
      const double j = hit[1] * dir.x() + hit[2] * dir.y();
      h += w * j * j;
      g += w * j * r;
    }
    if (!ok || h < 1e-9) break;
    const double step = std::clamp(-g / h, -0.5, 0.5);
    const Vec2 q2 = p_far + dir * (lambda + step);
    const double e2 = PatternEnergy(target, *point, s, o, q2.x(), q2.y(), huber);
    if (!(e2 < energy)) break;
    energy = e2;
    lambda += step;
    if (std::abs(step) < 0.1) break;
  }
  if (energy > options.trace_outlier_energy * kPatternSize) {
    point->last_pixel_interval = len;
    return point->status = Status::kOutlier;
  }
  // Uncertainty along the line from the gradient direction (low when the gradient is along it).
  double ga = 0.0, gb = 0.0;
  for (int k = 0; k < kPatternSize; ++k) {
    const Vec2 q = p_far + dir * lambda;
    const Eigen::Vector3f hit = target.Interpolate(0, q.x() + kPattern[k][0], q.y() + kPattern[k][1]);
    const double along = hit[1] * dir.x() + hit[2] * dir.y();
    const double across = hit[2] * dir.x() - hit[1] * dir.y();
    ga += along * along;
    gb += across * across;
  }
  const double error_px = 0.2 + 0.2 * (ga + gb) / std::max(ga, 1e-9);
  if (error_px * 2 > options.trace_max_pixel_interval * 2.5) {
    point->last_pixel_interval = 2 * error_px;
    return point->status = Status::kBadCondition;
  }
  const bool use_x = std::abs(dir.x()) > std::abs(dir.y());
  auto idepth_at = [&](double l) {
    const Vec2 q = p_far + dir * l;
    return IdepthFromPixel(a, b, (q.x() - camera.cx) / camera.fx, (q.y() - camera.cy) / camera.fy, use_x);
  };
  double i0 = idepth_at(lambda - error_px), i1 = idepth_at(lambda + error_px);
  if (i0 > i1) std::swap(i0, i1);
  if (!std::isfinite(i0) || !std::isfinite(i1) || i1 <= 0.0) return point->status = Status::kBadCondition;
  point->idepth_min = std::max(i0, 0.0);
  point->idepth_max = i1;
  point->last_pixel_interval = 2 * error_px;
  return point->status = Status::kGood;
}

bool ActivateImmaturePoint(const PinholeCamera& camera, const BundleAdjustmentOptions& ba_options,
                           const ImmaturePoint& immature, Keyframe* host, const std::vector<Keyframe*>& window,
                           ActivePoint* active) {
  active->pixel = immature.pixel;
  active->intensity = immature.intensity;
  active->weight = immature.weight;
  active->prior_idepth = immature.prior_idepth;
  active->prior_idepth_var = immature.prior_idepth_var;
  active->prior_unit = immature.prior_unit;
  active->residuals.clear();
  active->marked_for_removal = false;
  double rho = immature.idepth_max < kUnboundedIdepth ? 0.5 * (immature.idepth_min + immature.idepth_max)
                                                 : std::max(immature.idepth_min, 0.1);
  if (immature.prior_idepth > 0.0 &&
      (immature.idepth_max >= kUnboundedIdepth ||
       (immature.prior_idepth >= immature.idepth_min && immature.prior_idepth <= immature.idepth_max))) {
    rho = immature.prior_idepth;
  }
  const double huber = ba_options.huber_threshold;
  std::vector<Keyframe*> targets;
  for (Keyframe* kf : window) {
    if (kf != host) targets.push_back(kf);
  }
  // Pair geometry and pattern rays are fixed during the refinement: computed once.
  struct TargetGeometry {
    Mat3 r_th;
    Vec3 t_th;
    Eigen::Vector2d so;
  };
  std::vector<TargetGeometry> geometry(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) {
    const SE3 th = targets[t]->cam_from_world * host->cam_from_world.Inverse();
    geometry[t] = {th.RotationMatrix(), th.Translation(), AffineLight::FromTo(host->light, targets[t]->light)};
  }
  std::array<Vec3, kPatternSize> rays;
  for (int k = 0; k < kPatternSize; ++k) {
    rays[k] = camera.Unproject(Vec2(immature.pixel.x() + kPattern[k][0], immature.pixel.y() + kPattern[k][1]));
  }
  std::vector<double> target_energy(targets.size());
  for (int it = 0; it < 4; ++it) {
    double h = 0.0, g = 0.0;
    for (size_t t = 0; t < targets.size(); ++t) {
      const Keyframe& tgt = *targets[t];
      const Mat3& r_th = geometry[t].r_th;
      const Vec3& t_th = geometry[t].t_th;
      const Eigen::Vector2d& so = geometry[t].so;
      double e = 0.0;
      double ht = 0.0, gt = 0.0;
      for (int k = 0; k < kPatternSize; ++k) {
        const Vec3 xs = r_th * rays[k] + t_th * rho;
        if (xs.z() <= 1e-6) { e = 1e30; break; }
        const float u = camera.fx * xs.x() / xs.z() + camera.cx, v = camera.fy * xs.y() / xs.z() + camera.cy;
        Eigen::Vector3f hit;
        if (!tgt.pyramid->InterpolateChecked(0, u, v, &hit)) { e = 1e30; break; }
        const double r = PhotometricResidual<double>(hit[0], immature.intensity[k], so(0), so(1));
        // d pixel / d rho = d pi / d xs * t_th (xs is the scaled point, same projection).
        const double iz = 1.0 / xs.z();
        const double du = camera.fx * (t_th.x() - xs.x() * iz * t_th.z()) * iz;
        const double dv = camera.fy * (t_th.y() - xs.y() * iz * t_th.z()) * iz;
        const double j = hit[1] * du + hit[2] * dv;
        const double w = HuberWeight(std::abs(r), huber);
        e += HuberNorm(r, huber);
        ht += w * j * j;
        gt += w * j * r;
      }
      target_energy[t] = e;
      if (e < ba_options.outlier_energy * kPatternSize) {
        h += ht;
        g += gt;
      }
    }
    if (h < 1e-9) break;
    const double step = -g / h;
    rho = std::max(rho + std::clamp(step, -0.5 * rho, 0.5 * rho), 1e-6);
  }
  for (size_t t = 0; t < targets.size(); ++t) {
    if (target_energy[t] < ba_options.outlier_energy * kPatternSize) active->residuals.push_back(PointResidual{targets[t]});
  }
  active->idepth = rho;
  return !active->residuals.empty() && std::isfinite(rho);
}

}  // namespace dso
