#pragma once
// Linear algebra of the windowed photometric bundle adjustment:
//  - SchurSystem: normal equations with a dense frame block (kFrameDim per keyframe) and one scalar
//    inverse depth per point (diagonal point block), reduced by the Schur complement on the points.
//  - MarginalizeDense: Gaussian marginalisation of a dense system onto a subset of its variables.
// Convention everywhere: the quadratic model is E(dx) = 0.5 dx^T H dx + b^T dx (b = J^T W r), so the
// minimiser solves H dx = -b.
#include <Eigen/Core>

#include <utility>
#include <vector>

namespace dso {

// Per-keyframe state in the frame block: 6 pose (translation, rotation; left increment on
// cam_from_world) + 2 affine brightness (a, b).
constexpr int kFrameDim = 8;
using Vec8 = Eigen::Matrix<double, kFrameDim, 1>;
using Mat88 = Eigen::Matrix<double, kFrameDim, kFrameDim>;

// Contribution of one point (one scalar inverse depth) to the normal equations.
struct PointBlock {
  double hpp = 0.0;  // d2E/drho2
  double bp = 0.0;   // dE/drho
  // Coupling H_{frame,point} for every frame the point's residuals touch (frame index, 8-vector).
  std::vector<std::pair<int, Vec8>> hfp;
  // Adds `h` to the coupling with `frame` (merges entries of the same frame).
  void AddCoupling(int frame, const Vec8& h);
};

class SchurSystem {
 public:
  explicit SchurSystem(int num_frames);

  int num_frames() const { return num_frames_; }
  Eigen::MatrixXd& hff() { return hff_; }
  Eigen::VectorXd& bf() { return bf_; }
  const Eigen::MatrixXd& hff() const { return hff_; }
  const Eigen::VectorXd& bf() const { return bf_; }
  std::vector<PointBlock>& points() { return points_; }
  // Zeroes Hff, bf and `num_points` point blocks, keeping the allocated coupling storage.
  void Reset(size_t num_points);
  const std::vector<PointBlock>& points() const { return points_; }

  // Reduced frame system after eliminating every point: hsc = Hff - sum Hfp Hpp^-1 Hpf,
  // bsc = bf - sum Hfp Hpp^-1 bp. `point_lambda` is LM damping added to each Hpp as
  // hpp * (1 + point_lambda). Points with hpp <= 0 are skipped.
  void Reduce(double point_lambda, Eigen::MatrixXd* hsc, Eigen::VectorXd* bsc) const;

  // Solves the damped system (H + lambda * diag(H)) dx = -b via the Schur complement.
  // Frame variables whose index has fixed[i] == true are held at zero. Returns dx for frames
  // (num_frames * kFrameDim) and points (one per point, in order).
  // `gauge` (optional): frame-space directions the energy does not observe (e.g. the monocular
  // scale); the frame step is made orthogonal to them before the points are back-substituted, so
  // an unobserved direction never moves (its step would be noise divided by a ~0 eigenvalue).
  void Solve(double lambda, const std::vector<bool>& fixed, Eigen::VectorXd* dx_frames,
             std::vector<double>* dx_points, const std::vector<Eigen::VectorXd>* gauge = nullptr) const;

  // Dense (H, b) over [frames, points] for tests and debugging.
  void ToDense(Eigen::MatrixXd* h, Eigen::VectorXd* b) const;

 private:
  int num_frames_;
  Eigen::MatrixXd hff_;
  Eigen::VectorXd bf_;
  std::vector<PointBlock> points_;
};

// Marginalises the variables with marginalize[i] == true out of the Gaussian (H, b):
// H' = Hkk - Hkm Hmm^+ Hmk, b' = bk - Hkm Hmm^+ bm over the kept variables (in their order).
// Hmm^+ is a pseudo-inverse (eigenvalues below `eps` * max eigenvalue are dropped), so gauge
// freedoms in the marginalised block do not blow up. Throws std::invalid_argument on size mismatch.
void MarginalizeDense(const Eigen::MatrixXd& h, const Eigen::VectorXd& b, const std::vector<bool>& marginalize,
                      Eigen::MatrixXd* h_out, Eigen::VectorXd* b_out, double eps = 1e-10);

}  // namespace dso
