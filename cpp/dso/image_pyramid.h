#pragma once
// Image pyramid with intensity, central-difference gradients and squared gradient magnitude per
// level, plus bilinear interpolation of (value, dx, dy).
//
// Level l has size (width >> l, height >> l); level l+1 is the 2x2 average of level l (pixel-centre
// convention x_{l+1} = (x_l + 0.5) / 2 - 0.5, see PinholeCamera::Level).
#include <Eigen/Core>
#include <vector>

#include "dso/affine_light.h"

namespace dso {

struct PyramidOptions {
  // Number of levels including level 0; 0 = automatic: as many as possible while the coarsest
  // level is at least `min_level_height` pixels high (and >= min_level_height wide), at most
  // kMaxLevels.
  int num_levels = 0;
  // Minimum height (and width) of the coarsest level for the automatic choice, pixels.
  int min_level_height = 20;

  static constexpr int kMaxLevels = 8;
  // Throws std::invalid_argument naming the bad field.
  void Check() const;
};

// Optional photometric calibration applied to the raw image before the pyramid is built:
// B(x) = G^-1(I(x)) / V(x).
struct PhotometricCalibration {
  // G^-1: 256 entries mapping grey value 0..255 to linear brightness (linear interpolation between
  // entries, clamped); empty = identity.
  std::vector<float> inverse_response;
  // Vignetting factors V in (0, 1], width * height row-major; empty = none.
  std::vector<float> vignette;

  // Throws std::invalid_argument if sizes/values are inconsistent with a width x height image.
  void Check(int width, int height) const;
  // Returns the calibrated image (row-major, width * height).
  std::vector<float> Apply(const float* image, int width, int height) const;
};

class ImagePyramid {
 public:
  ImagePyramid() = default;
  // image: (height, width) float grey, row-major, values typically in [0, 255].
  // Throws std::invalid_argument on bad size, null pointer, non-finite values or bad options.
  ImagePyramid(const float* image, int width, int height, const PyramidOptions& options = {});

  // Automatic number of levels for an image of this size (see PyramidOptions::num_levels).
  static int DefaultNumLevels(int width, int height, int min_level_height = 20);

  int NumLevels() const { return static_cast<int>(widths_.size()); }
  int Width(int level) const { return widths_[level]; }
  int Height(int level) const { return heights_[level]; }

  // Per-pixel (value, dx, dy), row-major, Width(level) * Height(level) entries. Gradients are
  // central differences 0.5 * (I[x+1] - I[x-1]); at the image border the missing neighbour is
  // replaced by the pixel itself.
  const Eigen::Vector3f* Data(int level) const { return data_[level].data(); }
  // Per-pixel dx^2 + dy^2, row-major.
  const float* GradSq(int level) const { return grad_sq_[level].data(); }
  // Pixel accessors (integer coordinates, no bounds check).
  float Value(int level, int x, int y) const { return data_[level][y * widths_[level] + x][0]; }
  const Eigen::Vector3f& At(int level, int x, int y) const {
    return data_[level][y * widths_[level] + x];
  }

  // True if the bilinear footprint of (x, y) lies inside the level with `margin` pixels to spare:
  // margin <= x < Width - 1 - margin (same for y). Also false for NaN.
  bool InBounds(int level, float x, float y, float margin = 0.f) const {
    return x >= margin && y >= margin && x < widths_[level] - 1 - margin &&
           y < heights_[level] - 1 - margin;
  }

  // Bilinear interpolation of (value, dx, dy) at (x, y) of `level`. Requires InBounds(level, x, y).
  Eigen::Vector3f Interpolate(int level, float x, float y) const {
    const int ix = static_cast<int>(x), iy = static_cast<int>(y);
    const float fx = x - ix, fy = y - iy;
    const int w = widths_[level];
    const Eigen::Vector3f* p = data_[level].data() + iy * w + ix;
    return (1.f - fy) * ((1.f - fx) * p[0] + fx * p[1]) + fy * ((1.f - fx) * p[w] + fx * p[w + 1]);
  }
  // Bilinear interpolation of the value only. Requires InBounds(level, x, y).
  float InterpolateValue(int level, float x, float y) const {
    const int ix = static_cast<int>(x), iy = static_cast<int>(y);
    const float fx = x - ix, fy = y - iy;
    const int w = widths_[level];
    const Eigen::Vector3f* p = data_[level].data() + iy * w + ix;
    return (1.f - fy) * ((1.f - fx) * p[0][0] + fx * p[1][0]) +
           fy * ((1.f - fx) * p[w][0] + fx * p[w + 1][0]);
  }
  // Bounds-safe variant: returns false (and leaves `out` untouched) if !InBounds(level, x, y).
  bool InterpolateChecked(int level, float x, float y, Eigen::Vector3f* out) const {
    if (!InBounds(level, x, y)) return false;
    *out = Interpolate(level, x, y);
    return true;
  }

 private:
  std::vector<int> widths_, heights_;
  std::vector<std::vector<Eigen::Vector3f>> data_;
  std::vector<std::vector<float>> grad_sq_;
};

}  // namespace dso
