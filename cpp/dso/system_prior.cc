#include "dso/system_prior.h"

#include <cmath>

namespace dso {

DepthPrior::DepthPrior(const FrameInput& input, const PinholeCamera& camera, const PointOptions& options,
                       bool enabled)
    : width_(camera.width),
      height_(camera.height),
      rel_sigma_(options.default_prior_relative_sigma),
      max_depth_(options.max_prior_depth) {
  if (!enabled) return;
  depth_ = input.depth;
  if (input.keypoint_idepth != nullptr && input.keypoints != nullptr && input.num_keypoints > 0) {
    kp_idepth_ = input.keypoint_idepth;
    kp_var_ = input.keypoint_idepth_var;
    num_keypoints_ = input.num_keypoints;
  }
  available_ = depth_ != nullptr || kp_idepth_ != nullptr;
}

bool DepthPrior::Lookup(float x, float y, int keypoint_index, double* idepth, double* idepth_var) const {
  if (keypoint_index >= 0 && keypoint_index < num_keypoints_ && kp_idepth_ != nullptr) {
    const double id = kp_idepth_[keypoint_index];
    if (std::isfinite(id) && id > 0 && WithinMaxDepth(id)) {
      const double var = kp_var_ != nullptr ? kp_var_[keypoint_index] : 0.0;
      *idepth = idepth_scale_ * id;
      *idepth_var = var_scale_ * idepth_scale_ * idepth_scale_ *
                    ((std::isfinite(var) && var > 0) ? var : DefaultIdepthVar(id));
      return true;
    }
  }
  if (depth_ == nullptr) return false;
  const int ix = static_cast<int>(std::lround(x)), iy = static_cast<int>(std::lround(y));
  if (ix < 0 || iy < 0 || ix >= width_ || iy >= height_) return false;
  const double d = depth_[iy * width_ + ix];
  if (!(std::isfinite(d) && d > 0) || !WithinMaxDepth(1.0 / d)) return false;
  *idepth = idepth_scale_ / d;
  *idepth_var = var_scale_ * idepth_scale_ * idepth_scale_ * DefaultIdepthVar(1.0 / d);
  return true;
}

}  // namespace dso
