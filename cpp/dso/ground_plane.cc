#include "dso/ground_plane.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>

#include <Eigen/Eigenvalues>

#include "dso/check_option.h"

namespace dso {

constexpr double kPi = 3.14159265358979323846;

void GroundPlaneOptions::Check() const {
  constexpr const char* kOwner = "GroundPlaneOptions";
  CHECK_OPTION_GE(kOwner, ransac_iterations, 1);
  CHECK_OPTION_IN(kOwner, max_normal_angle_deg, 0.0, 90.0);
  CHECK_OPTION_GT(kOwner, inlier_tolerance, 0.0);
  CHECK_OPTION_GE(kOwner, min_inliers, 3);
  CHECK_OPTION_IN(kOwner, min_inlier_fraction, 0.0, 1.0);
  CHECK_OPTION_IN(kOwner, max_curvature_correction, 0.0, 1.0);
  if (!down_axis.allFinite() || std::abs(down_axis.norm() - 1.0) > 1e-6) {
    throw std::invalid_argument("GroundPlaneOptions.down_axis must be a finite unit vector");
  }
}

namespace {
// The road's height below the camera itself, from a plane (normal n, height h) fitted to road points
// ahead: the points' offsets from the plane as a function of their distance ahead along it, fitted by
// a + b z + c z^2 (weights 1/z^2: an inverse-depth error puts a point off the plane by about its distance
// times that error), give the road's offset a at the camera (z = 0), clamped to +-max_fraction * h.
// A road that bends up or down ahead (a crest, a sag) tilts and shifts a plane fitted over 5-30 m,
// so its height misreads the camera's: on KITTI 02's ground truth by -5..+10 % over 20-frame stretches.
double RoadCurvatureCorrection(const std::vector<Vec3>& points_cam, const std::vector<int>& inliers,
                               const Vec3& n, double h, double max_fraction) {
  if (!(max_fraction > 0.0) || inliers.size() < 3) return 0.0;
  Vec3 ahead = Vec3::UnitZ() - n.z() * n;  // the camera's forward axis within the plane
  if (!(ahead.norm() > 1e-6)) return 0.0;
  ahead.normalize();
  Eigen::Matrix3d ata = Eigen::Matrix3d::Zero();
  Vec3 atb = Vec3::Zero();
  for (int i : inliers) {
    const Vec3& p = points_cam[i];
    const double z = std::max(ahead.dot(p), 0.5 * h);
    const double w = 1.0 / (z * z);
    const Vec3 phi(1.0, z, z * z);
    ata += w * phi * phi.transpose();
    atb += w * (n.dot(p) - h) * phi;
  }
  const Vec3 abc = ata.ldlt().solve(atb);
  if (!abc.allFinite()) return 0.0;
  return std::clamp(abc(0), -max_fraction * h, max_fraction * h);
}
}  // namespace

GroundPlane FitGroundPlane(const std::vector<Vec3>& points_cam, const GroundPlaneOptions& options, uint32_t seed) {
  options.Check();
  GroundPlane best;
  std::vector<int> below;  // candidates: below the camera centre, in front of it
  for (int i = 0; i < static_cast<int>(points_cam.size()); ++i) {
    const Vec3& p = points_cam[i];
    if (p.allFinite() && p.y() > 0.0 && p.z() > 0.0) below.push_back(i);
  }
  if (static_cast<int>(below.size()) < options.min_inliers) return best;
  const double min_cos = std::cos(options.max_normal_angle_deg * kPi / 180.0);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, below.size() - 1);
  // Count inliers of the plane normal . X = height.
  auto count = [&](const Vec3& n, double h, std::vector<int>* inliers) {
    const double tol = options.inlier_tolerance * h;
    int c = 0;
    for (int i : below) {
      if (std::abs(n.dot(points_cam[i]) - h) < tol) {
        ++c;
        if (inliers != nullptr) inliers->push_back(i);
      }
    }
    return c;
  };
  int best_count = 0;
  Vec3 best_n(0, 1, 0);
  double best_h = 0.0;
  for (int it = 0; it < options.ransac_iterations; ++it) {
    const Vec3& a = points_cam[below[pick(rng)]];
    const Vec3& b = points_cam[below[pick(rng)]];
    const Vec3& c = points_cam[below[pick(rng)]];
    Vec3 n = (b - a).cross(c - a);
    const double norm = n.norm();
    if (!(norm > 1e-12)) continue;
    n /= norm;
    if (n.dot(options.down_axis) < 0.0) n = -n;  // pointing down, away from a camera above the plane
    const double h = n.dot(a);
    if (!(h > 0.0) || n.dot(options.down_axis) < min_cos) continue;
    const int k = count(n, h, nullptr);
    if (k > best_count) {
      best_count = k;
      best_n = n;
      best_h = h;
    }
  }
  if (best_count < options.min_inliers ||
      best_count < options.min_inlier_fraction * static_cast<double>(below.size())) {
    return best;
  }
  std::vector<int> inliers;
  count(best_n, best_h, &inliers);
  Vec3 n = best_n;
  double h = 0.0;
  if (options.refit_in_idepth) {
    // One least-squares refit on the inliers in inverse depth: on the plane n . X = h a point at normalised
    // image coordinates r = (x/z, y/z, 1) has inverse depth (n / h) . r, linear in m = n / h.
    Eigen::Matrix3d ata = Eigen::Matrix3d::Zero();
    Vec3 atb = Vec3::Zero();
    for (int i : inliers) {
      const Vec3& p = points_cam[i];
      const Vec3 r(p.x() / p.z(), p.y() / p.z(), 1.0);
      ata += r * r.transpose();
      atb += r / p.z();
    }
    const Vec3 m = ata.ldlt().solve(atb);
    if (m.allFinite() && m.norm() > 0.0) {  // (else h stays 0: the RANSAC plane is kept)
      n = m.normalized();
      h = 1.0 / m.norm();
    }
  } else {
    // One least-squares refit on the inliers (smallest singular direction of the centred points).
    Vec3 mean = Vec3::Zero();
    for (int i : inliers) mean += points_cam[i];
    mean /= static_cast<double>(inliers.size());
    Eigen::Matrix3d cov = Eigen::Matrix3d::Zero();
    for (int i : inliers) cov += (points_cam[i] - mean) * (points_cam[i] - mean).transpose();
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> eig(cov);
    n = eig.eigenvectors().col(0);
    if (n.dot(options.down_axis) < 0.0) n = -n;
    h = n.dot(mean);
  }
  if (h > 0.0 && n.dot(options.down_axis) >= min_cos) {
    best_n = n;
    best_h = h;
    inliers.clear();
    count(best_n, best_h, &inliers);
  }
  if (static_cast<int>(inliers.size()) < options.min_inliers) return best;
  best_h += RoadCurvatureCorrection(points_cam, inliers, best_n, best_h, options.max_curvature_correction);
  best.found = true;
  best.normal = best_n;
  best.height = best_h;
  best.inliers = std::move(inliers);
  return best;
}

