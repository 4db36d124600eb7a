#pragma once
// The photometric residual of one pattern pixel and its robust weights, written once for the
// coarse tracker, the window BA, the point tracer and point activation (one residual, one Huber
// threshold: BundleAdjustmentOptions::huber_threshold / CoarseTrackerOptions::huber_threshold).
//
//   r = I_target(x') - (s * I_host(x) + o),  (s, o) = AffineLight::FromTo(host, target)
//       [s = exp(a_t - a_h), o = b_t - s * b_h]
//   HuberNorm(r, k)    = r^2 for |r| < k, k (2 |r| - k) beyond  (twice the Huber loss)
//   HuberWeight(|r|,k) = 1 for |r| < k, k / |r| beyond          (IRLS weight: d HuberNorm / d r = 2 w r)
//   GradientWeight     = c^2 / (c^2 + |grad I|^2)               (down-weights strong edges, DSO)
// Intensities in grey levels; T is float (tracker, BA) or double (tracer, activation).
#include <cmath>

namespace dso {

template <typename T>
inline T PhotometricResidual(T target_value, T host_value, T s, T o) {
  return target_value - (s * host_value + o);
}

template <typename T>
inline T HuberNorm(T r, T k) {
  const T ar = std::abs(r);
  return ar < k ? r * r : k * (T(2) * ar - k);
}

template <typename T>
inline T HuberWeight(T abs_r, T k) {
  return abs_r < k ? T(1) : k / abs_r;
}

template <typename T>
inline T GradientWeight(T c2, T gx, T gy) {
  return c2 / (c2 + gx * gx + gy * gy);
}

}  // namespace dso
