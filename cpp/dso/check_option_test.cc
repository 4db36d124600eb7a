#include "dso/check_option.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace dso {
namespace {

struct Inner {
  int count = 1;
  void Check() const { CHECK_OPTION_GE("Inner", count, 1); }
};

struct Outer {
  int count = 3;
  double scale = 1.0;
  int window = 5;
  Inner inner;
  void Check() const {
    CHECK_OPTION_NESTED("Outer", inner);
    CHECK_OPTION_IN("Outer", count, 1, 10);
    CHECK_OPTION_GT("Outer", scale, 0);
    CHECK_OPTION("Outer", window, window % 2 == 1, "odd");
  }
};

std::string Message(const Outer& o) {
  try {
    o.Check();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(CheckOption, MessageNamesStructFieldRequirementAndValue) {
  EXPECT_EQ(Message(Outer()), "");
  Outer o;
  o.count = 11;
  EXPECT_EQ(Message(o), "Outer.count must be in [1, 10], got 11");
  o = Outer();
  o.scale = -2.5;
  EXPECT_EQ(Message(o), "Outer.scale must be > 0 and finite, got -2.5");
  o.scale = std::numeric_limits<double>::infinity();
  EXPECT_EQ(Message(o), "Outer.scale must be > 0 and finite, got inf");
  o = Outer();
  o.window = 4;
  EXPECT_EQ(Message(o), "Outer.window must be odd, got 4");
  o = Outer();
  o.inner.count = 0;
  EXPECT_EQ(Message(o), "Outer.inner: Inner.count must be >= 1, got 0");
}

}  // namespace
}  // namespace dso
