#include "dso/worker_pool.h"

#include <stdexcept>
#include <string>

#define EIGEN_USE_THREADS
#include <unsupported/Eigen/CXX11/ThreadPool>

namespace dso {

struct WorkerPool::Impl {
  explicit Impl(int workers) : pool(workers, /*allow_spinning=*/false) {}
  Eigen::ThreadPool pool;
};

WorkerPool::WorkerPool(int num_threads) : num_threads_(num_threads) {
  if (num_threads < 1) {
    throw std::invalid_argument("WorkerPool: num_threads must be >= 1, got " + std::to_string(num_threads));
  }
  if (num_threads > 1) impl_ = std::make_unique<Impl>(num_threads - 1);
}

WorkerPool::~WorkerPool() = default;

void WorkerPool::Run(int num_tasks, const std::function<void(int)>& task) {
  if (num_tasks < 1 || num_tasks > num_threads_) {
    throw std::invalid_argument("WorkerPool::Run: num_tasks must be in [1, " + std::to_string(num_threads_) +
                                "], got " + std::to_string(num_tasks));
  }
  if (num_tasks == 1) {
    task(0);
    return;
  }
  Eigen::Barrier done(static_cast<unsigned>(num_tasks - 1));
  for (int t = 1; t < num_tasks; ++t) {
    impl_->pool.Schedule([&task, &done, t] {
      task(t);
      done.Notify();
    });
  }
  task(0);
  done.Wait();
}

}  // namespace dso
