// Road plane of a set of map points, for holding the depth prior's unit on the ground (System's
// HoldPriorScale): a depth network's road depth is its most consistent output (the camera height it
// implies agrees within a few % across KITTI sequences), while its unit on other structure moves with
// the scene. RANSAC over point triples, a plane whose normal is near the camera's down axis.
#ifndef DSO_GROUND_PLANE_H_
#define DSO_GROUND_PLANE_H_

#include <cstdint>
#include <vector>

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

}  // namespace dso

#endif  // DSO_GROUND_PLANE_H_
