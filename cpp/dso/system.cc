// System: frame loop, tracking, initialisation, recovery and accessors. Mapping (keyframe
// creation, point management, marginalisation) is in system_mapping.cc.
#include "dso/system.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "dso/point_tracer.h"
#include "dso/system_prior.h"

namespace dso {
namespace {

double Ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

const char* FrameStatusName(FrameStatus status) {
  switch (status) {
    case FrameStatus::kInitializing: return "INITIALIZING";
    case FrameStatus::kTracked: return "TRACKED";
    case FrameStatus::kKeyframe: return "KEYFRAME";
    case FrameStatus::kLost: return "LOST";
    case FrameStatus::kRecovered: return "RECOVERED";
  }
  return "UNKNOWN";
}

System::System(const PinholeCamera& camera, const SystemOptions& options)
    : camera_((camera.Check(), camera)),
      options_((options.Check(), options)),
      ba_(camera, options.ba),
      two_view_(camera, options.init, 0),
      ground_height_(options.ba) {
  if (options_.mapping_thread) mapping_thread_ = std::thread(&System::MappingLoop, this);
}

System::~System() {
  if (mapping_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      stop_mapping_ = true;
    }
    queue_cv_.notify_all();
    mapping_thread_.join();
  }
}

void System::AddObserver(Observer* observer) {
  if (observer == nullptr) throw std::invalid_argument("System::AddObserver: observer is null");
  observers_.push_back(observer);
}

void System::RemoveObserver(Observer* observer) {
  observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

SE3 System::KeyframeWorldFromCam(int keyframe_id) const { return keyframe_world_from_cam_.at(keyframe_id); }

SE3 System::InCurrentUnit(const SE3& motion, double ref_map_scale) const {
  if (map_scale_ == ref_map_scale) return motion;  // always without a mapping thread
  SE3 out = motion;
  out.SetTranslation(motion.Translation() * (map_scale_ / ref_map_scale));
  return out;
}

int System::NumFrames() const {
  std::lock_guard<std::mutex> lock(pose_mutex_);
  return static_cast<int>(frames_.size());
}

int System::PriorFrames() const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  return ba_.PriorFrames();
}

double System::GroundHeight() const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  return ground_height_.target() / options_.ba.ground_height_bias;  // the fit's bias removed
}

GroundHoldStats System::GroundHold() const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  return ground_height_.stats();
}

bool System::InMetres() const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  return metric_unit_;
}

SE3 System::WorldFromCam(int frame_index) const {
  const FrameRecord& rec = frames_.at(frame_index);
  return rec.ref_keyframe >= 0 ? KeyframeWorldFromCam(rec.ref_keyframe) * rec.ref_from_cam : rec.world_from_cam;
}

void System::SetPhotometricCalibration(const PhotometricCalibration& calibration) {
  calibration.Check(camera_.width, camera_.height);
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    if (!frames_.empty()) {
      throw std::logic_error("System::SetPhotometricCalibration: set it before the first frame (" +
                             std::to_string(frames_.size()) + " frames tracked)");
    }
  }
  photometric_ = calibration;
}

