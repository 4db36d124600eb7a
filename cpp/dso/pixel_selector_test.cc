#include "dso/pixel_selector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "dso/test_scene.h"

namespace dso {
namespace {

ImagePyramid TexturedPyramid(std::vector<float>* image = nullptr) {
  const PinholeCamera camera(370.7, 370.7, 313.0, 94.6, 640, 192);
  static const testing_scene::BoxScene scene = testing_scene::MakeBoxScene(11);
  std::vector<float> local;
  std::vector<float>* img = image ? image : &local;
  testing_scene::Render(scene, camera, SE3(), img, nullptr);
  return ImagePyramid(img->data(), camera.width, camera.height);
}

TEST(PixelSelector, CountCloseToTargetAndSpreadOverImage) {
  const ImagePyramid pyr = TexturedPyramid();
  for (int target : {500, 2000, 4000}) {
    const std::vector<PixelCandidate> c = SelectPixels(pyr, target);
    EXPECT_GE(c.size(), 0.8 * target) << target;
    EXPECT_LE(c.size(), 1.2 * target) << target;
    // Every quadrant and every 80x64 tile holds candidates.
    int quadrant[4] = {0, 0, 0, 0};
    std::set<int> tiles;
    std::set<std::pair<int, int>> unique;
    for (const PixelCandidate& p : c) {
      ASSERT_GE(p.x, 4.f);
      ASSERT_GE(p.y, 4.f);
      ASSERT_LE(p.x, 640 - 1 - 4.f);
      ASSERT_LE(p.y, 192 - 1 - 4.f);
      ASSERT_GE(p.tier, 0);
      ASSERT_LE(p.tier, 2);
      ++quadrant[(p.x >= 320) + 2 * (p.y >= 96)];
      tiles.insert(static_cast<int>(p.x) / 80 + 8 * (static_cast<int>(p.y) / 64));
      unique.insert({static_cast<int>(p.x), static_cast<int>(p.y)});
    }
    for (int q = 0; q < 4; ++q) EXPECT_GT(quadrant[q], target / 10) << "quadrant " << q;
    EXPECT_EQ(tiles.size(), 24u) << target;
    EXPECT_EQ(unique.size(), c.size()) << "duplicate pixels";
  }
}

TEST(PixelSelector, PrefersStrongGradients) {
  std::vector<float> image;
  const ImagePyramid pyr = TexturedPyramid(&image);
  const std::vector<PixelCandidate> c = SelectPixels(pyr, 2000);
  double mean_all = 0.0, mean_sel = 0.0;
  const float* g = pyr.GradSq(0);
  for (int i = 0; i < 640 * 192; ++i) mean_all += std::sqrt(g[i]);
  mean_all /= 640 * 192;
  for (const PixelCandidate& p : c) mean_sel += std::sqrt(g[static_cast<int>(p.y) * 640 + static_cast<int>(p.x)]);
  mean_sel /= c.size();
  EXPECT_GT(mean_sel, 1.5 * mean_all);
}

TEST(PixelSelector, NoCandidatesOnFlatImage) {
  const std::vector<float> flat(640 * 192, 100.f);
  const ImagePyramid pyr(flat.data(), 640, 192);
  EXPECT_TRUE(SelectPixels(pyr, 2000).empty());
  // Weak noise (below the histogram offset) does not produce candidates either.
  std::vector<float> noisy(flat);
  for (size_t i = 0; i < noisy.size(); ++i) noisy[i] += static_cast<float>((i * 7919) % 5) * 0.5f;
  EXPECT_TRUE(SelectPixels(ImagePyramid(noisy.data(), 640, 192), 2000).empty());
}

TEST(PixelSelector, IsDeterministicForASeed) {
  const ImagePyramid pyr = TexturedPyramid();
  const auto a = SelectPixels(pyr, 1000), b = SelectPixels(pyr, 1000);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].x, b[i].x);
    EXPECT_EQ(a[i].y, b[i].y);
  }
}

