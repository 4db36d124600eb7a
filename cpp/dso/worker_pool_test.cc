#include "dso/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace dso {
namespace {

TEST(WorkerPool, RunsEveryTaskOnceAndWaits) {
  WorkerPool pool(3);
  for (int rep = 0; rep < 200; ++rep) {  // the same workers serve every call
    for (int n = 1; n <= 3; ++n) {
      std::vector<int> hits(n, 0);
      std::atomic<int> done{0};
      pool.Run(n, [&](int t) {
        ++hits[t];
        ++done;
      });
      EXPECT_EQ(done.load(), n);  // all finished when Run returns
      for (int h : hits) EXPECT_EQ(h, 1);
    }
  }
}

TEST(WorkerPool, TaskZeroRunsInTheCaller) {
  WorkerPool pool(2);
  std::thread::id caller = std::this_thread::get_id(), task0, task1;
  pool.Run(2, [&](int t) { (t == 0 ? task0 : task1) = std::this_thread::get_id(); });
  EXPECT_EQ(task0, caller);
  EXPECT_NE(task1, caller);
}

TEST(WorkerPool, RejectsBadSizes) {
  EXPECT_THROW(WorkerPool(0), std::invalid_argument);
  WorkerPool pool(2);
  EXPECT_THROW(pool.Run(0, [](int) {}), std::invalid_argument);
  EXPECT_THROW(pool.Run(3, [](int) {}), std::invalid_argument);
  WorkerPool single(1);  // no workers: the caller runs the one task
  int ran = 0;
  single.Run(1, [&](int) { ++ran; });
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace dso
