#include "dso/camera.h"

#include "dso/check_option.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace dso {

void PinholeCamera::Check() const {
  constexpr char kOwner[] = "PinholeCamera";
  CHECK_OPTION_GT(kOwner, fx, 0);
  CHECK_OPTION_GT(kOwner, fy, 0);
  CHECK_OPTION(kOwner, cx, std::isfinite(cx), "finite");
  CHECK_OPTION(kOwner, cy, std::isfinite(cy), "finite");
  CHECK_OPTION_GT(kOwner, width, 0);
  CHECK_OPTION_GT(kOwner, height, 0);
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
