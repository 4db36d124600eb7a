#include "dso/pixel_selector.h"

#include "dso/check_option.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace dso {
namespace {


// Unit direction of a cell, derived from (seed, cell index) by a small integer hash so that the
// selection is deterministic and independent of visiting order.
Eigen::Vector2f CellDirection(uint32_t seed, uint32_t cell) {
  uint32_t h = seed * 0x9E3779B9u ^ (cell + 0x7F4A7C15u);
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  const float angle = static_cast<float>(h) * (6.28318530718f / 4294967296.f);
  return Eigen::Vector2f(std::cos(angle), std::sin(angle));
}

struct Best {
  float score = -1.f;
  int x = -1, y = -1;
};

// One selection pass with cell size `cell`; `th_sq[t]` is indexed by block for tier t.
void SelectWithCell(const ImagePyramid& pyr, int cell, int tiers, const std::vector<float>& thresholds,
                    int blocks_x, const PixelSelectorOptions& o, std::vector<PixelCandidate>* out) {
  out->clear();
  const int w = pyr.Width(0), h = pyr.Height(0);
  const Eigen::Vector3f* d0 = pyr.Data(0);
  const float* g0 = pyr.GradSq(0);
  const float* g1 = tiers > 1 ? pyr.GradSq(1) : nullptr;
  const float* g2 = tiers > 2 ? pyr.GradSq(2) : nullptr;
  const int w1 = tiers > 1 ? pyr.Width(1) : 0, h1 = tiers > 1 ? pyr.Height(1) : 0;
  const int w2 = tiers > 2 ? pyr.Width(2) : 0, h2 = tiers > 2 ? pyr.Height(2) : 0;
  const float f1 = o.coarse_threshold_factor, f2 = f1 * f1;
  const int big = cell * 4;
  const int x_end = w - o.border, y_end = h - o.border;
  uint32_t cell_id = 0;
  for (int by = o.border; by < y_end; by += big) {
    for (int bx = o.border; bx < x_end; bx += big) {
      bool any4 = false;
      Best best2;
      const Eigen::Vector2f dir2 = CellDirection(o.seed, cell_id++);
      for (int my = by; my < std::min(by + big, y_end); my += 2 * cell) {
        for (int mx = bx; mx < std::min(bx + big, x_end); mx += 2 * cell) {
          bool any2 = false;
          Best best1;
          const Eigen::Vector2f dir1 = CellDirection(o.seed, cell_id++);
          for (int cy = my; cy < std::min(my + 2 * cell, y_end); cy += cell) {
            for (int cx = mx; cx < std::min(mx + 2 * cell, x_end); cx += cell) {
              Best best0;
              const Eigen::Vector2f dir0 = CellDirection(o.seed, cell_id++);
              for (int y = cy; y < std::min(cy + cell, y_end); ++y) {
                const int block_row = (y / o.block_size) * blocks_x;
                for (int x = cx; x < std::min(cx + cell, x_end); ++x) {
                  const float th = thresholds[block_row + x / o.block_size];
                  const float th_sq = th * th;
                  const int i = y * w + x;
                  const Eigen::Vector2f grad = d0[i].tail<2>();
                  if (g0[i] > th_sq) {
                    const float s = std::abs(grad.dot(dir0));
                    if (s > best0.score) best0 = {s, x, y};
                  }
                  if (tiers > 1) {
                    const int x1 = std::min(x >> 1, w1 - 1), y1 = std::min(y >> 1, h1 - 1);
                    if (g1[y1 * w1 + x1] > th_sq * f1 * f1) {
                      const float s = std::abs(grad.dot(dir1));
                      if (s > best1.score) best1 = {s, x, y};
                    }
                  }
                  if (tiers > 2) {
                    const int x2 = std::min(x >> 2, w2 - 1), y2 = std::min(y >> 2, h2 - 1);
                    if (g2[y2 * w2 + x2] > th_sq * f2 * f2) {
                      const float s = std::abs(grad.dot(dir2));
                      if (s > best2.score) best2 = {s, x, y};
                    }
                  }
                }
              }
              if (best0.score >= 0.f) {
                out->push_back({static_cast<float>(best0.x), static_cast<float>(best0.y), best0.score, 0});
                any2 = true;
              }
            }
          }
          if (!any2 && best1.score >= 0.f) {
            out->push_back({static_cast<float>(best1.x), static_cast<float>(best1.y), best1.score, 1});
            any2 = true;
          }
          any4 = any4 || any2;
        }
      }
      if (!any4 && best2.score >= 0.f) {
        out->push_back({static_cast<float>(best2.x), static_cast<float>(best2.y), best2.score, 2});
      }
    }
  }
}

}  // namespace

