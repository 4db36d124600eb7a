#pragma once
// Gradient-based selection of candidate points (DSO-style) and merging with external keypoints.
//
// Selection: the level-0 image is split into blocks with an adaptive gradient threshold
// (quantile of the block's gradient-magnitude histogram + offset, smoothed over 3x3 blocks).
// The image is tiled into cells of `cell` pixels; in each cell the pixel above threshold with the
// largest gradient component along a random direction (one per cell) is chosen. Cells without
// such a pixel fall back to 2x2 groups of cells using level-1 gradients with a lower threshold,
// then to 4x4 groups using level-2 gradients. The cell size is adapted until the count is within
// the tolerance of the requested number; an excess is removed by random subsampling.
#include <cstdint>
#include <vector>

#include "dso/image_pyramid.h"

namespace dso {

struct PixelSelectorOptions {
  int block_size = 32;                    // side of threshold blocks, level-0 pixels (>= 4)
  int histogram_bins = 50;                // |grad| histogram bins of 1 grey level/px; larger clipped
  float threshold_quantile = 0.5f;        // quantile of block |grad| used as base threshold (0, 1)
  float threshold_offset = 7.f;           // added to the quantile, grey levels/px (>= 0)
  float coarse_threshold_factor = 0.75f;  // threshold factor per fallback tier (0, 1]
  int num_tiers = 3;                      // 1..3: level-0 cells, +2x2 cells on level 1, +4x4 on level 2
  int border = 4;                         // no candidates closer than this to the image edge, px
  float count_tolerance = 0.2f;           // accept counts within target * (1 +- tolerance) (> 0)
  int max_iterations = 6;                 // cell-size adaptation rounds (>= 1)
  uint32_t seed = 0;                      // random directions and subsampling

  // Throws std::invalid_argument naming the bad field.
  void Check() const;
};

struct PixelCandidate {
  float x = 0.f;      // level-0 pixel column (pixel-centre convention)
  float y = 0.f;      // level-0 pixel row
  float score = 0.f;  // gradient: |grad . dir| (grey levels/px); keypoint: its score
  int tier = 0;       // 0, 1, 2: selection tier (level used for the threshold); -1: external keypoint
  int keypoint_index = -1;  // external keypoint: its index in the input keypoint array; -1 otherwise
};

// Selects about `target_count` candidates (> 0) from the pyramid (needs >= num_tiers levels,
// otherwise uses as many tiers as there are levels). Throws std::invalid_argument on bad input.
std::vector<PixelCandidate> SelectPixels(const ImagePyramid& pyramid, int target_count,
                                         const PixelSelectorOptions& options = {});

// Per-block gradient-magnitude thresholds (grey levels/px, smoothed), blocks_y x blocks_x row-major;
// exposed for tests and diagnostics.
std::vector<float> BlockGradientThresholds(const ImagePyramid& pyramid,
                                           const PixelSelectorOptions& options, int* blocks_x,
                                           int* blocks_y);

// Merges external keypoints with gradient candidates.
// keypoints_xy: (K, 2) float row-major level-0 pixels (x, y); scores: (K,) (may be null: all 1).
// Keypoints that are non-finite, or closer than `border` to the edge of a width x height image,
// are dropped; the remaining ones are suppressed greedily by descending score within `radius`
// pixels of a stronger kept keypoint. Gradient candidates within `radius` of a kept keypoint are
// dropped. Output: kept keypoints (tier -1, by descending score) followed by the kept gradient
// candidates in their input order. radius >= 0 (0 disables suppression).
std::vector<PixelCandidate> MergeKeypoints(const std::vector<PixelCandidate>& gradient_candidates,
                                           const float* keypoints_xy, const float* scores,
                                           int num_keypoints, float radius, int width, int height,
                                           int border = 4);

}  // namespace dso
