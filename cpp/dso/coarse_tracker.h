#pragma once
// DSO-style frame tracking: direct image alignment of a new frame against the points of a
// reference keyframe, estimating cam_from_ref (SE3) and the new frame's affine brightness.
//
// Model (per point p of the reference with inverse depth idepth, per pattern pixel k):
//   r = I_new[pi(cam_from_ref * X_k)] - (s * I_ref[p + offset_k] + o),
// with (s, o) = AffineLight::FromTo(ref_affine, new_affine, ref_exposure, new_exposure) and
// X_k the back-projection of p + offset_k at depth 1/idepth (pattern pixels share the inverse
// depth). Residuals are evaluated coarse-to-fine over the pyramid; on coarse levels the points are
// merged per level pixel (weighted mean of inverse depth). Each level runs Levenberg-Marquardt
// with left increments cam_from_ref <- Exp(xi) * cam_from_ref, Huber weights, gradient-dependent
// weights c^2 / (c^2 + |grad I_new|^2), priors on the affine parameters, and a cap on outliers:
// residuals with |r| > outlier_threshold count with a constant energy and no gradient; if more
// than max_outlier_fraction of the residuals are outliers the threshold is doubled (at most
// max_threshold_doublings times), after which the level — and the hypothesis — fails.
// Energies are Huber energies (r^2 below the Huber threshold k, k (2|r| - k) above); RMSE is
// sqrt(mean energy) over the in-image residuals (outliers included at the threshold energy).
#include <array>
#include <vector>

#include "dso/affine_light.h"
#include "dso/camera.h"
#include "dso/image_pyramid.h"
#include "dso/residual_pattern.h"
#include "dso/se3.h"

namespace dso {

struct TrackerOptions {
  // LM iterations per level (index = level; levels beyond the list use the last entry), >= 1.
  std::vector<int> max_iterations = {10, 20, 50, 50, 50};
  // Use at most this many pyramid levels (0 = all levels of the new frame's pyramid), >= 0.
  int max_levels = 0;
  float huber_threshold = 9.f;           // Huber k on residuals, grey levels (> 0)
  float outlier_threshold = 20.f;        // |r| above this counts as outlier, grey levels (> huber)
  float max_outlier_fraction = 0.6f;     // a level fails above this outlier fraction (0, 1]
  int max_threshold_doublings = 3;       // outlier-threshold doublings before failing (>= 0)
  float gradient_weight_c = 50.f;        // c of the gradient weight c^2 / (c^2 + |grad|^2), > 0
  float affine_a_prior = 1.f;            // prior weight on (a - a_hypothesis)^2 per residual (>= 0)
  float affine_b_prior = 0.01f;          // prior weight on (b - b_hypothesis)^2 per residual (>= 0)
  bool estimate_affine_a = true;         // false: keep a of the hypothesis
  bool estimate_affine_b = true;         // false: keep b of the hypothesis
  float lambda_initial = 0.01f;          // LM damping: H_ii *= (1 + lambda), > 0
  float lambda_up = 4.f;                 // lambda factor after a rejected step (> 1)
  float lambda_down = 0.5f;              // lambda factor after an accepted step (0, 1)
  float convergence_px = 0.01f;          // stop a level when a step moves points < this (level px)
  float border_margin = 1.f;             // residuals need this margin to the image border, px (>= 0)
  // On levels >= 1 reference points are merged per cell of merge_cell x merge_cell level pixels
  // (weighted mean position and inverse depth); larger cells make coarse levels cheaper. >= 1
  int merge_cell = 2;
  int min_residuals = 50;                // fewer in-image residuals on a level = failure (>= 1)
  // Residuals count as textured where the new image has |grad| >= min_gradient (grey levels/px);
  // a level with fewer than min_residuals textured residuals fails (blank/featureless frame). >= 0
  float min_gradient = 1.f;
  // Hypothesis handling: a hypothesis is aborted once a level's RMSE exceeds retrack_threshold
  // times the best level RMSE seen so far; hypotheses stop once a successful one has final RMSE
  // <= retrack_threshold * previous_rmse (Track argument; <= 0: stop at the first success). > 1.
  // DSO uses 1.5 against the previous frame; the System passes the median of recent frames
  // (TrackingOptions::retrack_rmse_history), against which 1.35 caught KITTI 02's turn failure
  // (bench/RESULTS.md, 2026-12-04).
  float retrack_threshold = 1.35f;
  float min_inlier_fraction = 0.4f;      // success needs this inlier fraction on level 0, [0, 1]

