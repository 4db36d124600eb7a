// Tests of camera.h, image_pyramid.h, affine_light.h and residual_pattern.h.
#include "dso/image_pyramid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "dso/camera.h"
#include "dso/residual_pattern.h"

namespace dso {
namespace {

TEST(PinholeCamera, ProjectUnprojectRoundTrip) {
  const PinholeCamera cam(718.856, 718.856, 607.19, 185.22, 1241, 376);
  EXPECT_NO_THROW(cam.Check());
  const Vec3 p(1.5, -0.7, 12.0);
  const Vec2 uv = cam.Project(p);
  EXPECT_LT((cam.Unproject(uv, p.z()) - p).norm(), 1e-12);
  EXPECT_LT((cam.K() * cam.KInverse() - Mat3::Identity()).norm(), 1e-12);
  EXPECT_LT((cam.K() * p / p.z() - uv.homogeneous()).norm(), 1e-9);
  EXPECT_TRUE(cam.InImage(0.0, 0.0));
  EXPECT_FALSE(cam.InImage(1240.5, 10.0));
  EXPECT_FALSE(cam.InImage(3.0, 10.0, 4.0));
}

TEST(PinholeCamera, LevelUsesPixelCentreConvention) {
  const PinholeCamera cam(400.0, 380.0, 319.5, 95.5, 640, 192);
  const PinholeCamera l2 = cam.Level(2);
  EXPECT_DOUBLE_EQ(l2.fx, 100.0);
  EXPECT_DOUBLE_EQ(l2.fy, 95.0);
  EXPECT_EQ(l2.width, 160);
  EXPECT_EQ(l2.height, 48);
  // The projection of a 3D point at level 2 equals (x + 0.5) / 4 - 0.5 of its level-0 pixel.
  const Vec3 p(0.3, -0.2, 5.0);
  const Vec2 u0 = cam.Project(p), u2 = l2.Project(p);
  EXPECT_NEAR(u2.x(), (u0.x() + 0.5) / 4.0 - 0.5, 1e-12);
  EXPECT_NEAR(u2.y(), (u0.y() + 0.5) / 4.0 - 0.5, 1e-12);
  // Centre of the image stays the centre.
  EXPECT_DOUBLE_EQ(l2.cx, 79.5);
  EXPECT_DOUBLE_EQ(l2.cy, 23.5);
  EXPECT_THROW(cam.Level(-1), std::invalid_argument);
}

TEST(PinholeCamera, CheckNamesBadField) {
  auto expect_field = [](const PinholeCamera& c, const std::string& field) {
    try {
      c.Check();
      ADD_FAILURE() << "no exception for " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  expect_field(PinholeCamera(0.0, 1.0, 0.0, 0.0, 10, 10), "fx");
  expect_field(PinholeCamera(1.0, NAN, 0.0, 0.0, 10, 10), "fy");
  expect_field(PinholeCamera(1.0, 1.0, INFINITY, 0.0, 10, 10), "cx");
  expect_field(PinholeCamera(1.0, 1.0, 0.0, 0.0, 0, 10), "width");
  expect_field(PinholeCamera(1.0, 1.0, 0.0, 0.0, 10, -1), "height");
}

// Smooth test image: a quadratic ramp has exact central differences and bilinear values.
std::vector<float> Ramp(int w, int h) {
  std::vector<float> img(w * h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) img[y * w + x] = 10.f + 0.5f * x + 0.25f * y;
  }
  return img;
}

TEST(ImagePyramid, LevelsSizesAndAveraging) {
  const std::vector<float> img = Ramp(640, 192);
  const ImagePyramid pyr(img.data(), 640, 192);
  // 192 / 8 = 24 >= 20 but 192 / 16 = 12 < 20.
  EXPECT_EQ(pyr.NumLevels(), 4);
  EXPECT_EQ(ImagePyramid::DefaultNumLevels(640, 192, 20), 4);
  EXPECT_EQ(ImagePyramid::DefaultNumLevels(1241, 376, 20), 5);
  EXPECT_EQ(pyr.Width(3), 80);
  EXPECT_EQ(pyr.Height(3), 24);
  // Level 1 pixel (x, y) averages level-0 pixels 2x..2x+1: value of the ramp at (2x+0.5, 2y+0.5).
  EXPECT_FLOAT_EQ(pyr.Value(1, 7, 5), 10.f + 0.5f * 14.5f + 0.25f * 10.5f);
  // Interior gradients: level 0 slopes, doubled per level.
  for (int l = 0; l < 4; ++l) {
    const Eigen::Vector3f& v = pyr.At(l, 10, 10);
    EXPECT_NEAR(v[1], 0.5f * (1 << l), 1e-4) << l;
    EXPECT_NEAR(v[2], 0.25f * (1 << l), 1e-4) << l;
    EXPECT_NEAR(pyr.GradSq(l)[10 * pyr.Width(l) + 10], v[1] * v[1] + v[2] * v[2], 1e-3);
  }
  // Border: one-sided difference halved.
  EXPECT_NEAR(pyr.At(0, 0, 10)[1], 0.25f, 1e-5);
  PyramidOptions o;
  o.num_levels = 2;
  EXPECT_EQ(ImagePyramid(img.data(), 640, 192, o).NumLevels(), 2);
}

TEST(ImagePyramid, BilinearInterpolationAndBounds) {
  const std::vector<float> img = Ramp(64, 48);
  const ImagePyramid pyr(img.data(), 64, 48);
  const Eigen::Vector3f v = pyr.Interpolate(0, 10.25f, 20.75f);
  EXPECT_NEAR(v[0], 10.f + 0.5f * 10.25f + 0.25f * 20.75f, 1e-4);
  EXPECT_NEAR(v[1], 0.5f, 1e-5);
  EXPECT_NEAR(v[2], 0.25f, 1e-5);
  EXPECT_NEAR(pyr.InterpolateValue(0, 10.25f, 20.75f), v[0], 1e-5);
  EXPECT_TRUE(pyr.InBounds(0, 0.f, 0.f));
  EXPECT_TRUE(pyr.InBounds(0, 62.9f, 46.9f));
  EXPECT_FALSE(pyr.InBounds(0, 63.f, 10.f));
  EXPECT_FALSE(pyr.InBounds(0, -0.01f, 10.f));
  EXPECT_FALSE(pyr.InBounds(0, NAN, 10.f));
  EXPECT_FALSE(pyr.InBounds(0, 2.f, 10.f, 3.f));
  Eigen::Vector3f out(1.f, 2.f, 3.f);
  EXPECT_FALSE(pyr.InterpolateChecked(0, 70.f, 10.f, &out));
  EXPECT_EQ(out, Eigen::Vector3f(1.f, 2.f, 3.f));
  EXPECT_TRUE(pyr.InterpolateChecked(0, 5.f, 5.f, &out));
  EXPECT_NEAR(out[0], 10.f + 2.5f + 1.25f, 1e-5);
}

TEST(ImagePyramid, RejectsBadInput) {
  const std::vector<float> img = Ramp(64, 48);
  EXPECT_THROW(ImagePyramid(nullptr, 64, 48), std::invalid_argument);
  EXPECT_THROW(ImagePyramid(img.data(), 2, 48), std::invalid_argument);
  PyramidOptions o;
  o.num_levels = 7;  // 48 >> 6 = 0
  EXPECT_THROW(ImagePyramid(img.data(), 64, 48, o), std::invalid_argument);
  o.num_levels = -1;
  EXPECT_THROW(o.Check(), std::invalid_argument);
  o = PyramidOptions();
  o.min_level_height = 0;
  try {
    o.Check();
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("min_level_height"), std::string::npos);
  }
  std::vector<float> bad(img);
  bad[5] = NAN;
  EXPECT_THROW(ImagePyramid(bad.data(), 64, 48), std::invalid_argument);
}

TEST(PhotometricCalibration, AppliesInverseResponseAndVignette) {
  PhotometricCalibration calib;
  for (int i = 0; i < 256; ++i) calib.inverse_response.push_back(2.f * i);
  calib.vignette.assign(4 * 4, 1.f);
  calib.vignette[5] = 0.5f;
  std::vector<float> img(16, 10.f);
  img[3] = 10.5f;
  const std::vector<float> out = calib.Apply(img.data(), 4, 4);
  EXPECT_FLOAT_EQ(out[0], 20.f);
  EXPECT_FLOAT_EQ(out[3], 21.f);  // linear interpolation between entries
  EXPECT_FLOAT_EQ(out[5], 40.f);  // divided by the vignette
  EXPECT_THROW(calib.Apply(img.data(), 4, 2), std::invalid_argument);  // vignette size
  calib.inverse_response.resize(10);
  EXPECT_THROW(calib.Check(4, 4), std::invalid_argument);
}

TEST(AffineLight, FromToFollowsTheDocumentedModel) {
  // Radiance L seen as I_i = t_i exp(a_i) L + b_i in both frames.
  const AffineLight fi(0.2, 5.0), fj(-0.1, 12.0);
  const double ti = 0.01, tj = 0.02, radiance = 3000.0;
  const double ii = ti * std::exp(fi.a) * radiance + fi.b;
  const double ij = tj * std::exp(fj.a) * radiance + fj.b;
  const Eigen::Vector2d so = AffineLight::FromTo(fi, fj, ti, tj);
  EXPECT_NEAR(so[0] * ii + so[1], ij, 1e-9);
  const Eigen::Vector2d id = AffineLight::FromTo(fi, fi);
  EXPECT_NEAR(id[0], 1.0, 1e-15);
  EXPECT_NEAR(id[1], 0.0, 1e-15);
}

TEST(ResidualPattern, EightDistinctPixelsIncludingCentre) {
  std::set<std::pair<int, int>> s;
  for (const auto& o : kPattern) {
    s.insert({o[0], o[1]});
    EXPECT_LE(std::abs(o[0]), kPatternRadius);
    EXPECT_LE(std::abs(o[1]), kPatternRadius);
  }
  EXPECT_EQ(s.size(), static_cast<size_t>(kPatternSize));
  EXPECT_EQ(s.count({0, 0}), 1u);
}

}  // namespace
}  // namespace dso
