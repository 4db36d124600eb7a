#include "dso/coarse_tracker.h"

#include "dso/check_option.h"
#include "dso/photometric_residual.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace dso {
namespace {

using Vec8 = Eigen::Matrix<double, 8, 1>;
using Mat8 = Eigen::Matrix<double, 8, 8>;
using Vec8f = Eigen::Matrix<float, 8, 1>;
using Mat8f = Eigen::Matrix<float, 8, 8>;


constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

void TrackerOptions::Check() const {
  constexpr char kOwner[] = "TrackerOptions";
  CHECK_OPTION(kOwner, max_iterations.size(), !max_iterations.empty(), "> 0 (one entry per level)");
  for (size_t i = 0; i < max_iterations.size(); ++i) CHECK_OPTION_GE(kOwner, max_iterations[i], 1);
  CHECK_OPTION_GE(kOwner, max_levels, 0);
  CHECK_OPTION_GT(kOwner, huber_threshold, 0);
  CHECK_OPTION_GT(kOwner, outlier_threshold, huber_threshold);
  CHECK_OPTION(kOwner, max_outlier_fraction, max_outlier_fraction > 0.f && max_outlier_fraction <= 1.f, "in (0, 1]");
  CHECK_OPTION_GE(kOwner, max_threshold_doublings, 0);
  CHECK_OPTION_GT(kOwner, gradient_weight_c, 0);
  CHECK_OPTION_GE(kOwner, affine_a_prior, 0);
  CHECK_OPTION_GE(kOwner, affine_b_prior, 0);
  CHECK_OPTION_GT(kOwner, lambda_initial, 0);
  CHECK_OPTION_GT(kOwner, lambda_up, 1);
  CHECK_OPTION(kOwner, lambda_down, lambda_down > 0.f && lambda_down < 1.f, "in (0, 1)");
  CHECK_OPTION_GE(kOwner, convergence_px, 0);
  CHECK_OPTION_GE(kOwner, border_margin, 0);
  CHECK_OPTION_GE(kOwner, min_residuals, 1);
  CHECK_OPTION_GE(kOwner, merge_cell, 1);
  CHECK_OPTION_GE(kOwner, min_gradient, 0);
  CHECK_OPTION_GT(kOwner, retrack_threshold, 1);
  CHECK_OPTION_IN(kOwner, min_inlier_fraction, 0, 1);
}

// Result of evaluating all residuals of one level at one state. `jw`/`rw` hold, for the
// `rows` inlier residuals, sqrt(w) * J and sqrt(w) * r, so that H = jw^T jw and g = jw^T rw.
struct CoarseTracker::Evaluation {
  double energy = 0.0;   // sum of Huber energies (outliers at the threshold energy)
  int num = 0;           // in-image residuals
  int outliers = 0;      // |r| > current threshold
  int base_inliers = 0;  // |r| <= options.outlier_threshold
  int textured = 0;      // residuals where the new image has |grad| >= min_gradient
  int rows = 0;          // filled rows of jw / rw
  Eigen::Matrix<float, Eigen::Dynamic, 8, Eigen::RowMajor> jw;
  Eigen::VectorXf rw;

