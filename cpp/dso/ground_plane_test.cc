#include "dso/ground_plane.h"

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

namespace dso {
namespace {

// A street seen from a camera `height` above the road, pitched by `pitch` radians: road points
// (with +-noise) plus two building walls at x = +-wall_x and points above the camera.
std::vector<Vec3> Street(double height, double pitch, double noise, int road, int wall, uint32_t seed,
                         std::vector<bool>* is_road) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const Eigen::Matrix3d R = Eigen::AngleAxisd(pitch, Vec3::UnitX()).toRotationMatrix();
  std::vector<Vec3> pts;
  for (int i = 0; i < road; ++i) {
    const Vec3 p(-6.0 + 12.0 * u(rng), height + noise * (2.0 * u(rng) - 1.0), 3.0 + 30.0 * u(rng));
    pts.push_back(R * p);
    is_road->push_back(true);
  }
  for (int i = 0; i < wall; ++i) {
    const double x = u(rng) < 0.5 ? -7.0 : 7.0;
    const Vec3 p(x, height - 8.0 * u(rng), 3.0 + 30.0 * u(rng));  // from the road up to 8 m
    pts.push_back(R * p);
    is_road->push_back(false);
  }
  return pts;
}

TEST(GroundPlane, FindsTheRoadBesideWallsAtAnyUnitAndPitch) {
  GroundPlaneOptions o;
  for (double pitch : {-0.05, 0.0, 0.05}) {
    for (double unit : {1.0, 0.02, 40.0}) {
      std::vector<bool> is_road;
      std::vector<Vec3> pts = Street(1.65, pitch, 0.02, 300, 400, 7, &is_road);
      for (Vec3& p : pts) p *= unit;
      const GroundPlane g = FitGroundPlane(pts, o);
      ASSERT_TRUE(g.found) << "pitch " << pitch << " unit " << unit;
      EXPECT_NEAR(g.height / unit, 1.65, 0.02);
      EXPECT_NEAR(std::acos(std::min(1.0, g.normal.dot(Eigen::AngleAxisd(pitch, Vec3::UnitX()) * Vec3::UnitY()))),
                  0.0, 0.01);
      int road_inliers = 0;
      for (int i : g.inliers) road_inliers += is_road[i] ? 1 : 0;
      EXPECT_GE(road_inliers, 290);                                  // the road is found ...
      EXPECT_LE(static_cast<int>(g.inliers.size()) - road_inliers, 40);  // ... walls only at its foot
    }
  }
}

// Road points whose inverse depth carries the noise (as a photometric BA's do): a far point's depth error is
// its distance squared times the inverse-depth error, so the refit in 3D leans on the points it knows least;
// in inverse depth the plane is linear in its parameters and every point's residual has the same noise
// (GroundPlaneOptions::refit_in_idepth): the height is found with a smaller error.
TEST(GroundPlane, RefitInInverseDepthIsMorePreciseUnderInverseDepthNoise) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 0.005);  // 1/m
  double sq_idepth = 0.0, sq_3d = 0.0, sum_idepth = 0.0;
  const int trials = 100;
  for (int t = 0; t < trials; ++t) {
    std::vector<Vec3> pts;
    for (int i = 0; i < 300; ++i) {
      const Vec3 p(-6.0 + 12.0 * u(rng), 1.65, 4.0 + 26.0 * u(rng));
      const double idepth = std::max(1.0 / p.z() + noise(rng), 1e-3);
      pts.push_back(p * (1.0 / (idepth * p.z())));  // moved along its ray
    }
    GroundPlaneOptions o;
    o.max_curvature_correction = 0.0;  // the plane's own height
    o.refit_in_idepth = true;
    const GroundPlane a = FitGroundPlane(pts, o, 1u + t);
    o.refit_in_idepth = false;
    const GroundPlane b = FitGroundPlane(pts, o, 1u + t);
    ASSERT_TRUE(a.found && b.found);
    sum_idepth += a.height / trials;
    sq_idepth += (a.height - 1.65) * (a.height - 1.65) / trials;
    sq_3d += (b.height - 1.65) * (b.height - 1.65) / trials;
  }
  std::printf("road at 1.65 m, inverse-depth noise 0.005 1/m: height RMS error, refit in inverse depth %.4f m "
              "(mean %.4f), in 3D %.4f m\n", std::sqrt(sq_idepth), sum_idepth, std::sqrt(sq_3d));
  EXPECT_NEAR(sum_idepth, 1.65, 0.01);
  EXPECT_LT(std::sqrt(sq_idepth), 0.9 * std::sqrt(sq_3d));  // measured 0.78-0.80
}