void PixelSelectorOptions::Check() const {
  constexpr char kOwner[] = "PixelSelectorOptions";
  CHECK_OPTION_GE(kOwner, block_size, 4);
  CHECK_OPTION_GE(kOwner, histogram_bins, 2);
  CHECK_OPTION(kOwner, threshold_quantile, threshold_quantile > 0.f && threshold_quantile < 1.f, "in (0, 1)");
  CHECK_OPTION_GE(kOwner, threshold_offset, 0);
  CHECK_OPTION(kOwner, coarse_threshold_factor, coarse_threshold_factor > 0.f && coarse_threshold_factor <= 1.f,
               "in (0, 1]");
  CHECK_OPTION_IN(kOwner, num_tiers, 1, 3);
  CHECK_OPTION_GE(kOwner, border, 0);
  CHECK_OPTION_GT(kOwner, count_tolerance, 0);
  CHECK_OPTION_GE(kOwner, max_iterations, 1);
}

std::vector<float> BlockGradientThresholds(const ImagePyramid& pyramid,
                                           const PixelSelectorOptions& o, int* blocks_x,
                                           int* blocks_y) {
  o.Check();
  if (pyramid.NumLevels() < 1) throw std::invalid_argument("BlockGradientThresholds: empty pyramid");
  const int w = pyramid.Width(0), h = pyramid.Height(0);
  const int nbx = (w + o.block_size - 1) / o.block_size, nby = (h + o.block_size - 1) / o.block_size;
  const float* g = pyramid.GradSq(0);
  std::vector<float> raw(static_cast<size_t>(nbx) * nby);
  std::vector<int> hist(o.histogram_bins);
  for (int byi = 0; byi < nby; ++byi) {
    for (int bxi = 0; bxi < nbx; ++bxi) {
      std::fill(hist.begin(), hist.end(), 0);
      int count = 0;
      for (int y = byi * o.block_size; y < std::min((byi + 1) * o.block_size, h); ++y) {
        for (int x = bxi * o.block_size; x < std::min((bxi + 1) * o.block_size, w); ++x) {
          const float mag = std::min(std::sqrt(g[y * w + x]), static_cast<float>(o.histogram_bins - 1));
          const int bin = static_cast<int>(mag);
          ++hist[bin];
          ++count;
        }
      }
      // Smallest bin whose cumulative count reaches the quantile; threshold at its upper edge.
      const int needed = static_cast<int>(std::ceil(o.threshold_quantile * count));
      int cumulative = 0, bin = 0;
      for (; bin < o.histogram_bins - 1; ++bin) {
        cumulative += hist[bin];
        if (cumulative >= needed) break;
      }
      raw[byi * nbx + bxi] = static_cast<float>(bin + 1) + o.threshold_offset;
    }
  }
  // 3x3 box smoothing over blocks.
  std::vector<float> smoothed(raw.size());
  for (int byi = 0; byi < nby; ++byi) {
    for (int bxi = 0; bxi < nbx; ++bxi) {
      float sum = 0.f;
      int n = 0;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int x = bxi + dx, y = byi + dy;
          if (x < 0 || y < 0 || x >= nbx || y >= nby) continue;
          sum += raw[y * nbx + x];
          ++n;
        }
      }
      smoothed[byi * nbx + bxi] = sum / n;
    }
  }
  *blocks_x = nbx;
  *blocks_y = nby;
  return smoothed;
}

