// System mapping: keyframe creation, immature point tracing/selection/activation, windowed BA and
// keyframe marginalisation.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "dso/pixel_selector.h"
#include "dso/point_tracer.h"
#include "dso/system.h"
#include "dso/system_prior.h"

namespace dso {
namespace {

double Ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

bool Terminal(ImmaturePoint::Status s) {
  return s == ImmaturePoint::Status::kOutlier || s == ImmaturePoint::Status::kOutOfBounds;
}

}  // namespace

Keyframe* System::AddKeyframe(const std::shared_ptr<const ImagePyramid>& pyr, const SE3& cam_from_world,
                              const AffineLight& light, int frame_index, double timestamp) {
  auto kf = std::make_unique<Keyframe>();
  kf->id = next_keyframe_id_++;
  kf->frame_index = frame_index;
  kf->timestamp = timestamp;
  kf->cam_from_world = cam_from_world;
  kf->light = light;
  kf->pyramid = pyr;
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    keyframe_world_from_cam_.push_back(cam_from_world.Inverse());
    keyframe_frame_index_.push_back(frame_index);
    FrameRecord& rec = frames_[frame_index];
    rec.ref_keyframe = kf->id;
    rec.ref_from_cam = SE3();
  }
  window_.push_back(std::move(kf));
  Keyframe* out = window_.back().get();
  for (Observer* o : observers_) o->OnKeyframeAdded(out->id, frame_index, cam_from_world.Inverse().Matrix());
  return out;
}

void System::MakeKeyframe(Keyframe* kf, const DepthPrior& prior, const FrameInput& input, FrameTimings* tm) {
  // Every active point of the window gets a residual in the new keyframe.
  for (auto& host : window_) {
    if (host.get() == kf) continue;
    for (ActivePoint& p : host->points) p.residuals.push_back(PointResidual{kf});
  }
  auto t = std::chrono::steady_clock::now();
  ActivatePoints();
  tm->activation += Ms(t);
  t = std::chrono::steady_clock::now();
  std::vector<Keyframe*> window;
  std::vector<SE3> window_before;
  for (auto& k : window_) {
    window.push_back(k.get());
    window_before.push_back(k->cam_from_world);
  }
  if (window.size() >= 2) ba_.Optimize(window);
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    FollowWindowInTail(window_before);
  }
  HoldPriorScale();
  tm->bundle_adjustment += Ms(t);
  RemoveDeadPoints();
  for (auto& k : window_) FreezeKeyframe(*k);
  t = std::chrono::steady_clock::now();
  MarginalizeKeyframes();
  tm->marginalization += Ms(t);
  t = std::chrono::steady_clock::now();
  // HoldPriorScale above may have changed the window's unit since `prior` was made: the new keyframe's
  // candidates take the prior in the current one (a change of unit to metres, ba.camera_height, left
  // them 20 % off on KITTI 02 at every 3rd frame, and their epipolar searches with them).
  DepthPrior in_window_unit = prior;
  in_window_unit.SetIdepthScale(prior_idepth_scale_);
  // (ba.prior_handover_planes: a prior handed over to the road is trusted less)
  if (PriorHandedOver()) {
    in_window_unit.SetVarianceScale(options_.ba.prior_handover_sigma_scale * options_.ba.prior_handover_sigma_scale);
  }
  SelectNewPoints(kf, in_window_unit, input);
  tm->activation += Ms(t);
  UpdateTrackerReference();
}

void System::TraceImmaturePoints(const ImagePyramid& pyr, const SE3& cam_from_world, const AffineLight& light) {
  for (auto& kf : window_) {
    const SE3 target_from_host = cam_from_world * kf->cam_from_world.Inverse();
    for (ImmaturePoint& ip : kf->immature) {
      if (Terminal(ip.status)) continue;
      TraceImmaturePoint(camera_, options_.points, options_.ba.huber_threshold, target_from_host, kf->light, light, pyr, &ip);
    }
    kf->immature.erase(std::remove_if(kf->immature.begin(), kf->immature.end(),
                                      [](const ImmaturePoint& ip) { return Terminal(ip.status); }),
                       kf->immature.end());
  }
}

