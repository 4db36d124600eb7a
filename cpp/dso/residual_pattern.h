#pragma once
// Residual pattern: the 8 pixels around a point whose photometric residuals are used for that
// point (the sparse "pattern 8" layout of DSO). Offsets (dx, dy) in pixels of the level the
// residuals are evaluated on; the centre (0, 0) is included, the others lie on a diamond of
// radius 2 with four diagonal neighbours at distance sqrt(2):
//
//            . . X . .
//            . X . X .
//            X . X . X
//            . X . X .
//            . . X . .
//
// The spread makes the point sensitive to gradients in every direction while 8 residuals keep the
// cost low; pixels of the pattern are assumed to share the centre's inverse depth.
namespace dso {

constexpr int kPatternSize = 8;
// Largest |dx| or |dy| of the pattern, pixels.
constexpr int kPatternRadius = 2;
// kPattern[k] = {dx, dy}.
constexpr int kPattern[kPatternSize][2] = {{0, -2}, {-1, -1}, {1, -1}, {-2, 0},
                                           {0, 0},  {2, 0},   {-1, 1}, {0, 2}};

}  // namespace dso