// A road that bends down ahead (a crest) or up (a sag), y = height + curvature / 2 * z^2 below a level
// camera: a plane fitted to it over 4-30 m is tilted and shifted, and its height misreads the camera's by
// several %; the parabola along the road gives back the height below the camera
// (GroundPlaneOptions::max_curvature_correction). On a flat road with inverse-depth noise the correction
// adds little error.
TEST(GroundPlane, HeightIsTheRoadsBelowTheCameraOnACrestOrASag) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 0.002);  // 1/m
  auto road = [&](double curvature, bool noisy) {
    std::vector<Vec3> pts;
    for (int i = 0; i < 400; ++i) {
      const double z = 4.0 + 26.0 * u(rng);
      const Vec3 p(-6.0 + 12.0 * u(rng), 1.65 + 0.5 * curvature * z * z, z);
      const double idepth = noisy ? std::max(1.0 / p.z() + noise(rng), 1e-3) : 1.0 / p.z();
      pts.push_back(p * (1.0 / (idepth * p.z())));
    }
    return pts;
  };
  GroundPlaneOptions plain;
  plain.max_curvature_correction = 0.0;
  const GroundPlaneOptions corrected;
  ASSERT_GT(corrected.max_curvature_correction, 0.0);
  for (double curvature : {-0.0008, 0.0008}) {  // a crest, a sag (radius 1250 m)
    const std::vector<Vec3> pts = road(curvature, false);
    const GroundPlane a = FitGroundPlane(pts, plain), b = FitGroundPlane(pts, corrected);
    ASSERT_TRUE(a.found && b.found);
    EXPECT_GT(std::abs(a.height / 1.65 - 1.0), 0.02) << curvature;  // the plane misreads
    EXPECT_NEAR(b.height, 1.65, 0.01 * 1.65) << curvature;          // the road below the camera
  }
  double sq_plain = 0.0, sq_corrected = 0.0, sum_corrected = 0.0;
  const int trials = 50;
  for (int t = 0; t < trials; ++t) {
    const std::vector<Vec3> pts = road(0.0, true);
    const GroundPlane a = FitGroundPlane(pts, plain, 1u + t), b = FitGroundPlane(pts, corrected, 1u + t);
    ASSERT_TRUE(a.found && b.found);
    sq_plain += (a.height - 1.65) * (a.height - 1.65) / trials;
    sq_corrected += (b.height - 1.65) * (b.height - 1.65) / trials;
    sum_corrected += b.height / trials;
  }
  std::printf("flat road, inverse-depth noise 0.002 1/m: height RMS error %.4f m plane, %.4f m corrected (mean %.4f)\n",
              std::sqrt(sq_plain), std::sqrt(sq_corrected), sum_corrected);
  EXPECT_NEAR(sum_corrected, 1.65, 0.01);
  EXPECT_LT(std::sqrt(sq_corrected), 0.02);
}

TEST(GroundPlane, NoPlaneWithoutARoadOrTooFewPoints) {
  GroundPlaneOptions o;
  std::vector<bool> is_road;
  // Walls only: vertical planes have normals far from the down axis.
  EXPECT_FALSE(FitGroundPlane(Street(1.65, 0.0, 0.02, 0, 500, 3, &is_road), o).found);
  // A road of fewer points than min_inliers.
  is_road.clear();
  EXPECT_FALSE(FitGroundPlane(Street(1.65, 0.0, 0.02, o.min_inliers - 1, 0, 3, &is_road), o).found);
  // Points above the camera are never candidates (a ceiling is not a road).
  std::vector<Vec3> ceiling = Street(1.65, 0.0, 0.02, 300, 0, 3, &is_road);
  for (Vec3& p : ceiling) p.y() = -p.y();
  EXPECT_FALSE(FitGroundPlane(ceiling, o).found);
  EXPECT_FALSE(FitGroundPlane({}, o).found);
}

