#pragma once
// Map data of the sliding window: keyframes, immature (candidate) points, active points and their
// photometric residuals. Plain structs owned by the System; the bundle adjuster and the point
// tracer operate on them.
#include <Eigen/Core>

#include <array>
#include <memory>
#include <vector>

#include "dso/affine_light.h"
#include "dso/image_pyramid.h"
#include "dso/residual_pattern.h"
#include "dso/se3.h"

namespace dso {

struct Keyframe;

// One host->target observation of a point (the 8-pixel pattern).
struct PointResidual {
  Keyframe* target = nullptr;
  bool outlier = false;
  double energy = 0.0;  // robust energy at the last linearisation
};

// idepth_max at or above this means the interval has no upper bound yet.
constexpr double kUnboundedIdepth = 1e9;

// A candidate point: known pixel and pattern, inverse depth only up to an interval.
struct ImmaturePoint {
  enum class Status { kUninitialized, kGood, kOutlier, kOutOfBounds, kSkipped, kBadCondition };
  Eigen::Vector2f pixel;                          // level-0 pixel in the host
  std::array<float, kPatternSize> intensity{};   // host pattern intensities
  std::array<float, kPatternSize> weight{};      // gradient weights of the pattern pixels
  float grad_sq = 0.f;                            // |grad|^2 at the centre
  double idepth_min = 0.0;
  double idepth_max = kUnboundedIdepth;           // kUnboundedIdepth = no upper bound yet
  double prior_idepth = 0.0;                      // >0 when a depth prior exists
  double prior_idepth_var = 0.0;
  double prior_unit = 1.0;                        // window idepth per prior idepth when prior_idepth was set
  double quality = 0.0;                           // second-best / best energy of the last trace
  double last_pixel_interval = 1e9;               // length of the search interval at the last trace (px)
  Status status = Status::kUninitialized;
  bool from_keypoint = false;
};

// An active point: optimised inverse depth in the host keyframe.
struct ActivePoint {
  Eigen::Vector2f pixel;
  std::array<float, kPatternSize> intensity{};
  std::array<float, kPatternSize> weight{};
  double idepth = 1.0;
  double prior_idepth = 0.0;      // >0 when a depth prior exists
  double prior_idepth_var = 0.0;  // variance of prior_idepth
  double prior_unit = 1.0;        // window idepth per prior (network) idepth; prior_idepth is in window units
  std::vector<PointResidual> residuals;
  bool marked_for_removal = false;
};

struct Keyframe {
  int id = 0;            // keyframe counter (unique)
  int frame_index = 0;   // index of the input frame
  double timestamp = 0.0;
  SE3 cam_from_world;    // current estimate
  AffineLight light;
  std::shared_ptr<const ImagePyramid> pyramid;
  std::vector<ImmaturePoint> immature;
  std::vector<ActivePoint> points;
  int points_at_creation = 0;  // active points it had (for the marginalisation rule)
  int window_index = -1;       // position in the window (set by the System)
  // First-estimate (linearisation) point of the marginalisation prior, valid once in the prior.
  bool in_prior = false;
  SE3 fej_cam_from_world;
  AffineLight fej_light;
};

}  // namespace dso