  // Throws std::invalid_argument naming the bad field.
  void Check() const;
};

// A point of the reference keyframe.
struct TrackerPoint {
  float x = 0.f;       // level-0 pixel column in the reference image
  float y = 0.f;       // level-0 pixel row
  float idepth = 0.f;  // inverse z-depth in the reference camera, 1/m (> 0, else ignored)
  float weight = 1.f;  // residual weight (> 0, else ignored)
};

// One initial guess for Track().
struct TrackingHypothesis {
  SE3 cam_from_ref;
  AffineLight affine;  // of the new frame, same convention as ref_affine
  // Coarsest pyramid level this hypothesis is tracked from (-1 = the coarsest the tracker has). A
  // hypothesis that is already close (e.g. PnP on keypoint matches) can skip the coarse levels, where a
  // strong rotation lets the alignment slide into another minimum.
  int coarsest_level = -1;
};

struct TrackingResult {
  bool success = false;
  SE3 cam_from_ref;
  AffineLight affine;               // new frame's affine brightness
  std::vector<double> level_rmse;   // per level (index = level), NaN where not reached
  double rmse = 0.0;                // level-0 RMSE (infinity if not reached), grey levels
  double inlier_fraction = 0.0;     // level-0 in-image residuals with |r| <= outlier_threshold
  int num_residuals = 0;            // level-0 in-image residuals
  int iterations = 0;               // LM iterations over all levels of the chosen hypothesis
  std::vector<int> level_iterations;  // LM iterations per level (index = level)
  int hypothesis_index = -1;        // index of the chosen hypothesis
  int hypotheses_tried = 0;
  // Optical-flow indicators at the result pose, RMS over the level-0 points, level-0 pixels:
  double flow_translation = 0.0;  // shift with rotation removed (translation only)
  double flow_rotation = 0.0;     // shift with translation removed (rotation only)
  double flow_full = 0.0;         // shift under the full motion
};

class CoarseTracker {
 public:
  // camera: level-0 intrinsics of both frames. Throws std::invalid_argument on bad camera/options.
  explicit CoarseTracker(const PinholeCamera& camera, const TrackerOptions& options = {});

  // Sets the reference keyframe: its pyramid (reference intensities are sampled from it per
  // level and pattern pixel), its points, affine brightness and exposure time (s, > 0). Points
  // with non-positive/non-finite idepth or weight, or whose pattern leaves the image, are dropped
  // on the affected levels. The pyramid must match the camera size.
  void SetReference(const ImagePyramid& ref_pyramid, const std::vector<TrackerPoint>& points,
                    const AffineLight& ref_affine = AffineLight(), double ref_exposure = 1.0);
  // Same, with the level-0 pattern intensities given per point (e.g. the values the bundle
  // adjuster stores); coarser levels are still sampled from the pyramid. level0_colors.size()
  // must equal points.size().
  void SetReference(const ImagePyramid& ref_pyramid, const std::vector<TrackerPoint>& points,
                    const std::vector<std::array<float, kPatternSize>>& level0_colors,
                    const AffineLight& ref_affine = AffineLight(), double ref_exposure = 1.0);

  bool HasReference() const { return !levels_.empty(); }
  // Points (after merging) used on `level`.
  int NumPoints(int level) const;

  // Tracks the new frame from the hypotheses in order (see TrackerOptions::retrack_threshold) and
  // returns the successful one with the lowest final RMSE; if none succeeded, success=false and the
  // state reached from the first hypothesis. new_exposure: exposure time (s, > 0). previous_rmse:
  // final RMSE of the previous frame's tracking (<= 0 if unknown). Throws std::invalid_argument
  // without reference, with no hypotheses, or with a pyramid that does not match the camera.
  // Single-threaded, no state is modified (safe to call concurrently on one tracker).
  TrackingResult Track(const ImagePyramid& new_pyramid,
                       const std::vector<TrackingHypothesis>& hypotheses, double new_exposure = 1.0,
                       double previous_rmse = -1.0) const;