FrameResult System::Track(const FrameInput& input) {
  const auto t0 = std::chrono::steady_clock::now();
  if (input.image == nullptr) throw std::invalid_argument("System::Track: image is null");
  if (input.width != camera_.width || input.height != camera_.height) {
    throw std::invalid_argument("System::Track: image is " + std::to_string(input.width) + "x" +
                                std::to_string(input.height) + ", expected " + std::to_string(camera_.width) + "x" +
                                std::to_string(camera_.height));
  }
  if (!(input.exposure >= 0.0) || !std::isfinite(input.exposure)) {
    throw std::invalid_argument("System::Track: exposure must be finite and >= 0 (0 = unknown), got " +
                                std::to_string(input.exposure));
  }
  if (input.num_keypoints < 0 || (input.num_keypoints > 0 && input.keypoints == nullptr)) {
    throw std::invalid_argument("System::Track: keypoints missing for num_keypoints > 0");
  }
  RethrowMappingError();
  FrameResult result;
  FrameTimings& tm = result.timings;
  PyramidOptions pyr_opt;
  pyr_opt.num_levels = std::min(options_.tracking.pyramid_levels,
                                ImagePyramid::DefaultNumLevels(camera_.width, camera_.height, 12));
  pyr_opt.min_level_height = 12;
  auto t = std::chrono::steady_clock::now();
  std::vector<float> calibrated;  // B = G^-1(I) / V (* t0 / t), when the camera has a photometric calibration
  if (!photometric_.inverse_response.empty() || !photometric_.vignette.empty()) {
    calibrated = photometric_.Apply(input.image, input.width, input.height);
    if (input.exposure > 0.0) {
      if (reference_exposure_ <= 0.0) reference_exposure_ = input.exposure;
      const float gain = static_cast<float>(reference_exposure_ / input.exposure);
      for (float& v : calibrated) v *= gain;
    }
  }
  const float* image = calibrated.empty() ? input.image : calibrated.data();
  auto pyr = std::make_shared<const ImagePyramid>(image, input.width, input.height, pyr_opt);
  tm.pyramid = Ms(t);
  int frame_index = 0;
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    frame_index = static_cast<int>(frames_.size());
    FrameRecord rec;
    rec.timestamp = input.timestamp;
    frames_.push_back(rec);
  }
  auto set_status = [&](FrameStatus status) {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    frames_[frame_index].status = status;
  };

  auto initialize = [&](const SE3& world_from_cam) {
    Flush();  // the mapping side is idle from here to the end of the initialisation
    std::lock_guard<std::mutex> map_lock(map_mutex_);
    DepthPrior prior(input, camera_, options_.points, options_.use_depth_prior);
    prior.SetIdepthScale(prior_idepth_scale_);
    t = std::chrono::steady_clock::now();
    bool ok = false;
    if (prior.Available()) {
      ok = InitializeFromPrior(pyr, prior, input, world_from_cam, frame_index, &tm);
    } else {
      ok = InitializeTwoView(pyr, frame_index, &tm);
    }
    tm.initialization = Ms(t) - tm.bundle_adjustment;
    if (ok) {
      set_status(recovering_ ? FrameStatus::kRecovered : FrameStatus::kKeyframe);
      if (recovering_) {
        for (Observer* o : observers_) o->OnReinitialized(frame_index);
      }
      recovering_ = false;
      result.is_keyframe = true;
      last_keyframe_frame_ = frame_index;
    } else {
      set_status(FrameStatus::kInitializing);
    }
    PublishMapCounts();
  };

  if (state_ != State::kRunning) {
    initialize(segment_world_from_first_);
  } else {
    SE3 cam_from_world;
    AffineLight light;
    TrackingResult tr;
    t = std::chrono::steady_clock::now();
    bool ok = TrackFrame(*pyr, input, &cam_from_world, &light, &tr, &result);
    if (mapping_thread_.joinable() && (!ok || NeedKeyframe(tr, light, frame_index)) &&
        (WaitForPendingKeyframes() || NewerReferencePublished())) {
      // The frame wants a keyframe (or is lost) while the mapping thread is making one, or has just made
      // it: track it again against that keyframe rather than keyframing (or losing it) against a stale
      // reference (at a stale reference's flow and exposure the tracker can settle in a wrong minimum).
      ok = TrackFrame(*pyr, input, &cam_from_world, &light, &tr, &result);
    }
    tm.tracking = Ms(t);
    result.tracking_rmse = tr.rmse;
    const TrackingReference& ref = *tracking_ref_;
    if (ok) {
      lost_count_ = 0;
      recent_rmse_.push_back(tr.rmse);
      while (static_cast<int>(recent_rmse_.size()) > options_.tracking.retrack_rmse_history) recent_rmse_.pop_front();
      if (rmse_after_keyframe_ <= 0) rmse_after_keyframe_ = tr.rmse;
      last_light_ = light;
      const bool make_keyframe = NeedKeyframe(tr, light, frame_index);
      {
        std::lock_guard<std::mutex> lock(pose_mutex_);
        FrameRecord& rec = frames_[frame_index];
        rec.status = make_keyframe ? FrameStatus::kKeyframe : FrameStatus::kTracked;
        rec.ref_keyframe = ref.keyframe_id;  // a keyframe's own pose once the mapping side made it
        rec.ref_from_cam = InCurrentUnit(ref.cam_from_world * cam_from_world.Inverse(), ref.map_scale);
      }
      if (make_keyframe) {
        last_keyframe_frame_ = frame_index;
        result.is_keyframe = true;
      }
      MappingJob job;
      job.frame_index = frame_index;
      job.timestamp = input.timestamp;
      job.pyramid = pyr;
      job.ref_keyframe = ref.keyframe_id;
      job.cam_from_ref = tr.cam_from_ref;
      job.ref_map_scale = ref.map_scale;
      job.light = light;
      job.make_keyframe = make_keyframe;
      job.input = input;
      QueueMappingJob(std::move(job), &tm);
    } else {
      ++lost_count_;
      // Keep the trajectory continuous: constant-velocity prediction relative to the reference.
      {
        std::lock_guard<std::mutex> lock(pose_mutex_);
        FrameRecord& rec = frames_[frame_index];
        rec.status = FrameStatus::kLost;
        rec.ref_keyframe = ref.keyframe_id;
        rec.ref_from_cam = InCurrentUnit(ref.cam_from_world * cam_from_world.Inverse(), ref.map_scale);
      }
      for (Observer* o : observers_) o->OnTrackingLost(frame_index);
      if (lost_count_ >= options_.tracking.lost_frames_before_reinit) {
        // Give up on the map: everything leaves the window and the next frame re-initialises at
        // the constant-velocity extrapolation of this frame (trajectory stays continuous).
        Flush();
        std::lock_guard<std::mutex> map_lock(map_mutex_);
        SE3 world_from_cam, step;
        {
          std::lock_guard<std::mutex> lock(pose_mutex_);
          world_from_cam = WorldFromCam(frame_index);
          step = frame_index >= 1 ? WorldFromCam(frame_index - 1).Inverse() * world_from_cam : SE3();
        }
        segment_scale_hint_ = step.Translation().norm();
        ResetMap();
        recovering_ = true;
        segment_world_from_first_ = world_from_cam * step;
        {
          std::lock_guard<std::mutex> lock(pose_mutex_);
          frames_[frame_index].ref_keyframe = -1;
          frames_[frame_index].world_from_cam = world_from_cam;
        }
        PublishMapCounts();
      }
    }
  }
  result.frame_index = frame_index;
  result.timestamp = input.timestamp;
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    result.status = frames_[frame_index].status;
    result.world_from_cam = WorldFromCam(frame_index).Matrix();
  }
  result.num_active_points = num_active_points_.load();
  result.num_immature_points = num_immature_points_.load();
  result.num_keyframes = num_window_keyframes_.load();
  tm.total = Ms(t0);
  for (Observer* o : observers_) o->OnFrameTracked(result);
  return result;
}