namespace {
double Median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}
}  // namespace

double GroundHeightHold::AngleToHeldDeg(const Vec3& normal) const {
  const double cos_angle = std::clamp(normal.normalized().dot(normal_), -1.0, 1.0);
  return std::acos(cos_angle) * 180.0 / kPi;
}

bool GroundHeightHold::NormalFar(const Vec3& normal) const {
  return options_.ground_height_max_normal_deg > 0.0 && AngleToHeldDeg(normal) > options_.ground_height_max_normal_deg;
}

std::vector<size_t> GroundHeightHold::LargestParallelGroup(const std::vector<size_t>& candidates) const {
  const double band_deg = options_.ground_height_parallel_deg > 0.0 ? options_.ground_height_parallel_deg
                                                                     : options_.ground_height_max_normal_deg;
  std::vector<size_t> best;
  if (!(band_deg > 0.0)) return best;
  const double min_cos = std::cos(band_deg * kPi / 180.0);
  for (size_t i : candidates) {
    std::vector<size_t> group;
    for (size_t j : candidates) {
      if (normals_[i].dot(normals_[j]) >= min_cos) group.push_back(j);
    }
    if (group.size() > best.size()) best = std::move(group);  // the earliest of equal groups
  }
  return best;
}

double GroundHeightHold::PriorHeightError(size_t i) const {
  const double h = prior_heights_[i];
  return h > 0.0 && options_.camera_height > 0.0 ? std::abs(std::log(h / options_.camera_height))
                                                 : std::numeric_limits<double>::infinity();
}

