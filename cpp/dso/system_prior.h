#pragma once
// Depth prior of one input frame: a dense metric depth map and/or per-keypoint inverse depths
// (e.g. from a depth network), looked up per candidate pixel.
#include <unordered_map>

#include "dso/backend_options.h"
#include "dso/camera.h"
#include "dso/system.h"

namespace dso {

class DepthPrior {
 public:
  // enabled = false gives an empty prior.
  DepthPrior(const FrameInput& input, const PinholeCamera& camera, const PointOptions& options, bool enabled);

  // True if any prior information was given.
  bool Available() const { return available_; }
  // Inverse depth (1/m) and its variance at a level-0 pixel; `keypoint` selects the per-keypoint
  // prior for external keypoints (matched by position). False when unknown.
  bool Lookup(float x, float y, bool keypoint, double* idepth, double* idepth_var) const;
  // Lookup returns idepth_scale * the prior's inverse depth (and scale^2 * its variance): the prior in
  // the window's unit (System::HoldPriorScale). Default 1.
  void SetIdepthScale(double scale) { idepth_scale_ = scale; }
  double IdepthScale() const { return idepth_scale_; }

 private:
  static long long Key(float x, float y);
  const float* depth_ = nullptr;
  const float* kp_idepth_ = nullptr;
  const float* kp_var_ = nullptr;
  int width_ = 0, height_ = 0;
  double rel_sigma_ = 0.2;
  double idepth_scale_ = 1.0;
  bool available_ = false;
  std::unordered_map<long long, int> keypoint_index_;
};

}  // namespace dso
