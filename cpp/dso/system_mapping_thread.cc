// System: the hand-over from tracking to mapping (DSO's two-thread design, SystemOptions::mapping_thread).
// Track() queues every tracked frame as a MappingJob; the mapping side traces the window's immature
// points from it and, for a keyframe, makes the keyframe and publishes a new tracking reference,
// which Track() adopts at its next frame. Without a mapping thread the job runs inside Track(), so
// both modes share one code path and the inline one is deterministic.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "dso/system.h"
#include "dso/system_prior.h"

namespace dso {
namespace {

double Ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

void AddTimings(const FrameTimings& t, FrameTimings* sum) {
  sum->total += t.total;
  sum->pyramid += t.pyramid;
  sum->tracking += t.tracking;
  sum->point_tracing += t.point_tracing;
  sum->activation += t.activation;
  sum->bundle_adjustment += t.bundle_adjustment;
  sum->marginalization += t.marginalization;
  sum->initialization += t.initialization;
}

// Copies the arrays of `input` the mapping side reads (keypoints, scores, depth map, keypoint inverse
// depths) into `owned` and points a copy of `input` at them; the image and pose are not kept.
FrameInput OwnInput(const FrameInput& input, int width, int height, std::vector<float>* owned) {
  const size_t k = static_cast<size_t>(std::max(input.num_keypoints, 0));
  const size_t n_depth = static_cast<size_t>(width) * static_cast<size_t>(height);
  struct Part {
    const float* src;
    size_t n;
    const float** dst;
  };
  FrameInput out = input;
  out.image = nullptr;
  out.init_world_from_cam = nullptr;
  Part parts[] = {{input.keypoints, 2 * k, &out.keypoints},
                  {input.scores, k, &out.scores},
                  {input.depth, n_depth, &out.depth},
                  {input.keypoint_idepth, k, &out.keypoint_idepth},
                  {input.keypoint_idepth_var, k, &out.keypoint_idepth_var}};
  size_t total = 0;
  for (const Part& p : parts) total += p.src != nullptr ? p.n : 0;
  owned->resize(total);
  size_t offset = 0;
  for (const Part& p : parts) {
    if (p.src == nullptr) continue;
    std::memcpy(owned->data() + offset, p.src, p.n * sizeof(float));
    *p.dst = owned->data() + offset;
    offset += p.n;
  }
  return out;
}

}  // namespace

void System::AdoptTrackingReference() {
  std::unique_ptr<TrackingReference> next;
  {
    std::lock_guard<std::mutex> lock(reference_mutex_);
    next = std::move(pending_reference_);
  }
  if (!next) return;
  // The previous frame's brightness is the best guess for this one; right after the keyframe was made
  // from the previous frame, its optimised brightness is.
  int previous_frame = 0;
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    previous_frame = static_cast<int>(frames_.size()) - 2;
  }
  if (next->frame_index == previous_frame) last_light_ = next->light;
  rmse_after_keyframe_ = -1.0;
  tracking_ref_ = std::move(next);
}

void System::RunMappingJob(const MappingJob& job, FrameTimings* t) {
  // The frame's pose from its tracking reference's current pose (the mapping side may have moved it
  // since the frame was tracked).
  SE3 ref_cam_from_world, cam_from_ref;
  const Keyframe* ref = nullptr;
  for (const auto& kf : window_) {
    if (kf->id == job.ref_keyframe) ref = kf.get();
  }
  {
    std::lock_guard<std::mutex> lock(pose_mutex_);
    ref_cam_from_world = ref != nullptr ? ref->cam_from_world : KeyframeWorldFromCam(job.ref_keyframe).Inverse();
    cam_from_ref = InCurrentUnit(job.cam_from_ref, job.ref_map_scale);
  }
  const SE3 cam_from_world = cam_from_ref * ref_cam_from_world;
  auto start = std::chrono::steady_clock::now();
  TraceImmaturePoints(*job.pyramid, cam_from_world, job.light);
  t->point_tracing += Ms(start);
  if (job.make_keyframe) {
    DepthPrior prior(job.input, camera_, options_.points, options_.use_depth_prior);
    prior.SetIdepthScale(prior_idepth_scale_);
    Keyframe* kf = AddKeyframe(job.pyramid, cam_from_world, job.light, job.frame_index, job.timestamp);
    MakeKeyframe(kf, prior, job.input, t);
  }
  PublishMapCounts();
}

void System::QueueMappingJob(MappingJob job, FrameTimings* t) {
  if (!mapping_thread_.joinable()) {
    std::lock_guard<std::mutex> map_lock(map_mutex_);
    RunMappingJob(job, t);
    return;
  }
  if (job.make_keyframe) {
    job.owned = std::make_shared<std::vector<float>>();
    job.input = OwnInput(job.input, camera_.width, camera_.height, job.owned.get());
  } else {
    job.input = FrameInput();  // a non-keyframe only traces points
  }
  std::unique_lock<std::mutex> lock(queue_mutex_);
  queue_cv_.wait(lock, [&] {
    return static_cast<int>(jobs_.size()) < options_.mapping_max_backlog || mapping_error_ != nullptr;
  });
  if (mapping_error_) return;  // rethrown by the next Track() or Flush()
  if (job.make_keyframe) ++keyframe_jobs_pending_;
  jobs_.push_back(std::move(job));
  lock.unlock();
  queue_cv_.notify_all();
}

void System::MappingLoop() {
  for (;;) {
    MappingJob job;
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return stop_mapping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stop_mapping_
      job = std::move(jobs_.front());
      jobs_.pop_front();
      mapping_busy_ = true;
    }
    queue_cv_.notify_all();  // a Track() waiting on the backlog
    FrameTimings t;
    std::exception_ptr error;
    const auto start = std::chrono::steady_clock::now();
    try {
      std::lock_guard<std::mutex> map_lock(map_mutex_);
      RunMappingJob(job, &t);
    } catch (...) {
      error = std::current_exception();
    }
    t.total = Ms(start);
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      AddTimings(t, &mapping_timings_);
      if (job.make_keyframe) --keyframe_jobs_pending_;
      mapping_busy_ = false;
      if (error && !mapping_error_) {
        mapping_error_ = error;
        jobs_.clear();
        keyframe_jobs_pending_ = 0;
      }
    }
    queue_cv_.notify_all();
  }
}

void System::Flush() {
  if (mapping_thread_.joinable()) {
    std::unique_lock<std::mutex> lock(queue_mutex_);
    queue_cv_.wait(lock, [&] { return (jobs_.empty() && !mapping_busy_) || mapping_error_ != nullptr; });
  }
  RethrowMappingError();
}

bool System::NewerReferencePublished() {
  std::lock_guard<std::mutex> lock(reference_mutex_);
  return pending_reference_ != nullptr;
}

bool System::WaitForPendingKeyframes() {
  std::unique_lock<std::mutex> lock(queue_mutex_);
  if (keyframe_jobs_pending_ == 0) return false;
  queue_cv_.wait(lock, [&] { return keyframe_jobs_pending_ == 0 || mapping_error_ != nullptr; });
  lock.unlock();
  RethrowMappingError();
  return true;
}

void System::RethrowMappingError() {
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    error = mapping_error_;
  }
  if (error) std::rethrow_exception(error);
}

FrameTimings System::MappingTimings() const {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return mapping_timings_;
}

void System::PublishMapCounts() {
  num_active_points_.store(CountActivePoints());
  num_immature_points_.store(CountImmaturePoints());
  num_window_keyframes_.store(static_cast<int>(window_.size()));
}

}  // namespace dso
