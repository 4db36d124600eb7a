// Depth-prior scale, held outside the photometric solve (see window_ba.h: the window BA never moves
// along the scale direction). The prior enters in the window's unit: prior_idepth_scale_ (window
// idepth per prior idepth) is the median ratio over the window's road points (ba.prior_scale_ground,
// dso/ground_plane.h) or, without a road plane, over the nearest ba.prior_scale_near_fraction of the
// window's active points with a prior (a depth network is least reliable far away), so the prior
// shapes the map and bounds the epipolar searches without fighting the window's scale. The window
// itself is pulled toward the prior's unit by a damped fraction (prior_scale_gain) per BA.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "dso/ground_plane.h"
#include "dso/system.h"

namespace dso {

double System::HoldPriorScale() {
  const BundleAdjustmentOptions& o = options_.ba;
  if (window_.size() < 2) return 1.0;
  // (prior idepth in the prior's own unit, log(window idepth / prior idepth)) of each usable point,
  // and (with ba.prior_scale_ground) the point in the newest keyframe's camera frame.
  std::vector<std::pair<double, double>> samples;
  std::vector<Vec3> newest_xyz;
  const SE3 newest_from_world = window_.back()->cam_from_world;
  for (const auto& kf : window_) {
    const SE3 newest_from_host = newest_from_world * kf->cam_from_world.Inverse();
    for (const ActivePoint& p : kf->points) {
      if (!p.marked_for_removal && p.prior_idepth > 0.0 && p.idepth > 0.0 && !p.residuals.empty()) {
        const double prior_idepth = p.prior_idepth / p.prior_unit;
        samples.emplace_back(prior_idepth, std::log(p.idepth / prior_idepth));
        if (o.prior_scale_ground || o.ground_height_samples > 0) {
          newest_xyz.push_back(newest_from_host * camera_.Unproject(Vec2(p.pixel.x(), p.pixel.y()), 1.0 / p.idepth));
        }
      }
    }
  }
  // Too few prior points to measure the prior's unit (none, or a network whose depths the window mostly lacks,
  // e.g. beyond points.max_prior_depth): the road alone holds the scale, as without a prior.
  if (static_cast<int>(samples.size()) < o.prior_scale_min_points) return HoldRoadHeightWithoutPrior();
  size_t near_count = 0;
  GroundPlane ground;
  if (!newest_xyz.empty()) {
    ground = FitRoadPlane(newest_xyz, o.ground_curvature_correction);
  }
  if (ground.found && o.prior_scale_ground) {
    // The unit on the road points (the prior's most consistent depths): they move to the front.
    for (size_t i = 0; i < ground.inliers.size(); ++i) std::swap(samples[i], samples[ground.inliers[i]]);
    near_count = ground.inliers.size();
  } else {
    // The nearest prior_scale_near_fraction of the points (largest prior idepth), at least min_points.
    near_count = std::min(samples.size(),
                          std::max(static_cast<size_t>(o.prior_scale_min_points),
                                   static_cast<size_t>(std::ceil(o.prior_scale_near_fraction * samples.size()))));
    std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(near_count), samples.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
  }
  const auto near_end = samples.begin() + static_cast<std::ptrdiff_t>(near_count);
  // Median log ratio of those points (now the first near_count samples).
  const auto mid = samples.begin() + static_cast<std::ptrdiff_t>(near_count / 2);
  std::nth_element(samples.begin(), mid, near_end, [](const auto& a, const auto& b) { return a.second < b.second; });
  const double r = mid->second;
  prior_unit_known_ = true;
  // World scaled by s about the oldest window keyframe's centre (it stays where it is): idepths
  // become idepth / s, so s = exp(gain * r) moves the window's unit toward the prior's. The gain starts
  // at 1/2, 1/3, ... (the window's unit is the running mean of the prior's unit over the keyframes so
  // far, not frame 0's alone) and settles at prior_scale_gain (an exponential memory).
  const double gain = std::max(o.prior_scale_gain, 1.0 / (2.0 + prior_scale_updates_));
  ++prior_scale_updates_;
  // (after ba.camera_height's change of unit the map is in metres: the prior's unit times that change is
  // what it follows, or every update without the road would pull the map back to the prior's own unit)
  // (ba.prior_handover_planes: once the road has held the scale that often, only the road moves it)
  double log_s = PriorHandedOver() ? 0.0 : gain * (r + metric_log_scale_);
  // ba.ground_height_samples: the camera's height above the road, in the window's unit, is held once
  // measured (GroundHeightHold): the prior then only fixes the start's unit and the points' shape, the
  // road the scale (a camera on a vehicle). Planes off the held height or tilted from the held normal
  // follow the prior as above.
  // (the road's height as the prior reads it, in its unit (metres for an exported DepthNet, calibrated at
  // export): r is the median over the road's points)
  const double prior_height = ground.found && o.prior_scale_ground ? ground.height * std::exp(r) : 0.0;
  if (ground.found) ground_height_.Update(ground.height, ground.normal, &log_s, prior_height);
  bool to_metres = false;
  const double s = HeldHeightScale(log_s, &to_metres);
  // (kept over a map reset: the new map starts in the prior's unit times prior_idepth_scale_, as before)
  prior_idepth_scale_ = std::exp(r) / s;
  const double k = prior_idepth_scale_;
  auto to_window_unit = [k](double* prior_idepth, double* prior_var, double* unit) {
    if (!(*prior_idepth > 0.0)) return;
    const double f = k / *unit;
    *prior_idepth *= f;
    *prior_var *= f * f;
    *unit = k;
  };
  for (auto& kf : window_) {
    for (ActivePoint& p : kf->points) to_window_unit(&p.prior_idepth, &p.prior_idepth_var, &p.prior_unit);
    for (ImmaturePoint& ip : kf->immature) to_window_unit(&ip.prior_idepth, &ip.prior_idepth_var, &ip.prior_unit);
  }
  RescaleMap(s, to_metres);
  return s;
}

bool System::PriorHandedOver() const {
  const int planes = options_.ba.prior_handover_planes;
  return planes > 0 && ground_height_.target() > 0.0 && ground_height_.accepted_with_target() >= planes;
}

// Pure DSO (no prior points): the road's height alone holds the scale once measured (and becomes
// ba.camera_height); before that the map keeps the two-view start's unit. KITTI 00 / 02 [0:300], selector
// seeds 0-2: t_rel 4.33 / 1.90 -> 1.18 / 1.00 %, fitted scale 14 / 24 -> 1.02 / 1.00 (bench/RESULTS.md).
double System::HoldRoadHeightWithoutPrior() {
  const BundleAdjustmentOptions& o = options_.ba;
  if (o.ground_height_samples <= 0) return 1.0;
  std::vector<Vec3> newest_xyz;
  const SE3 newest_from_world = window_.back()->cam_from_world;
  for (const auto& kf : window_) {
    const SE3 newest_from_host = newest_from_world * kf->cam_from_world.Inverse();
    for (const ActivePoint& p : kf->points) {
      if (!p.marked_for_removal && p.idepth > 0.0 && !p.residuals.empty()) {
        newest_xyz.push_back(newest_from_host * camera_.Unproject(Vec2(p.pixel.x(), p.pixel.y()), 1.0 / p.idepth));
      }
    }
  }
  // The plane's own height: the road's curvature (GroundPlaneOptions::max_curvature_correction) needs the
  // near road points' depths, which parallax alone gives poorly (pure DSO, 6 selector seeds: validation
  // 07 ATE 0.54 -> 0.91 m with a 10 % clamp, 00 / 02 level; bench/RESULTS.md).
  const GroundPlane ground = FitRoadPlane(newest_xyz, 0.0);
  ++prior_scale_updates_;
  double log_s = 0.0;
  if (ground.found) ground_height_.Update(ground.height, ground.normal, &log_s);
  bool to_metres = false;
  const double s = HeldHeightScale(log_s, &to_metres);
  RescaleMap(s, to_metres);
  return s;
}

// A textured bank beside the road (grass, a hedge's foot) can hold more points than the smooth asphalt
// and win the RANSAC: in KITTI 02's last turn (frames 274-290) a plane rolled by 13-18 deg won every
// update, was rejected as tilted, and after ground_height_relock of them the held height was measured
// again on those planes, 1.24-1.8x the road's (the map then grew by 10-16 %). When the best plane is tilted
// from a confirmed held road (ba.ground_search_near_held_deg), a second search near the held normal finds the
// road itself; only without a road there does the tilted plane count toward a relock. (A young target is
// not trusted to point the search: KITTI 07's slow start measured worse.)
GroundPlane System::FitRoadPlane(const std::vector<Vec3>& newest_xyz, double curvature_correction) const {
  const BundleAdjustmentOptions& o = options_.ba;
  GroundPlaneOptions plane_options;
  plane_options.max_curvature_correction = curvature_correction;
  const uint32_t seed = 1u + static_cast<uint32_t>(prior_scale_updates_);
  GroundPlane best = FitGroundPlane(newest_xyz, plane_options, seed);
  if (best.found && o.ground_search_near_held_deg > 0.0 && ground_height_.target() > 0.0 &&
      ground_height_.accepted_with_target() >= o.ground_height_relock && ground_height_.NormalFar(best.normal)) {
    GroundPlaneOptions near_held = plane_options;
    near_held.down_axis = ground_height_.normal().normalized();
    near_held.max_normal_angle_deg = o.ground_search_near_held_deg;
    GroundPlane road = FitGroundPlane(newest_xyz, near_held, seed);
    if (road.found) return road;
  }
  return best;
}

// The factor exp(log_s) to rescale the map by after a GroundHeightHold update, except that with
// ba.camera_height a newly measured target becomes the camera's known height in metres by one change of
// the whole map's unit (*to_metres; a gauge, not a correction: the target follows, and so does every pose
// and point since frame 0, about the world origin). That is the first target and a relock's when the
// target before it was from the wrong structure (MetresChangeForTarget, ba.camera_height_relock_band): the
// map's unit went with it.
double System::HeldHeightScale(double log_s, bool* to_metres) {
  *to_metres = false;
  if (ground_height_.target() > 0.0 && ground_height_.locks() != metric_lock_) {  // a new target
    metric_lock_ = ground_height_.locks();
    double change = 0.0;
    if (MetresChangeForTarget(options_.ba, ground_height_.target(), metric_unit_,
                              ground_height_.previous_target_accepted(), &change)) {
      *to_metres = true;
      log_s = change;
      metric_log_scale_ += change;
      metric_unit_ = true;
    }
  }
  const double s = std::exp(log_s);
  if (*to_metres) {
    ground_height_.ChangeUnit(s);
  } else {
    ground_height_.Rescale(s);
  }
  return s;
}

// The world scaled by s about the oldest window keyframe's centre (whole_history: about the world origin,
// every pose and point since frame 0): window points and poses, the marginalisation prior, the trajectory
// after the anchor.
void System::RescaleMap(double s, bool whole_history) {
  const Vec3 anchor = whole_history ? Vec3::Zero() : Vec3(window_.front()->cam_from_world.Inverse().Translation());
  auto rescale = [&](SE3* cam_from_world) {
    const Vec3 centre = cam_from_world->Inverse().Translation();
    const Vec3 scaled = anchor + s * (centre - anchor);
    cam_from_world->SetTranslation(-(cam_from_world->RotationMatrix() * scaled));
  };
  for (auto& kf : window_) {
    for (ActivePoint& p : kf->points) p.idepth /= s;
    for (ImmaturePoint& ip : kf->immature) {
      ip.idepth_min /= s;
      if (ip.idepth_max < kUnboundedIdepth) ip.idepth_max /= s;
    }
    if (s == 1.0) continue;
    rescale(&kf->cam_from_world);
    // The marginalisation prior's linearisation point moves with the state: the prior keeps its
    // energy (its relative translations scale with s) and so does not pull the scale back.
    if (kf->in_prior) rescale(&kf->fej_cam_from_world);
  }
  if (s == 1.0) return;
  ba_.RescalePrior(s, anchor);
  // The trajectory after the anchor scales with the window: keyframes already marginalised (DSO
  // marginalises by point loss, not age) and every frame's translation relative to its reference.
  // Keyframe ids and frame indices both grow with time: only the tail after the anchor is visited.
  // (whole_history: all of them, and the absolute poses and the marginalised points too)
  const int anchor_frame = whole_history ? -1 : window_.front()->frame_index;
  std::lock_guard<std::mutex> lock(pose_mutex_);
  map_scale_ *= s;  // frames tracked later against an older tracking reference are rescaled when recorded
  for (size_t id = keyframe_world_from_cam_.size(); id-- > 0 && keyframe_frame_index_[id] > anchor_frame;) {
    SE3& world_from_cam = keyframe_world_from_cam_[id];
    world_from_cam.SetTranslation(anchor + s * (world_from_cam.Translation() - anchor));
  }
  for (size_t i = static_cast<size_t>(std::max(anchor_frame, 0)); i < frames_.size(); ++i) {
    FrameRecord& rec = frames_[i];
    if (rec.ref_keyframe >= 0 && keyframe_frame_index_[rec.ref_keyframe] >= anchor_frame) {
      rec.ref_from_cam.SetTranslation(rec.ref_from_cam.Translation() * s);
    } else if (rec.ref_keyframe < 0 && whole_history) {
      rec.world_from_cam.SetTranslation(rec.world_from_cam.Translation() * s);
    }
  }
  if (whole_history && !marginalized_xyz_.empty()) {
    for (Eigen::Vector3f& x : marginalized_xyz_) x *= static_cast<float>(s);
    ++marginalized_revision_;
  }
}

}  // namespace dso