std::vector<size_t> GroundHeightHold::TargetCandidates(bool* by_prior) const {
  *by_prior = false;
  std::vector<size_t> all(normals_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const double band = options_.ground_target_prior_band;
  if (!(band > 0.0)) return all;
  std::vector<size_t> near_camera;
  for (size_t i : all) {
    if (PriorHeightError(i) <= band) near_camera.push_back(i);
  }
  if (near_camera.size() < 2) return all;
  *by_prior = near_camera.size() < all.size();
  return near_camera;
}

void GroundHeightHold::LockTarget() {
  bool by_prior = false;
  const std::vector<size_t> candidates = TargetCandidates(&by_prior);
  std::vector<size_t> group = LargestParallelGroup(candidates);
  const bool agreed = group.size() >= 2;
  if (!agreed && by_prior) {  // no two of the prior's choice agree: the one it puts nearest the camera's height
    group = {*std::min_element(candidates.begin(), candidates.end(),
                               [this](size_t a, size_t b) { return PriorHeightError(a) < PriorHeightError(b); })};
  } else if (!agreed) {  // no two planes agree (or both gates off): the median normal decides
    group = candidates;
  }
  if (by_prior) ++stats_.prior_chosen;
  Vec3 n;
  for (int k = 0; k < 3; ++k) {
    std::vector<double> c;
    for (size_t i : group) c.push_back(normals_[i][k]);
    n[k] = Median(c);
  }
  normal_ = n.norm() > 0.0 ? Vec3(n.normalized()) : Vec3(0, 1, 0);
  std::vector<double> near;  // heights of the group (without agreement: of the planes near the held normal)
  for (size_t i : group) {
    if (agreed || !NormalFar(normals_[i])) near.push_back(heights_[i]);
  }
  if (near.empty()) {
    for (size_t i : group) near.push_back(heights_[i]);
  }
  target_ = Median(near);
}

bool GroundHeightHold::Update(double height, const Vec3& normal, double* log_scale, double prior_height) {
  if (options_.ground_height_samples <= 0 || !(height > 0.0) || !normal.allFinite() || normal.norm() == 0.0) {
    return false;
  }
  ++stats_.planes;
  if (target_ <= 0.0) {
    ++stats_.measuring;
    heights_.push_back(height);
    normals_.push_back(normal.normalized());
    prior_heights_.push_back(std::isfinite(prior_height) ? prior_height : 0.0);
    if (static_cast<int>(heights_.size()) >= options_.ground_height_samples) {
      LockTarget();
      heights_.clear();
      normals_.clear();
      prior_heights_.clear();
      rejected_in_a_row_ = 0;
      // A relock after a long agreement (ba.ground_height_drift_band): the map drifted from a good target.
      if (previous_target_ > 0.0 && previous_accepted_ >= options_.ground_height_relock) {
        const double c = std::log(previous_target_ / target_);
        if (std::abs(c) <= options_.ground_height_drift_band) {
          target_ = previous_target_;
          *log_scale = c;
          return true;
        }
      }
      ++stats_.locks;  // a new target
    }
    return false;
  }
  const double e = std::log(target_ / height);
  // A plane parallel to the held road is the road: the wider band (ba.ground_height_parallel_*).
  const bool parallel = options_.ground_height_parallel_deg > 0.0 &&
                        AngleToHeldDeg(normal) <= options_.ground_height_parallel_deg;
  const double band = parallel ? std::max(options_.ground_height_max_error, options_.ground_height_parallel_max_error)
                               : options_.ground_height_max_error;
  const bool tilted = NormalFar(normal);
  if (tilted || std::abs(e) > band) {
    ++(tilted ? stats_.rejected_tilt : stats_.rejected_height);
    if (++rejected_in_a_row_ >= options_.ground_height_relock) {
      previous_target_ = target_;
      target_ = 0.0;
      rejected_in_a_row_ = 0;
      previous_accepted_ = accepted_;
      accepted_ = 0;
    }
    return false;
  }
  rejected_in_a_row_ = 0;
  ++accepted_;
  ++stats_.accepted;
  *log_scale = options_.ground_height_gain * e;
  return true;
}

void GroundHeightHold::Rescale(double s) {
  for (double& h : heights_) h *= s;
}

void GroundHeightHold::ChangeUnit(double s) {
  Rescale(s);
  previous_target_ *= s;
  target_ *= s;
}

bool MetresChangeForTarget(const BundleAdjustmentOptions& options, double target, bool relock,
                           int previous_accepted, double* log_change) {
  if (!(options.camera_height > 0.0) || !(target > 0.0)) return false;
  // (the fitted heights read ground_height_bias above the true one: the map is made that much larger)
  const double change = std::log(options.camera_height * options.ground_height_bias / target);
  if (relock && (previous_accepted >= options.ground_height_relock ||
                 !(std::abs(change) <= options.camera_height_relock_band))) {
    return false;
  }
  *log_change = change;
  return true;
}

}  // namespace dso