void System::SelectNewPoints(Keyframe* kf, const DepthPrior& prior, const FrameInput& input) {
  PixelSelectorOptions sel = options_.selector;
  sel.seed = static_cast<uint32_t>(kf->id) * 7919u + options_.selector.seed;
  std::vector<PixelCandidate> cands = SelectPixels(*kf->pyramid, options_.points.desired_immature_points, sel);
  if (input.keypoints != nullptr && input.num_keypoints > 0) {
    const int k = std::min(input.num_keypoints, options_.points.max_keypoint_candidates);
    cands = MergeKeypoints(cands, input.keypoints, input.scores, k, 2.0f, camera_.width, camera_.height,
                           kPatternRadius + 2);
  }
  kf->immature.reserve(kf->immature.size() + cands.size());
  for (const PixelCandidate& c : cands) {
    ImmaturePoint ip;
    if (!MakeImmaturePoint(*kf->pyramid, c.x, c.y, options_.ba.gradient_weight_c, &ip)) continue;
    ip.from_keypoint = c.keypoint_index >= 0;
    double id = 0.0, var = 0.0;
    if (prior.Lookup(c.x, c.y, c.keypoint_index, &id, &var)) {
      const double half = options_.points.prior_sigma_scale * std::sqrt(var);
      ip.prior_idepth = id;
      ip.prior_idepth_var = var;
      ip.prior_unit = prior.IdepthScale();
      ip.idepth_min = std::max(id - half, 0.0);
      ip.idepth_max = id + half;
    }
    kf->immature.push_back(ip);
  }
}

void System::ActivatePoints() {
  const int desired = options_.points.desired_active_points;
  const int n_active = CountActivePoints();
  // Adapt the activation distance (DSO-style) so the number of active points tends to `desired`.
  if (n_active < 0.66 * desired) activation_distance_ -= 0.8;
  else if (n_active < 0.8 * desired) activation_distance_ -= 0.5;
  else if (n_active < 0.9 * desired) activation_distance_ -= 0.2;
  else if (n_active > 1.5 * desired) activation_distance_ += 0.4;
  else if (n_active > 1.3 * desired) activation_distance_ += 0.2;
  else if (n_active > 1.15 * desired) activation_distance_ += 0.1;
  activation_distance_ = std::clamp(activation_distance_, options_.points.min_activation_distance_px * 0.5, 4.0);
  Keyframe* newest = window_.back().get();
  const int w1 = std::max(camera_.width / 2, 1), h1 = std::max(camera_.height / 2, 1);
  std::vector<uint8_t> occupied(w1 * h1, 0);
  const int rad = static_cast<int>(std::floor(activation_distance_));
  auto mark = [&](double u, double v) {
    const int cx = static_cast<int>(std::lround((u + 0.5) / 2 - 0.5)), cy = static_cast<int>(std::lround((v + 0.5) / 2 - 0.5));
    for (int dy = -rad; dy <= rad; ++dy) {
      for (int dx = -rad; dx <= rad; ++dx) {
        const int x = cx + dx, y = cy + dy;
        if (x >= 0 && y >= 0 && x < w1 && y < h1 && dx * dx + dy * dy <= activation_distance_ * activation_distance_) {
          occupied[y * w1 + x] = 1;
        }
      }
    }
  };
  auto is_free = [&](double u, double v) {
    const int x = static_cast<int>(std::lround((u + 0.5) / 2 - 0.5)), y = static_cast<int>(std::lround((v + 0.5) / 2 - 0.5));
    return x >= 0 && y >= 0 && x < w1 && y < h1 && !occupied[y * w1 + x];
  };
  for (auto& kf : window_) {
    const SE3 newest_from_host = newest->cam_from_world * kf->cam_from_world.Inverse();
    for (const ActivePoint& p : kf->points) {
      const Vec3 x = newest_from_host * camera_.Unproject(Vec2(p.pixel.x(), p.pixel.y()), 1.0 / p.idepth);
      if (x.z() <= 0) continue;
      const Vec2 uv = camera_.Project(x);
      mark(uv.x(), uv.y());
    }
  }
  std::vector<Keyframe*> window;
  for (auto& k : window_) window.push_back(k.get());
  int n_now = n_active;
  for (auto& kf : window_) {
    const SE3 newest_from_host = newest->cam_from_world * kf->cam_from_world.Inverse();
    std::vector<ImmaturePoint> keep;
    keep.reserve(kf->immature.size());
    for (ImmaturePoint& ip : kf->immature) {
      const bool traced_good = ip.status == ImmaturePoint::Status::kGood &&
                               ip.last_pixel_interval < options_.points.trace_max_pixel_interval &&
                               ip.quality > options_.points.trace_min_quality && ip.idepth_max < kUnboundedIdepth;
      const bool prior_ok = ip.prior_idepth > 0 && kf.get() != newest;
      if (!(traced_good || prior_ok) || window.size() < 2) {
        keep.push_back(ip);
        continue;
      }
      const double mid = traced_good ? 0.5 * (ip.idepth_min + ip.idepth_max) : ip.prior_idepth;
      const Vec3 x = newest_from_host * camera_.Unproject(Vec2(ip.pixel.x(), ip.pixel.y()), 1.0 / std::max(mid, 1e-6));
      if (x.z() <= 0) continue;  // behind the newest keyframe: drop
      const Vec2 uv = camera_.Project(x);
      if (!camera_.InImage(uv.x(), uv.y(), kPatternRadius + 1)) continue;  // out of view: drop
      if (!is_free(uv.x(), uv.y()) || n_now >= 2 * desired) {
        keep.push_back(ip);
        continue;
      }
      ActivePoint ap;
      if (ActivateImmaturePoint(camera_, options_.ba, ip, kf.get(), window, &ap)) {
        kf->points.push_back(std::move(ap));
        mark(uv.x(), uv.y());
        ++n_now;
      }
    }
    kf->immature.swap(keep);
    kf->points_at_creation = std::max(kf->points_at_creation, static_cast<int>(kf->points.size()));
  }
}

