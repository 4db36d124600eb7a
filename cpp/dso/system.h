#pragma once
// The DS-DSO visual-odometry system: tracking of every frame against the newest keyframe,
// keyframe decision, point management (immature -> active), windowed bundle adjustment with
// marginalisation, initialisation (depth prior or two-view) and recovery when tracking is lost.
//
// Frames: every input frame gets a pose. Non-keyframes are stored relative to their reference
// keyframe, so Trajectory() follows later keyframe updates; a keyframe marginalised while an older one
// is still in the window keeps following the window (relative to its nearest window keyframe) until
// the window's oldest keyframe is newer than it, so out-of-order marginalisation leaves no jumps.
//
// Threads (SystemOptions::mapping_thread, DSO's two-thread design): Track() tracks the frame against
// the tracking reference (the newest keyframe the mapping side has finished), decides whether it
// becomes a keyframe and hands it to the mapping side: point tracing, keyframe creation, activation,
// BA and marginalisation. Without the option that runs inside Track() (deterministic); with it, in a
// mapping thread, and Track() returns after tracking. Flush() waits for the mapping side.
// Observers (non-owning) are notified synchronously: OnFrameTracked and OnTrackingLost from Track()'s
// thread, the others from the mapping side (the mapping thread when there is one).
#include <Eigen/Core>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dso/backend_options.h"
#include "dso/camera.h"
#include "dso/coarse_tracker.h"
#include "dso/ground_plane.h"
#include "dso/image_pyramid.h"
#include "dso/two_view_init.h"
#include "dso/window_ba.h"
#include "dso/window_map.h"

namespace dso {

class DepthPrior;

enum class FrameStatus : int { kInitializing = 0, kTracked = 1, kKeyframe = 2, kLost = 3, kRecovered = 4 };
const char* FrameStatusName(FrameStatus status);

struct FrameTimings {  // milliseconds
  double total = 0.0;
  double pyramid = 0.0;
  double tracking = 0.0;
  double point_tracing = 0.0;      // epipolar search of immature points
  double activation = 0.0;         // immature -> active, distance map
  double bundle_adjustment = 0.0;
  double marginalization = 0.0;
  double initialization = 0.0;
};

struct FrameResult {
  int frame_index = 0;
  double timestamp = 0.0;
  FrameStatus status = FrameStatus::kInitializing;
  bool is_keyframe = false;
  Mat4 world_from_cam = Mat4::Identity();  // current estimate (may still change for buffered frames)
  double tracking_rmse = 0.0;              // grey levels, 0 when not tracked
  // Rotation between the tracked pose and the constant-velocity prediction, degrees; -1 when not tracked
  // or without a prediction (the first frames of a map). Above TrackingOptions::max_rotation_change_deg
  // the frame is LOST and rotation_rejected is set.
  double rotation_change_deg = -1.0;
  bool rotation_rejected = false;
  int num_active_points = 0;
  int num_immature_points = 0;
  int num_keyframes = 0;                   // in the window
  FrameTimings timings;
};

// Input of one frame. Pointers are borrowed for the duration of Track(); row-major arrays.
struct FrameInput {
  const float* image = nullptr;          // (height, width) grey in [0, 255]
  int width = 0;
  int height = 0;
  double timestamp = 0.0;
  const float* keypoints = nullptr;      // (num_keypoints, 2) level-0 pixels (x, y), optional
  const float* scores = nullptr;         // (num_keypoints,), optional
  int num_keypoints = 0;
  const float* depth = nullptr;          // (height, width) metres, 0 = unknown, optional
  const float* keypoint_idepth = nullptr;      // (num_keypoints,) 1/m, <= 0 unknown, optional
  const float* keypoint_idepth_var = nullptr;  // (num_keypoints,) (1/m)^2, optional
  const Mat4* init_world_from_cam = nullptr;   // pose hypothesis (e.g. PnP on network depth), optional;
                                               // its motion from the previous frame in the prior's unit
  double exposure = 0.0;  // exposure time (any unit, > 0), 0 = unknown; with a photometric calibration the
                          // frame's irradiance is divided by it (relative to the first exposure given)
};

// Hooks for viewers/loggers; all default to no-ops. OnFrameTracked and OnTrackingLost are called from
// Track()'s thread, the others from the mapping side (with the map locked: they must not call the
// System's map accessors, Points(), WindowLogGains() or PriorFrames()).
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void OnFrameTracked(const FrameResult& result) {}
  virtual void OnKeyframeAdded(int keyframe_id, int frame_index, const Mat4& world_from_cam) {}
  // World points (and grey values) of points leaving the window.
  virtual void OnPointsMarginalized(const std::vector<Eigen::Vector3f>& world_xyz, const std::vector<uint8_t>& grey) {}
  virtual void OnTrackingLost(int frame_index) {}
  virtual void OnReinitialized(int frame_index) {}
};

