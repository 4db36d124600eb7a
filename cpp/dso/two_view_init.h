#pragma once
// Two-view initialiser for the monocular mode without a depth prior.
//
// Shi-Tomasi corners are detected on a reference frame and tracked frame to frame with pyramidal
// Lucas-Kanade (forward-backward checked; each track starts from its last displacement, so fast
// turns that move the image by tens of pixels per frame are followed). A new reference is started every
// `reference_interval` frames while older ones keep tracking, so at every frame there are several
// candidate pairs (reference, current frame) with different baselines; a reference is dropped when
// it has too few tracks left or is older than `max_init_frames`. For each candidate with enough raw
// flow: essential matrix by normalised 8-point inside RANSAC (Sampson error; the sample sequence
// depends only on the seed and the number of tracks, never on earlier calls), decomposition with a
// cheirality test, then a Gauss-Newton refinement of (rotation, translation direction) on the Huber
// Sampson error of the inliers, so the result is a smooth function of the tracks rather than of
// which random sample won. A candidate is valid when it is well conditioned:
//   - enough inliers, and a large enough inlier fraction;
//   - median rotation-compensated parallax angle >= min_parallax_deg;
//   - translation-direction standard deviation (1 px Sampson noise, from the 5-DoF Gauss-Newton
//     Hessian) <= max_direction_sigma_deg.
// Among the valid candidates of a frame the one with the smallest direction sigma is returned.
// The scale is arbitrary: the translation is normalised so the median inverse depth is 1.
#include <memory>
#include <vector>

#include "dso/backend_options.h"
#include "dso/camera.h"
#include "dso/image_pyramid.h"
#include "dso/se3.h"

namespace dso {

struct TwoViewResult {
  SE3 second_from_first;            // pose of the current frame relative to the reference frame
  std::vector<Vec2> first_pixels;   // inlier track positions in the reference frame (level 0)
  std::vector<double> idepths;      // their inverse depths in the reference frame
  int inliers = 0;
  int span = 0;                     // frames from the reference frame to the current one (>= 1)
  double parallax_deg = 0.0;        // median rotation-compensated ray angle of the inliers
  double direction_sigma_deg = 0.0; // std of the translation direction (1 px noise)
};

class TwoViewInitializer {
 public:
  TwoViewInitializer(const PinholeCamera& camera, const InitializerOptions& options, unsigned seed = 0);

  // Starts over with `first` as the only reference frame (detects corners).
  void Reset(std::shared_ptr<const ImagePyramid> first);
  // Tracks every reference's corners into `frame`. Returns true and fills `result` (the best
  // conditioned candidate pair ending at `frame`) once one is valid.
  bool AddFrame(std::shared_ptr<const ImagePyramid> frame, TwoViewResult* result);

  int frames_since_reset() const { return frames_; }
  int num_references() const { return static_cast<int>(refs_.size()); }
  int num_tracks() const;  // alive tracks of the oldest reference

  // Exposed for tests: essential matrix from >= 8 normalised correspondences (x2^T E x1 = 0).
  static Mat3 EightPoint(const std::vector<Vec3>& x1, const std::vector<Vec3>& x2, const std::vector<int>& idx);
  // Exposed for tests: relative pose from normalised correspondences (RANSAC + refinement +
  // conditioning measures); false when no valid geometry. result->span is left unchanged.
  bool SolvePair(const std::vector<Vec2>& first_px, const std::vector<Vec2>& second_px, TwoViewResult* result) const;

 private:
  struct Reference {
    std::shared_ptr<const ImagePyramid> pyramid;
    int frame = 0;                  // frames_ when it was the current frame
    std::vector<Vec2> first_px, cur_px;
    std::vector<Vec2> velocity;     // last frame-to-frame displacement of each track (KLT guess)
    std::vector<bool> alive;
    int num_alive = 0;
  };
  void AddReference(std::shared_ptr<const ImagePyramid> pyr);
  bool TrackLK(const ImagePyramid& prev, const ImagePyramid& cur, const Vec2& p_prev, Vec2* p_cur) const;

  PinholeCamera camera_;
  InitializerOptions options_;
  unsigned seed_;
  std::shared_ptr<const ImagePyramid> prev_;
  std::vector<Reference> refs_;  // oldest first
  Vec2 last_shift_ = Vec2::Zero();  // median track displacement of the last frame
  int frames_ = 0;
};

}  // namespace dso