  void Reset(int capacity) {
    energy = 0.0;
    num = outliers = base_inliers = textured = rows = 0;
    if (jw.rows() < capacity) {
      jw.resize(capacity, 8);
      rw.resize(capacity);
    }
  }
  double OutlierFraction() const { return num > 0 ? double(outliers) / num : 1.0; }
  // Normal equations of the stored rows (double precision result).
  void NormalEquations(Mat8* h, Vec8* g) const {
    const auto j = jw.topRows(rows);
    const Mat8f hf = j.transpose() * j;
    const Vec8f gf = j.transpose() * rw.head(rows);
    *h = hf.cast<double>();
    *g = gf.cast<double>();
  }
};

CoarseTracker::CoarseTracker(const PinholeCamera& camera, const TrackerOptions& options)
    : camera_(camera), options_(options) {
  camera_.Check();
  options_.Check();
}

int CoarseTracker::NumPoints(int level) const {
  if (level < 0 || level >= static_cast<int>(levels_.size())) return 0;
  return levels_[level].num_points;
}

void CoarseTracker::SetReference(const ImagePyramid& ref_pyramid,
                                 const std::vector<TrackerPoint>& points,
                                 const AffineLight& ref_affine, double ref_exposure) {
  SetReference(ref_pyramid, points, {}, ref_affine, ref_exposure);
}

void CoarseTracker::SetReference(const ImagePyramid& ref_pyramid,
                                 const std::vector<TrackerPoint>& points,
                                 const std::vector<std::array<float, kPatternSize>>& level0_colors,
                                 const AffineLight& ref_affine, double ref_exposure) {
  if (ref_pyramid.NumLevels() < 1 || ref_pyramid.Width(0) != camera_.width ||
      ref_pyramid.Height(0) != camera_.height) {
    throw std::invalid_argument("CoarseTracker::SetReference: ref_pyramid size does not match camera " +
                                camera_.ToString());
  }
  if (!level0_colors.empty() && level0_colors.size() != points.size()) {
    throw std::invalid_argument("CoarseTracker::SetReference: level0_colors has " +
                                std::to_string(level0_colors.size()) + " entries, expected " +
                                std::to_string(points.size()) + " (one per point)");
  }
  if (!(ref_exposure > 0.0) || !std::isfinite(ref_exposure)) {
    throw std::invalid_argument("CoarseTracker::SetReference: ref_exposure must be positive");
  }
  if (!std::isfinite(ref_affine.a) || !std::isfinite(ref_affine.b)) {
    throw std::invalid_argument("CoarseTracker::SetReference: ref_affine must be finite");
  }
  ref_affine_ = ref_affine;
  ref_exposure_ = ref_exposure;

  // Valid level-0 points (with their colour index).
  std::vector<int> valid;
  level0_points_.clear();
  double idepth_sum = 0.0;
  for (size_t i = 0; i < points.size(); ++i) {
    const TrackerPoint& p = points[i];
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || !(p.idepth > 0.f) || !std::isfinite(p.idepth) ||
        !(p.weight > 0.f) || !std::isfinite(p.weight) || !camera_.InImage(p.x, p.y)) {
      continue;
    }
    valid.push_back(static_cast<int>(i));
    level0_points_.push_back(p);
    idepth_sum += p.idepth;
  }
  mean_idepth_ = valid.empty() ? 1.f : static_cast<float>(idepth_sum / valid.size());

  const int num_levels = options_.max_levels > 0
                             ? std::min(options_.max_levels, ref_pyramid.NumLevels())
                             : ref_pyramid.NumLevels();
  levels_.assign(num_levels, Level());
  for (int l = 0; l < num_levels; ++l) {
    const PinholeCamera cam = camera_.Level(l);
    const int w = ref_pyramid.Width(l), h = ref_pyramid.Height(l);
    const float scale = 1.f / static_cast<float>(1 << l);
    // Merge points per level pixel (level 0: keep them all).
    struct Merged {
      double sw = 0, sx = 0, sy = 0, sd = 0;
      int n = 0;
      int source = -1;  // index into `points` (level 0)
    };
    std::vector<Merged> merged;
    if (l == 0) {
      merged.resize(valid.size());
      for (size_t k = 0; k < valid.size(); ++k) {
        const TrackerPoint& p = points[valid[k]];
        merged[k] = {p.weight, p.weight * p.x, p.weight * p.y, p.weight * p.idepth, 1, valid[k]};
      }
    } else {
      const int mc = options_.merge_cell;
      const int gw = (w + mc - 1) / mc, gh = (h + mc - 1) / mc;
      std::vector<int> cell_of(static_cast<size_t>(gw) * gh, -1);
      for (int idx : valid) {
        const TrackerPoint& p = points[idx];
        const float xl = (p.x + 0.5f) * scale - 0.5f, yl = (p.y + 0.5f) * scale - 0.5f;
        const int cx = std::min(std::max(static_cast<int>(std::lround(xl)), 0), w - 1) / mc;
        const int cy = std::min(std::max(static_cast<int>(std::lround(yl)), 0), h - 1) / mc;
        int& slot = cell_of[cy * gw + cx];
        if (slot < 0) {
          slot = static_cast<int>(merged.size());
          merged.emplace_back();
        }
        Merged& m = merged[slot];
        m.sw += p.weight;
        m.sx += p.weight * xl;
        m.sy += p.weight * yl;
        m.sd += p.weight * p.idepth;
        m.n += 1;
      }
    }
    Level& level = levels_[l];
    level.residuals.reserve(merged.size() * kPatternSize);
    for (const Merged& m : merged) {
      const float x = static_cast<float>(m.sx / m.sw), y = static_cast<float>(m.sy / m.sw);
      const float idepth = static_cast<float>(m.sd / m.sw);
      const float weight = static_cast<float>(m.sw / m.n);
      const bool given = l == 0 && !level0_colors.empty();
      bool inside = true;
      for (int k = 0; k < kPatternSize && !given; ++k) {
        inside = inside && ref_pyramid.InBounds(l, x + kPattern[k][0], y + kPattern[k][1]);
      }
      if (!inside) continue;
      for (int k = 0; k < kPatternSize; ++k) {
        const float px = x + kPattern[k][0], py = y + kPattern[k][1];
        Residual r;
        r.ray_x = static_cast<float>((px - cam.cx) / cam.fx);
        r.ray_y = static_cast<float>((py - cam.cy) / cam.fy);
        r.idepth = idepth;
        r.color = given ? level0_colors[m.source][k] : ref_pyramid.InterpolateValue(l, px, py);
        r.weight = weight;
        level.residuals.push_back(r);
      }
      ++level.num_points;
    }
  }
}