class System {
 public:
  // Throws std::invalid_argument on invalid camera or options.
  System(const PinholeCamera& camera, const SystemOptions& options);
  ~System();
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  // Processes one frame. Throws std::invalid_argument on a null image or wrong size, and rethrows an
  // exception of the mapping thread. With a mapping thread the result's mapping timings are 0 (see
  // MappingTimings()) and its point/keyframe counts are those of the last finished mapping step.
  FrameResult Track(const FrameInput& input);
  // DSO's photometric calibration of the camera (inverse response G^-1 and vignette V): every frame is
  // mapped to B = G^-1(I) / V before its pyramid is built, in tracking and mapping alike (DSO's
  // PhotometricUndistorter; empty fields = identity, the default), and, for frames whose FrameInput
  // carries an exposure time t, to B * t0 / t (t0: the first exposure given), so that the affine
  // brightness model sees no exposure changes. Set it before the first frame: throws std::logic_error
  // afterwards and std::invalid_argument when it does not fit the camera.
  void SetPhotometricCalibration(const PhotometricCalibration& calibration);
  // Waits until the mapping side has processed every frame tracked so far (no-op without a mapping
  // thread); rethrows an exception of the mapping thread. Accessors below return current estimates
  // without waiting: call Flush() first for the final ones.
  void Flush();
  // Sum of the mapping thread's timings (point_tracing, activation, bundle_adjustment,
  // marginalization, total); zero without a mapping thread (Track()'s results hold them then).
  FrameTimings MappingTimings() const;

  // Non-owning; must outlive the System or be removed. Add/remove between Track() calls, after Flush()
  // when there is a mapping thread (it calls observers too).
  void AddObserver(Observer* observer);
  void RemoveObserver(Observer* observer);

  int NumFrames() const;
  // world_from_cam of every frame so far (current estimates).
  std::vector<Mat4> Trajectory() const;
  std::vector<double> Timestamps() const;
  // world_from_cam of every keyframe ever created, with its input frame index.
  std::vector<Mat4> KeyframePoses(std::vector<int>* frame_indices = nullptr) const;
  // Active (window) and, optionally, marginalised points: world coordinates and grey value.
  void Points(std::vector<Eigen::Vector3f>* world_xyz, std::vector<uint8_t>* grey,
              bool include_marginalized = true) const;
  // The marginalised points from the `start`-th on (they only ever grow, in marginalisation order), so a
  // viewer copies each point once. Throws std::out_of_range when start exceeds their number.
  void MarginalizedPointsSince(size_t start, std::vector<Eigen::Vector3f>* world_xyz, std::vector<uint8_t>* grey) const;
  // Counts the changes of the map's unit that moved the points already marginalised (ba.camera_height's
  // change to metres: the first held height, and a relock within ba.camera_height_relock_band): when it
  // changes, copy them all again.
  int MarginalizedRevision() const;
  std::vector<FrameStatus> FrameStatuses() const;
  const SystemOptions& options() const { return options_; }
  const PinholeCamera& camera() const { return camera_; }
  int PriorFrames() const;
  // Affine brightness `a` (log gain) of the window's keyframes, oldest first.
  std::vector<double> WindowLogGains() const;
  // The camera's height above the road held by ba.ground_height_* (dso/ground_plane.h), in the map's
  // unit; 0 until measured (or with the hold off). A vehicle camera's known height in metres divided by
  // it is the map's metres per unit.
  double GroundHeight() const;
  // True once ba.camera_height has changed the map's unit to metres; it stays true for the rest of the run
  // (the poses and points are in metres from then on), also while GroundHeight() is 0 because the held
  // height is being measured again (a relock) or after a map reset.
  bool InMetres() const;
  // What the camera-height hold did with the road planes so far (dso/ground_plane.h).
  GroundHoldStats GroundHold() const;

 private:
  struct FrameRecord {
    double timestamp = 0.0;
    FrameStatus status = FrameStatus::kInitializing;
    int ref_keyframe = -1;      // keyframe id the pose is relative to (-1: absolute)
    SE3 ref_from_cam;           // pose relative to the reference keyframe
    SE3 world_from_cam;         // absolute pose when ref_keyframe < 0
  };

