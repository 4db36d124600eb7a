// Road plane of a set of map points, for holding the depth prior's unit on the ground (System's
// HoldPriorScale): a depth network's road depth is its most consistent output (the camera height it
// implies agrees within a few % across KITTI sequences), while its unit on other structure moves with
// the scene. RANSAC over point triples, a plane whose normal is near the camera's down axis.
#ifndef DSO_GROUND_PLANE_H_
#define DSO_GROUND_PLANE_H_

#include <cstdint>
#include <vector>

#include "dso/backend_options.h"
#include "dso/se3.h"

namespace dso {

struct GroundPlaneOptions {
  int ransac_iterations = 100;         // point triples tried
  double max_normal_angle_deg = 20.0;  // plane normal within this of the camera's down axis (+y)
  double inlier_tolerance = 0.05;      // point-plane distance tolerance, fraction of the camera height
  int min_inliers = 30;                // fewer inliers: no plane
  double min_inlier_fraction = 0.15;   // of the points below the camera centre: fewer, no plane
  void Check() const;                  // throws std::invalid_argument naming the bad option
};

struct GroundPlane {
  bool found = false;
  Vec3 normal = Vec3(0, 1, 0);  // unit, pointing down (away from the camera), camera frame
  double height = 0.0;          // camera centre to plane, the points' unit (normal . X = height on it)
  std::vector<int> inliers;     // indices into the input points
};

// points_cam: points in one camera frame (x right, y down, z forward), any unit. Only points below
// the camera centre (y > 0) in front of it (z > 0) are candidates. Deterministic for a given seed.
GroundPlane FitGroundPlane(const std::vector<Vec3>& points_cam, const GroundPlaneOptions& options,
                           uint32_t seed = 1);

// The camera's height above the road held in the window's unit (a camera on a vehicle; System's
// HoldPriorScale, options ba.ground_height_*). The first ground_height_samples road-plane heights set
// the target; later heights within ground_height_max_error (|log(target / height)|) of it give the
// log-scale correction ground_height_gain * log(target / height). A height outside the band is not used
// (a plane fitted to the wrong structure: 1.2-1.9x the held height at the start of KITTI 07); after
// ground_height_relock of them in a row the target is measured again (it was itself from the wrong
// structure). With ground_height_max_normal_deg, a plane tilted further than that from the held normal
// (a pavement's side, an embankment, a ramp ahead) is not used either and counts toward a relock.
// The target's samples vote for the road: the largest group of samples within ground_height_parallel_deg
// (ground_height_max_normal_deg when that is 0) of one of them is the road, the held normal the
// component-wise median of its normals, the target the median of its heights. (A median over all of
// them let three tilted planes of a junction, 1.25-1.75x the road's height, set a target 20 % high at
// the start of KITTI 07 with a flickering exposure, bench/RESULTS.md.) Without two agreeing samples:
// the median normal of all and the median height of the samples near it. A plane within
// ground_height_parallel_deg of the held normal (the road itself, seen from a map whose scale has moved)
// is used up to the wider ground_height_parallel_max_error.
class GroundHeightHold {
 public:
  explicit GroundHeightHold(const BundleAdjustmentOptions& options) : options_(options) {}

  // Log scale correction for a measured plane (height in the window unit, > 0; unit normal in the
  // camera frame, pointing down): false while the target is being measured or when the plane is
  // outside the band (the caller then follows the depth prior).
  bool Update(double height, const Vec3& normal, double* log_scale);
  // The window was rescaled by s: the heights still being collected follow; the target does not (it
  // defines the held unit: a rescale by the depth prior is undone by later corrections).
  void Rescale(double s);
  // The map's unit changed by s (a gauge change, not a correction, e.g. to metres): the target follows too.
  void ChangeUnit(double s);
  double target() const { return target_; }  // 0 until measured
  const Vec3& normal() const { return normal_; }  // the held normal (valid once target() > 0)

 private:
  BundleAdjustmentOptions options_;
  double AngleToHeldDeg(const Vec3& normal) const;  // degrees between a plane's normal and the held one
  bool NormalFar(const Vec3& normal) const;
  std::vector<size_t> LargestParallelGroup() const;  // indices into normals_ (empty with both gates off)
  void LockTarget();                                 // target_ and normal_ from heights_ / normals_
  std::vector<double> heights_;  // heights measured while the target is unknown ...
  std::vector<Vec3> normals_;    // ... and their planes' normals
  double target_ = 0.0;
  Vec3 normal_ = Vec3(0, 1, 0);
  int rejected_in_a_row_ = 0;
};

}  // namespace dso

#endif  // DSO_GROUND_PLANE_H_