void CoarseTracker::Evaluate(const ImagePyramid& pyr, int level, const SE3& cam_from_ref,
                             const AffineLight& affine, double new_exposure, float threshold,
                             Evaluation* eval) const {
  const std::vector<Residual>& residuals = levels_[level].residuals;
  eval->Reset(static_cast<int>(residuals.size()));
  const PinholeCamera cam = camera_.Level(level);
  const float fx = static_cast<float>(cam.fx), fy = static_cast<float>(cam.fy);
  const float cx = static_cast<float>(cam.cx), cy = static_cast<float>(cam.cy);
  const Eigen::Matrix3f rot = cam_from_ref.RotationMatrix().cast<float>();
  const Eigen::Vector3f t = cam_from_ref.Translation().cast<float>();
  const Eigen::Vector2d so = AffineLight::FromTo(ref_affine_, affine, ref_exposure_, new_exposure);
  const float s = static_cast<float>(so[0]), o = static_cast<float>(so[1]);
  const float b_ref = static_cast<float>(ref_affine_.b);
  const float k = options_.huber_threshold, base_th = options_.outlier_threshold;
  const float c2 = options_.gradient_weight_c * options_.gradient_weight_c;
  const float margin = options_.border_margin;
  const float outlier_energy = 2.f * k * threshold - k * k;
  const float min_grad_sq = options_.min_gradient * options_.min_gradient;
  const int w = pyr.Width(level);
  const Eigen::Vector3f* data = pyr.Data(level);

  float* jw = eval->jw.data();
  float* rw = eval->rw.data();
  int rows = 0, num = 0, outliers = 0, base_inliers = 0, textured = 0;
  double energy = 0.0;
  float energy_acc = 0.f;
  int pending = 0;
  for (const Residual& res : residuals) {
    const Eigen::Vector3f pt = rot * Eigen::Vector3f(res.ray_x, res.ray_y, 1.f) + t * res.idepth;
    if (!(pt.z() > 0.f)) continue;
    const float iz = 1.f / pt.z();
    const float x = pt.x() * iz, y = pt.y() * iz;
    const float u = fx * x + cx, v = fy * y + cy;
    if (!pyr.InBounds(level, u, v, margin)) continue;
    // Bilinear interpolation of (I, dx, dy).
    const int iu = static_cast<int>(u), iv = static_cast<int>(v);
    const float du = u - iu, dv = v - iv;
    const Eigen::Vector3f* p = data + iv * w + iu;
    const Eigen::Vector3f hit =
        (1.f - dv) * ((1.f - du) * p[0] + du * p[1]) + dv * ((1.f - du) * p[w] + du * p[w + 1]);
    const float r = PhotometricResidual(hit[0], res.color, s, o);
    const float ar = std::abs(r);
    const float grad_sq = hit[1] * hit[1] + hit[2] * hit[2];
    ++num;
    if (ar <= base_th) ++base_inliers;
    if (grad_sq >= min_grad_sq) ++textured;
    if (ar > threshold) {
      ++outliers;
      energy_acc += outlier_energy;
    } else {
      energy_acc += HuberNorm(r, k);
      const float sw = std::sqrt(res.weight * HuberWeight(ar, k) * GradientWeight(c2, hit[1], hit[2]));
      const float gx = sw * hit[1] * fx, gy = sw * hit[2] * fy;
      const float id = res.idepth * iz;  // inverse depth in the new camera
      float* j = jw + 8 * rows;
      GradientPoseJacobian(gx, gy, x, y, id, j);
      j[6] = -sw * s * (res.color - b_ref);
      j[7] = -sw;
      rw[rows] = sw * r;
      ++rows;
    }
    if (++pending == 256) {  // keep the float energy sum short
      energy += energy_acc;
      energy_acc = 0.f;
      pending = 0;
    }
  }
  eval->energy = energy + energy_acc;
  eval->num = num;
  eval->outliers = outliers;
  eval->base_inliers = base_inliers;
  eval->textured = textured;
  eval->rows = rows;
}

