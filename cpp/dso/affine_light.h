#pragma once
// Affine brightness model of a frame (DSO convention).
//
// Each frame i has an exposure time t_i (seconds; 1 if unknown) and affine parameters (a_i, b_i).
// A scene point of radiance L appears with grey value  I_i = t_i * exp(a_i) * L + b_i.
// Hence the grey value of the same point seen in frame j, predicted from frame i, is
//   I_j = s * I_i + o,   s = (t_j * exp(a_j)) / (t_i * exp(a_i)),   o = b_j - s * b_i,
// which is what FromTo() returns. Photometric residuals are written as
//   r = I_j[p'] - (s * I_i[p] + o).
// Derivatives used by the optimisers: d s / d a_j = s, d o / d a_j = -s * b_i, d o / d b_j = 1, so
//   d r / d a_j = -s * (I_i[p] - b_i),  d r / d b_j = -1.
#include <Eigen/Core>
#include <cmath>

namespace dso {

struct AffineLight {
  double a = 0.0;  // log-gain (dimensionless), exp(a) multiplies the exposure
  double b = 0.0;  // additive offset, grey levels

  AffineLight() = default;
  AffineLight(double a_, double b_) : a(a_), b(b_) {}

  // (s, o) with I_to ~= s * I_from + o (see header comment). Exposure times must be > 0.
  static Eigen::Vector2d FromTo(const AffineLight& from, const AffineLight& to,
                                double exposure_from = 1.0, double exposure_to = 1.0) {
    const double s = std::exp(to.a - from.a) * exposure_to / exposure_from;
    return Eigen::Vector2d(s, to.b - s * from.b);
  }
};

}  // namespace dso