// A road on the left and a textured bank rising to the right (rolled by 15 deg, more points than the
// smooth asphalt; KITTI 02's last turn): searched near the camera's down axis the bank wins; searched
// within 7 deg of the road's normal (GroundPlaneOptions::down_axis, System::FitRoadPlane) the road is found.
TEST(GroundPlane, DownAxisFindsTheRoadBesideABankWithMorePoints) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double height = 1.65;
  std::vector<Vec3> pts;
  for (int i = 0; i < 150; ++i) pts.emplace_back(-6.0 + 6.0 * u(rng), height + 0.02 * (2.0 * u(rng) - 1.0), 4.0 + 20.0 * u(rng));
  const Vec3 bank_normal = Eigen::AngleAxisd(-15.0 * M_PI / 180.0, Vec3::UnitZ()) * Vec3::UnitY();
  const double bank_height = 1.3;  // n . X on the bank: it rises to the right, nearer the camera
  for (int i = 0; i < 400; ++i) {
    Vec3 p(0.5 + 4.0 * u(rng), 0.0, 4.0 + 20.0 * u(rng));
    p.y() = (bank_height - bank_normal.x() * p.x() - bank_normal.z() * p.z()) / bank_normal.y();
    if (p.y() > 0.0) pts.push_back(p);
  }
  GroundPlaneOptions o;
  const GroundPlane any = FitGroundPlane(pts, o);
  ASSERT_TRUE(any.found);
  EXPECT_GT(std::acos(std::min(1.0, any.normal.dot(Vec3::UnitY()))) * 180.0 / M_PI, 10.0);  // the bank
  o.down_axis = Vec3::UnitY();
  o.max_normal_angle_deg = 7.0;
  const GroundPlane road = FitGroundPlane(pts, o);
  ASSERT_TRUE(road.found);
  EXPECT_NEAR(road.height, height, 0.03);
  EXPECT_LT(std::acos(std::min(1.0, road.normal.dot(Vec3::UnitY()))) * 180.0 / M_PI, 1.0);
  // A held normal tilted by 3 deg still finds the same road.
  o.down_axis = Eigen::AngleAxisd(3.0 * M_PI / 180.0, Vec3::UnitX()) * Vec3::UnitY();
  const GroundPlane tilted_axis = FitGroundPlane(pts, o);
  ASSERT_TRUE(tilted_axis.found);
  EXPECT_NEAR(tilted_axis.height, height, 0.03);
}

TEST(GroundPlane, OptionsChecked) {
  GroundPlaneOptions o;
  o.inlier_tolerance = 0.0;
  EXPECT_THROW(FitGroundPlane({}, o), std::invalid_argument);
  o = GroundPlaneOptions();
  o.max_normal_angle_deg = 120.0;
  EXPECT_THROW(o.Check(), std::invalid_argument);
  o = GroundPlaneOptions();
  o.down_axis = Vec3(0, 2, 0);  // not unit
  EXPECT_THROW(o.Check(), std::invalid_argument);
}

// GroundHeightHold: the median of the first heights is the target; heights near it correct the scale,
// heights far from it (a plane on the wrong structure) are not used, and a run of them re-measures it.
const Vec3 kDown(0, 1, 0);

