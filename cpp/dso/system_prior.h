#pragma once
// Depth prior of one input frame: a dense metric depth map and/or per-keypoint inverse depths
// (e.g. from a depth network), looked up per candidate pixel.
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
  // Inverse depth (1/m) and its variance at a level-0 pixel. keypoint_index >= 0 (the candidate's
  // index in FrameInput::keypoints, PixelCandidate::keypoint_index) selects that keypoint's own
  // prior when it has a valid one; otherwise, or for -1, the depth map at the pixel. False when unknown
  // or beyond PointOptions::max_prior_depth.
  bool Lookup(float x, float y, int keypoint_index, double* idepth, double* idepth_var) const;
  // Lookup returns idepth_scale * the prior's inverse depth (and scale^2 * its variance): the prior in
  // the window's unit (System::HoldPriorScale). Default 1.
  void SetIdepthScale(double scale) { idepth_scale_ = scale; }
  double IdepthScale() const { return idepth_scale_; }
  // Lookup's variance times this (>= 1; default 1): a prior the window trusts less (System, ba.prior_handover_*).
  void SetVarianceScale(double scale) { var_scale_ = scale; }

 private:
  // Variance of a prior inverse depth (prior unit) that comes without its own: sigma(1/d) ~= sigma(d) / d^2
  // = rel_sigma / d.
  double DefaultIdepthVar(double idepth) const { return (rel_sigma_ * idepth) * (rel_sigma_ * idepth); }
  // False for a depth beyond max_prior_depth (prior unit).
  bool WithinMaxDepth(double idepth) const { return !(max_depth_ > 0 && idepth * max_depth_ < 1.0); }

  const float* depth_ = nullptr;
  const float* kp_idepth_ = nullptr;
  const float* kp_var_ = nullptr;
  int width_ = 0, height_ = 0;
  double rel_sigma_ = 0.2;
  double max_depth_ = 0.0;  // PointOptions::max_prior_depth (0 = no limit)
  double idepth_scale_ = 1.0;
  double var_scale_ = 1.0;
  bool available_ = false;
  int num_keypoints_ = 0;
};

}  // namespace dso