double CoarseTracker::EnergyAndGradient(const ImagePyramid& pyr, int level, const SE3& cam_from_ref,
                                        const AffineLight& affine, Eigen::Matrix<double, 8, 1>* gradient,
                                        double new_exposure) const {
  if (levels_.empty()) throw std::invalid_argument("CoarseTracker::EnergyAndGradient: no reference set");
  if (level < 0 || level >= static_cast<int>(levels_.size()) || level >= pyr.NumLevels()) {
    throw std::invalid_argument("CoarseTracker::EnergyAndGradient: level " + std::to_string(level) +
                                " out of range");
  }
  Evaluation eval;
  Evaluate(pyr, level, cam_from_ref, affine, new_exposure, options_.outlier_threshold, &eval);
  Mat8 h;
  Vec8 g;
  eval.NormalEquations(&h, &g);
  *gradient = g;
  return eval.energy;
}

TrackingResult CoarseTracker::TrackHypothesis(const ImagePyramid& pyr,
                                              const TrackingHypothesis& hypothesis,
                                              double new_exposure,
                                              const std::vector<double>& abort_rmse,
                                              Evaluation* scratch) const {
  int num_levels = std::min(static_cast<int>(levels_.size()), pyr.NumLevels());
  if (hypothesis.coarsest_level >= 0) num_levels = std::min(num_levels, hypothesis.coarsest_level + 1);
  TrackingResult result;
  result.level_rmse.assign(levels_.size(), kNaN);
  result.level_iterations.assign(levels_.size(), 0);
  result.rmse = kInf;
  SE3 pose = hypothesis.cam_from_ref;
  AffineLight affine = hypothesis.affine;
  const AffineLight prior = hypothesis.affine;
  const double wa = options_.affine_a_prior, wb = options_.affine_b_prior;
  const double f0 = std::max(camera_.fx, camera_.fy);
  auto prior_energy = [&](const AffineLight& a) {
    return wa * (a.a - prior.a) * (a.a - prior.a) + wb * (a.b - prior.b) * (a.b - prior.b);
  };
  // Mean energy per residual plus priors.
  auto total_energy = [&](const Evaluation& e, const AffineLight& a) {
    return e.energy / std::max(e.num, 1) + prior_energy(a);
  };

  // On failure the result carries the state reached so far (success = false).
  auto failed = [&]() {
    result.cam_from_ref = pose;
    result.affine = affine;
    return result;
  };
  Evaluation& eval = *scratch;
  Evaluation& trial = *(scratch + 1);
  for (int level = num_levels - 1; level >= 0; --level) {
    float threshold = options_.outlier_threshold;
    Evaluate(pyr, level, pose, affine, new_exposure, threshold, &eval);
    for (int d = 0; d < options_.max_threshold_doublings &&
                    eval.OutlierFraction() > options_.max_outlier_fraction;
         ++d) {
      threshold *= 2.f;
      Evaluate(pyr, level, pose, affine, new_exposure, threshold, &eval);
    }
    if (eval.num < options_.min_residuals || eval.textured < options_.min_residuals ||
        eval.OutlierFraction() > options_.max_outlier_fraction) {
      return failed();
    }
    double energy = total_energy(eval, affine);
    double lambda = options_.lambda_initial;
    Mat8 h_data;
    Vec8 g_data;
    eval.NormalEquations(&h_data, &g_data);
    const int max_it = options_.max_iterations[std::min<size_t>(level, options_.max_iterations.size() - 1)];
    for (int it = 0; it < max_it; ++it) {
      const double inv_n = 1.0 / eval.num;
      Mat8 h = h_data * inv_n;
      Vec8 g = g_data * inv_n;
      h(6, 6) += wa;
      g(6) += wa * (affine.a - prior.a);
      h(7, 7) += wb;
      g(7) += wb * (affine.b - prior.b);
      for (int i = 0; i < 8; ++i) h(i, i) *= (1.0 + lambda);
      for (int i : {6, 7}) {
        if ((i == 6 && options_.estimate_affine_a) || (i == 7 && options_.estimate_affine_b)) continue;
        h.row(i).setZero();
        h.col(i).setZero();
        h(i, i) = 1.0;
        g(i) = 0.0;
      }
      const Vec8 step = -h.ldlt().solve(g);
      ++result.iterations;
      ++result.level_iterations[level];
      if (!step.allFinite()) return failed();
      const SE3 new_pose = SE3::Exp(step.head<6>()) * pose;
      const AffineLight new_affine(affine.a + step(6), affine.b + step(7));
      Evaluate(pyr, level, new_pose, new_affine, new_exposure, threshold, &trial);
      const double new_energy = total_energy(trial, new_affine);
      if (trial.num >= options_.min_residuals && new_energy < energy) {
        pose = new_pose;
        affine = new_affine;
        std::swap(eval, trial);
        eval.NormalEquations(&h_data, &g_data);
        energy = new_energy;
        lambda *= options_.lambda_down;
      } else {
        lambda *= options_.lambda_up;
      }
      // Largest point motion caused by the step, in pixels of this level.
      const double shift_px = f0 * (step.segment<3>(3).norm() + step.head<3>().norm() * mean_idepth_) /
                              static_cast<double>(1 << level);
      if (shift_px < options_.convergence_px) break;
    }
    const double level_rmse = std::sqrt(eval.energy / std::max(eval.num, 1));
    result.level_rmse[level] = level_rmse;
    if (!std::isfinite(level_rmse) || eval.OutlierFraction() > options_.max_outlier_fraction) {
      return failed();
    }
    if (level < static_cast<int>(abort_rmse.size()) &&
        level_rmse > abort_rmse[level] * options_.retrack_threshold) {
      return failed();  // clearly worse than a previous hypothesis
    }
  }
  result.cam_from_ref = pose;
  result.affine = affine;
  result.rmse = result.level_rmse[0];
  result.num_residuals = eval.num;
  result.inlier_fraction = eval.num > 0 ? double(eval.base_inliers) / eval.num : 0.0;
  result.success = eval.textured >= options_.min_residuals &&
                   result.inlier_fraction >= options_.min_inlier_fraction &&
                   pose.Matrix().allFinite() && std::isfinite(affine.a) && std::isfinite(affine.b);
  return result;
}

