#pragma once
// Small Lie-group library (double precision): SO3, SE3, Sim3.
//
// Conventions
// - Tangent order of SE3 is (translation rho (3), rotation omega (3)); of Sim3 it is
//   (rho (3), omega (3), sigma (1)) with scale = exp(sigma).
// - Exp/Log are the group exponential/logarithm; for SE3, Exp(rho, omega) =
//   [Exp(omega), J_l(omega) * rho], where J_l is the left Jacobian of SO3.
// - "Left increment" means T <- Exp(xi) * T (xi expressed in the frame T maps into).
// - Adjoint: Exp(Adjoint() * xi) == T * Exp(xi) * T^-1.
// - LeftJacobian(xi): Exp(xi + d) ~= Exp(J_l(xi) d) * Exp(xi);
//   RightJacobian(xi): Exp(xi + d) ~= Exp(xi) * Exp(J_r(xi) d).
// Names of variables holding transforms state frames: cam_from_world maps world points into the
// camera frame.
#include <Eigen/Core>
#include <Eigen/Geometry>

namespace dso {

using Vec2 = Eigen::Vector2d;
using Vec3 = Eigen::Vector3d;
using Vec6 = Eigen::Matrix<double, 6, 1>;
using Vec7 = Eigen::Matrix<double, 7, 1>;
using Mat3 = Eigen::Matrix3d;
using Mat4 = Eigen::Matrix4d;
using Mat6 = Eigen::Matrix<double, 6, 6>;
using Mat7 = Eigen::Matrix<double, 7, 7>;
using Mat34 = Eigen::Matrix<double, 3, 4>;
using Mat36 = Eigen::Matrix<double, 3, 6>;
using Mat23 = Eigen::Matrix<double, 2, 3>;
using Mat26 = Eigen::Matrix<double, 2, 6>;

// Skew-symmetric matrix: Hat(a) * b == a.cross(b).
Mat3 Hat(const Vec3& v);
// Inverse of Hat (reads the skew part of m).
Vec3 Vee(const Mat3& m);

class SO3 {
 public:
  SO3() : q_(Eigen::Quaterniond::Identity()) {}
  // The quaternion is normalised.
  explicit SO3(const Eigen::Quaterniond& q);
  // Projects m onto the nearest rotation (via quaternion conversion after SVD orthonormalisation).
  static SO3 FromMatrix(const Mat3& m);
  static SO3 Exp(const Vec3& omega);
  // Rotation vector with angle in [0, pi].
  Vec3 Log() const;

  SO3 Inverse() const { return SO3(q_.conjugate(), true); }
  SO3 operator*(const SO3& other) const;
  Vec3 operator*(const Vec3& p) const { return q_ * p; }
  Mat3 Matrix() const { return q_.toRotationMatrix(); }
  const Eigen::Quaterniond& Quaternion() const { return q_; }
  // Adjoint of SO3 is its matrix.
  Mat3 Adjoint() const { return Matrix(); }

  static Mat3 LeftJacobian(const Vec3& omega);
  static Mat3 LeftJacobianInverse(const Vec3& omega);
  static Mat3 RightJacobian(const Vec3& omega) { return LeftJacobian(-omega); }
  static Mat3 RightJacobianInverse(const Vec3& omega) { return LeftJacobianInverse(-omega); }

 private:
  SO3(const Eigen::Quaterniond& q, bool /*already_normalised*/) : q_(q) {}
  Eigen::Quaterniond q_;
};

class SE3 {
 public:
  SE3() : t_(Vec3::Zero()) {}
  SE3(const SO3& rotation, const Vec3& translation) : r_(rotation), t_(translation) {}
  SE3(const Mat3& rotation, const Vec3& translation)
      : r_(SO3::FromMatrix(rotation)), t_(translation) {}
  // Reads the top 3x4 block of a 4x4 (or the 3x4) rigid transform.
  static SE3 FromMatrix(const Mat4& m);
  static SE3 FromMatrix3x4(const Mat34& m);

  static SE3 Exp(const Vec6& xi);  // xi = (rho, omega)
  Vec6 Log() const;

  SE3 Inverse() const;
  SE3 operator*(const SE3& other) const {
    return SE3(r_ * other.r_, r_ * other.t_ + t_);
  }
  Vec3 operator*(const Vec3& p) const { return r_ * p + t_; }

  Mat4 Matrix() const;
  Mat34 Matrix3x4() const;
  const SO3& Rotation() const { return r_; }
  Mat3 RotationMatrix() const { return r_.Matrix(); }
  const Vec3& Translation() const { return t_; }
  void SetTranslation(const Vec3& t) { t_ = t; }
  void SetRotation(const SO3& r) { r_ = r; }

  // 6x6 adjoint in (rho, omega) order: [[R, hat(t) R], [0, R]].
  Mat6 Adjoint() const;

  static Mat6 LeftJacobian(const Vec6& xi);
  static Mat6 LeftJacobianInverse(const Vec6& xi);
  static Mat6 RightJacobian(const Vec6& xi) { return LeftJacobian(-xi); }
  static Mat6 RightJacobianInverse(const Vec6& xi) { return LeftJacobianInverse(-xi); }

 private:
  SO3 r_;
  Vec3 t_;
};

// Similarity transform p -> s * R * p + t.
class Sim3 {
 public:
  Sim3() : t_(Vec3::Zero()), scale_(1.0) {}
  // scale must be > 0.
  Sim3(const SO3& rotation, const Vec3& translation, double scale);
  explicit Sim3(const SE3& se3) : r_(se3.Rotation()), t_(se3.Translation()), scale_(1.0) {}

  static Sim3 Exp(const Vec7& xi);  // xi = (rho, omega, sigma), scale = exp(sigma)
  Vec7 Log() const;

  Sim3 Inverse() const;
  Sim3 operator*(const Sim3& other) const;
  Vec3 operator*(const Vec3& p) const { return scale_ * (r_ * p) + t_; }

  Mat4 Matrix() const;
  const SO3& Rotation() const { return r_; }
  const Vec3& Translation() const { return t_; }
  double Scale() const { return scale_; }
  // Rigid part (rotation, translation); drops the scale.
  SE3 ToSE3() const { return SE3(r_, t_); }
  // 7x7 adjoint in (rho, omega, sigma) order.
  Mat7 Adjoint() const;

 private:
  SO3 r_;
  Vec3 t_;
  double scale_;
};

// d(Exp(xi) * p)/d xi at xi = 0 for a point p (already transformed, i.e. p = T * p_in):
// [I, -Hat(p)] in (rho, omega) order.
Mat36 PointJacobianLeftIncrement(const Vec3& p);

// d(pi(p))/dp for the pinhole projection u = fx * x / z + cx, v = fy * y / z + cy (z != 0).
Mat23 ProjectionJacobian(double fx, double fy, const Vec3& p);

// d(pi(Exp(xi) * T * p_in))/d xi at xi = 0, given p = T * p_in.
Mat26 ProjectedPointJacobianLeftIncrement(double fx, double fy, const Vec3& p);

}  // namespace dso