void System::RemoveDeadPoints() {
  Keyframe* newest = window_.back().get();
  for (auto& kf : window_) {
    std::vector<const ActivePoint*> gone;
    for (ActivePoint& p : kf->points) {
      bool sees_newest = kf.get() == newest;
      for (const PointResidual& r : p.residuals) sees_newest |= r.target == newest;
      if (!(p.idepth > 0) || p.residuals.empty() || !sees_newest) p.marked_for_removal = true;
      if (p.marked_for_removal) gone.push_back(&p);
    }
    if (gone.empty()) continue;
    EmitPoints(*kf, gone);
    kf->points.erase(std::remove_if(kf->points.begin(), kf->points.end(),
                                    [](const ActivePoint& p) { return p.marked_for_removal; }),
                     kf->points.end());
  }
}

void System::MarginalizeKeyframes() {
  const KeyframeOptions& o = options_.keyframes;
  auto marginalize = [&](size_t i) {
    Keyframe* kf = window_[i].get();
    std::vector<Keyframe*> window;
    for (auto& k : window_) window.push_back(k.get());
    ba_.MarginalizeKeyframe(window, kf);
    std::vector<const ActivePoint*> pts;
    for (const ActivePoint& p : kf->points) pts.push_back(&p);
    EmitPoints(*kf, pts);
    FreezeKeyframe(*kf);
    window_.erase(window_.begin() + i);
    RemoveDeadPoints();
  };
  // Keyframes that lost most of their points, or whose exposure is far from the newest keyframe's
  // (their residuals would be dominated by the affine model), go first (never the newest two).
  const double newest_a = window_.back()->light.a;
  for (size_t i = 0; i + 2 < window_.size() && static_cast<int>(window_.size()) > o.min_keyframes;) {
    const Keyframe& kf = *window_[i];
    const bool few_points =
        kf.points_at_creation > 0 && kf.points.size() < o.min_points_remaining * kf.points_at_creation;
    if (few_points || std::abs(newest_a - kf.light.a) > o.max_log_affine_in_window) {
      marginalize(i);
    } else {
      ++i;
    }
  }
  while (static_cast<int>(window_.size()) > o.max_keyframes) {
    // DSO distance score: keep keyframes spread in space, denser near the newest one.
    const Vec3 newest = window_.back()->cam_from_world.Inverse().Translation();
    double best = -1.0;
    size_t best_i = 0;
    for (size_t i = 0; i + 2 < window_.size(); ++i) {
      const Vec3 ci = window_[i]->cam_from_world.Inverse().Translation();
      double s = 0.0;
      for (size_t j = 0; j + 1 < window_.size(); ++j) {
        if (j != i) s += 1.0 / ((ci - window_[j]->cam_from_world.Inverse().Translation()).norm() + 1e-5);
      }
      s *= std::sqrt((ci - newest).norm());
      if (s > best) {
        best = s;
        best_i = i;
      }
    }
    marginalize(best_i);
  }
}

void System::UpdateTrackerReference(Keyframe* ref) {
  Keyframe* newest = ref != nullptr ? ref : window_.back().get();
  std::vector<TrackerPoint> pts;
  for (auto& kf : window_) {
    const SE3 newest_from_host = newest->cam_from_world * kf->cam_from_world.Inverse();
    for (const ActivePoint& p : kf->points) {
      const Vec3 x = newest_from_host * camera_.Unproject(Vec2(p.pixel.x(), p.pixel.y()), 1.0 / p.idepth);
      if (x.z() <= 1e-6) continue;
      const Vec2 uv = camera_.Project(x);
      if (!camera_.InImage(uv.x(), uv.y(), kPatternRadius + 1)) continue;
      TrackerPoint tp;
      tp.x = static_cast<float>(uv.x());
      tp.y = static_cast<float>(uv.y());
      tp.idepth = static_cast<float>(1.0 / x.z());
      pts.push_back(tp);
    }
  }
  auto next = std::make_unique<TrackingReference>();
  next->tracker = std::make_unique<CoarseTracker>(camera_, options_.tracker);
  next->tracker->SetReference(*newest->pyramid, pts, newest->light);
  next->keyframe_id = newest->id;
  next->frame_index = newest->frame_index;
  next->cam_from_world = newest->cam_from_world;
  next->light = newest->light;
  next->prior_idepth_scale = prior_idepth_scale_;
  next->prior_unit_known = prior_unit_known_;
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    next->map_scale = map_scale_;
  }
  std::lock_guard<std::mutex> lock(reference_mutex_);
  pending_reference_ = std::move(next);
}