TrackingResult CoarseTracker::Track(const ImagePyramid& new_pyramid,
                                    const std::vector<TrackingHypothesis>& hypotheses,
                                    double new_exposure, double previous_rmse) const {
  if (!HasReference()) throw std::invalid_argument("CoarseTracker::Track: no reference set");
  if (hypotheses.empty()) throw std::invalid_argument("CoarseTracker::Track: hypotheses is empty");
  if (new_pyramid.NumLevels() < 1 || new_pyramid.Width(0) != camera_.width ||
      new_pyramid.Height(0) != camera_.height) {
    throw std::invalid_argument("CoarseTracker::Track: new_pyramid size does not match camera " +
                                camera_.ToString());
  }
  if (!(new_exposure > 0.0) || !std::isfinite(new_exposure)) {
    throw std::invalid_argument("CoarseTracker::Track: new_exposure must be positive");
  }
  std::vector<double> abort_rmse(levels_.size(), kInf);
  TrackingResult best;
  best.rmse = kInf;
  best.level_rmse.assign(levels_.size(), kNaN);
  best.cam_from_ref = hypotheses.front().cam_from_ref;
  best.affine = hypotheses.front().affine;
  int tried = 0;
  Evaluation scratch[2];  // residual buffers reused over levels and hypotheses
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    TrackingResult r = TrackHypothesis(new_pyramid, hypotheses[i], new_exposure, abort_rmse, scratch);
    ++tried;
    r.hypothesis_index = static_cast<int>(i);
    const bool better = r.success && (!best.success || r.rmse < best.rmse);
    if (better || i == 0) best = r;
    if (r.success) {
      for (size_t l = 0; l < abort_rmse.size(); ++l) {
        if (std::isfinite(r.level_rmse[l])) abort_rmse[l] = std::min(abort_rmse[l], r.level_rmse[l]);
      }
    }
    if (best.success &&
        (previous_rmse <= 0.0 || best.rmse <= previous_rmse * options_.retrack_threshold)) {
      break;
    }
  }
  best.hypotheses_tried = tried;
  const Eigen::Vector3d flow = FlowIndicators(best.cam_from_ref);
  best.flow_translation = flow[0];
  best.flow_rotation = flow[1];
  best.flow_full = flow[2];
  return best;
}