std::vector<PixelCandidate> SelectPixels(const ImagePyramid& pyramid, int target_count,
                                         const PixelSelectorOptions& options) {
  options.Check();
  if (target_count <= 0) {
    throw std::invalid_argument("SelectPixels: target_count must be positive, got " +
                                std::to_string(target_count));
  }
  int nbx = 0, nby = 0;
  const std::vector<float> thresholds = BlockGradientThresholds(pyramid, options, &nbx, &nby);
  const int tiers = std::min(options.num_tiers, pyramid.NumLevels());
  const int w = pyramid.Width(0), h = pyramid.Height(0);
  const double usable = std::max(1.0, double(w - 2 * options.border) * (h - 2 * options.border));

  // Start from the cell size that would give target_count if every cell produced a point.
  double cell = std::max(1.0, std::sqrt(usable / target_count));
  std::vector<PixelCandidate> result, best;
  double best_err = std::numeric_limits<double>::infinity();
  for (int it = 0; it < options.max_iterations; ++it) {
    const int c = std::max(1, static_cast<int>(std::lround(cell)));
    SelectWithCell(pyramid, c, tiers, thresholds, nbx, options, &result);
    const double n = static_cast<double>(result.size());
    // Prefer counts at or above the target (the excess is subsampled below).
    const double err = n >= target_count ? (n - target_count) / target_count * 0.25
                                         : (target_count - n) / target_count;
    if (err < best_err) {
      best_err = err;
      best = result;
    }
    if (std::abs(n - target_count) <= options.count_tolerance * target_count) break;
    if (n == 0) break;  // nothing passes the thresholds: smaller cells cannot help
    // Count scales ~ 1 / cell^2 where texture is dense.
    double next = cell * std::sqrt(n / target_count);
    if (std::lround(next) == c) next = n > target_count ? c + 1 : c - 1;
    if (next < 1.0) break;
    cell = next;
  }
  if (best.size() > static_cast<size_t>(target_count) * (1.0 + options.count_tolerance)) {
    std::mt19937 rng(options.seed);
    std::shuffle(best.begin(), best.end(), rng);
    best.resize(target_count);
    std::sort(best.begin(), best.end(), [](const PixelCandidate& a, const PixelCandidate& b) {
      return a.y != b.y ? a.y < b.y : a.x < b.x;
    });
  }
  return best;
}

std::vector<PixelCandidate> MergeKeypoints(const std::vector<PixelCandidate>& gradient_candidates,
                                           const float* keypoints_xy, const float* scores,
                                           int num_keypoints, float radius, int width, int height,
                                           int border) {
  if (num_keypoints < 0) throw std::invalid_argument("MergeKeypoints: num_keypoints must be >= 0");
  if (num_keypoints > 0 && keypoints_xy == nullptr) {
    throw std::invalid_argument("MergeKeypoints: keypoints_xy is null but num_keypoints > 0");
  }
  if (!(radius >= 0.f) || !std::isfinite(radius)) {
    throw std::invalid_argument("MergeKeypoints: radius must be finite and >= 0");
  }
  if (width <= 0 || height <= 0) throw std::invalid_argument("MergeKeypoints: image size must be positive");
  if (border < 0) throw std::invalid_argument("MergeKeypoints: border must be >= 0");

  std::vector<int> order;
  for (int i = 0; i < num_keypoints; ++i) {
    const float x = keypoints_xy[2 * i], y = keypoints_xy[2 * i + 1];
    const float s = scores ? scores[i] : 1.f;
    if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(s)) continue;
    if (x < border || y < border || x > width - 1 - border || y > height - 1 - border) continue;
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return (scores ? scores[a] : 1.f) > (scores ? scores[b] : 1.f);
  });

  // Uniform grid with cells of `radius` pixels holding kept keypoints for neighbour queries.
  const float cell = std::max(radius, 1.f);
  const int gw = static_cast<int>(width / cell) + 1, gh = static_cast<int>(height / cell) + 1;
  std::vector<std::vector<Eigen::Vector2f>> grid(static_cast<size_t>(gw) * gh);
  const float r2 = radius * radius;
  auto near_kept = [&](float x, float y) {
    if (radius <= 0.f) return false;
    const int gx = static_cast<int>(x / cell), gy = static_cast<int>(y / cell);
    for (int yy = std::max(gy - 1, 0); yy <= std::min(gy + 1, gh - 1); ++yy) {
      for (int xx = std::max(gx - 1, 0); xx <= std::min(gx + 1, gw - 1); ++xx) {
        for (const Eigen::Vector2f& p : grid[yy * gw + xx]) {
          if ((p - Eigen::Vector2f(x, y)).squaredNorm() < r2) return true;
        }
      }
    }
    return false;
  };

  std::vector<PixelCandidate> out;
  for (int i : order) {
    const float x = keypoints_xy[2 * i], y = keypoints_xy[2 * i + 1];
    if (near_kept(x, y)) continue;
    out.push_back({x, y, scores ? scores[i] : 1.f, -1, i});
    grid[static_cast<int>(y / cell) * gw + static_cast<int>(x / cell)].emplace_back(x, y);
  }
  for (const PixelCandidate& c : gradient_candidates) {
    if (c.x < 0.f || c.y < 0.f || c.x > width - 1 || c.y > height - 1) continue;
    if (!near_kept(c.x, c.y)) out.push_back(c);
  }
  return out;
}

}  // namespace dso
