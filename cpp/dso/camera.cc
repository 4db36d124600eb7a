#include "dso/camera.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace dso {

void PinholeCamera::Check() const {
  auto fail = [](const std::string& field, const std::string& what) {
    throw std::invalid_argument("PinholeCamera." + field + " " + what);
  };
  if (!(fx > 0.0) || !std::isfinite(fx)) fail("fx", "must be positive and finite");
  if (!(fy > 0.0) || !std::isfinite(fy)) fail("fy", "must be positive and finite");
  if (!std::isfinite(cx)) fail("cx", "must be finite");
  if (!std::isfinite(cy)) fail("cy", "must be finite");
  if (width <= 0) fail("width", "must be positive, got " + std::to_string(width));
  if (height <= 0) fail("height", "must be positive, got " + std::to_string(height));
}

PinholeCamera PinholeCamera::Level(int level) const {
  if (level < 0) throw std::invalid_argument("PinholeCamera::Level: level must be >= 0");
  const double s = 1.0 / static_cast<double>(1 << level);
  return PinholeCamera(fx * s, fy * s, (cx + 0.5) * s - 0.5, (cy + 0.5) * s - 0.5, width >> level,
                       height >> level);
}

Mat3 PinholeCamera::K() const {
  Mat3 k;
  k << fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0;
  return k;
}

Mat3 PinholeCamera::KInverse() const {
  Mat3 k;
  k << 1.0 / fx, 0.0, -cx / fx, 0.0, 1.0 / fy, -cy / fy, 0.0, 0.0, 1.0;
  return k;
}

std::string PinholeCamera::ToString() const {
  std::ostringstream s;
  s << "PinholeCamera(fx=" << fx << ", fy=" << fy << ", cx=" << cx << ", cy=" << cy
    << ", width=" << width << ", height=" << height << ")";
  return s.str();
}

}  // namespace dso