bool System::TrackFrame(const ImagePyramid& pyr, const FrameInput& input, SE3* cam_from_world, AffineLight* light,
                        TrackingResult* tr, FrameResult* result) {
  AdoptTrackingReference();
  const TrackingReference& ref = *tracking_ref_;
  // Poses in the map's current unit and state: the reference keyframe's current pose, the last two frames'.
  // The reference's points are in its own unit (ref.map_scale): a mapping thread may have moved and
  // rescaled the map since the reference was built, so the hypotheses are converted to it.
  SE3 world_from_ref, last_cam_from_world, predicted;
  double to_ref_unit = 1.0;
  bool motion_known = false;  // the prediction rests on two frames tracked after the start
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    world_from_ref = KeyframeWorldFromCam(ref.keyframe_id);
    to_ref_unit = ref.map_scale / map_scale_;
    const int n = static_cast<int>(frames_.size()) - 1;  // current frame index
    last_cam_from_world = WorldFromCam(n - 1).Inverse();
    predicted = last_cam_from_world;
    if (n >= 2 && frames_[n - 2].status != FrameStatus::kInitializing) {
      // (with an external initial pose, which measures a gap itself, the plain last step: see the option)
      const double tolerance = input.init_world_from_cam == nullptr ? options_.tracking.motion_time_tolerance : -1.0;
      const SE3 step = CoarseTracker::ConstantVelocityStep(
          last_cam_from_world * WorldFromCam(n - 2), frames_[n - 1].timestamp - frames_[n - 2].timestamp,
          frames_[n].timestamp - frames_[n - 1].timestamp, tolerance);
      predicted = step * last_cam_from_world;
      auto tracked = [&](int i) {
        return frames_[i].status == FrameStatus::kTracked || frames_[i].status == FrameStatus::kKeyframe;
      };
      motion_known = tracked(n - 1) && tracked(n - 2);
    }
  }
  auto in_ref_unit = [to_ref_unit](SE3 cam_from_ref) {
    if (to_ref_unit != 1.0) cam_from_ref.SetTranslation(cam_from_ref.Translation() * to_ref_unit);
    return cam_from_ref;
  };
  std::vector<TrackingHypothesis> hyps =
      CoarseTracker::MotionHypotheses(in_ref_unit(predicted * world_from_ref),
                                      in_ref_unit(last_cam_from_world * world_from_ref), last_light_, 0.04,
                                      /*double_and_half=*/input.init_world_from_cam == nullptr);
  TrackingHypothesis fine;  // the initial pose tracked from a finer level (used when coarsest_level >= 0)
  if (input.init_world_from_cam != nullptr) {
    // Its motion from the previous frame is in the depth prior's unit (PnP on network depth): rescaled
    // to the window's (window depth = prior depth / prior_idepth_scale). While that ratio is unknown
    // (a map from the two-view start, no prior yet) only its rotation is used, with the predicted
    // translation.
    SE3 cam_from_last = SE3::FromMatrix(*input.init_world_from_cam).Inverse() * last_cam_from_world.Inverse();
    // (prior_idepth_scale relates the prior to the reference's unit, in_ref_unit the current unit to it)
    cam_from_last.SetTranslation(
        ref.prior_unit_known ? Vec3(cam_from_last.Translation() / ref.prior_idepth_scale / to_ref_unit)
                             : Vec3((predicted * last_cam_from_world.Inverse()).Translation()));
    TrackingHypothesis h;
    h.cam_from_ref = in_ref_unit(cam_from_last * last_cam_from_world * world_from_ref);
    h.affine = last_light_;
    hyps.insert(hyps.begin(), h);
    if (options_.tracking.init_pose_coarsest_level >= 0) {
      fine = h;
      fine.coarsest_level = options_.tracking.init_pose_coarsest_level;
    }
  }
  *tr = ref.tracker->Track(pyr, hyps, 1.0, RetrackReferenceRmse());
  if (fine.coarsest_level >= 0) {
    const TrackingResult r = ref.tracker->Track(pyr, {fine}, 1.0, -1.0);
    if (r.success && (!tr->success || r.rmse < tr->rmse)) *tr = r;
  }
  // The prediction (hyps[1] behind the initial pose) on its own too, unless it is the result: the list
  // stops at the initial pose once that is good enough (TrackingOptions::init_pose_prediction_margin).
  const double margin = options_.tracking.init_pose_prediction_margin;
  // (skipped when it starts close to a successful result: TrackingOptions::init_pose_prediction_min_shift_px)
  if (input.init_world_from_cam != nullptr && margin >= 0.0 && tr->hypothesis_index != 1 &&
      !(tr->success && ref.tracker->PoseShift(tr->cam_from_ref, hyps[1].cam_from_ref) <
                           options_.tracking.init_pose_prediction_min_shift_px)) {
    const TrackingResult r = ref.tracker->Track(pyr, {hyps[1]}, 1.0, -1.0);
    if (r.success && (!tr->success || r.rmse < tr->rmse * (1.0 - margin))) *tr = r;
  }
  *cam_from_world = tr->cam_from_ref * ref.cam_from_world;
  *light = tr->affine;
  bool ok = tr->success && std::isfinite(tr->rmse) && tr->rmse <= options_.tracking.max_rmse;
  result->rotation_change_deg = -1.0;
  result->rotation_rejected = false;
  if (tr->success && motion_known) {
    // (both relative to the reference: the unit does not enter a rotation)
    const SE3 predicted_from_tracked = in_ref_unit(predicted * world_from_ref) * tr->cam_from_ref.Inverse();
    const double change_deg = predicted_from_tracked.Rotation().Log().norm() * 180.0 / M_PI;
    const double limit = options_.tracking.max_rotation_change_deg;
    result->rotation_change_deg = change_deg;
    result->rotation_rejected = ok && limit > 0.0 && change_deg > limit;
    if (result->rotation_rejected) ok = false;
  }
  // Lost: the prediction. With a mapping thread expressed relative to the reference (recorded against it
  // like a tracked frame; the same pose up to rounding, which the inline mode keeps as it was).
  if (!ok) {
    *cam_from_world =
        mapping_thread_.joinable() ? in_ref_unit(predicted * world_from_ref) * ref.cam_from_world : predicted;
  }
  return ok;
}

