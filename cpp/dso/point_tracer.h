#pragma once
// Immature (candidate) points: creation from a pixel, epipolar search in new frames (DSO-style:
// search interval from the inverse-depth bounds, discrete search, Gauss-Newton refinement along the
// line, quality = second-best / best energy) and activation (1-D inverse-depth optimisation
// against the keyframes of the window).
#include <vector>

#include "dso/backend_options.h"
#include "dso/camera.h"
#include "dso/window_map.h"

namespace dso {

// Fills pixel, pattern intensities and gradient weights from level 0 of `pyramid`; false when the
// pattern leaves the image. `gradient_weight_c`: c in c^2 / (c^2 + |grad|^2).
bool MakeImmaturePoint(const ImagePyramid& pyramid, float x, float y, double gradient_weight_c,
                       ImmaturePoint* point);

// Searches `point` (hosted by a keyframe with light `host_light`) along its epipolar line in
// `target`, whose pose relative to the host is target_from_host and light `target_light`.
// Updates the idepth interval, quality and status, and returns the status. `huber`: the Huber
// threshold of a pattern pixel residual (grey levels; the BA's, BundleAdjustmentOptions::huber_threshold).
ImmaturePoint::Status TraceImmaturePoint(const PinholeCamera& camera, const PointOptions& options,
                                         double huber, const SE3& target_from_host, const AffineLight& host_light,
                                         const AffineLight& target_light, const ImagePyramid& target,
                                         ImmaturePoint* point);

// Turns an immature point into an active one: starts at the prior (if any, inside the interval)
// or the middle of the interval and runs a few 1-D Gauss-Newton steps on the photometric energy
// against every other keyframe of `window`; residuals are created for targets where the pattern
// energy is below `outlier_energy` (mean per pixel). Returns false if no target is good.
bool ActivateImmaturePoint(const PinholeCamera& camera, const BundleAdjustmentOptions& ba_options,
                           const ImmaturePoint& immature, Keyframe* host, const std::vector<Keyframe*>& window,
                           ActivePoint* active);

}  // namespace dso