  // The tracker's view of the map: the newest finished keyframe's points, built by the mapping side
  // (UpdateTrackerReference) and adopted by Track() at its next frame (AdoptTrackingReference).
  struct TrackingReference {
    std::unique_ptr<CoarseTracker> tracker;
    int keyframe_id = -1;
    int frame_index = -1;
    SE3 cam_from_world;              // the keyframe's pose when the reference was built
    AffineLight light;
    double prior_idepth_scale = 1.0;  // prior_idepth_scale_ / prior_unit_known_ then
    bool prior_unit_known = false;
    double map_scale = 1.0;  // map_scale_ then: a later HoldPriorScale rescales the map, not the reference
  };
  // One tracked frame for the mapping side. `input` borrows the caller's arrays inline and points into
  // `owned` with a mapping thread (keyframes only: the prior is read at keyframe creation).
  struct MappingJob {
    int frame_index = 0;
    double timestamp = 0.0;
    std::shared_ptr<const ImagePyramid> pyramid;
    int ref_keyframe = -1;
    SE3 cam_from_ref;             // in the reference's unit (its map_scale)
    double ref_map_scale = 1.0;
    AffineLight light;
    bool make_keyframe = false;
    FrameInput input;
    std::shared_ptr<std::vector<float>> owned;
  };

  // Callers hold pose_mutex_ (or are the only thread, see below).
  SE3 WorldFromCam(int frame_index) const;
  // A motion between a frame and its reference (either direction), measured in the reference's unit
  // (map_scale then), with its translation in the map's current unit; unchanged when the unit is (pose_mutex_).
  SE3 InCurrentUnit(const SE3& motion, double ref_map_scale) const;
  SE3 KeyframeWorldFromCam(int keyframe_id) const;
  void AdoptTrackingReference();
  // Mapping side: trace immature points from the frame, then (make_keyframe) create the keyframe.
  void RunMappingJob(const MappingJob& job, FrameTimings* t);
  void QueueMappingJob(MappingJob job, FrameTimings* t);  // runs it inline without a mapping thread
  void MappingLoop();
  void PublishMapCounts();
  // Waits until the mapping thread has made every queued keyframe; false when none was queued.
  bool WaitForPendingKeyframes();
  // True when the mapping side has published a tracking reference Track() has not adopted yet.
  bool NewerReferencePublished();
  void RethrowMappingError();
  // Initialisation paths.
  bool InitializeFromPrior(const std::shared_ptr<const ImagePyramid>& pyr, const DepthPrior& prior,
                           const FrameInput& input, const SE3& world_from_cam, int frame_index, FrameTimings* t);
  bool InitializeTwoView(const std::shared_ptr<const ImagePyramid>& pyr, int frame_index, FrameTimings* t);
  // Tracking against the newest keyframe; fills tr, returns success (false also for a rotation too far
  // from the prediction, TrackingOptions::max_rotation_change_deg: result's rotation_change_deg and
  // rotation_rejected say so).
  bool TrackFrame(const ImagePyramid& pyr, const FrameInput& input, SE3* cam_from_world, AffineLight* light,
                  TrackingResult* tr, FrameResult* result);
  bool NeedKeyframe(const TrackingResult& tr, const AffineLight& light, int frame_index) const;
  Keyframe* AddKeyframe(const std::shared_ptr<const ImagePyramid>& pyr, const SE3& cam_from_world,
                        const AffineLight& light, int frame_index, double timestamp);
  void MakeKeyframe(Keyframe* kf, const DepthPrior& prior, const FrameInput& input, FrameTimings* t);
  void TraceImmaturePoints(const ImagePyramid& pyr, const SE3& cam_from_world, const AffineLight& light);
  void SelectNewPoints(Keyframe* kf, const DepthPrior& prior, const FrameInput& input);
  void ActivatePoints();
  void RemoveDeadPoints();
  void MarginalizeKeyframes();
  // Rescales the window toward the depth prior's scale (system_scale.cc); returns the factor applied.
  double HoldPriorScale();
  double HoldRoadHeightWithoutPrior();  // HoldPriorScale without prior points (pure DSO)
  // The road holds the scale alone (ba.prior_handover_planes: its held height has corrected that often).
  bool PriorHandedOver() const;
  double HeldHeightScale(double log_s, bool* to_metres);  // HoldPriorScale's factor (ba.camera_height)
  // The road plane among the newest keyframe's points: the best within 20 deg of the camera's down axis,
  // or, when that is tilted from a confirmed held road, the best within ba.ground_search_near_held_deg of it.
  GroundPlane FitRoadPlane(const std::vector<Vec3>& newest_xyz, double curvature_correction) const;
  void RescaleMap(double s, bool whole_history);  // HoldPriorScale's rescale (system_scale.cc)
  // Tracker reference: window points projected into `ref` (default: the newest keyframe).
  void UpdateTrackerReference(Keyframe* ref = nullptr);
  void FreezeKeyframe(const Keyframe& kf);
  // Keyframes already marginalised but newer than the oldest window keyframe (DSO marginalises by point
  // loss, not age) keep their pose relative to the nearest window keyframe (by frame index) through a
  // window update: `window_before` holds the window's cam_from_world before it (window order). The
  // last keyframes.marginalized_follow_keyframes keyframes before the window follow its oldest one in part.
  void FollowWindowInTail(const std::vector<SE3>& window_before);
  void EmitPoints(const Keyframe& kf, const std::vector<const ActivePoint*>& points);
  void ResetMap();  // moves everything out of the window (recovery)
  int CountActivePoints() const;
  int CountImmaturePoints() const;