TEST(GroundHeightHold, MedianTargetGatedCorrectionAndRelock) {
  BundleAdjustmentOptions o;
  o.ground_height_samples = 5;
  o.ground_height_gain = 0.1;
  o.ground_height_max_error = 0.15;
  o.ground_height_relock = 3;
  o.ground_height_drift_band = 0.0;  // the plain relock (a long agreement's: RelockAfterALongAgreement...)
  GroundHeightHold hold(o);
  double log_s = 123.0;
  // Collecting: no correction; an outlier (3.0) among the five does not move the median.
  for (double h : {1.6, 1.7, 3.0, 1.65, 1.62}) EXPECT_FALSE(hold.Update(h, kDown, &log_s));
  EXPECT_EQ(log_s, 123.0);
  EXPECT_DOUBLE_EQ(hold.target(), 1.65);
  EXPECT_EQ(hold.locks(), 1);
  // In the band: gain * log(target / height) (a road plane nearer than the target: the map is too small).
  ASSERT_TRUE(hold.Update(1.5, kDown, &log_s));
  EXPECT_NEAR(log_s, 0.1 * std::log(1.65 / 1.5), 1e-12);
  EXPECT_GT(log_s, 0.0);
  ASSERT_TRUE(hold.Update(1.8, kDown, &log_s));
  EXPECT_LT(log_s, 0.0);
  // The window is rescaled (by the prior or by these corrections): the target stays, it is the unit.
  hold.Rescale(1.1);
  EXPECT_DOUBLE_EQ(hold.target(), 1.65);
  ASSERT_TRUE(hold.Update(1.65, kDown, &log_s));
  EXPECT_NEAR(log_s, 0.0, 1e-12);
  // Outside the band: not used; two in a row, then one inside: the target is kept.
  EXPECT_FALSE(hold.Update(3.3, kDown, &log_s));
  EXPECT_FALSE(hold.Update(1.0, kDown, &log_s));
  EXPECT_TRUE(hold.Update(1.7, kDown, &log_s));
  EXPECT_DOUBLE_EQ(hold.target(), 1.65);
  // Three in a row: the target is measured again from the next five heights, which follow a rescale
  // while they are collected.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(hold.Update(5.0, kDown, &log_s));
  EXPECT_EQ(hold.target(), 0.0);
  for (double h : {5.0, 5.1, 4.9, 5.2}) EXPECT_FALSE(hold.Update(h, kDown, &log_s));
  hold.Rescale(2.0);
  EXPECT_EQ(hold.locks(), 1);  // (no new target while collecting)
  EXPECT_FALSE(hold.Update(10.0, kDown, &log_s));
  EXPECT_DOUBLE_EQ(hold.target(), 10.0);
  EXPECT_EQ(hold.locks(), 2);  // a relock's target counts (System: ba.camera_height_relock_band) ...
  EXPECT_EQ(hold.previous_target_accepted(), 4);  // ... with the planes the target before it corrected with
  EXPECT_TRUE(hold.Update(10.0, kDown, &log_s));
  // A change of unit (System's ba.camera_height: to metres) moves the target with the map.
  hold.ChangeUnit(0.165);
  EXPECT_DOUBLE_EQ(hold.target(), 1.65);
  ASSERT_TRUE(hold.Update(1.65, kDown, &log_s));
  EXPECT_NEAR(log_s, 0.0, 1e-12);
  // Off: never a correction.
  o.ground_height_samples = 0;
  GroundHeightHold off(o);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(off.Update(1.65, kDown, &log_s));
  EXPECT_EQ(off.target(), 0.0);
}

