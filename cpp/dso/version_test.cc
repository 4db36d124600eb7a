#include "dso/version.h"

#include <gtest/gtest.h>

#include <algorithm>

TEST(Version, IsSemver) {
  const std::string v = dso::Version();
  EXPECT_EQ(std::count(v.begin(), v.end(), '.'), 2);
}