  PinholeCamera camera_;
  SystemOptions options_;
  PhotometricCalibration photometric_;  // applied to every input image (SetPhotometricCalibration)
  double reference_exposure_ = 0.0;     // the first FrameInput::exposure given (Track()'s thread only)
  std::unique_ptr<TrackingReference> tracking_ref_;  // Track()'s thread only
  WindowOptimizer ba_;
  TwoViewInitializer two_view_;
  std::vector<Observer*> observers_;

  std::vector<std::unique_ptr<Keyframe>> window_;     // sliding window, oldest first
  std::vector<SE3> keyframe_world_from_cam_;          // by keyframe id (frozen after marginalisation)
  std::vector<int> keyframe_frame_index_;
  double prior_idepth_scale_ = 1.0;    // window idepth per prior idepth (HoldPriorScale; never reset)
  int prior_scale_updates_ = 0;         // HoldPriorScale updates so far (its gain schedule)
  bool prior_unit_known_ = false;       // prior_idepth_scale_ holds for the current map
  GroundHeightHold ground_height_;      // the camera's height above the road (HoldPriorScale)
  bool metric_unit_ = false;            // ba.camera_height applied (HoldPriorScale) ...
  double metric_log_scale_ = 0.0;       // ... log of those changes of the map's unit (metres per prior unit)
  int metric_lock_ = 0;                 // ground_height_.locks() when the map's unit was last made metres
  std::vector<FrameRecord> frames_;
  double map_scale_ = 1.0;  // product of HoldPriorScale's factors so far (pose_mutex_)
  std::vector<Eigen::Vector3f> marginalized_xyz_;
  std::vector<uint8_t> marginalized_grey_;
  int marginalized_revision_ = 0;  // MarginalizedRevision()

  enum class State { kUninitialized, kTwoViewPending, kRunning } state_ = State::kUninitialized;
  // Two-view initialisation buffer: pyramids of frames since the first one.
  // Frames before a restart of the two-view initialiser stay buffered (bounded) and are tracked
  // against the map once it exists; init_first_ indexes the current two-view reference frame.
  std::vector<std::pair<int, std::shared_ptr<const ImagePyramid>>> init_buffer_;
  size_t init_first_ = 0;
  SE3 segment_world_from_first_;  // chaining after recovery
  double segment_scale_hint_ = 0.0;  // translation per frame of the previous segment (0: unknown)
  bool recovering_ = false;

  // Tracking state.
  SE3 last_cam_from_world_, prev_cam_from_world_;
  bool have_velocity_ = false;
  AffineLight last_light_;
  std::deque<double> recent_rmse_;  // tracking RMSE of the last tracking.retrack_rmse_history frames
  // Median of recent_rmse_ (-1 when empty): the tracker's retrack reference.
  double RetrackReferenceRmse() const;
  double rmse_after_keyframe_ = -1.0;
  int last_keyframe_frame_ = 0;
  int lost_count_ = 0;
  int next_keyframe_id_ = 0;
  double activation_distance_ = 2.0;  // level-1 pixels, adapted to keep the point budget

  // Concurrency. Track()'s thread owns the tracking state above (tracking_ref_, last/prev poses,
  // recent_rmse_, last_light_, rmse_after_keyframe_, last_keyframe_frame_, lost_count_, state_); the
  // mapping side owns window_, the points, ba_ and the prior's scale. Shared and locked:
  //  - pose_mutex_: frames_, keyframe_world_from_cam_, keyframe_frame_index_ (short sections);
  //  - map_mutex_: held by the mapping side for a whole job; the window/point accessors take it;
  //  - reference_mutex_: pending_reference_;
  //  - queue_mutex_: jobs_, mapping_busy_, stop_mapping_, mapping_error_, mapping_timings_.
  // Initialisation and recovery run in Track()'s thread after Flush() (the mapping side idle).
  mutable std::mutex pose_mutex_;
  mutable std::mutex map_mutex_;
  std::mutex reference_mutex_;
  std::unique_ptr<TrackingReference> pending_reference_;
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<MappingJob> jobs_;
  bool mapping_busy_ = false;
  bool stop_mapping_ = false;
  std::exception_ptr mapping_error_;
  FrameTimings mapping_timings_;
  int keyframe_jobs_pending_ = 0;  // queued or running keyframe jobs (queue_mutex_)
  std::atomic<int> num_active_points_{0}, num_immature_points_{0}, num_window_keyframes_{0};
  std::thread mapping_thread_;  // last member: started in the constructor, joined in the destructor
};

}  // namespace dso