// With ground_height_max_normal_deg the held normal (median of the target's samples) gates the planes: a
// tilted one (a pavement's side, a ramp) neither corrects nor sets the target; a run of them re-measures
// the target like a run of heights outside the band (the held normal was itself from the wrong structure).
TEST(GroundHeightHold, NormalGate) {
  BundleAdjustmentOptions o;
  o.ground_height_samples = 5;
  o.ground_height_gain = 0.1;
  o.ground_height_max_error = 0.2;
  o.ground_height_relock = 3;
  o.ground_height_max_normal_deg = 3.0;
  const Vec3 road = Vec3(0.02, 1.0, 0.01).normalized();
  const double tilt = 10.0 * 3.14159265358979323846 / 180.0;
  const Vec3 pavement(std::sin(tilt), std::cos(tilt), 0.0);  // 10 deg sideways
  const Vec3 ramp(0.0, std::cos(tilt), -std::sin(tilt));     // 10 deg towards the camera
  GroundHeightHold hold(o);
  double log_s = 123.0;
  EXPECT_FALSE(hold.Update(1.6, road, &log_s));
  EXPECT_FALSE(hold.Update(3.0, ramp, &log_s));  // far off: not part of the target
  EXPECT_FALSE(hold.Update(1.7, road, &log_s));
  EXPECT_FALSE(hold.Update(1.62, road, &log_s));
  EXPECT_FALSE(hold.Update(1.65, road, &log_s));
  EXPECT_EQ(log_s, 123.0);
  EXPECT_DOUBLE_EQ(hold.target(), 1.65);  // median of the four road planes ...
  EXPECT_LT(std::acos(hold.normal().dot(road)), 0.5 * 3.14159265358979323846 / 180.0);  // ... and the road's normal
  // Tilted planes at the held height are not used; two in a row and then a road plane: the target stays.
  EXPECT_FALSE(hold.Update(1.65, pavement, &log_s));
  EXPECT_FALSE(hold.Update(1.65, ramp, &log_s));
  EXPECT_EQ(log_s, 123.0);
  ASSERT_TRUE(hold.Update(1.65, road, &log_s));
  EXPECT_NEAR(log_s, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(hold.target(), 1.65);
  // A road plane 14 % high (the map grew): corrected within the band.
  ASSERT_TRUE(hold.Update(1.9, road, &log_s));
  EXPECT_NEAR(log_s, 0.1 * std::log(1.65 / 1.9), 1e-12);
  // A road plane 30 % high: outside the band.
  EXPECT_FALSE(hold.Update(2.2, road, &log_s));
  // What System::FitRoadPlane asks before searching again near the held road (ba.ground_search_near_held_deg).
  EXPECT_EQ(hold.accepted_with_target(), 2);
  EXPECT_TRUE(hold.NormalFar(pavement));
  EXPECT_TRUE(hold.NormalFar(ramp));
  EXPECT_FALSE(hold.NormalFar(road));
  // What it did so far: 5 planes while measuring, 2 tilted, 2 used, 1 too high; one target.
  GroundHoldStats st = hold.stats();
  EXPECT_EQ(st.planes, 10);
  EXPECT_EQ(st.measuring, 5);
  EXPECT_EQ(st.rejected_tilt, 2);
  EXPECT_EQ(st.accepted, 2);
  EXPECT_EQ(st.rejected_height, 1);
  EXPECT_EQ(st.locks, 1);
  // Three rejected planes in a row (the high one and two tilted): the target and the normal are measured
  // again, and the third tilted plane is the new target's first sample.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(hold.Update(1.65, pavement, &log_s));
  EXPECT_EQ(hold.target(), 0.0);
  st = hold.stats();
  EXPECT_EQ(st.planes, 13);
  EXPECT_EQ(st.rejected_tilt, 4);
  EXPECT_EQ(st.measuring, 6);
  EXPECT_EQ(st.locks, 1);
  // The target is the median of the planes near the held normal: with a pavement among the samples.
  GroundHeightHold second(o);
  for (double h : {1.5, 1.52, 1.55}) EXPECT_FALSE(second.Update(h, pavement, &log_s));
  for (double h : {1.7, 1.72}) EXPECT_FALSE(second.Update(h, road, &log_s));
  EXPECT_LT((second.normal() - pavement).norm(), 1e-9);  // the majority is held: a median, not a vote
  EXPECT_DOUBLE_EQ(second.target(), 1.52);
  // Gate off: a tilted plane corrects like any other.
  o.ground_height_max_normal_deg = 0.0;
  GroundHeightHold off(o);
  for (double h : {1.6, 1.7, 1.62, 1.65, 1.66}) EXPECT_FALSE(off.Update(h, road, &log_s));
  EXPECT_TRUE(off.Update(1.65, pavement, &log_s));
}

// The target's samples vote: at a junction (the start of KITTI 07) three planes fitted to a pavement's
// side, a ramp and a kerb, each tilted its own way, 1.25-1.75x the road's height, against two road planes.
// Their component-wise median normal lies within a few degrees of the tilted ones and took them in (the
// target 2.08); the largest group of parallel samples is the road.
TEST(GroundHeightHold, TheRoadIsTheLargestGroupOfParallelSamples) {
  BundleAdjustmentOptions o;
  o.ground_height_samples = 5;
  o.ground_height_max_normal_deg = 7.0;
  o.ground_height_parallel_deg = 2.0;
  auto normal = [](double x, double z) { return Vec3(x, std::sqrt(1.0 - x * x - z * z), z); };
  const std::vector<std::pair<double, Vec3>> samples = {
      {1.63, normal(0.0177, 0.0039)}, {1.71, normal(0.0247, 0.0118)}, {2.08, normal(0.0337, 0.0592)},
      {2.90, normal(0.0716, 0.1835)}, {2.32, normal(0.0025, 0.0846)}};  // (height, normal) as measured
  GroundHeightHold hold(o);
  double log_s = 123.0;
  for (const auto& [h, n] : samples) EXPECT_FALSE(hold.Update(h, n, &log_s));
  EXPECT_DOUBLE_EQ(hold.target(), 1.71);  // median of the two road planes (the upper of an even count)
  auto deg_to = [&hold](const Vec3& n) { return std::acos(std::min(1.0, hold.normal().dot(n))) * 180.0 / 3.14159265358979323846; };
  EXPECT_LT(deg_to(samples[0].second), 1.0);  // the road's normal
  EXPECT_LT(deg_to(samples[1].second), 1.0);
  EXPECT_GT(deg_to(samples[2].second), 2.0);
  // The same samples with the parallel band off: the groups are formed within the normal gate (7 deg),
  // where the two road planes and two tilted ones agree with the third.
  o.ground_height_parallel_deg = 0.0;
  GroundHeightHold wide(o);
  for (const auto& [h, n] : samples) EXPECT_FALSE(wide.Update(h, n, &log_s));
  EXPECT_DOUBLE_EQ(wide.target(), 2.08);
  // No two samples within 2 deg of each other: the median normal of all and the heights near it.
  o.ground_height_parallel_deg = 2.0;
  GroundHeightHold scattered(o);
  const double deg = 3.14159265358979323846 / 180.0;
  for (int i = 0; i < 5; ++i) {
    const double a = (i < 4 ? 3.0 * i : 14.0) * deg;  // 0, 3, 6, 9, 14 deg sideways
    EXPECT_FALSE(scattered.Update(1.6 + 0.1 * i, Vec3(std::sin(a), std::cos(a), 0.0), &log_s));
  }
  EXPECT_DOUBLE_EQ(scattered.target(), 1.8);  // median normal 6 deg: the one at 14 deg is left out
  EXPECT_EQ(log_s, 123.0);
}

// ba.ground_height_parallel_*: a plane parallel to the held road (the road seen from a map whose scale
// moved in a turn) corrects up to the wider band; a plane as far off the target but tilted a few degrees
// (a pavement's side, an embankment) still needs the narrow one.
// The start of KITTI 07 with a DepthNet adapted on 00: three of the first five road planes lie on a junction's
// structure (2.7-2.9 in the window's unit against the road's 1.5) and outvote the road; the depth prior reads
// them ~2.8 m below the camera and the road ~1.6 m (ba.ground_target_prior_band).
TEST(GroundHeightHold, ThePriorsHeightChoosesTheTargetsSamples) {
  BundleAdjustmentOptions o;
  o.ground_height_samples = 5;
  o.camera_height = 1.65;
  auto target = [&o](const std::vector<double>& heights, const std::vector<double>& prior_heights) {
    GroundHeightHold hold(o);
    double log_s = 0.0;
    for (size_t i = 0; i < heights.size(); ++i) hold.Update(heights[i], kDown, &log_s, prior_heights[i]);
    return hold.target();
  };
  const std::vector<double> heights = {1.5, 2.8, 2.9, 1.52, 2.7};
  const std::vector<double> junction = {1.6, 2.8, 2.9, 1.62, 2.7};
  o.ground_target_prior_band = 0.0;  // off: the median of the five, on the junction
  EXPECT_DOUBLE_EQ(target(heights, junction), 2.7);
  o.ground_target_prior_band = 0.3;  // the two the prior puts near 1.65 m
  EXPECT_DOUBLE_EQ(target(heights, junction), 1.52);
  // Fewer than two near the camera's height, or the prior's height unknown (pure DSO): all five, as off.
  EXPECT_DOUBLE_EQ(target(heights, {1.6, 2.8, 2.9, 2.5, 2.7}), 2.7);
  EXPECT_DOUBLE_EQ(target(heights, {0, 0, 0, 0, 0}), 2.7);
  // Without the camera's height there is nothing to compare with.
  o.camera_height = 0.0;
  EXPECT_DOUBLE_EQ(target(heights, junction), 2.7);
}

// KITTI 07 every 3rd frame, the same DepthNet: two of the five are near the camera's height as the prior reads
// them (1.53 and 1.96 m), on planes 5 degrees apart; the median of the two would be the upper, 2.19, on the
// junction's structure. The one the prior puts nearest 1.65 m is the target.
TEST(GroundHeightHold, WithoutAgreementThePriorsNearestSampleIsTheTarget) {
  BundleAdjustmentOptions o;
  o.ground_height_samples = 5;
  o.camera_height = 1.65;
  o.ground_target_prior_band = 0.3;
  GroundHeightHold hold(o);
  const double heights[] = {1.531, 2.855, 2.920, 2.193, 2.514};
  const double prior_heights[] = {1.528, 2.813, 2.715, 1.961, 2.300};
  const Vec3 normals[] = {Vec3(0.022, 1.0, 0.012), Vec3(0.063, 0.979, 0.192), Vec3(0.083, 0.977, 0.198),
                          Vec3(0.030, 0.994, 0.101), Vec3(0.033, 0.987, 0.157)};
  double log_s = 0.0;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(hold.Update(heights[i], normals[i], &log_s, prior_heights[i]));
  EXPECT_DOUBLE_EQ(hold.target(), 1.531);
  EXPECT_LT(hold.normal().cross(normals[0].normalized()).norm(), 1e-9);  // its normal is the held one
  EXPECT_EQ(hold.stats().prior_chosen, 1);
  // Off: the median normal of all five, and the median height of the planes near it (all but the first).
  o.ground_target_prior_band = 0.0;
  GroundHeightHold off(o);
  for (int i = 0; i < 5; ++i) off.Update(heights[i], normals[i], &log_s, prior_heights[i]);
  EXPECT_GT(off.target(), 2.5);
  EXPECT_EQ(off.stats().prior_chosen, 0);
}

TEST(GroundHeightHold, ParallelPlanesGetTheWiderBand) {
  BundleAdjustmentOptions o;
  o.ground_height_samples = 3;
  o.ground_height_gain = 0.1;
  o.ground_height_max_error = 0.10;
  o.ground_height_relock = 10;
  o.ground_height_max_normal_deg = 7.0;
  o.ground_height_parallel_deg = 2.0;
  o.ground_height_parallel_max_error = 0.20;
  const double deg = 3.14159265358979323846 / 180.0;
  const Vec3 road(0.0, 1.0, 0.0);
  const Vec3 road_1deg(std::sin(1.0 * deg), std::cos(1.0 * deg), 0.0);
  const Vec3 tilted_4deg(std::sin(4.0 * deg), std::cos(4.0 * deg), 0.0);
  GroundHeightHold hold(o);
  double log_s = 123.0;
  for (double h : {1.64, 1.65, 1.66}) EXPECT_FALSE(hold.Update(h, road, &log_s));
  ASSERT_DOUBLE_EQ(hold.target(), 1.65);
  // 1.2x the held height (log error -0.18): outside the narrow band, inside the parallel one.
  ASSERT_TRUE(hold.Update(1.98, road_1deg, &log_s));
  EXPECT_NEAR(log_s, 0.1 * std::log(1.65 / 1.98), 1e-12);
  log_s = 123.0;
  EXPECT_FALSE(hold.Update(1.98, tilted_4deg, &log_s));  // tilted: the narrow band
  EXPECT_EQ(log_s, 123.0);
  EXPECT_TRUE(hold.Update(1.80, tilted_4deg, &log_s));   // 9 % off: inside the narrow band
  EXPECT_FALSE(hold.Update(2.20, road, &log_s));         // 1.33x (log error -0.29): outside both
  // Off (0 degrees): one band for every plane.
  o.ground_height_parallel_deg = 0.0;
  GroundHeightHold one_band(o);
  for (double h : {1.64, 1.65, 1.66}) EXPECT_FALSE(one_band.Update(h, road, &log_s));
  EXPECT_FALSE(one_band.Update(1.98, road_1deg, &log_s));
}

// ba.ground_height_drift_band: a relock after a long agreement is a map that drifted from a good target (KITTI
// 02's last turn stretches it by 15-20 %): a new measurement within the band restores the old target and
// rescales the window to it at once; a relock of a target that hardly agreed, or a measurement further off,
// is held as the new target.
TEST(GroundHeightHold, RelockAfterALongAgreementRestoresTheTarget) {
  BundleAdjustmentOptions o;
  o.ground_height_samples = 3;
  o.ground_height_max_error = 0.1;
  o.ground_height_parallel_deg = 0.0;
  o.ground_height_relock = 3;
  o.ground_height_drift_band = 0.2;
  int locks = 0;
  const auto relock_after = [&](int agreeing, double drifted, double* log_s) {
    GroundHeightHold hold(o);
    for (int i = 0; i < 3; ++i) hold.Update(1.65, kDown, log_s);
    for (int i = 0; i < agreeing; ++i) EXPECT_TRUE(hold.Update(1.66, kDown, log_s));
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(hold.Update(drifted, kDown, log_s));  // the relock
    EXPECT_EQ(hold.target(), 0.0);
    hold.Update(drifted, kDown, log_s);
    hold.Update(drifted, kDown, log_s);
    *log_s = 123.0;
    const bool corrected = hold.Update(drifted, kDown, log_s);  // the third sample: a new measurement
    EXPECT_EQ(corrected, *log_s != 123.0);
    locks = hold.locks();
    return hold.target();
  };
  double log_s = 0.0;
  EXPECT_DOUBLE_EQ(relock_after(10, 1.95, &log_s), 1.65);  // drifted 17 %: the old target, corrected at once
  EXPECT_NEAR(log_s, std::log(1.65 / 1.95), 1e-12);
  EXPECT_EQ(locks, 1);  // not a new target
  EXPECT_DOUBLE_EQ(relock_after(2, 1.95, &log_s), 1.95);  // a target that hardly agreed: the new one
  EXPECT_EQ(log_s, 123.0);
  EXPECT_EQ(locks, 2);
  EXPECT_DOUBLE_EQ(relock_after(10, 3.9, &log_s), 3.9);  // too far for drift: held as before
  o.ground_height_drift_band = 0.0;  // off
  EXPECT_DOUBLE_EQ(relock_after(10, 1.95, &log_s), 1.95);
  // The default band: a map shrunk tenfold after a long agreement (pure DSO in a slow 90-deg turn) gets the
  // old target back; a target that hardly agreed is still replaced.
  o.ground_height_drift_band = BundleAdjustmentOptions().ground_height_drift_band;
  EXPECT_DOUBLE_EQ(relock_after(10, 0.165, &log_s), 1.65);
  EXPECT_NEAR(log_s, std::log(10.0), 1e-12);
  EXPECT_DOUBLE_EQ(relock_after(2, 0.165, &log_s), 0.165);
}

// System's change of the map's unit to metres (ba.camera_height): every first target; a relock's when the
// road rejected the target before it more often than it agreed (the start's target was from the wrong
// structure: KITTI 02 every 2nd frame, relocks after 3-5 accepted planes) and within
// ba.camera_height_relock_band; not a relock after a long agreement (the map drifted from a good target:
// 02 in its last turn, after 100-130 accepted planes), nor one far off (02 every 3rd frame: 3.9 m).
TEST(GroundHeightHold, MetresChangeForANewTarget) {
  BundleAdjustmentOptions o;
  double log_change = 123.0;
  o.camera_height = 0.0;  // unknown: never
  EXPECT_FALSE(MetresChangeForTarget(o, 1.4, false, 0, &log_change));
  EXPECT_EQ(log_change, 123.0);
  o.camera_height = 1.65;
  o.ground_height_bias = 1.01;
  o.ground_height_relock = 10;
  o.camera_height_relock_band = 0.35;
  ASSERT_TRUE(MetresChangeForTarget(o, 1.2, false, 0, &log_change));  // the first target: whatever it reads
  EXPECT_NEAR(log_change, std::log(1.65 * 1.01 / 1.2), 1e-12);
  ASSERT_TRUE(MetresChangeForTarget(o, 1.45, true, 5, &log_change));  // 14 % below, after 5 agreements
  EXPECT_NEAR(log_change, std::log(1.65 * 1.01 / 1.45), 1e-12);
  EXPECT_GT(log_change, 0.0);  // the map grows
  log_change = 123.0;
  EXPECT_FALSE(MetresChangeForTarget(o, 1.45, true, 10, &log_change));  // as many agreed as rejected: drift
  EXPECT_FALSE(MetresChangeForTarget(o, 1.58, true, 103, &log_change));
  EXPECT_FALSE(MetresChangeForTarget(o, 3.9, true, 0, &log_change));  // far off: held in the map's unit
  EXPECT_FALSE(MetresChangeForTarget(o, 1.1, true, 0, &log_change));  // log 0.42 > 0.35
  EXPECT_EQ(log_change, 123.0);
  o.camera_height_relock_band = 0.0;  // relocks never change the unit
  EXPECT_FALSE(MetresChangeForTarget(o, 1.66, true, 0, &log_change));
  EXPECT_FALSE(MetresChangeForTarget(o, 0.0, false, 0, &log_change));  // no target
}

}  // namespace
}  // namespace dso
