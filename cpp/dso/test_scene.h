#pragma once
// Test helper (header-only, used by *_test.cc): a textured box "street" scene rendered by
// ray casting with bilinear texture lookup, giving exact images and z-depth from any pose.
//
// World frame = first camera frame (x right, y down, z forward). The scene is the inside of a
// box: floor y = floor_y (camera height), ceiling y = ceiling_y, walls x = +-half_width and a far
// wall z = far_z. Every face carries a smooth random texture (blurred uniform noise on a periodic
// grid of `texel` metres), so images have gradients everywhere and are consistent across poses.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "dso/camera.h"
#include "dso/se3.h"

namespace dso {
namespace testing_scene {

struct BoxScene {
  double half_width = 4.0;  // walls at x = +-half_width, m
  double floor_y = 1.6;     // floor plane, m (y down)
  double ceiling_y = -3.0;  // ceiling plane, m
  double far_z = 20.0;      // far wall, m
  double texel = 0.05;      // texture grid spacing, m
  int tex_size = 1024;      // texture is tex_size^2, periodic
  std::vector<float> texture;

  // Texture value at plane coordinates (a, b) in metres, bilinear, periodic.
  float Sample(double a, double b) const {
    const double ga = a / texel, gb = b / texel;
    const double fa = std::floor(ga), fb = std::floor(gb);
    const double wa = ga - fa, wb = gb - fb;
    auto wrap = [&](double v) {
      long long i = static_cast<long long>(v) % tex_size;
      return static_cast<int>(i < 0 ? i + tex_size : i);
    };
    const int a0 = wrap(fa), a1 = wrap(fa + 1), b0 = wrap(fb), b1 = wrap(fb + 1);
    const float* t = texture.data();
    return static_cast<float>((1 - wb) * ((1 - wa) * t[b0 * tex_size + a0] + wa * t[b0 * tex_size + a1]) +
                              wb * ((1 - wa) * t[b1 * tex_size + a0] + wa * t[b1 * tex_size + a1]));
  }
};

// Separable periodic box blur with radius r (in place).
inline void BoxBlurPeriodic(std::vector<float>* img, int n, int r) {
  std::vector<float> tmp(img->size());
  for (int pass = 0; pass < 2; ++pass) {
    for (int y = 0; y < n; ++y) {
      for (int x = 0; x < n; ++x) {
        float s = 0.f;
        for (int d = -r; d <= r; ++d) {
          const int xx = (x + d + n) % n;
          s += pass == 0 ? (*img)[y * n + xx] : (*img)[xx * n + y];
        }
        if (pass == 0) tmp[y * n + x] = s / (2 * r + 1);
        else tmp[x * n + y] = s / (2 * r + 1);
      }
    }
    img->swap(tmp);
  }
}

// Texture values in roughly [30, 225]: two blurred noise octaves.
inline BoxScene MakeBoxScene(uint32_t seed = 0) {
  BoxScene s;
  const int n = s.tex_size;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> coarse(n * n), fine(n * n);
  for (float& v : coarse) v = u(rng);
  for (float& v : fine) v = u(rng);
  for (int k = 0; k < 2; ++k) BoxBlurPeriodic(&coarse, n, 4);
  for (int k = 0; k < 2; ++k) BoxBlurPeriodic(&fine, n, 2);
  // Normalise each octave to unit standard deviation.
  auto normalise = [](std::vector<float>* v) {
    double m = 0, q = 0;
    for (float x : *v) m += x;
    m /= v->size();
    for (float x : *v) q += (x - m) * (x - m);
    const float sd = static_cast<float>(std::sqrt(q / v->size()));
    for (float& x : *v) x = static_cast<float>((x - m) / sd);
  };
  normalise(&coarse);
  normalise(&fine);
  s.texture.resize(n * n);
  for (int i = 0; i < n * n; ++i) {
    s.texture[i] = std::min(225.f, std::max(30.f, 128.f + 40.f * coarse[i] + 12.f * fine[i]));
  }
  return s;
}

// Renders the scene seen by `camera` at pose world_from_cam. image/depth: (height, width)
// row-major; image = gain * texture + offset, depth = z-depth in metres.
inline void Render(const BoxScene& scene, const PinholeCamera& camera, const SE3& world_from_cam,
                   std::vector<float>* image, std::vector<float>* depth, float gain = 1.f,
                   float offset = 0.f) {
  const int w = camera.width, h = camera.height;
  image->assign(static_cast<size_t>(w) * h, 0.f);
  if (depth) depth->assign(static_cast<size_t>(w) * h, 0.f);
  const Mat3 rot = world_from_cam.RotationMatrix();
  const Vec3 c = world_from_cam.Translation();
  // (axis, plane value, texture offset)
  const struct { int axis; double value; double offset; } planes[5] = {
      {1, scene.floor_y, 0.0},     {1, scene.ceiling_y, 7.3}, {0, -scene.half_width, 3.1},
      {0, scene.half_width, 11.7}, {2, scene.far_z, 5.9}};
  // Casts the ray through pixel (px, py); returns the texture value and the z-depth.
  auto cast = [&](double px, double py, double* z) {
    const Vec3 ray_cam = camera.Unproject(Vec2(px, py));  // z = 1
    const Vec3 d = rot * ray_cam;
    double best = std::numeric_limits<double>::infinity();
    float value = 0.f;
    for (const auto& p : planes) {
      if (std::abs(d[p.axis]) < 1e-12) continue;
      const double t = (p.value - c[p.axis]) / d[p.axis];
      if (!(t > 1e-6) || t >= best) continue;
      const Vec3 q = c + t * d;
      const double eps = 1e-9;
      if (q.x() < -scene.half_width - eps || q.x() > scene.half_width + eps ||
          q.y() > scene.floor_y + eps || q.y() < scene.ceiling_y - eps || q.z() > scene.far_z + eps) {
        continue;
      }
      best = t;
      const int a_axis = p.axis == 0 ? 2 : 0, b_axis = p.axis == 1 ? 2 : 1;
      value = scene.Sample(q[a_axis] + p.offset, q[b_axis] + p.offset);
    }
    *z = std::isfinite(best) ? best : 0.0;
    return value;
  };
  // 3x3 supersampling (box filter over the pixel) limits aliasing on grazing planes.
  constexpr int kSub = 3;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      double sum = 0.0, z = 0.0;
      for (int sy = 0; sy < kSub; ++sy) {
        for (int sx = 0; sx < kSub; ++sx) {
          sum += cast(x + (sx + 0.5) / kSub - 0.5, y + (sy + 0.5) / kSub - 0.5, &z);
        }
      }
      (*image)[y * w + x] = gain * static_cast<float>(sum / (kSub * kSub)) + offset;
      if (depth) {
        cast(x, y, &z);
        (*depth)[y * w + x] = static_cast<float>(z);
      }
    }
  }
}

}  // namespace testing_scene
}  // namespace dso
