#pragma once
// Pinhole camera with the pixel-centre convention: pixel (0, 0) is the centre of the top-left
// pixel; camera axes x right, y down, z forward.
#include <string>

#include "dso/se3.h"

namespace dso {

// Image-gradient-weighted derivative of a pixel with respect to a left-multiplied se(3) increment
// (translation, rotation) of the observing camera's pose: out[i] = (gx, gy) . d(u, v)/d(xi_i).
// gx, gy: image gradient already multiplied by fx, fy; (x, y): normalised coordinates of the point
// in that camera; idepth: its inverse z-depth there. Shared by the tracker and the window BA.
inline void GradientPoseJacobian(float gx, float gy, float x, float y, float idepth, float* out) {
  out[0] = gx * idepth;
  out[1] = gy * idepth;
  out[2] = -(gx * x + gy * y) * idepth;
  out[3] = -gx * x * y - gy * (1.f + y * y);
  out[4] = gx * (1.f + x * x) + gy * x * y;
  out[5] = -gx * y + gy * x;
}

struct PinholeCamera {
  double fx = 1.0;  // focal length x, pixels (> 0)
  double fy = 1.0;  // focal length y, pixels (> 0)
  double cx = 0.0;  // principal point x, pixels
  double cy = 0.0;  // principal point y, pixels
  int width = 0;    // image width, pixels (> 0)
  int height = 0;   // image height, pixels (> 0)

  PinholeCamera() = default;
  PinholeCamera(double fx_, double fy_, double cx_, double cy_, int width_, int height_)
      : fx(fx_), fy(fy_), cx(cx_), cy(cy_), width(width_), height(height_) {}

  // Throws std::invalid_argument naming the bad field.
  void Check() const;

  // Pixel of a camera-frame point (z must be non-zero; no check for speed).
  Vec2 Project(const Vec3& p_cam) const {
    return Vec2(fx * p_cam.x() / p_cam.z() + cx, fy * p_cam.y() / p_cam.z() + cy);
  }
  // Camera-frame point at z-depth `depth` along the ray of pixel `px` (depth 1: normalised ray).
  Vec3 Unproject(const Vec2& px, double depth = 1.0) const {
    return Vec3((px.x() - cx) / fx * depth, (px.y() - cy) / fy * depth, depth);
  }
  // d Project / d p_cam (2x3).
  Mat23 ProjectJacobian(const Vec3& p_cam) const { return ProjectionJacobian(fx, fy, p_cam); }

  // Intrinsics of pyramid level `level` (image halved `level` times, size floor-divided by 2^level),
  // with x_l = (x + 0.5) / 2^level - 0.5. Throws std::invalid_argument if level < 0.
  PinholeCamera Level(int level) const;

  Mat3 K() const;
  Mat3 KInverse() const;

  // True if (x, y) lies in [margin, width - 1 - margin] x [margin, height - 1 - margin].
  bool InImage(double x, double y, double margin = 0.0) const {
    return x >= margin && y >= margin && x <= width - 1 - margin && y <= height - 1 - margin;
  }

  std::string ToString() const;
};

}  // namespace dso
