#include "dso/image_pyramid.h"

#include "dso/check_option.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace dso {

void PyramidOptions::Check() const {
  constexpr char kOwner[] = "PyramidOptions";
  CHECK_OPTION(kOwner, num_levels, num_levels >= 0 && num_levels <= kMaxLevels,
               "in [0, " + std::to_string(kMaxLevels) + "]");
  CHECK_OPTION_GE(kOwner, min_level_height, 1);
}

void PhotometricCalibration::Check(int width, int height) const {
  if (!inverse_response.empty()) {
    if (inverse_response.size() != 256) {
      throw std::invalid_argument("PhotometricCalibration.inverse_response must have 256 entries, got " +
                                  std::to_string(inverse_response.size()));
    }
    for (size_t i = 0; i < inverse_response.size(); ++i) {
      if (!std::isfinite(inverse_response[i]) || (i > 0 && inverse_response[i] < inverse_response[i - 1])) {
        throw std::invalid_argument(
            "PhotometricCalibration.inverse_response must be finite and non-decreasing");
      }
    }
  }
  if (!vignette.empty()) {
    if (vignette.size() != static_cast<size_t>(width) * height) {
      throw std::invalid_argument("PhotometricCalibration.vignette must have width*height = " +
                                  std::to_string(static_cast<size_t>(width) * height) +
                                  " entries, got " + std::to_string(vignette.size()));
    }
    for (float v : vignette) {
      if (!(v > 0.f) || v > 1.f) {
        throw std::invalid_argument("PhotometricCalibration.vignette values must be in (0, 1]");
      }
    }
  }
}

std::vector<float> PhotometricCalibration::Apply(const float* image, int width, int height) const {
  if (image == nullptr) throw std::invalid_argument("PhotometricCalibration::Apply: null image");
  Check(width, height);
  const size_t n = static_cast<size_t>(width) * height;
  std::vector<float> out(image, image + n);
  if (!inverse_response.empty()) {
    for (float& v : out) {
      const float c = std::min(std::max(v, 0.f), 255.f);
      const int i0 = std::min(static_cast<int>(c), 254);
      const float f = c - i0;
      v = (1.f - f) * inverse_response[i0] + f * inverse_response[i0 + 1];
    }
  }
  if (!vignette.empty()) {
    for (size_t i = 0; i < n; ++i) out[i] /= vignette[i];
  }
  return out;
}

int ImagePyramid::DefaultNumLevels(int width, int height, int min_level_height) {
  int levels = 1;
  while (levels < PyramidOptions::kMaxLevels && (height >> levels) >= min_level_height &&
         (width >> levels) >= min_level_height) {
    ++levels;
  }
  return levels;
}

ImagePyramid::ImagePyramid(const float* image, int width, int height,
                           const PyramidOptions& options) {
  options.Check();
  if (image == nullptr) throw std::invalid_argument("ImagePyramid: image pointer is null");
  if (width < 4 || height < 4) {
    throw std::invalid_argument("ImagePyramid: image must be at least 4x4, got " +
                                std::to_string(width) + "x" + std::to_string(height));
  }
  int levels = options.num_levels > 0
                   ? options.num_levels
                   : DefaultNumLevels(width, height, options.min_level_height);
  if ((width >> (levels - 1)) < 2 || (height >> (levels - 1)) < 2) {
    throw std::invalid_argument("ImagePyramid: num_levels=" + std::to_string(levels) +
                                " too many for a " + std::to_string(width) + "x" +
                                std::to_string(height) + " image (coarsest level < 2 px)");
  }
  widths_.resize(levels);
  heights_.resize(levels);
  data_.resize(levels);
  grad_sq_.resize(levels);

  std::vector<float> level_image(image, image + static_cast<size_t>(width) * height);
  for (float v : level_image) {
    if (!std::isfinite(v)) throw std::invalid_argument("ImagePyramid: image has non-finite values");
  }
  for (int l = 0; l < levels; ++l) {
    const int w = width >> l, h = height >> l;
    widths_[l] = w;
    heights_[l] = h;
    if (l > 0) {
      // 2x2 average of the previous level (its odd last row/column, if any, is dropped).
      const int pw = widths_[l - 1];
      std::vector<float> next(static_cast<size_t>(w) * h);
      const std::vector<Eigen::Vector3f>& prev = data_[l - 1];
      for (int y = 0; y < h; ++y) {
        const Eigen::Vector3f* r0 = prev.data() + (2 * y) * pw;
        const Eigen::Vector3f* r1 = r0 + pw;
        for (int x = 0; x < w; ++x) {
          next[y * w + x] = 0.25f * (r0[2 * x][0] + r0[2 * x + 1][0] + r1[2 * x][0] + r1[2 * x + 1][0]);
        }
      }
      level_image.swap(next);
    }
    std::vector<Eigen::Vector3f>& d = data_[l];
    std::vector<float>& g = grad_sq_[l];
    d.resize(static_cast<size_t>(w) * h);
    g.resize(static_cast<size_t>(w) * h);
    const float* im = level_image.data();
    for (int y = 0; y < h; ++y) {
      const float* row = im + y * w;
      const float* up = im + std::max(y - 1, 0) * w;
      const float* down = im + std::min(y + 1, h - 1) * w;
      for (int x = 0; x < w; ++x) {
        const float dx = 0.5f * (row[std::min(x + 1, w - 1)] - row[std::max(x - 1, 0)]);
        const float dy = 0.5f * (down[x] - up[x]);
        d[y * w + x] = Eigen::Vector3f(row[x], dx, dy);
        g[y * w + x] = dx * dx + dy * dy;
      }
    }
  }
}

}  // namespace dso