double System::RetrackReferenceRmse() const {
  if (recent_rmse_.empty()) return -1.0;
  std::vector<double> v(recent_rmse_.begin(), recent_rmse_.end());
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

bool System::NeedKeyframe(const TrackingResult& tr, const AffineLight& light, int frame_index) const {
  const KeyframeOptions& o = options_.keyframes;
  const double wh = camera_.width + camera_.height;
  const double score = o.global_weight * (tr.flow_translation / (o.translation_flow_fraction * wh) +
                                          tr.flow_full / (o.rotation_translation_flow_fraction * wh) +
                                          std::abs(light.a - tracking_ref_->light.a) / o.brightness_threshold);
  const bool forced = frame_index - last_keyframe_frame_ >= o.max_frames_between_keyframes &&
                      tr.flow_translation >= o.forced_keyframe_min_translation * o.translation_flow_fraction * wh;
  return score > 1.0 || forced ||
         (rmse_after_keyframe_ > 0 && tr.rmse > o.rmse_increase * rmse_after_keyframe_);
}

bool System::InitializeFromPrior(const std::shared_ptr<const ImagePyramid>& pyr, const DepthPrior& prior,
                                 const FrameInput& input, const SE3& world_from_cam, int frame_index,
                                 FrameTimings* t) {
  Keyframe* kf = AddKeyframe(pyr, world_from_cam.Inverse(), AffineLight(), frame_index,
                             frames_[frame_index].timestamp);
  ba_.ResetPrior(kf);
  SelectNewPoints(kf, prior, input);
  // Points with a prior become active at the prior depth (metric scale from the prior).
  std::vector<ImmaturePoint> rest;
  for (const ImmaturePoint& ip : kf->immature) {
    if (ip.prior_idepth > 0 && static_cast<int>(kf->points.size()) < options_.points.desired_active_points) {
      ActivePoint ap;
      ap.pixel = ip.pixel;
      ap.intensity = ip.intensity;
      ap.weight = ip.weight;
      ap.idepth = ip.prior_idepth;
      ap.prior_idepth = ip.prior_idepth;
      ap.prior_idepth_var = ip.prior_idepth_var;
      ap.prior_unit = ip.prior_unit;
      kf->points.push_back(ap);
    } else {
      rest.push_back(ip);
    }
  }
  kf->immature.swap(rest);
  if (static_cast<int>(kf->points.size()) < 50) {  // not enough prior depth: fall back to two-view
    window_.clear();
    keyframe_world_from_cam_.pop_back();
    keyframe_frame_index_.pop_back();
    --next_keyframe_id_;
    return InitializeTwoView(pyr, frame_index, t);
  }
  kf->points_at_creation = static_cast<int>(kf->points.size());
  prior_unit_known_ = true;  // the map is in the prior's unit times prior_idepth_scale_
  UpdateTrackerReference();
  state_ = State::kRunning;
  recent_rmse_.clear();
  rmse_after_keyframe_ = -1.0;
  last_light_ = AffineLight();
  return true;
}

bool System::InitializeTwoView(const std::shared_ptr<const ImagePyramid>& pyr, int frame_index, FrameTimings* t) {
  frames_[frame_index].world_from_cam = segment_world_from_first_;
  frames_[frame_index].ref_keyframe = -1;
  if (state_ != State::kTwoViewPending) {
    two_view_.Reset(pyr);
    init_buffer_.assign(1, {frame_index, pyr});
    init_first_ = 0;
    state_ = State::kTwoViewPending;
    return false;
  }
  init_buffer_.emplace_back(frame_index, pyr);
  TwoViewResult tv;
  if (!two_view_.AddFrame(pyr, &tv)) {
    // The initialiser drops and starts reference frames itself; keep the frames it may still pick
    // (the oldest beyond that keep the segment's start pose and stay INITIALIZING).
    const size_t cap = 2 * static_cast<size_t>(options_.init.max_init_frames);
    if (init_buffer_.size() > cap) init_buffer_.erase(init_buffer_.begin(), init_buffer_.end() - cap);
    return false;
  }
  // The chosen pair starts tv.span frames back (the buffer holds consecutive frames).
  const int first_index = frame_index - tv.span;
  init_first_ = init_buffer_.size() - 1 - static_cast<size_t>(tv.span);
  if (tv.span < 1 || tv.span >= static_cast<int>(init_buffer_.size()) ||
      init_buffer_[init_first_].first != first_index) {
    throw std::logic_error("System::InitializeTwoView: two-view reference frame is not buffered");
  }
  const int span = tv.span;
  if (segment_scale_hint_ > 0.0 && tv.second_from_first.Translation().norm() > 0) {
    const double k = segment_scale_hint_ * span / tv.second_from_first.Translation().norm();
    tv.second_from_first.SetTranslation(tv.second_from_first.Translation() * k);
    for (double& id : tv.idepths) id /= k;
  }
  Keyframe* kf0 = AddKeyframe(init_buffer_[init_first_].second, segment_world_from_first_.Inverse(), AffineLight(),
                              first_index, frames_[first_index].timestamp);
  frames_[first_index].status = recovering_ ? FrameStatus::kRecovered : FrameStatus::kKeyframe;
  ba_.ResetPrior(kf0);
  prior_unit_known_ = false;  // a two-view map has its own unit
  for (size_t i = 0; i < tv.idepths.size(); ++i) {
    ImmaturePoint ip;
    if (!MakeImmaturePoint(*kf0->pyramid, tv.first_pixels[i].x(), tv.first_pixels[i].y(),
                           options_.ba.gradient_weight_c, &ip)) {
      continue;
    }
    ActivePoint ap;
    ap.pixel = ip.pixel;
    ap.intensity = ip.intensity;
    ap.weight = ip.weight;
    ap.idepth = tv.idepths[i];
    kf0->points.push_back(ap);
  }
  const DepthPrior no_prior(FrameInput(), camera_, options_.points, false);
  SelectNewPoints(kf0, no_prior, FrameInput());
  const SE3 cam1_from_world = tv.second_from_first * kf0->cam_from_world;
  TraceImmaturePoints(*pyr, cam1_from_world, AffineLight());
  Keyframe* kf1 = AddKeyframe(pyr, cam1_from_world, AffineLight(), frame_index, frames_[frame_index].timestamp);
  state_ = State::kRunning;
  recent_rmse_.clear();
  last_light_ = AffineLight();
  MakeKeyframe(kf1, no_prior, FrameInput(), t);
  // Other buffered frames (between the two keyframes, and before the first one after restarts):
  // tracked against the first keyframe from the inter/extrapolated pose and from the neighbour's
  // result, walking away from the first keyframe.
  const Vec6 xi = (kf0->cam_from_world * kf1->cam_from_world.Inverse()).Log();  // kf0_from_kf1
  UpdateTrackerReference(kf0);
  AdoptTrackingReference();
  auto track_buffered = [&](size_t b, const SE3& neighbour_kf0_from_cam) {
    const int fi = init_buffer_[b].first;
    const double alpha = static_cast<double>(fi - first_index) / span;
    std::vector<TrackingHypothesis> hyps(2);
    hyps[0].cam_from_ref = SE3::Exp(alpha * xi).Inverse();
    hyps[1].cam_from_ref = neighbour_kf0_from_cam.Inverse();
    const TrackingResult tr = tracking_ref_->tracker->Track(*init_buffer_[b].second, hyps, 1.0, -1.0);
    frames_[fi].ref_keyframe = kf0->id;
    frames_[fi].ref_from_cam = tr.success ? tr.cam_from_ref.Inverse() : hyps[0].cam_from_ref.Inverse();
    frames_[fi].status = tr.success ? FrameStatus::kTracked : FrameStatus::kLost;
    return frames_[fi].ref_from_cam;
  };
  SE3 neighbour;
  for (size_t b = init_first_ + 1; b + 1 < init_buffer_.size(); ++b) neighbour = track_buffered(b, neighbour);
  neighbour = SE3();
  for (size_t b = init_first_; b-- > 0;) neighbour = track_buffered(b, neighbour);
  UpdateTrackerReference();
  init_buffer_.clear();
  return true;
}

std::vector<double> System::WindowLogGains() const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  std::vector<double> out;
  for (const auto& kf : window_) out.push_back(kf->light.a);
  return out;
}

