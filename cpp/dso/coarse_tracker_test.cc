#include "dso/coarse_tracker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <cmath>
#include <iostream>

#include "dso/pixel_selector.h"
#include "dso/test_scene.h"

namespace dso {
namespace {

constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

// KITTI intrinsics scaled to 640x192.
PinholeCamera KittiLikeCamera() { return PinholeCamera(370.7, 370.7, 313.0, 94.6, 640, 192); }

struct Scene {
  PinholeCamera camera = KittiLikeCamera();
  testing_scene::BoxScene box = testing_scene::MakeBoxScene(3);
  std::vector<float> ref_image, ref_depth;
  ImagePyramid ref_pyramid;
  std::vector<TrackerPoint> points;

  explicit Scene(int num_points = 2000) {
    testing_scene::Render(box, camera, SE3(), &ref_image, &ref_depth);
    ref_pyramid = ImagePyramid(ref_image.data(), camera.width, camera.height);
    for (const PixelCandidate& c : SelectPixels(ref_pyramid, num_points)) {
      const float d = ref_depth[static_cast<int>(c.y) * camera.width + static_cast<int>(c.x)];
      points.push_back({c.x, c.y, 1.f / d, 1.f});
    }
  }

  // Image of a camera at world_from_cam (world = reference camera).
  ImagePyramid RenderPyramid(const SE3& world_from_cam, float gain = 1.f, float offset = 0.f) const {
    std::vector<float> image;
    testing_scene::Render(box, camera, world_from_cam, &image, nullptr, gain, offset);
    return ImagePyramid(image.data(), camera.width, camera.height);
  }
};

const Scene& SharedScene() {
  static const Scene scene;  // rendered once for all tests (read-only)
  return scene;
}

// 0.3 m forward + 2 deg yaw.
SE3 TestMotionWorldFromNew() {
  return SE3(SO3::Exp(Vec3(0.0, 2.0 * kDegToRad, 0.0)), Vec3(0.0, 0.0, 0.3));
}

void ExpectPoseNear(const SE3& estimate, const SE3& truth, double max_t_m, double max_r_deg) {
  const SE3 err = estimate * truth.Inverse();
  EXPECT_LT(err.Translation().norm(), max_t_m) << "translation error (m)";
  EXPECT_LT(err.Rotation().Log().norm() / kDegToRad, max_r_deg) << "rotation error (deg)";
}

TEST(CoarseTracker, RecoversKnownMotion) {
  const Scene& scene = SharedScene();
  ASSERT_GT(scene.points.size(), 1600u);
  const SE3 world_from_new = TestMotionWorldFromNew();
  const SE3 true_cam_from_ref = world_from_new.Inverse();
  const ImagePyramid new_pyramid = scene.RenderPyramid(world_from_new);

  CoarseTracker tracker(scene.camera);
  tracker.SetReference(scene.ref_pyramid, scene.points);
  EXPECT_EQ(tracker.NumPoints(0), static_cast<int>(scene.points.size()));
  EXPECT_LT(tracker.NumPoints(3), tracker.NumPoints(0));
  // Start from zero motion (the hardest of the usual hypotheses).
  const std::vector<TrackingHypothesis> hyps = {{SE3(), AffineLight()}};
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const TrackingResult r = tracker.Track(new_pyramid, hyps);
  const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ timing ] Track 640x192, " << scene.points.size()
            << " points, from zero motion, 1 hypothesis: wall " << ms << " ms, cpu " << cpu_ms << " ms, "
            << r.iterations << " iterations, rmse " << r.rmse << "\n";
  ASSERT_TRUE(r.success);
  ExpectPoseNear(r.cam_from_ref, true_cam_from_ref, 0.01, 0.05);
  // No brightness change was rendered; the affine model only absorbs the slight contrast loss of
  // bilinear interpolation in the new image (a few percent around the mean grey value).
  const Eigen::Vector2d so = AffineLight::FromTo(AffineLight(), r.affine);
  EXPECT_NEAR(so[0], 1.0, 0.05);
  EXPECT_NEAR(so[0] * 128.0 + so[1], 128.0, 1.0);
  EXPECT_LT(r.rmse, 4.0);
  EXPECT_GT(r.inlier_fraction, 0.9);
  EXPECT_EQ(r.hypothesis_index, 0);
  ASSERT_EQ(r.level_rmse.size(), 4u);
  for (double e : r.level_rmse) EXPECT_TRUE(std::isfinite(e));
  // From a nearby guess (what a constant-velocity prediction typically gives): fewer iterations.
  const SE3 guess = SE3(SO3::Exp(Vec3(0.002, -0.003, 0.001)), Vec3(0.02, -0.01, 0.03)) * true_cam_from_ref;
  const std::clock_t c1 = std::clock();
  const TrackingResult near = tracker.Track(new_pyramid, {{guess, AffineLight()}});
  std::cout << "[ timing ] Track from a nearby guess: cpu "
            << 1000.0 * static_cast<double>(std::clock() - c1) / CLOCKS_PER_SEC << " ms, "
            << near.iterations << " iterations\n";
  ASSERT_TRUE(near.success);
  ExpectPoseNear(near.cam_from_ref, true_cam_from_ref, 0.01, 0.05);
  // Flow indicators: the forward motion and yaw both move points by several pixels.
  EXPECT_GT(r.flow_rotation, 10.0);
  EXPECT_LT(r.flow_rotation, 20.0);  // 2 deg at f = 370 px: 12.9 px at the centre, more at the edges
  EXPECT_GT(r.flow_translation, 1.0);
  EXPECT_GT(r.flow_full, 5.0);
}

TEST(CoarseTracker, RecoversAffineBrightnessChange) {
  const Scene& scene = SharedScene();
  const SE3 world_from_new(SO3::Exp(Vec3(0.5 * kDegToRad, -1.0 * kDegToRad, 0.0)), Vec3(0.05, 0.0, 0.2));
  TrackerOptions options;  // no affine priors: they would (intentionally) bias a large change
  options.affine_a_prior = 0.f;
  options.affine_b_prior = 0.f;
  CoarseTracker tracker(scene.camera, options);
  const AffineLight ref_affine(0.1, 5.0);
  tracker.SetReference(scene.ref_pyramid, scene.points, ref_affine);
  // Same motion without and with a brightness change I' = 1.3 I + 10 of the new image.
  const TrackingResult r0 = tracker.Track(scene.RenderPyramid(world_from_new), {{SE3(), ref_affine}});
  const TrackingResult r1 =
      tracker.Track(scene.RenderPyramid(world_from_new, 1.3f, 10.f), {{SE3(), ref_affine}});
  ASSERT_TRUE(r0.success);
  ASSERT_TRUE(r1.success);
  ExpectPoseNear(r1.cam_from_ref, world_from_new.Inverse(), 0.01, 0.05);
  // r0 maps I_ref -> I_new as s0 * I + o0, so r1 must map it as 1.3 * (s0 * I + o0) + 10.
  const Eigen::Vector2d so0 = AffineLight::FromTo(ref_affine, r0.affine);
  const Eigen::Vector2d so1 = AffineLight::FromTo(ref_affine, r1.affine);
  EXPECT_NEAR(so1[0] / so0[0], 1.3, 0.01);
  EXPECT_NEAR(so1[1], 1.3 * so0[1] + 10.0, 1.0);
  EXPECT_LT(r1.rmse, 1.3 * r0.rmse + 1.0);
}

TEST(CoarseTracker, GivenLevel0ColorsMatchSampledOnes) {
  const Scene& scene = SharedScene();
  std::vector<std::array<float, kPatternSize>> colors(scene.points.size());
  for (size_t i = 0; i < scene.points.size(); ++i) {
    for (int k = 0; k < kPatternSize; ++k) {
      colors[i][k] = scene.ref_pyramid.Value(0, static_cast<int>(scene.points[i].x) + kPattern[k][0],
                                             static_cast<int>(scene.points[i].y) + kPattern[k][1]);
    }
  }
  const SE3 world_from_new = TestMotionWorldFromNew();
  CoarseTracker tracker(scene.camera);
  tracker.SetReference(scene.ref_pyramid, scene.points, colors);
  const TrackingResult r = tracker.Track(scene.RenderPyramid(world_from_new), {{SE3(), AffineLight()}});
  ASSERT_TRUE(r.success);
  ExpectPoseNear(r.cam_from_ref, world_from_new.Inverse(), 0.01, 0.05);
  EXPECT_THROW(tracker.SetReference(scene.ref_pyramid, scene.points, {colors[0]}), std::invalid_argument);
}

TEST(CoarseTracker, HypothesesAreTriedInOrderAndBestIsKept) {
  const Scene& scene = SharedScene();
  const SE3 world_from_new = TestMotionWorldFromNew();
  const ImagePyramid new_pyramid = scene.RenderPyramid(world_from_new);
  TrackerOptions options;
  options.retrack_threshold = 1.5f;  // early stop once a hypothesis is within 1.5 x previous_rmse = 3
  CoarseTracker tracker(scene.camera, options);
  tracker.SetReference(scene.ref_pyramid, scene.points);
  // A hopeless first guess (1 m sideways, 20 deg roll) then the motion hypotheses around zero.
  std::vector<TrackingHypothesis> hyps = {
      {SE3(SO3::Exp(Vec3(0.0, 0.0, 20.0 * kDegToRad)), Vec3(1.0, 0.0, 0.0)), AffineLight()}};
  for (const TrackingHypothesis& h : CoarseTracker::MotionHypotheses(SE3(), SE3(), AffineLight())) {
    hyps.push_back(h);
  }
  EXPECT_EQ(hyps.size(), 1u + 28u);
  const TrackingResult r = tracker.Track(new_pyramid, hyps, 1.0, /*previous_rmse=*/2.0);
  ASSERT_TRUE(r.success);
  EXPECT_GE(r.hypothesis_index, 1);
  EXPECT_GE(r.hypotheses_tried, 2);
  EXPECT_LT(r.hypotheses_tried, static_cast<int>(hyps.size()));  // early stop
  ExpectPoseNear(r.cam_from_ref, world_from_new.Inverse(), 0.01, 0.05);
}

// DSO's double and half motion close the list (a dropped or a repeated frame); without a motion there
// are none (they would repeat zero_motion).
TEST(CoarseTracker, MotionHypothesesEndWithDoubleAndHalfMotion) {
  const SE3 last_from_ref(SO3::Exp(Vec3(0.01, -0.02, 0.005)), Vec3(0.3, -0.1, -2.0));
  const SE3 velocity(SO3::Exp(Vec3(0.0, 0.03, 0.0)), Vec3(0.02, 0.0, -0.9));  // cam_from_last
  const std::vector<TrackingHypothesis> hyps =
      CoarseTracker::MotionHypotheses(velocity * last_from_ref, last_from_ref, AffineLight(0.1, 2.0));
  ASSERT_EQ(hyps.size(), 30u);
  ExpectPoseNear(hyps[0].cam_from_ref, velocity * last_from_ref, 1e-12, 1e-12);
  ExpectPoseNear(hyps[1].cam_from_ref, last_from_ref, 1e-12, 1e-12);
  ExpectPoseNear(hyps[28].cam_from_ref, velocity * velocity * last_from_ref, 1e-9, 1e-9);
  const SE3 half = SE3::Exp(0.5 * velocity.Log());
  ExpectPoseNear(half * half, velocity, 1e-9, 1e-9);
  ExpectPoseNear(hyps[29].cam_from_ref, half * last_from_ref, 1e-9, 1e-9);
  for (const TrackingHypothesis& h : hyps) EXPECT_EQ(h.affine.a, 0.1);
  EXPECT_EQ(CoarseTracker::MotionHypotheses(last_from_ref, last_from_ref, AffineLight()).size(), 28u);
  EXPECT_EQ(CoarseTracker::MotionHypotheses(velocity * last_from_ref, last_from_ref, AffineLight(), 0.04, false).size(),
            28u);
}

TEST(CoarseTracker, ConstantVelocityStepFollowsTheTimestamps) {
  const SE3 step(SO3::Exp(Vec3(0.0, 0.03, 0.002)), Vec3(0.02, 0.0, -0.9));  // last_from_prev, 0.1 s
  // A dropped frame: 0.2 s since the last one -> the step twice; the frame after it: half the step.
  ExpectPoseNear(CoarseTracker::ConstantVelocityStep(step, 0.1, 0.2, 0.25), step * step, 1e-9, 1e-9);
  const SE3 half = CoarseTracker::ConstantVelocityStep(step, 0.2, 0.1, 0.25);
  ExpectPoseNear(half * half, step, 1e-9, 1e-9);
  // Jitter inside the tolerance, a negative tolerance (off) and unusable intervals: the step unchanged.
  for (const SE3& same : {CoarseTracker::ConstantVelocityStep(step, 0.1036, 0.1019, 0.25),
                          CoarseTracker::ConstantVelocityStep(step, 0.1, 0.2, -1.0),
                          CoarseTracker::ConstantVelocityStep(step, 0.0, 0.1, 0.25),
                          CoarseTracker::ConstantVelocityStep(step, 0.1, -0.1, 0.25),
                          CoarseTracker::ConstantVelocityStep(step, 0.1, std::nan(""), 0.25)}) {
    ExpectPoseNear(same, step, 1e-12, 1e-12);
  }
  // A pause of the recording (10 s after 0.1 s steps) is capped to 8 steps.
  ExpectPoseNear(CoarseTracker::ConstantVelocityStep(step, 0.1, 10.0, 0.25), SE3::Exp(8.0 * step.Log()), 1e-9, 1e-9);
}

TEST(CoarseTracker, HypothesisCanStartAtAFinerLevel) {
  const Scene& scene = SharedScene();
  const SE3 world_from_new = TestMotionWorldFromNew();
  const SE3 true_cam_from_ref = world_from_new.Inverse();
  const ImagePyramid new_pyramid = scene.RenderPyramid(world_from_new);
  CoarseTracker tracker(scene.camera);
  tracker.SetReference(scene.ref_pyramid, scene.points);
  // A close guess (0.2 deg, 2 cm off) tracked from level 1 only: levels 2 and 3 are never evaluated.
  TrackingHypothesis close{SE3(SO3::Exp(Vec3(0.0, 0.2 * kDegToRad, 0.0)), Vec3(0.02, 0.0, 0.0)) * true_cam_from_ref,
                           AffineLight(), /*coarsest_level=*/1};
  const TrackingResult r = tracker.Track(new_pyramid, {close});
  ASSERT_TRUE(r.success);
  ExpectPoseNear(r.cam_from_ref, true_cam_from_ref, 0.01, 0.05);
  ASSERT_EQ(r.level_iterations.size(), 4u);
  EXPECT_GT(r.level_iterations[0] + r.level_iterations[1], 0);
  EXPECT_EQ(r.level_iterations[2], 0);
  EXPECT_EQ(r.level_iterations[3], 0);
  EXPECT_TRUE(std::isnan(r.level_rmse[2]) && std::isnan(r.level_rmse[3]));
  // The same guess from the coarsest level (-1) runs every level.
  close.coarsest_level = -1;
  const TrackingResult all = tracker.Track(new_pyramid, {close});
  ASSERT_TRUE(all.success);
  EXPECT_TRUE(std::isfinite(all.level_rmse[3]));
  // A level beyond the pyramid is the coarsest.
  close.coarsest_level = 10;
  EXPECT_TRUE(std::isfinite(tracker.Track(new_pyramid, {close}).level_rmse[3]));
}

TEST(CoarseTracker, PoseShiftIsThePixelDistanceBetweenTwoPoses) {
  const Scene& scene = SharedScene();
  CoarseTracker tracker(scene.camera);
  EXPECT_EQ(tracker.PoseShift(SE3(), TestMotionWorldFromNew()), 0.0);  // no reference points: 0
  tracker.SetReference(scene.ref_pyramid, scene.points);
  const SE3 a = TestMotionWorldFromNew().Inverse();
  EXPECT_NEAR(tracker.PoseShift(a, a), 0.0, 1e-9);
  // From the identity it is the full flow indicator.
  EXPECT_NEAR(tracker.PoseShift(SE3(), a), tracker.FlowIndicators(a)[2], 1e-6);
  EXPECT_NEAR(tracker.PoseShift(a, SE3()), tracker.FlowIndicators(a)[2], 1e-6);
  // 0.1 deg more yaw on top of a: every point moves by f * 0.1 deg (0.65 px) times 1 + x^2 (normalised x,
  // up to 1.7 at the image edges).
  const SE3 b = SE3(SO3::Exp(Vec3(0.0, 0.1 * kDegToRad, 0.0)), Vec3::Zero()) * a;
  const double f_delta = scene.camera.fx * 0.1 * kDegToRad;
  EXPECT_GT(tracker.PoseShift(a, b), f_delta);
  EXPECT_LT(tracker.PoseShift(a, b), 1.3 * f_delta);
  EXPECT_NEAR(tracker.PoseShift(a, b), tracker.PoseShift(b, a), 1e-9);
}

TEST(CoarseTracker, FailsGracefullyOnBlankImage) {
  const Scene& scene = SharedScene();
  const std::vector<float> blank(scene.camera.width * scene.camera.height, 128.f);
  const ImagePyramid blank_pyramid(blank.data(), scene.camera.width, scene.camera.height);
  CoarseTracker tracker(scene.camera);
  tracker.SetReference(scene.ref_pyramid, scene.points);
  const TrackingResult r =
      tracker.Track(blank_pyramid, CoarseTracker::MotionHypotheses(SE3(), SE3(), AffineLight()));
  EXPECT_FALSE(r.success);
  EXPECT_GE(r.hypotheses_tried, 1);
}

TEST(CoarseTracker, RejectsBadInput) {
  const Scene& scene = SharedScene();
  CoarseTracker tracker(scene.camera);
  EXPECT_THROW(tracker.Track(scene.ref_pyramid, {{SE3(), AffineLight()}}), std::invalid_argument);
  tracker.SetReference(scene.ref_pyramid, scene.points);
  EXPECT_THROW(tracker.Track(scene.ref_pyramid, {}), std::invalid_argument);
  const std::vector<float> small(64 * 32, 1.f);
  EXPECT_THROW(tracker.Track(ImagePyramid(small.data(), 64, 32), {{SE3(), AffineLight()}}),
               std::invalid_argument);
  EXPECT_THROW(CoarseTracker(PinholeCamera(0.0, 1.0, 0.0, 0.0, 10, 10)), std::invalid_argument);
  // Invalid points are dropped, not fatal.
  std::vector<TrackerPoint> pts = {{10.f, 10.f, -1.f, 1.f}, {NAN, 3.f, 1.f, 1.f}, {50.f, 50.f, 0.1f, 0.f}};
  tracker.SetReference(scene.ref_pyramid, pts);
  EXPECT_EQ(tracker.NumPoints(0), 0);
}

TEST(TrackerOptions, CheckRejectsBadFields) {
  EXPECT_NO_THROW(TrackerOptions().Check());
  auto expect_field = [](TrackerOptions o, const std::string& field) {
    try {
      o.Check();
      ADD_FAILURE() << "no exception for " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  TrackerOptions o;
  o.max_iterations = {};
  expect_field(o, "max_iterations");
  o = TrackerOptions();
  o.huber_threshold = -1.f;
  expect_field(o, "huber_threshold");
  o = TrackerOptions();
  o.outlier_threshold = 5.f;  // below huber
  expect_field(o, "outlier_threshold");
  o = TrackerOptions();
  o.max_outlier_fraction = 0.f;
  expect_field(o, "max_outlier_fraction");
  o = TrackerOptions();
  o.lambda_down = 1.5f;
  expect_field(o, "lambda_down");
  o = TrackerOptions();
  o.retrack_threshold = 1.f;
  expect_field(o, "retrack_threshold");
  o = TrackerOptions();
  o.min_inlier_fraction = 2.f;
  expect_field(o, "min_inlier_fraction");
}

}  // namespace
}  // namespace dso
