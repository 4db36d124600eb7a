#pragma once
// Test helper (header only, used by *_test.cc): a textured 3D scene rendered by ray casting so tests
// get images with exact depth. The scene is a box corridor (floor, ceiling, two side walls, an end
// wall) with a smooth multi-frequency texture; the camera looks down +z.
#include <cmath>
#include <memory>
#include <vector>

#include "dso/camera.h"
#include "dso/image_pyramid.h"
#include "dso/se3.h"
#include "dso/system.h"

namespace dso {
namespace testing_util {

inline double Texture(double u, double v) {
  double t = 128.0;
  t += 40.0 * std::sin(1.7 * u + 0.3) * std::cos(1.3 * v);
  t += 25.0 * std::sin(4.1 * u + 2.1 * v + 1.0);
  t += 15.0 * std::cos(7.3 * v - 3.1 * u);
  t += 10.0 * std::sin(11.0 * u) * std::sin(9.0 * v + 0.5);
  return t;
}

// Corridor: |x| <= 3 (walls), -1.5 <= y <= 1.5 (ceiling/floor), end wall at z = 40.
// Returns the hit depth along the ray (world frame) and the texture value.
inline bool CastRay(const Vec3& origin, const Vec3& dir, double* t_hit, double* intensity) {
  double best = 1e18;
  double value = 0.0;
  auto consider = [&](double t, double u, double v) {
    if (t > 1e-6 && t < best) {
      best = t;
      value = Texture(u, v);
    }
  };
  for (double xw : {-3.0, 3.0}) {
    if (std::abs(dir.x()) > 1e-12) {
      const double t = (xw - origin.x()) / dir.x();
      const Vec3 p = origin + t * dir;
      consider(t, p.z() * 0.8, p.y() * 1.1 + xw);
    }
  }
  for (double yw : {-1.5, 1.5}) {
    if (std::abs(dir.y()) > 1e-12) {
      const double t = (yw - origin.y()) / dir.y();
      const Vec3 p = origin + t * dir;
      consider(t, p.x() * 1.2 + yw, p.z() * 0.7);
    }
  }
  if (std::abs(dir.z()) > 1e-12) {
    const double t = (40.0 - origin.z()) / dir.z();
    const Vec3 p = origin + t * dir;
    consider(t, p.x(), p.y());
  }
  if (best >= 1e17) return false;
  *t_hit = best;
  *intensity = value;
  return true;
}

// Renders grey image (row-major) and z-depth for camera pose world_from_cam.
inline void Render(const PinholeCamera& cam, const SE3& world_from_cam, std::vector<float>* image,
                   std::vector<float>* depth) {
  image->assign(cam.width * cam.height, 0.f);
  depth->assign(cam.width * cam.height, 0.f);
  const Mat3 r = world_from_cam.RotationMatrix();
  const Vec3 o = world_from_cam.Translation();
  for (int y = 0; y < cam.height; ++y) {
    for (int x = 0; x < cam.width; ++x) {
      const Vec3 ray_cam = cam.Unproject(Vec2(x, y));
      double t = 0.0, value = 0.0;
      if (CastRay(o, r * ray_cam, &t, &value)) {
        (*image)[y * cam.width + x] = static_cast<float>(value);
        (*depth)[y * cam.width + x] = static_cast<float>(t);  // ray_cam has z = 1: t is z-depth
      }
    }
  }
}

inline PinholeCamera TestCamera() { return PinholeCamera(160.0, 160.0, 159.5, 59.5, 320, 120); }

// Forward motion with a gentle sway: world_from_cam of frame i.
inline SE3 TrajectoryPose(int i, double step = 0.25) {
  const double yaw = 0.03 * std::sin(0.15 * i);
  return SE3(SO3::Exp(Vec3(0.0, yaw, 0.0)), Vec3(0.3 * std::sin(0.1 * i), 0.05 * std::cos(0.2 * i), step * i));
}

// The System's input for a rendered frame (buffers must outlive the call to Track); depth optional.
inline FrameInput RenderedInput(const PinholeCamera& cam, const std::vector<float>& image,
                                const std::vector<float>* depth, double timestamp) {
  FrameInput in;
  in.image = image.data();
  in.width = cam.width;
  in.height = cam.height;
  in.timestamp = timestamp;
  if (depth != nullptr) in.depth = depth->data();
  return in;
}

}  // namespace testing_util
}  // namespace dso