TEST(PixelSelector, BlockThresholdsFollowTexture) {
  // Left half textured, right half flat: thresholds on the flat side equal the offset + 1.
  std::vector<float> img(256 * 128, 50.f);
  for (int y = 0; y < 128; ++y) {
    for (int x = 0; x < 128; ++x) img[y * 256 + x] = 100.f + 60.f * std::sin(0.7f * x) * std::cos(0.5f * y);
  }
  const ImagePyramid pyr(img.data(), 256, 128);
  PixelSelectorOptions o;
  int bx = 0, by = 0;
  const std::vector<float> th = BlockGradientThresholds(pyr, o, &bx, &by);
  ASSERT_EQ(bx, 8);
  ASSERT_EQ(by, 4);
  EXPECT_GT(th[1 * bx + 1], 15.f);                        // textured
  EXPECT_NEAR(th[1 * bx + 7], 1.f + o.threshold_offset, 1e-5);  // flat, far from the texture
}

TEST(MergeKeypoints, SuppressesDuplicatesAndKeepsOrder) {
  const std::vector<PixelCandidate> grad = {
      {100.f, 50.f, 20.f, 0}, {101.f, 51.f, 30.f, 0}, {300.f, 100.f, 10.f, 1}, {2.f, 2.f, 5.f, 0}};
  // (K, 2) keypoints: two near each other (the weaker one is suppressed), one near a gradient
  // candidate, one outside the border, one NaN.
  const float kp[] = {100.5f, 50.5f, 102.f, 50.f, 400.f, 150.f, 1.f, 1.f, NAN, 5.f};
  const float scores[] = {0.5f, 0.9f, 0.7f, 1.0f, 1.0f};
  const std::vector<PixelCandidate> m = MergeKeypoints(grad, kp, scores, 5, 3.f, 640, 192, 4);
  // Kept keypoints by score: (102,50) 0.9, (400,150) 0.7; (100.5,50.5) lies within 3 px of (102,50).
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].tier, -1);
  EXPECT_FLOAT_EQ(m[0].x, 102.f);
  EXPECT_FLOAT_EQ(m[0].score, 0.9f);
  EXPECT_EQ(m[0].keypoint_index, 1);  // index into the input keypoints
  EXPECT_EQ(m[1].tier, -1);
  EXPECT_FLOAT_EQ(m[1].x, 400.f);
  EXPECT_EQ(m[1].keypoint_index, 2);
  EXPECT_EQ(m[2].keypoint_index, -1);  // gradient candidates carry none
  // Gradient candidates (100,50) and (101,51) are within 3 px of (102,50): dropped. The one at
  // (2,2) is outside the border but gradient candidates are only checked against the image.
  EXPECT_FLOAT_EQ(m[2].x, 300.f);
  EXPECT_FLOAT_EQ(m[3].x, 2.f);
  // Radius 0: no suppression at all; null scores count as 1.
  const auto all = MergeKeypoints(grad, kp, nullptr, 5, 0.f, 640, 192, 4);
  EXPECT_EQ(all.size(), 3u + grad.size());
  EXPECT_THROW(MergeKeypoints(grad, nullptr, nullptr, 2, 1.f, 640, 192), std::invalid_argument);
  EXPECT_THROW(MergeKeypoints(grad, kp, scores, 5, -1.f, 640, 192), std::invalid_argument);
}

TEST(PixelSelectorOptions, CheckRejectsBadFields) {
  EXPECT_NO_THROW(PixelSelectorOptions().Check());
  auto expect_field = [](PixelSelectorOptions o, const std::string& field) {
    try {
      o.Check();
      ADD_FAILURE() << "no exception for " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  PixelSelectorOptions o;
  o.block_size = 2;
  expect_field(o, "block_size");
  o = PixelSelectorOptions();
  o.threshold_quantile = 1.f;
  expect_field(o, "threshold_quantile");
  o = PixelSelectorOptions();
  o.num_tiers = 4;
  expect_field(o, "num_tiers");
  o = PixelSelectorOptions();
  o.border = -1;
  expect_field(o, "border");
  o = PixelSelectorOptions();
  o.count_tolerance = 0.f;
  expect_field(o, "count_tolerance");
  const ImagePyramid pyr = TexturedPyramid();
  EXPECT_THROW(SelectPixels(pyr, 0), std::invalid_argument);
}

}  // namespace
}  // namespace dso