void System::FollowWindowInTail(const std::vector<SE3>& window_before) {
  if (window_.empty() || window_before.size() != window_.size()) return;
  const int anchor_frame = window_.front()->frame_index;
  size_t w = window_.size() - 1;  // window keyframes are in frame order, as are keyframe ids
  for (size_t id = keyframe_world_from_cam_.size(); id-- > 0 && keyframe_frame_index_[id] > anchor_frame;) {
    const int f = keyframe_frame_index_[id];
    while (w > 0 && window_[w]->frame_index > f) --w;  // window_[w]: the newest window keyframe at or before f
    if (window_[w]->id == static_cast<int>(id)) continue;  // in the window: its own pose
    size_t nearest = w;
    if (w + 1 < window_.size() && window_[w + 1]->frame_index - f < f - window_[w]->frame_index) nearest = w + 1;
    // world_from_kf = world_from_ref_after * ref_from_kf, ref_from_kf as before the update.
    const SE3 ref_from_kf = window_before[nearest] * keyframe_world_from_cam_[id];
    keyframe_world_from_cam_[id] = window_[nearest]->cam_from_world.Inverse() * ref_from_kf;
  }
  // keyframes.marginalized_follow_keyframes: the marginalised keyframes just before the window follow
  // its oldest keyframe's motion, weights falling linearly to 0 (rotation about that keyframe's centre).
  const int blend = options_.keyframes.marginalized_follow_keyframes;
  if (blend <= 0) return;
  const SE3 world_from_front_before = window_before.front().Inverse();
  const Vec6 motion = (window_before.front() * window_.front()->cam_from_world.Inverse()).Log();
  int k = 0;
  for (size_t id = keyframe_world_from_cam_.size(); id-- > 0;) {
    if (keyframe_frame_index_[id] >= anchor_frame) continue;
    if (++k > blend) break;
    const double w = 1.0 - static_cast<double>(k) / (blend + 1);
    const SE3 m = world_from_front_before * SE3::Exp(w * motion) * world_from_front_before.Inverse();
    keyframe_world_from_cam_[id] = m * keyframe_world_from_cam_[id];
  }
}

void System::FreezeKeyframe(const Keyframe& kf) {
  std::lock_guard<std::mutex> lock(pose_mutex_);
  keyframe_world_from_cam_.at(kf.id) = kf.cam_from_world.Inverse();
}

void System::EmitPoints(const Keyframe& kf, const std::vector<const ActivePoint*>& points) {
  std::vector<Eigen::Vector3f> xyz;
  std::vector<uint8_t> grey;
  const SE3 world_from_cam = kf.cam_from_world.Inverse();
  for (const ActivePoint* p : points) {
    if (!(p->idepth > 0) || p->residuals.empty()) continue;  // never-constrained points are not output
    xyz.push_back((world_from_cam * camera_.Unproject(Vec2(p->pixel.x(), p->pixel.y()), 1.0 / p->idepth)).cast<float>());
    grey.push_back(static_cast<uint8_t>(std::clamp(p->intensity[4], 0.f, 255.f)));
  }
  marginalized_xyz_.insert(marginalized_xyz_.end(), xyz.begin(), xyz.end());
  marginalized_grey_.insert(marginalized_grey_.end(), grey.begin(), grey.end());
  if (!xyz.empty()) {
    for (Observer* o : observers_) o->OnPointsMarginalized(xyz, grey);
  }
}

void System::ResetMap() {
  for (auto& kf : window_) {
    std::vector<const ActivePoint*> pts;
    for (const ActivePoint& p : kf->points) pts.push_back(&p);
    EmitPoints(*kf, pts);
    FreezeKeyframe(*kf);
  }
  window_.clear();
  init_buffer_.clear();
  state_ = State::kUninitialized;
  lost_count_ = 0;
  recent_rmse_.clear();
  rmse_after_keyframe_ = -1.0;
}

}  // namespace dso
