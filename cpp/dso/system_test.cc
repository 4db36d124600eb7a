#include "dso/system.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "dso/synthetic_scene_test_util.h"

namespace dso {
namespace {

using testing_util::Render;
using testing_util::RenderedInput;
using testing_util::TestCamera;
using testing_util::TrajectoryPose;

struct RunStats {
  double max_position_error = 0.0;  // after aligning the estimate (scale only when `align_scale`)
  double max_rotation_error = 0.0;  // radians
  int frames = 0;
  int lost = 0;
};

// Runs the system over n rendered frames; world = first camera (the system's convention).
RunStats RunSequence(int n, bool with_depth, bool align_scale, System* system) {
  const PinholeCamera cam = system->camera();
  std::vector<SE3> gt;
  for (int i = 0; i < n; ++i) {
    std::vector<float> image, depth;
    const SE3 world_from_cam = TrajectoryPose(i);
    Render(cam, world_from_cam, &image, &depth);
    gt.push_back(TrajectoryPose(0).Inverse() * world_from_cam);
    system->Track(RenderedInput(cam, image, with_depth ? &depth : nullptr, 0.1 * i));
  }
  system->Flush();  // the mapping thread's last frames (no-op without one)
  RunStats s;
  const std::vector<Mat4> est = system->Trajectory();
  s.frames = static_cast<int>(est.size());
  double scale = 1.0;
  if (align_scale) {
    double num = 0, den = 0;
    for (int i = 0; i < n; ++i) {
      num += est[i].block<3, 1>(0, 3).dot(gt[i].Translation());
      den += est[i].block<3, 1>(0, 3).squaredNorm();
    }
    scale = den > 0 ? num / den : 1.0;
  }
  for (int i = 0; i < n; ++i) {
    s.max_position_error = std::max(s.max_position_error,
                                    (scale * est[i].block<3, 1>(0, 3) - gt[i].Translation()).norm());
    const Mat3 dr = est[i].block<3, 3>(0, 0).transpose() * gt[i].RotationMatrix();
    s.max_rotation_error = std::max(s.max_rotation_error, SO3::FromMatrix(dr).Log().norm());
  }
  std::string statuses;
  for (FrameStatus st : system->FrameStatuses()) {
    s.lost += st == FrameStatus::kLost ? 1 : 0;
    statuses += FrameStatusName(st)[0];
  }
  std::printf("frames %d lost %d max_pos_err %.4f max_rot_err %.5f statuses %s\n", s.frames, s.lost,
              s.max_position_error, s.max_rotation_error, statuses.c_str());
  return s;
}

SystemOptions SmallOptions() {
  SystemOptions o;
  o.points.desired_active_points = 400;
  o.points.desired_immature_points = 300;
  return o;
}

class CountingObserver : public Observer {
 public:
  void OnFrameTracked(const FrameResult&) override { ++frames; }
  void OnKeyframeAdded(int, int, const Mat4&) override { ++keyframes; }
  int frames = 0, keyframes = 0;
};

// 24 rendered frames with the exact depth as prior: every frame reported, metric and accurate.
void CheckSyntheticSequenceWithDepthPrior(System* system) {
  CountingObserver obs;
  system->AddObserver(&obs);
  const RunStats s = RunSequence(24, true, false, system);
  system->RemoveObserver(&obs);
  EXPECT_EQ(s.frames, 24);
  EXPECT_EQ(obs.frames, 24);
  EXPECT_GE(obs.keyframes, 3);
  EXPECT_EQ(s.lost, 0);
  // 5.75 m travelled; metric scale comes from the prior.
  EXPECT_LT(s.max_position_error, 0.1);  // measured 0.022
  EXPECT_LT(s.max_rotation_error, 0.005);  // measured 0.0009
}

TEST(System, SyntheticSequenceWithDepthPrior) {
  System system(TestCamera(), SmallOptions());
  CheckSyntheticSequenceWithDepthPrior(&system);
  EXPECT_LE(system.PriorFrames(), system.options().keyframes.max_keyframes);
}

TEST(System, MarginalizedPointsSinceGivesTheTailOfTheMap) {
  System system(TestCamera(), SmallOptions());
  RunSequence(24, true, false, &system);
  std::vector<Eigen::Vector3f> all, window, tail;
  std::vector<uint8_t> all_grey, window_grey, tail_grey;
  system.Points(&all, &all_grey, true);
  system.Points(&window, &window_grey, false);
  const size_t m = all.size() - window.size();  // Points(): the marginalised points first
  ASSERT_GT(m, 20u);
  system.MarginalizedPointsSince(0, &tail, &tail_grey);
  ASSERT_EQ(tail.size(), m);
  system.MarginalizedPointsSince(m - 5, &tail, &tail_grey);
  ASSERT_EQ(tail.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(tail[i], all[m - 5 + i]);
    EXPECT_EQ(tail_grey[i], all_grey[m - 5 + i]);
  }
  system.MarginalizedPointsSince(m, &tail, &tail_grey);
  EXPECT_TRUE(tail.empty());
  EXPECT_THROW(system.MarginalizedPointsSince(m + 1, &tail, &tail_grey), std::out_of_range);
}

TEST(System, SyntheticSequenceWithoutPrior) {
  System system(TestCamera(), SmallOptions());
  const RunStats s = RunSequence(24, false, true, &system);
  EXPECT_EQ(s.frames, 24);
  EXPECT_LT(s.max_position_error, 0.1);  // measured 0.006 after scale alignment
  EXPECT_LT(s.max_rotation_error, 0.005);  // measured 0.0007
}

// Pure DSO through a stop: 20 frames of motion, `stop` frames standing still, 20 frames of motion again.
// Returns the path length after the stop over the one before (estimate), divided by the same ratio of
// the ground truth: 1 when the stop keeps the map's scale.
// *stop_keyframes (optional): keyframes made during the stop.
double ScaleKeptThroughAStop(double forced_keyframe_min_translation, int stop, int* stop_keyframes = nullptr) {
  SystemOptions o = SmallOptions();
  o.keyframes.forced_keyframe_min_translation = forced_keyframe_min_translation;
  // The keyframe rule on its own: the held road height (on by default since it was written) rescues the scale
  // through the stop on some CPUs and not on others (measured 1.000 on a Xeon, < 0.5 on an EPYC).
  o.ba.ground_height_samples = 0;
  System system(TestCamera(), o);
  const PinholeCamera cam = system.camera();
  std::vector<int> pose_index;
  for (int i = 0; i <= 20; ++i) pose_index.push_back(i);
  for (int i = 0; i < stop; ++i) pose_index.push_back(20);
  for (int i = 21; i <= 40; ++i) pose_index.push_back(i);
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 2.0f);  // grey levels: a camera's noise, frame to frame
  int keyframes_in_stop = 0;
  for (size_t k = 0; k < pose_index.size(); ++k) {
    std::vector<float> image, depth;
    Render(cam, TrajectoryPose(pose_index[k]), &image, &depth);
    for (float& v : image) v += noise(rng);
    const FrameResult r = system.Track(RenderedInput(cam, image, nullptr, 0.1 * static_cast<double>(k)));
    // (the first frame of the stop still moved: frames 22 .. 21 + stop - 1 stand still)
    if (k > 21 && k < 21 + static_cast<size_t>(stop) && r.is_keyframe) ++keyframes_in_stop;
  }
  if (stop_keyframes != nullptr) *stop_keyframes = keyframes_in_stop;
  const std::vector<Mat4> est = system.Trajectory();
  auto length = [&](size_t from, size_t to, bool truth) {
    double l = 0.0;
    for (size_t k = from + 1; k <= to; ++k) {
      const Vec3 step = truth ? Vec3(TrajectoryPose(pose_index[k]).Translation() -
                                     TrajectoryPose(pose_index[k - 1]).Translation())
                              : Vec3(est[k].block<3, 1>(0, 3) - est[k - 1].block<3, 1>(0, 3));
      l += step.norm();
    }
    return l;
  };
  const size_t resume = 21 + static_cast<size_t>(stop) - 1, last = pose_index.size() - 1;
  const double ratio = (length(resume, last, false) / length(5, 20, false)) /
                       (length(resume, last, true) / length(5, 20, true));
  std::printf("forced keyframes from %.2f x the translation threshold, stop %d frames: %d keyframes in the stop, "
              "scale after / before %.3f\n", forced_keyframe_min_translation, stop, keyframes_in_stop, ratio);
  return ratio;
}

TEST(System, PureDsoKeepsItsScaleThroughAStop) {
  // A keyframe forced by the frame count at a standstill has no baseline; with image noise a window full
  // of them lost the map's scale for good (measured: 0.005 with the count rule alone, 0.999 with the flow
  // condition; noise-free frames keep it either way).
  int stop_keyframes = -1;
  EXPECT_NEAR(ScaleKeptThroughAStop(0.2, 60), 1.0, 0.15);
  EXPECT_NEAR(ScaleKeptThroughAStop(0.2, 200, &stop_keyframes), 1.0, 0.15);
  EXPECT_EQ(stop_keyframes, 0);
  // Without the flow condition the count rule keeps making keyframes at the standstill. Whether that window
  // then loses the scale is chaotic: after 60 frames on one AMD EPYC, 200 on an Intel Xeon (0.004), never
  // within 200 on another EPYC (0.999). The keyframes themselves are the rule's doing on any CPU.
  ScaleKeptThroughAStop(0.0, 200, &stop_keyframes);
  EXPECT_GE(stop_keyframes, 10);
}

// Pure DSO over a render with frames 21-27 missing from the stream (a camera's dropped frames, 1.75 m of
// motion), each frame stamped with its true time: the largest position error (after scale alignment) of the
// frames from the gap on.
double ErrorAfterAGap(double motion_time_tolerance) {
  SystemOptions o = SmallOptions();
  o.tracking.motion_time_tolerance = motion_time_tolerance;
  System system(TestCamera(), o);
  const PinholeCamera cam = system.camera();
  std::vector<int> pose_index;
  for (int i = 0; i <= 40; ++i) {
    if (i < 21 || i > 27) pose_index.push_back(i);
  }
  for (int i : pose_index) {
    std::vector<float> image, depth;
    Render(cam, TrajectoryPose(i), &image, &depth);
    system.Track(RenderedInput(cam, image, nullptr, 0.1 * i));
  }
  const std::vector<Mat4> est = system.Trajectory();
  double num = 0, den = 0;
  std::vector<Vec3> truth;
  for (size_t k = 0; k < pose_index.size(); ++k) {
    truth.push_back((TrajectoryPose(0).Inverse() * TrajectoryPose(pose_index[k])).Translation());
    num += est[k].block<3, 1>(0, 3).dot(truth[k]);
    den += est[k].block<3, 1>(0, 3).squaredNorm();
  }
  const double scale = den > 0 ? num / den : 1.0;
  double worst = 0.0;
  for (size_t k = 21; k < pose_index.size(); ++k) {
    worst = std::max(worst, (scale * est[k].block<3, 1>(0, 3) - truth[k]).norm());
  }
  std::printf("motion_time_tolerance %.2f: largest position error after the gap %.3f m\n", motion_time_tolerance, worst);
  return worst;
}

TEST(System, ConstantVelocityFollowsTheTimestampsAcrossAGap) {
  EXPECT_LT(ErrorAfterAGap(0.25), 0.05);  // measured 0.008 m: the prediction is 8 steps
  EXPECT_GT(ErrorAfterAGap(-1.0), 0.2);   // measured 0.53 m: one step predicted, another minimum found
}

// Frames (of a 30-frame render whose exposure grows by exp(0.06) per frame, with the depth prior)
// after which a window of more than min_keyframes keyframes holds one, other than the newest two,
// whose log gain differs from the newest keyframe's by more than 0.7.
int FramesWithFarExposureKeyframe(double max_log_affine_in_window) {
  SystemOptions o = SmallOptions();
  o.keyframes.max_log_affine_in_window = max_log_affine_in_window;
  System system(TestCamera(), o);
  const PinholeCamera cam = system.camera();
  int violations = 0;
  for (int i = 0; i < 30; ++i) {
    std::vector<float> image, depth;
    Render(cam, TrajectoryPose(i), &image, &depth);
    for (float& v : image) v *= static_cast<float>(std::exp(0.06 * i));
    system.Track(RenderedInput(cam, image, &depth, 0.1 * i));
    const std::vector<double> a = system.WindowLogGains();
    if (static_cast<int>(a.size()) <= o.keyframes.min_keyframes) continue;
    bool far = false;
    for (size_t k = 0; k + 2 < a.size(); ++k) far |= std::abs(a.back() - a[k]) > 0.7;
    violations += far ? 1 : 0;
  }
  return violations;
}

TEST(System, KeyframesFarInExposureAreMarginalised) {
  // DSO's criterion: a keyframe whose gain differs from the newest by more than the option leaves
  // the window (the newest two and min_keyframes always stay).
  const int with = FramesWithFarExposureKeyframe(0.7), without = FramesWithFarExposureKeyframe(1e6);
  std::printf("frames with a far-exposure keyframe in the window: %d with the criterion, %d without\n", with,
              without);
  EXPECT_EQ(with, 0);
  EXPECT_GT(without, 0);
}

// Frame index of the first result that is not INITIALIZING (-1: never), over `n` frames whose
// camera stands still for `still` frames and then follows the test trajectory.
int FirstStartedFrame(int n, int still, bool with_depth, System* system) {
  const PinholeCamera cam = system->camera();
  for (int i = 0; i < n; ++i) {
    std::vector<float> image, depth;
    Render(cam, TrajectoryPose(std::max(0, i - still)), &image, &depth);
    if (system->Track(RenderedInput(cam, image, with_depth ? &depth : nullptr, 0.1 * i)).status !=
        FrameStatus::kInitializing) {
      return i;
    }
  }
  return -1;
}

TEST(System, DepthPriorInitialisesOnTheFirstFrame) {
  System system(TestCamera(), SmallOptions());
  EXPECT_EQ(FirstStartedFrame(3, 0, true, &system), 0);
  EXPECT_EQ(system.FrameStatuses()[0], FrameStatus::kKeyframe);
}

TEST(System, TwoViewStartWaitsForParallaxThenStartsPromptly) {
  // A standing camera gives no geometry: the initialiser must not start on it, and must start
  // within a few frames once the camera moves (0.25 m per frame forward).
  System system(TestCamera(), SmallOptions());
  const int still = 6;
  const int started = FirstStartedFrame(20, still, false, &system);
  EXPECT_GT(started, still);
  EXPECT_LE(started, still + 6);
  for (FrameStatus st : system.FrameStatuses()) EXPECT_NE(st, FrameStatus::kInitializing);
}

// The 24-frame render with the exact depth as prior and, with every frame, an initial pose off the true
// one by `yaw_error` radians about the camera's vertical and `shift` metres sideways (a PnP pose from
// wrong matches): the largest position error of the trajectory (metres, no alignment).
double ErrorWithAWrongInitialPose(bool with_prediction, double yaw_error, double shift) {
  SystemOptions o = SmallOptions();
  o.tracking.init_pose_prediction_margin = with_prediction ? 0.02 : -1.0;
  System system(TestCamera(), o);
  const PinholeCamera cam = system.camera();
  double worst = 0.0;
  std::vector<Vec3> truth;
  for (int i = 0; i < 24; ++i) {
    std::vector<float> image, depth;
    const SE3 world_from_cam = TrajectoryPose(0).Inverse() * TrajectoryPose(i);
    Render(cam, TrajectoryPose(i), &image, &depth);
    const Mat4 init = (world_from_cam * SE3(SO3::Exp(Vec3(0.0, yaw_error, 0.0)), Vec3(shift, 0.0, 0.0))).Matrix();
    FrameInput in = RenderedInput(cam, image, &depth, 0.1 * i);
    in.init_world_from_cam = &init;
    system.Track(in);
    truth.push_back(world_from_cam.Translation());
  }
  const std::vector<Mat4> est = system.Trajectory();
  for (int i = 0; i < 24; ++i) worst = std::max(worst, (est[i].block<3, 1>(0, 3) - truth[i]).norm());
  std::printf("initial pose off by %.3f rad / %.2f m, prediction %s: largest position error %.3f m\n", yaw_error,
              shift, with_prediction ? "tracked too" : "not tracked", worst);
  return worst;
}

TEST(System, APredictionTrackedBesideAWrongInitialPose) {
  // Every initial pose 0.1 rad and 0.5 m off: from it the tracker settles in a wrong minimum that passes as
  // good enough; the prediction tracked beside it wins on RMSE (measured 0.015 m against 1.63 m).
  EXPECT_LT(ErrorWithAWrongInitialPose(true, 0.1, 0.5), 0.05);
  EXPECT_GT(ErrorWithAWrongInitialPose(false, 0.1, 0.5), 0.3);
}

// The 24-frame render with the exact depth as prior, the camera turned by `jolt` radians about its vertical
// axis on frame 12 only (a rotation the constant-velocity prediction cannot know).
struct JoltRun {
  double jolt_change_deg = -1.0;      // FrameResult::rotation_change_deg of frame 12
  FrameStatus jolt_status = FrameStatus::kInitializing;
  double jolt_rotation_error_deg = 0.0;
  double next_change_deg = -1.0;      // of frame 13
  double max_other_change_deg = 0.0;  // over the other frames
  double max_other_rotation_error_deg = 0.0;
};

JoltRun RunWithAJolt(double jolt, double max_rotation_change_deg) {
  SystemOptions o = SmallOptions();
  o.tracking.max_rotation_change_deg = max_rotation_change_deg;
  System system(TestCamera(), o);
  const PinholeCamera cam = system.camera();
  const int n = 24, jolt_frame = 12;
  JoltRun out;
  std::vector<SE3> truth;
  for (int i = 0; i < n; ++i) {
    SE3 world_from_cam = TrajectoryPose(i);
    if (i == jolt_frame) world_from_cam = world_from_cam * SE3(SO3::Exp(Vec3(0.0, jolt, 0.0)), Vec3::Zero());
    std::vector<float> image, depth;
    Render(cam, world_from_cam, &image, &depth);
    const FrameResult r = system.Track(RenderedInput(cam, image, &depth, 0.1 * i));
    truth.push_back(TrajectoryPose(0).Inverse() * world_from_cam);
    if (i == jolt_frame) {
      out.jolt_change_deg = r.rotation_change_deg;
      out.jolt_status = r.status;
    } else if (i == jolt_frame + 1) {
      out.next_change_deg = r.rotation_change_deg;
    } else {
      out.max_other_change_deg = std::max(out.max_other_change_deg, r.rotation_change_deg);
    }
  }
  const std::vector<Mat4> est = system.Trajectory();
  for (int i = 0; i < n; ++i) {
    const Mat3 dr = est[i].block<3, 3>(0, 0).transpose() * truth[i].RotationMatrix();
    const double err = SO3::FromMatrix(dr).Log().norm() * 180.0 / M_PI;
    if (i == jolt_frame) out.jolt_rotation_error_deg = err;
    else out.max_other_rotation_error_deg = std::max(out.max_other_rotation_error_deg, err);
  }
  std::printf("jolt %.3f rad, max_rotation_change_deg %.1f: frame 12 %s, change %.2f deg, error %.2f deg; frame 13 "
              "change %.2f deg; other frames: change <= %.2f deg, error <= %.2f deg\n", jolt, max_rotation_change_deg,
              FrameStatusName(out.jolt_status), out.jolt_change_deg, out.jolt_rotation_error_deg, out.next_change_deg,
              out.max_other_change_deg, out.max_other_rotation_error_deg);
  return out;
}

TEST(System, ARotationFarFromThePredictionIsNotAccepted) {
  const double jolt = 0.08;  // 4.58 deg
  const JoltRun off = RunWithAJolt(jolt, 0.0);
  const JoltRun on = RunWithAJolt(jolt, 2.0);
  // Reported either way: the jolt against the prediction.
  EXPECT_NEAR(off.jolt_change_deg, 4.58, 0.5);
  EXPECT_NEAR(on.jolt_change_deg, 4.58, 0.5);
  // An accepted jolt is carried into the next two predictions (frame 13's starts twice the jolt away, 14's
  // once: measured 9.2 / 4.6 deg); a rejected one is not (every other frame < 0.2 deg).
  EXPECT_NEAR(off.next_change_deg, 2 * 4.58, 1.0);
  EXPECT_LT(on.next_change_deg, 1.0);
  EXPECT_LT(on.max_other_change_deg, 1.0);
  // Accepted (and right) without the check; LOST at the prediction with it, which is what a real jolt costs.
  EXPECT_NE(off.jolt_status, FrameStatus::kLost);
  EXPECT_LT(off.jolt_rotation_error_deg, 0.5);
  EXPECT_EQ(on.jolt_status, FrameStatus::kLost);
  EXPECT_NEAR(on.jolt_rotation_error_deg, 4.58, 0.5);
  // The frames around it are tracked as before.
  EXPECT_LT(off.max_other_rotation_error_deg, 0.5);
  EXPECT_LT(on.max_other_rotation_error_deg, 0.5);
}

TEST(System, RejectsWrongImageSize) {
  System system(TestCamera(), SmallOptions());
  std::vector<float> img(10 * 10, 0.f);
  FrameInput in;
  in.image = img.data();
  in.width = 10;
  in.height = 10;
  EXPECT_THROW(system.Track(in), std::invalid_argument);
}

}  // namespace
}  // namespace dso

