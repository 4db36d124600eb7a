#pragma once
// A persistent pool of worker threads for the backend's parallel loops (the window BA's linearisation
// and energy sums): the threads are started once, not at every call. Built on Eigen's ThreadPool
// (unsupported/Eigen/CXX11/ThreadPool, Eigen 3.4) with spinning off, so idle workers sleep instead of
// competing for the cores with the rest of the pipeline.
#include <functional>
#include <memory>

namespace dso {

class WorkerPool {
 public:
  // `num_threads` >= 1 threads take part in Run(): the caller and num_threads - 1 workers.
  // Throws std::invalid_argument for num_threads < 1.
  explicit WorkerPool(int num_threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int NumThreads() const { return num_threads_; }
  // Runs task(0) .. task(num_tasks - 1), task 0 in the calling thread, and returns when all are done.
  // num_tasks must be in [1, NumThreads()]. Tasks must not throw (as with std::thread).
  void Run(int num_tasks, const std::function<void(int)>& task);

 private:
  struct Impl;
  int num_threads_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dso
