#pragma once
// Windowed photometric bundle adjustment (DSO-style) with a Gaussian marginalisation prior.
//
// Variables: per keyframe 6 pose (left increment on cam_from_world, tangent (translation, rotation))
// + 2 affine brightness (a, b); per active point its inverse depth in the host keyframe.
// Residuals: the 8-pixel pattern of every point in every other keyframe of the window,
//   r = I_target[p'] - (s * (I_host[p] - b_host) + b_target),  s = exp(a_target - a_host),
// Huber-robustified and weighted by c^2 / (c^2 + |grad|^2); optional depth-prior residual per point
// (idepth - prior_idepth) / sigma; weak priors pulling a, b to 0. Levenberg-Marquardt with the
// Schur complement on inverse depths.
// Marginalisation: a keyframe leaving the window takes its points' residuals into the prior
// (points are Schur-eliminated) and is then Schur-eliminated itself; the prior keeps its
// linearisation point (first-estimate Jacobians): prior energy 0.5 d^T H d + b^T d with
// d = (Log(T * T_fej^-1), a - a_fej, b - b_fej). The gauge is fixed by a strong prior on the first
// keyframe's pose that is part of the marginalisation prior (so it propagates on marginalisation).
// Monocular scale is the 7th gauge freedom: no photometric term observes a scaling of the whole
// window about the first keyframe's centre, so every LM step is made orthogonal to that direction
// (otherwise the window slides along it by noise / ~0 eigenvalue, moving all window keyframes by
// metres relative to the frozen, marginalised ones). This holds with depth priors too: their
// information on scale (sum of 1/sigma^2 over the points) is ~1e5 times weaker than the photometric
// curvature, and left in the solve it let the scale jitter from keyframe to keyframe (RPE-1 0.1 m
// on the exact-depth render, 0.6-0.9 m on KITTI). Scale from the prior is applied outside the solve
// instead (System::HoldPriorScale, BundleAdjustmentOptions::prior_scale_gain).
#include <Eigen/Core>

#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "dso/backend_options.h"
#include "dso/camera.h"
#include "dso/residual_pattern.h"
#include "dso/schur.h"
#include "dso/window_map.h"
#include "dso/worker_pool.h"

namespace dso {

struct BundleAdjustmentStats {
  int iterations = 0;
  int accepted_steps = 0;
  int num_points = 0;
  int num_residuals = 0;        // inlier host-target residuals
  int removed_outliers = 0;     // residuals flagged as outliers and removed
  double initial_rmse = 0.0;    // per pattern pixel, intensity units
  double final_rmse = 0.0;
};

class WindowOptimizer {
 public:
  WindowOptimizer(const PinholeCamera& camera, const BundleAdjustmentOptions& options);

  // Drops the marginalisation prior; adds a strong prior fixing `first`'s pose (gauge) and light.
  void ResetPrior(Keyframe* first);

  // Optimises all keyframes and their active points. Sets Keyframe::window_index. Residuals that
  // end as outliers are removed; points left without residuals are marked for removal.
  BundleAdjustmentStats Optimize(const std::vector<Keyframe*>& window);

  // Moves `kf` (in `window`) into the prior: its points with enough inlier residuals are
  // marginalised, residuals of other points that target it are dropped. The caller removes `kf`
  // from the window afterwards.
  void MarginalizeKeyframe(const std::vector<Keyframe*>& window, Keyframe* kf);

  // Normal equations of `window` at the current state, as Optimize's first linearisation: every
  // active point (outliers flagged), light priors and the marginalisation prior; `sys` is
  // resized to the window. Points are in window order (hosts oldest first). Returns the energy.
  double Linearize(const std::vector<Keyframe*>& window, SchurSystem* sys);

  // Number of keyframes the prior spans (memory stays flat: <= window size).
  int PriorFrames() const { return static_cast<int>(prior_ids_.size()); }
  // The world (every window state and linearisation point) was scaled by `s` about `centre_world`:
  // translation increments are s times larger, so the prior's translation rows/columns scale by 1/s
  // (its energy as a function of the state is unchanged to first order), and the centre of the
  // scale gauge moves with the world.
  void RescalePrior(double s, const Vec3& centre_world);
  const Eigen::MatrixXd& prior_h() const { return prior_h_; }
  // Centre of the scale gauge: scaling the world about it is the prior's null direction.
  const Vec3& scale_gauge_centre_world() const { return scale_anchor_world_; }

  // Photometric energy of one residual at the current state (0.5 * sum of robust pattern
  // energies); returns false when the projection leaves the image.
  bool ResidualEnergy(const ActivePoint& p, const Keyframe& host, const Keyframe& target, double* energy) const;