namespace dso {
namespace {

// Frames 6-8 are replaced by noise: tracking is lost (3 frames = lost_frames_before_reinit), the
// next frame re-initialises from the depth prior (RECOVERED) and the trajectory must stay continuous (chained from the last pose).
void CheckRecoversFromLostTracking(const SystemOptions& options) {
  const PinholeCamera cam = TestCamera();
  System system(cam, options);
  CountingObserver obs;
  system.AddObserver(&obs);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> noise(0.f, 255.f);
  std::vector<SE3> gt;
  for (int i = 0; i < 12; ++i) {
    std::vector<float> image, depth;
    const SE3 world_from_cam = TrajectoryPose(i);
    Render(cam, world_from_cam, &image, &depth);
    gt.push_back(TrajectoryPose(0).Inverse() * world_from_cam);
    if (i >= 6 && i <= 8) {
      for (float& v : image) v = noise(rng);
    }
    system.Track(RenderedInput(cam, image, &depth, 0.1 * i));
  }
  system.Flush();
  const std::vector<FrameStatus> st = system.FrameStatuses();
  ASSERT_EQ(st.size(), 12u);
  EXPECT_EQ(st[6], FrameStatus::kLost);
  EXPECT_EQ(st[8], FrameStatus::kLost);
  EXPECT_EQ(st[9], FrameStatus::kRecovered);
  int recovered = 0;
  for (FrameStatus s : st) recovered += s == FrameStatus::kRecovered ? 1 : 0;
  EXPECT_GE(recovered, 1);
  EXPECT_TRUE(st[11] == FrameStatus::kTracked || st[11] == FrameStatus::kKeyframe);
  // Continuity: the frames after the recovery keep the trajectory within the drift of the lost
  // frames (constant-velocity prediction over three frames of 0.25 m).
  const std::vector<Mat4> est = system.Trajectory();
  for (int i = 0; i < 12; ++i) {
    if (i >= 6 && i <= 8) continue;
    EXPECT_LT((est[i].block<3, 1>(0, 3) - gt[i].Translation()).norm(), 0.3) << "frame " << i;
  }
}

TEST(System, RecoversFromLostTrackingWithDepthPrior) { CheckRecoversFromLostTracking(SmallOptions()); }

TEST(System, MappingThreadRecoversFromLostTracking) {
  SystemOptions o = SmallOptions();
  o.mapping_thread = true;
  CheckRecoversFromLostTracking(o);
}

// DSO's two-thread design (SystemOptions::mapping_thread): the same bounds as the inline runs above.
TEST(System, MappingThreadWithDepthPrior) {
  SystemOptions o = SmallOptions();
  o.mapping_thread = true;
  System system(TestCamera(), o);
  CheckSyntheticSequenceWithDepthPrior(&system);
  const FrameTimings t = system.MappingTimings();
  EXPECT_GT(t.bundle_adjustment, 0.0);
  EXPECT_GE(t.total, t.point_tracing + t.activation + t.bundle_adjustment);
}

TEST(System, MappingThreadWithoutPrior) {
  SystemOptions o = SmallOptions();
  o.mapping_thread = true;
  o.mapping_max_backlog = 1;
  System system(TestCamera(), o);
  const RunStats s = RunSequence(24, false, true, &system);
  EXPECT_EQ(s.frames, 24);
  EXPECT_EQ(s.lost, 0);
  EXPECT_LT(s.max_position_error, 0.1);
  EXPECT_LT(s.max_rotation_error, 0.005);
}

// Frames handed over as fast as Track() returns (pre-rendered), at 3x the test trajectory's speed so that
// nearly every frame wants a keyframe: a frame tracked while the mapping thread is still making the
// previous keyframe must not drift against a stale reference (it waits and is tracked again).
TEST(System, MappingThreadKeepsUpWithFastInput) {
  const PinholeCamera cam = TestCamera();
  const int n = 30;
  std::vector<std::vector<float>> images(n), depths(n);
  for (int i = 0; i < n; ++i) {
    Render(cam, TrajectoryPose(3 * i), &images[i], &depths[i]);
    // exposure changes (up and down by up to 40 %): a stale reference's gain is far from the frame's
    const float gain = static_cast<float>(std::exp(0.35 * std::sin(0.5 * i)));
    for (float& v : images[i]) v = std::min(255.f, v * gain);
  }
  std::vector<std::vector<Mat4>> runs;
  for (bool threaded : {false, true}) {
    SystemOptions o = SmallOptions();
    o.mapping_thread = threaded;
    // Metric scale from the exact prior: a held camera height would keep the start's unit, ~3 % off
    // here (the test camera bobs by +-0.05 m over the 1.5 m floor).
    o.ba.ground_height_samples = 0;
    System system(cam, o);
    for (int i = 0; i < n; ++i) system.Track(RenderedInput(cam, images[i], &depths[i], 0.1 * i));
    system.Flush();
    const std::vector<Mat4> est = system.Trajectory();
    double max_err = 0.0;
    for (int i = 0; i < n; ++i) {
      const SE3 gt = TrajectoryPose(0).Inverse() * TrajectoryPose(3 * i);
      max_err = std::max(max_err, (est[i].block<3, 1>(0, 3) - gt.Translation()).norm());
    }
    int lost = 0;
    for (FrameStatus st : system.FrameStatuses()) lost += st == FrameStatus::kLost ? 1 : 0;
    std::printf("mapping thread %d: max position error %.4f m over %.1f m, lost %d\n", threaded, max_err,
                (TrajectoryPose(3 * (n - 1)).Translation() - TrajectoryPose(0).Translation()).norm(), lost);
    EXPECT_EQ(lost, 0);
    EXPECT_LT(max_err, 0.15);
    runs.push_back(est);
  }
  // Nearly every frame waits for its predecessor's keyframe, so the two modes nearly coincide.
  double max_diff = 0.0;
  for (int i = 0; i < n; ++i) max_diff = std::max(max_diff, (runs[0][i] - runs[1][i]).block<3, 1>(0, 3).norm());
  std::printf("inline vs mapping thread: max position difference %.5f m\n", max_diff);
  EXPECT_LT(max_diff, 0.002);
}

TEST(System, InlineMappingIsDeterministic) {
  std::vector<Mat4> first;
  for (int run = 0; run < 2; ++run) {
    System system(TestCamera(), SmallOptions());
    RunSequence(16, true, false, &system);
    const std::vector<Mat4> est = system.Trajectory();
    if (run == 0) {
      first = est;
      EXPECT_EQ(system.MappingTimings().total, 0.0);  // the mapping work is in each FrameResult
      continue;
    }
    ASSERT_EQ(est.size(), first.size());
    for (size_t i = 0; i < est.size(); ++i) EXPECT_TRUE(est[i] == first[i]) << "frame " << i;
  }
}

TEST(System, MappingThreadStopsWithFramesQueued) {
  // Destroyed right after Track() returns: the queued frames are mapped or dropped, the thread joins.
  SystemOptions o = SmallOptions();
  o.mapping_thread = true;
  o.mapping_max_backlog = 8;
  const PinholeCamera cam = TestCamera();
  for (int n : {1, 3, 6}) {
    System system(cam, o);
    for (int i = 0; i < n; ++i) {
      std::vector<float> image, depth;
      Render(cam, TrajectoryPose(i), &image, &depth);
      system.Track(RenderedInput(cam, image, &depth, 0.1 * i));
    }
    EXPECT_EQ(system.NumFrames(), n);
  }
}

}  // namespace
}  // namespace dso
