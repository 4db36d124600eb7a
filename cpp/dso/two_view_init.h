#pragma once
// Two-view initialiser for the monocular mode without a depth prior: Shi-Tomasi corners on the
// first frame are tracked frame to frame with pyramidal Lucas-Kanade; once the median flow exceeds
// a parallax threshold, an essential matrix is estimated (normalised 8-point inside RANSAC with
// the Sampson error), decomposed with a cheirality test, and the inlier tracks are triangulated.
// The scale is arbitrary: the translation is normalised so the median inverse depth is 1.
#include <memory>
#include <random>
#include <vector>

#include "dso/backend_options.h"
#include "dso/camera.h"
#include "dso/image_pyramid.h"
#include "dso/se3.h"

namespace dso {

struct TwoViewResult {
  SE3 second_from_first;            // pose of the current frame relative to the first frame
  std::vector<Vec2> first_pixels;   // inlier track positions in the first frame (level 0)
  std::vector<double> idepths;      // their inverse depths in the first frame
  int inliers = 0;
};

class TwoViewInitializer {
 public:
  TwoViewInitializer(const PinholeCamera& camera, const InitializerOptions& options, unsigned seed = 0);

  // Starts over with `first` as the reference frame (detects corners).
  void Reset(std::shared_ptr<const ImagePyramid> first);
  // Tracks the corners into `frame`. Returns true and fills `result` once the geometry is valid.
  bool AddFrame(std::shared_ptr<const ImagePyramid> frame, TwoViewResult* result);

  int frames_since_reset() const { return frames_; }
  int num_tracks() const;

  // Exposed for tests: essential matrix from >= 8 normalised correspondences (x2^T E x1 = 0).
  static Mat3 EightPoint(const std::vector<Vec3>& x1, const std::vector<Vec3>& x2, const std::vector<int>& idx);

 private:
  bool TrackLK(const ImagePyramid& prev, const ImagePyramid& cur, const Vec2& p_prev, Vec2* p_cur) const;
  bool Solve(TwoViewResult* result);

  PinholeCamera camera_;
  InitializerOptions options_;
  std::mt19937 rng_;
  std::shared_ptr<const ImagePyramid> first_, prev_;
  std::vector<Vec2> first_px_, cur_px_;
  std::vector<bool> alive_;
  int frames_ = 0;
};

}  // namespace dso