 private:
  // Per (host, target) pair of the window: relative geometry and the frame Hessian accumulated in
  // target coordinates (DSO-style), converted to host/target blocks once per pair.
  // Projection of host pixels into the target (float, for the per-pixel loops): a host pixel
  // (u, v) with inverse depth rho lands at the homogeneous target pixel
  // krki * (u, v, 1) + kt * rho; pattern[k] = krki * (dx_k, dy_k, 0).
  struct PairProjection {
    PairProjection() = default;
    PairProjection(const PinholeCamera& cam, const Mat3& r_th, const Vec3& t_th);
    Eigen::Matrix3f krki = Eigen::Matrix3f::Identity();  // K R K^-1
    Eigen::Vector3f kt = Eigen::Vector3f::Zero();        // K t
    std::array<Eigen::Vector3f, kPatternSize> pattern{};
    // K (R K^-1 pixel + t idepth): the homogeneous target pixel of a host pixel at inverse depth
    // `idepth`, its third coordinate the (idepth-scaled) depth.
    Eigen::Vector3f Centre(const Eigen::Vector2f& pixel, double idepth) const {
      return krki * Eigen::Vector3f(pixel.x(), pixel.y(), 1.f) + kt * static_cast<float>(idepth);
    }
  };
  struct Pairs {
    int nf = 0;
    std::vector<Mat3> r_th;
    std::vector<Vec3> t_th;
    std::vector<PairProjection> proj;
    std::vector<double> s;     // exp(a_t - a_h)
    std::vector<Mat88> m;      // host Jacobian = -(target Jacobian) * m
    std::vector<Mat88> h;
    std::vector<Vec8> b;
    std::vector<char> used;
  };
  void PreparePairs(const std::vector<Keyframe*>& window, Pairs* pairs) const;
  void FlushPairs(const Pairs& pairs, SchurSystem* sys) const;
  // Sums over the residuals of a linearisation.
  struct LinearizeTotals {
    double energy = 0.0;               // robust energy of the residuals inside the image (+ priors)
    double out_of_image_energy = 0.0;  // outlier energy of residuals that left the image (not flagged)
    double sq_sum = 0.0;               // sum of squared pattern-pixel residuals (for the RMSE)
    int num_pixels = 0;
    int num_residuals = 0;             // inlier residuals
  };
  // Linearises `points` (hosted by `hosts`) and the priors into `sys`; `sum` gets the totals.
  double LinearizeWindow(const std::vector<Keyframe*>& window, const std::vector<ActivePoint*>& points,
                         const std::vector<const Keyframe*>& hosts, bool flag_outliers, std::vector<Pairs>* pairs,
                         SchurSystem* sys, LinearizeTotals* sum) const;
  // Adds the Jacobian blocks of one point (its residuals and depth prior) to `pairs`/`block`
  // (keyframes must have window_index set). Returns the energy; adds to `totals` (may be null)
  // everything but the energy.
  double LinearizePoint(ActivePoint& p, const Keyframe& host, bool flag_outliers, Pairs* pairs,
                        PointBlock* block, LinearizeTotals* totals) const;
  // Calls fn(k, (value, dx, dy)) for every pattern pixel k of `p` projected into `img`; false
  // (early) when a pixel falls behind the camera or outside the image.
  template <typename PixelFn>
  static bool ProjectPattern(const ActivePoint& p, const ImagePyramid& img, const PairProjection& proj, PixelFn&& fn);
  // Prefetches the target-image rows the pattern of `p` projects to (no effect on results): the
  // bilinear lookups of the window BA are bound by memory latency, and issuing every residual's
  // loads of a point first lets them overlap.
  static void PrefetchPattern(const ActivePoint& p, const ImagePyramid& img, const PairProjection& proj);
  // Robust energy of one residual with the pair geometry; false if it leaves the image.
  bool PatternEnergy(const ActivePoint& p, const Keyframe& host, const Keyframe& target, const PairProjection& proj,
                     double s, double* energy) const;
  // Splits [0, n) into NumThreads(n) contiguous chunks run as body(thread, begin, end); the
  // partition depends only on n, so results merged in thread order are deterministic.
  int NumThreads(size_t work) const;
  void ParallelFor(size_t n, const std::function<void(int, size_t, size_t)>& body) const;
  // Adds the light priors and the marginalisation prior at the current state.
  double AddPriors(const std::vector<Keyframe*>& window, SchurSystem* sys) const;
  // Deviation of a keyframe from its first estimate.
  static Vec8 FejDelta(const Keyframe& kf);
  // Frame-space direction of scaling the world about scale_anchor_world_ (left increments of
  // cam_from_world: translation t + R c), empty when a depth prior in the window observes scale.
  std::vector<Eigen::VectorXd> ScaleGauge(const std::vector<Keyframe*>& window) const;

  PinholeCamera camera_;
  BundleAdjustmentOptions options_;
  Vec3 scale_anchor_world_ = Vec3::Zero();  // centre of the gauge keyframe (ResetPrior)
  std::vector<int> prior_ids_;  // keyframe ids spanned by the prior, in prior order
  Eigen::MatrixXd prior_h_;
  Eigen::VectorXd prior_b_;
  std::shared_ptr<WorkerPool> pool_;  // options_.num_threads threads (null for 1), started once
};

}  // namespace dso
