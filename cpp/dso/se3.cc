#include "dso/se3.h"

#include <Eigen/SVD>
#include <cmath>
#include <stdexcept>

namespace dso {
namespace {

constexpr double kSmallAngle = 1e-5;  // below: Taylor expansions

// Coefficients of the SO3 left Jacobian J = I + A hat + B hat^2 (A = (1-cos)/th^2, B =
// (th-sin)/th^3), computed stably.
void JacobianCoeffs(double theta, double* a, double* b) {
  const double t2 = theta * theta;
  if (theta < kSmallAngle) {
    *a = 0.5 - t2 / 24.0;
    *b = 1.0 / 6.0 - t2 / 120.0;
  } else {
    *a = (1.0 - std::cos(theta)) / t2;
    *b = (theta - std::sin(theta)) / (t2 * theta);
  }
}

// Q(rho, omega) block of the SE3 left Jacobian (Barfoot, eq. 7.86).
Mat3 QBlock(const Vec3& rho, const Vec3& omega) {
  const double th = omega.norm();
  const Mat3 rx = Hat(rho), ox = Hat(omega);
  const Mat3 oxrx = ox * rx, rxox = rx * ox, oxrxox = ox * rx * ox;
  double c1, c2, c3;
  if (th < 1e-4) {
    const double t2 = th * th;
    c1 = 1.0 / 6.0 - t2 / 120.0;
    c2 = 1.0 / 24.0 - t2 / 720.0;
    c3 = 1.0 / 120.0 - t2 / 2520.0;  // leading terms of the three series below
  } else {
    const double s = std::sin(th), c = std::cos(th);
    const double t2 = th * th, t3 = t2 * th, t4 = t3 * th, t5 = t4 * th;
    c1 = (th - s) / t3;
    c2 = (t2 + 2.0 * c - 2.0) / (2.0 * t4);
    c3 = (2.0 * th - 3.0 * s + th * c) / (2.0 * t5);
  }
  return 0.5 * rx + c1 * (oxrx + rxox + oxrxox) + c2 * (ox * oxrx + rxox * ox - 3.0 * oxrxox) +
         c3 * (oxrxox * ox + ox * oxrxox);
}

}  // namespace

Mat3 Hat(const Vec3& v) {
  Mat3 m;
  m << 0.0, -v.z(), v.y(), v.z(), 0.0, -v.x(), -v.y(), v.x(), 0.0;
  return m;
}

Vec3 Vee(const Mat3& m) {
  return 0.5 * Vec3(m(2, 1) - m(1, 2), m(0, 2) - m(2, 0), m(1, 0) - m(0, 1));
}

// ---------------------------------------------------------------- SO3

SO3::SO3(const Eigen::Quaterniond& q) : q_(q) {
  const double n = q_.norm();
  if (!(n > 0.0) || !std::isfinite(n)) {
    throw std::invalid_argument("SO3: quaternion must be finite and non-zero");
  }
  q_.coeffs() /= n;
}

SO3 SO3::FromMatrix(const Mat3& m) {
  if (!m.allFinite()) throw std::invalid_argument("SO3::FromMatrix: matrix must be finite");
  Eigen::JacobiSVD<Mat3> svd(m, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Mat3 r = svd.matrixU() * svd.matrixV().transpose();
  if (r.determinant() < 0) {
    Mat3 d = Mat3::Identity();
    d(2, 2) = -1.0;
    r = svd.matrixU() * d * svd.matrixV().transpose();
  }
  return SO3(Eigen::Quaterniond(r));
}

SO3 SO3::Exp(const Vec3& omega) {
  const double th = omega.norm();
  const double half = 0.5 * th;
  double k;  // sin(th/2)/th
  if (th < kSmallAngle) {
    k = 0.5 - th * th / 48.0;
  } else {
    k = std::sin(half) / th;
  }
  Eigen::Quaterniond q(std::cos(half), k * omega.x(), k * omega.y(), k * omega.z());
  return SO3(q);
}

Vec3 SO3::Log() const {
  Eigen::Quaterniond q = q_;
  if (q.w() < 0.0) q.coeffs() = -q.coeffs();  // angle in [0, pi]
  const Vec3 v = q.vec();
  const double sn = v.norm();
  if (sn < 1e-10) {
    // theta ~ 2 * sn / w; 2/w (1 + sn^2/(3 w^2)) series.
    const double w = q.w();
    return (2.0 / w - 2.0 * sn * sn / (3.0 * w * w * w)) * v;
  }
  const double theta = 2.0 * std::atan2(sn, q.w());
  return (theta / sn) * v;
}

SO3 SO3::operator*(const SO3& other) const {
  Eigen::Quaterniond q = q_ * other.q_;
  // Renormalise cheaply to avoid drift over long chains.
  q.coeffs() *= (1.5 - 0.5 * q.squaredNorm());
  return SO3(q, true);
}

Mat3 SO3::LeftJacobian(const Vec3& omega) {
  double a, b;
  JacobianCoeffs(omega.norm(), &a, &b);
  const Mat3 h = Hat(omega);
  return Mat3::Identity() + a * h + b * h * h;
}

Mat3 SO3::LeftJacobianInverse(const Vec3& omega) {
  const double th = omega.norm();
  const Mat3 h = Hat(omega);
  double c;  // (1/th^2) (1 - (th/2) cot(th/2))
  if (th < 1e-4) {
    c = 1.0 / 12.0 + th * th / 720.0;
  } else {
    const double half = 0.5 * th;
    c = (1.0 - half * std::cos(half) / std::sin(half)) / (th * th);
  }
  return Mat3::Identity() - 0.5 * h + c * h * h;
}

// ---------------------------------------------------------------- SE3

SE3 SE3::FromMatrix(const Mat4& m) { return FromMatrix3x4(m.topRows<3>()); }

SE3 SE3::FromMatrix3x4(const Mat34& m) {
  if (!m.allFinite()) throw std::invalid_argument("SE3::FromMatrix: matrix must be finite");
  return SE3(SO3::FromMatrix(m.leftCols<3>()), m.col(3));
}

SE3 SE3::Exp(const Vec6& xi) {
  const Vec3 rho = xi.head<3>(), omega = xi.tail<3>();
  return SE3(SO3::Exp(omega), SO3::LeftJacobian(omega) * rho);
}

Vec6 SE3::Log() const {
  const Vec3 omega = r_.Log();
  Vec6 xi;
  xi << SO3::LeftJacobianInverse(omega) * t_, omega;
  return xi;
}

SE3 SE3::Inverse() const {
  const SO3 ri = r_.Inverse();
  return SE3(ri, -(ri * t_));
}

Mat4 SE3::Matrix() const {
  Mat4 m = Mat4::Identity();
  m.topRows<3>() = Matrix3x4();
  return m;
}

Mat34 SE3::Matrix3x4() const {
  Mat34 m;
  m.leftCols<3>() = r_.Matrix();
  m.col(3) = t_;
  return m;
}

Mat6 SE3::Adjoint() const {
  const Mat3 r = r_.Matrix();
  Mat6 a = Mat6::Zero();
  a.topLeftCorner<3, 3>() = r;
  a.topRightCorner<3, 3>() = Hat(t_) * r;
  a.bottomRightCorner<3, 3>() = r;
  return a;
}

Mat6 SE3::LeftJacobian(const Vec6& xi) {
  const Vec3 rho = xi.head<3>(), omega = xi.tail<3>();
  const Mat3 j = SO3::LeftJacobian(omega);
  Mat6 out = Mat6::Zero();
  out.topLeftCorner<3, 3>() = j;
  out.bottomRightCorner<3, 3>() = j;
  out.topRightCorner<3, 3>() = QBlock(rho, omega);
  return out;
}

Mat6 SE3::LeftJacobianInverse(const Vec6& xi) {
  const Vec3 rho = xi.head<3>(), omega = xi.tail<3>();
  const Mat3 ji = SO3::LeftJacobianInverse(omega);
  Mat6 out = Mat6::Zero();
  out.topLeftCorner<3, 3>() = ji;
  out.bottomRightCorner<3, 3>() = ji;
  out.topRightCorner<3, 3>() = -ji * QBlock(rho, omega) * ji;
  return out;
}

// ---------------------------------------------------------------- Sim3

Sim3::Sim3(const SO3& rotation, const Vec3& translation, double scale)
    : r_(rotation), t_(translation), scale_(scale) {
  if (!(scale > 0.0) || !std::isfinite(scale)) {
    throw std::invalid_argument("Sim3: scale must be positive and finite");
  }
}

namespace {
// Moments M_k(s) = int_0^1 tau^k exp(s tau) d tau for k = 0..6.
void ExpMoments(double s, double m[7]) {
  if (std::abs(s) < 2.0) {
    // Series sum_j s^j / (j! (k + j + 1)); 30 terms reach double precision for |s| < 2.
    for (int k = 0; k < 7; ++k) m[k] = 0.0;
    double term = 1.0;  // s^j / j!
    for (int j = 0; j < 30; ++j) {
      for (int k = 0; k < 7; ++k) m[k] += term / (k + j + 1);
      term *= s / (j + 1);
    }
  } else {
    // Integration by parts; error amplification <= k! / |s|^k is small for |s| >= 2.
    const double es = std::exp(s);
    m[0] = std::expm1(s) / s;
    for (int k = 1; k < 7; ++k) m[k] = (es - k * m[k - 1]) / s;
  }
}

// W(sigma, omega) = int_0^1 exp(tau (sigma I + hat(omega))) d tau, so that the translation of
// Sim3::Exp(rho, omega, sigma) is W * rho. W = c0 I + c1 hat(omega) + c2 hat(omega)^2.
Mat3 Sim3W(double sigma, const Vec3& omega) {
  const double th = omega.norm(), t2 = th * th;
  double m[7];
  ExpMoments(sigma, m);
  double c1, c2;
  if (th < 1e-2) {
    // R(tau omega) = I + tau h + tau^2 h^2 / 2 + tau^3 h^3 / 6 + ..., with h^3 = -th^2 h.
    c1 = m[1] - t2 * m[3] / 6.0 + t2 * t2 * m[5] / 120.0;
    c2 = m[2] / 2.0 - t2 * m[4] / 24.0 + t2 * t2 * m[6] / 720.0;
  } else {
    // int_0^1 exp((sigma + i th) tau) d tau = (exp(sigma + i th) - 1) / (sigma + i th).
    const double es = std::exp(sigma), d = sigma * sigma + t2;
    const double re_num = es * std::cos(th) - 1.0, im_num = es * std::sin(th);
    const double re = (re_num * sigma + im_num * th) / d;  // int exp(s tau) cos(th tau)
    const double im = (im_num * sigma - re_num * th) / d;  // int exp(s tau) sin(th tau)
    c1 = im / th;
    c2 = (m[0] - re) / t2;
  }
  const Mat3 h = Hat(omega);
  return m[0] * Mat3::Identity() + c1 * h + c2 * h * h;
}
}  // namespace

Sim3 Sim3::Exp(const Vec7& xi) {
  const Vec3 rho = xi.head<3>(), omega = xi.segment<3>(3);
  const double sigma = xi(6);
  return Sim3(SO3::Exp(omega), Sim3W(sigma, omega) * rho, std::exp(sigma));
}

Vec7 Sim3::Log() const {
  const Vec3 omega = r_.Log();
  const double sigma = std::log(scale_);
  Vec7 xi;
  xi << Sim3W(sigma, omega).lu().solve(t_), omega, sigma;
  return xi;
}

Sim3 Sim3::Inverse() const {
  const SO3 ri = r_.Inverse();
  const double si = 1.0 / scale_;
  return Sim3(ri, -si * (ri * t_), si);
}

Sim3 Sim3::operator*(const Sim3& o) const {
  return Sim3(r_ * o.r_, scale_ * (r_ * o.t_) + t_, scale_ * o.scale_);
}

Mat4 Sim3::Matrix() const {
  Mat4 m = Mat4::Identity();
  m.topLeftCorner<3, 3>() = scale_ * r_.Matrix();
  m.topRightCorner<3, 1>() = t_;
  return m;
}

Mat7 Sim3::Adjoint() const {
  const Mat3 r = r_.Matrix();
  Mat7 a = Mat7::Zero();
  a.block<3, 3>(0, 0) = scale_ * r;
  a.block<3, 3>(0, 3) = Hat(t_) * r;
  a.block<3, 1>(0, 6) = -t_;
  a.block<3, 3>(3, 3) = r;
  a(6, 6) = 1.0;
  return a;
}

// ---------------------------------------------------------------- Jacobians

Mat36 PointJacobianLeftIncrement(const Vec3& p) {
  Mat36 j;
  j.leftCols<3>().setIdentity();
  j.rightCols<3>() = -Hat(p);
  return j;
}

Mat23 ProjectionJacobian(double fx, double fy, const Vec3& p) {
  const double iz = 1.0 / p.z(), iz2 = iz * iz;
  Mat23 j;
  j << fx * iz, 0.0, -fx * p.x() * iz2, 0.0, fy * iz, -fy * p.y() * iz2;
  return j;
}

Mat26 ProjectedPointJacobianLeftIncrement(double fx, double fy, const Vec3& p) {
  return ProjectionJacobian(fx, fy, p) * PointJacobianLeftIncrement(p);
}

}  // namespace dso