  // RMS pixel shifts (translation only, rotation only, full) of the level-0 reference points
  // under cam_from_ref, as in TrackingResult.
  Eigen::Vector3d FlowIndicators(const SE3& cam_from_ref) const;
  // RMS distance (level-0 pixels) between the level-0 reference points projected with a_from_ref and
  // with b_from_ref (points behind either camera skipped; 0 without points): how far apart two poses
  // start the tracker.
  double PoseShift(const SE3& a_from_ref, const SE3& b_from_ref) const;

  const TrackerOptions& options() const { return options_; }
  // Energy (sum of Huber energies, as in the LM) of the reference points on `level` at
  // (cam_from_ref, affine), and the gradient the LM uses, sum of the weighted J^T r over the
  // inlier rows: (left-increment pose (translation, rotation), affine a, affine b). With point and
  // gradient weights of 1 it is half the derivative of the energy (tests, diagnostics). Throws
  // std::invalid_argument without reference or for a level out of range.
  double EnergyAndGradient(const ImagePyramid& pyr, int level, const SE3& cam_from_ref, const AffineLight& affine,
                           Eigen::Matrix<double, 8, 1>* gradient, double new_exposure = 1.0) const;
  const PinholeCamera& camera() const { return camera_; }

  // The constant-velocity step for a frame: the last step `last_from_prev` (taken over `dt_last` seconds)
  // scaled to the `dt_now` seconds since the last frame, on se(3) (Exp(r Log)). A camera that stamps its
  // frames tells a dropped frame (r = 2) and the frame after it (r = 0.5); ratios within 1 +-
  // `jitter_tolerance` are the timestamps' jitter (KITTI 00's times.txt: +-3 %) and give the step
  // unchanged, as do non-positive or non-finite intervals and a negative tolerance. r is capped to [1/8, 8]:
  // beyond that the last step says little about the motion (a paused recording); the other hypotheses remain.
  static SE3 ConstantVelocityStep(const SE3& last_from_prev, double dt_last, double dt_now,
                                  double jitter_tolerance);

  // Standard hypotheses: `constant_velocity`, then `zero_motion`, then constant_velocity composed
  // with small rotations of +-rotation_delta (rad; 0.04 ~ 2.3 deg, similar to DSO) about the 26
  // combinations of axes, then (with double_and_half, when the two differ) twice and half the motion
  // from zero_motion to constant_velocity (DSO's double / half motion: a dropped or repeated frame), all
  // with `affine`. Last, so that steady footage, which stops at an earlier one, does not track them:
  // every 7th frame of KITTI 02 dropped, pure DSO t_rel 6.8 -> 3.0 % (bench/RESULTS.md). An externally
  // supplied pose (e.g. PnP on keypoint matches, which sees a dropped frame's double step) is typically
  // put first by the caller, who then leaves double_and_half off (with it: dsdso on the same clip 0.82 -> 1.00 %).
  static std::vector<TrackingHypothesis> MotionHypotheses(const SE3& constant_velocity,
                                                          const SE3& zero_motion,
                                                          const AffineLight& affine,
                                                          double rotation_delta = 0.04,
                                                          bool double_and_half = true);

 private:
  // One pattern pixel of a reference point on one level.
  struct Residual {
    float ray_x, ray_y;  // normalised ray (x/z, y/z) of the pattern pixel in the reference
    float idepth;        // inverse depth of the point, 1/m
    float color;         // reference intensity
    float weight;        // point weight
  };
  struct Level {
    std::vector<Residual> residuals;  // kPatternSize consecutive entries per point
    int num_points = 0;
  };
  struct Evaluation;

  void Evaluate(const ImagePyramid& pyr, int level, const SE3& cam_from_ref,
                const AffineLight& affine, double new_exposure, float threshold,
                Evaluation* eval) const;
  TrackingResult TrackHypothesis(const ImagePyramid& pyr, const TrackingHypothesis& hypothesis,
                                 double new_exposure, const std::vector<double>& abort_rmse,
                                 Evaluation* scratch) const;

  PinholeCamera camera_;
  TrackerOptions options_;
  std::vector<Level> levels_;
  std::vector<TrackerPoint> level0_points_;  // valid input points (for flow indicators)
  AffineLight ref_affine_;
  double ref_exposure_ = 1.0;
  float mean_idepth_ = 1.f;
};

}  // namespace dso