std::vector<Mat4> System::Trajectory() const {
  std::lock_guard<std::mutex> lock(pose_mutex_);
  std::vector<Mat4> out;
  out.reserve(frames_.size());
  for (size_t i = 0; i < frames_.size(); ++i) out.push_back(WorldFromCam(static_cast<int>(i)).Matrix());
  return out;
}

std::vector<double> System::Timestamps() const {
  std::lock_guard<std::mutex> lock(pose_mutex_);
  std::vector<double> out;
  for (const FrameRecord& r : frames_) out.push_back(r.timestamp);
  return out;
}

std::vector<Mat4> System::KeyframePoses(std::vector<int>* frame_indices) const {
  std::lock_guard<std::mutex> lock(pose_mutex_);
  std::vector<Mat4> out;
  for (const SE3& p : keyframe_world_from_cam_) out.push_back(p.Matrix());
  if (frame_indices) *frame_indices = keyframe_frame_index_;
  return out;
}

std::vector<FrameStatus> System::FrameStatuses() const {
  std::lock_guard<std::mutex> lock(pose_mutex_);
  std::vector<FrameStatus> out;
  for (const FrameRecord& r : frames_) out.push_back(r.status);
  return out;
}

void System::Points(std::vector<Eigen::Vector3f>* world_xyz, std::vector<uint8_t>* grey,
                    bool include_marginalized) const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  world_xyz->clear();
  grey->clear();
  if (include_marginalized) {
    *world_xyz = marginalized_xyz_;
    *grey = marginalized_grey_;
  }
  for (const auto& kf : window_) {
    const SE3 world_from_cam = kf->cam_from_world.Inverse();
    for (const ActivePoint& p : kf->points) {
      if (p.idepth <= 0) continue;
      const Vec3 x = world_from_cam * camera_.Unproject(Vec2(p.pixel.x(), p.pixel.y()), 1.0 / p.idepth);
      world_xyz->push_back(x.cast<float>());
      grey->push_back(static_cast<uint8_t>(std::clamp(p.intensity[4], 0.f, 255.f)));
    }
  }
}

void System::MarginalizedPointsSince(size_t start, std::vector<Eigen::Vector3f>* world_xyz,
                                     std::vector<uint8_t>* grey) const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  if (start > marginalized_xyz_.size()) {
    throw std::out_of_range("System::MarginalizedPointsSince: start " + std::to_string(start) + " is beyond the " +
                            std::to_string(marginalized_xyz_.size()) + " marginalised points");
  }
  world_xyz->assign(marginalized_xyz_.begin() + static_cast<std::ptrdiff_t>(start), marginalized_xyz_.end());
  grey->assign(marginalized_grey_.begin() + static_cast<std::ptrdiff_t>(start), marginalized_grey_.end());
}

int System::MarginalizedRevision() const {
  std::lock_guard<std::mutex> lock(map_mutex_);
  return marginalized_revision_;
}

int System::CountActivePoints() const {
  int n = 0;
  for (const auto& kf : window_) n += static_cast<int>(kf->points.size());
  return n;
}

int System::CountImmaturePoints() const {
  int n = 0;
  for (const auto& kf : window_) n += static_cast<int>(kf->immature.size());
  return n;
}

}  // namespace dso