Eigen::Vector3d CoarseTracker::FlowIndicators(const SE3& cam_from_ref) const {
  const Mat3 rot = cam_from_ref.RotationMatrix();
  const Vec3 t = cam_from_ref.Translation();
  double sum_t = 0.0, sum_r = 0.0, sum_rt = 0.0;
  int n_t = 0, n_r = 0, n_rt = 0;
  auto shift_sq = [&](const Vec3& pt, const TrackerPoint& p, double* sum, int* n) {
    if (!(pt.z() > 0.0)) return;
    const Vec2 uv = camera_.Project(pt);
    *sum += (uv - Vec2(p.x, p.y)).squaredNorm();
    ++*n;
  };
  for (const TrackerPoint& p : level0_points_) {
    const Vec3 ray = camera_.Unproject(Vec2(p.x, p.y));
    shift_sq(ray + t * p.idepth, p, &sum_t, &n_t);
    shift_sq(rot * ray, p, &sum_r, &n_r);
    shift_sq(rot * ray + t * p.idepth, p, &sum_rt, &n_rt);
  }
  auto rms = [](double s, int n) { return n > 0 ? std::sqrt(s / n) : 0.0; };
  return Eigen::Vector3d(rms(sum_t, n_t), rms(sum_r, n_r), rms(sum_rt, n_rt));
}

double CoarseTracker::PoseShift(const SE3& a_from_ref, const SE3& b_from_ref) const {
  const Mat3 ra = a_from_ref.RotationMatrix(), rb = b_from_ref.RotationMatrix();
  const Vec3 ta = a_from_ref.Translation(), tb = b_from_ref.Translation();
  double sum = 0.0;
  int n = 0;
  for (const TrackerPoint& p : level0_points_) {
    const Vec3 ray = camera_.Unproject(Vec2(p.x, p.y));
    // The point at depth 1 / idepth scaled by idepth (projection is invariant): idepth 0 stays finite.
    const Vec3 pa = ra * ray + ta * p.idepth;
    const Vec3 pb = rb * ray + tb * p.idepth;
    if (!(pa.z() > 0.0) || !(pb.z() > 0.0)) continue;
    sum += (camera_.Project(pa) - camera_.Project(pb)).squaredNorm();
    ++n;
  }
  return n > 0 ? std::sqrt(sum / n) : 0.0;
}

SE3 CoarseTracker::ConstantVelocityStep(const SE3& last_from_prev, double dt_last, double dt_now,
                                       double jitter_tolerance) {
  if (jitter_tolerance < 0 || !(dt_last > 0) || !(dt_now > 0) || !std::isfinite(dt_last) || !std::isfinite(dt_now)) {
    return last_from_prev;
  }
  const double ratio = std::clamp(dt_now / dt_last, 0.125, 8.0);
  if (std::abs(ratio - 1.0) <= jitter_tolerance) return last_from_prev;
  const Vec6 xi = last_from_prev.Log();
  return xi.allFinite() ? SE3::Exp(ratio * xi) : last_from_prev;
}

std::vector<TrackingHypothesis> CoarseTracker::MotionHypotheses(const SE3& constant_velocity,
                                                                const SE3& zero_motion,
                                                                const AffineLight& affine,
                                                                double rotation_delta, bool double_and_half) {
  std::vector<TrackingHypothesis> out;
  out.push_back({constant_velocity, affine});
  out.push_back({zero_motion, affine});
  for (int dx = -1; dx <= 1; ++dx) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dz = -1; dz <= 1; ++dz) {
        if (dx == 0 && dy == 0 && dz == 0) continue;
        const SO3 delta = SO3::Exp(rotation_delta * Vec3(dx, dy, dz));
        out.push_back({SE3(delta, Vec3::Zero()) * constant_velocity, affine});
      }
    }
  }
  if (!double_and_half) return out;
  const SE3 velocity = constant_velocity * zero_motion.Inverse();  // (cam_from_last, in the same unit)
  const Vec6 xi = velocity.Log();
  if (xi.allFinite() && xi.norm() > 1e-12) {
    out.push_back({velocity * constant_velocity, affine});
    out.push_back({SE3::Exp(0.5 * xi) * zero_motion, affine});
  }
  return out;
}

}  // namespace dso
