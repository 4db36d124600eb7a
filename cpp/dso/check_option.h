// One way for option structs' Check() to validate a field: the CHECK_OPTION family.
//
//   void SystemOptions::Check() const {
//     CHECK_OPTION_GE("SystemOptions", ba.max_iterations, 1);
//     CHECK_OPTION_GT("SystemOptions", ba.huber_threshold, 0);
//     CHECK_OPTION_IN("SystemOptions", keyframes.max_keyframes, 3, 20);
//     CHECK_OPTION("SystemOptions", init.klt_window, init.klt_window >= 3 && init.klt_window % 2 == 1,
//                  "odd and >= 3");
//   }
//
// A failed check throws std::invalid_argument naming the struct, the field (the expression as written),
// the requirement and the value: "SystemOptions.ba.max_iterations must be >= 1, got 0". Comparisons of
// floating-point fields also require a finite value (NaN or inf fail with "... and finite").
// pybind11 turns std::invalid_argument into Python's ValueError.
#pragma once

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace dso {
namespace check_option {

template <typename T>
[[noreturn]] void Fail(const char* owner, const char* field, const T& value, const std::string& requirement) {
  std::ostringstream os;
  os << owner << "." << field << " must be " << requirement << ", got " << value;
  throw std::invalid_argument(os.str());
}

template <typename T>
bool Finite(const T& value) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isfinite(value);
  } else {
    return true;
  }
}

// "<op> <bound>" plus " and finite" for floating-point fields.
template <typename T>
std::string Requirement(const char* op, const char* bound) {
  std::string out = std::string(op) + " " + bound;
  if constexpr (std::is_floating_point_v<T>) out += " and finite";
  return out;
}

template <typename T>
std::string RangeRequirement(const char* low, const char* high) {
  std::string out = std::string("in [") + low + ", " + high + "]";
  if constexpr (std::is_floating_point_v<T>) out += " and finite";
  return out;
}

}  // namespace check_option
}  // namespace dso

// Any condition; `requirement` is the text after "must be".
#define CHECK_OPTION(owner, field, condition, requirement) \
  do {                                                     \
    if (!(condition)) ::dso::check_option::Fail(owner, #field, (field), (requirement)); \
  } while (0)

#define KP3D_CHECK_OPTION_CMP_(owner, field, op, bound)                                                       \
  do {                                                                                                      \
    const auto& kp3d_value_ = (field);                                                                      \
    using kp3d_type_ = std::decay_t<decltype(kp3d_value_)>;                                                 \
    if (!(::dso::check_option::Finite(kp3d_value_) && kp3d_value_ op (bound))) {                             \
      ::dso::check_option::Fail(owner, #field, kp3d_value_,                                                 \
                                ::dso::check_option::Requirement<kp3d_type_>(#op, #bound));                 \
    }                                                                                                       \
  } while (0)

#define CHECK_OPTION_GT(owner, field, bound) KP3D_CHECK_OPTION_CMP_(owner, field, >, bound)
#define CHECK_OPTION_GE(owner, field, bound) KP3D_CHECK_OPTION_CMP_(owner, field, >=, bound)
#define CHECK_OPTION_LT(owner, field, bound) KP3D_CHECK_OPTION_CMP_(owner, field, <, bound)
#define CHECK_OPTION_LE(owner, field, bound) KP3D_CHECK_OPTION_CMP_(owner, field, <=, bound)

// low <= field <= high (both inclusive).
#define CHECK_OPTION_IN(owner, field, low, high)                                                              \
  do {                                                                                                      \
    const auto& kp3d_value_ = (field);                                                                      \
    using kp3d_type_ = std::decay_t<decltype(kp3d_value_)>;                                                 \
    if (!(::dso::check_option::Finite(kp3d_value_) && kp3d_value_ >= (low) && kp3d_value_ <= (high))) {      \
      ::dso::check_option::Fail(owner, #field, kp3d_value_,                                                 \
                                ::dso::check_option::RangeRequirement<kp3d_type_>(#low, #high));            \
    }                                                                                                       \
  } while (0)

// A nested option struct: its Check() error gets "owner.field: " in front.
#define CHECK_OPTION_NESTED(owner, field)                                                                     \
  do {                                                                                                      \
    try {                                                                                                   \
      (field).Check();                                                                                      \
    } catch (const std::invalid_argument& kp3d_error_) {                                                    \
      throw std::invalid_argument(std::string(owner) + "." #field ": " + kp3d_error_.what());               \
    }                                                                                                       \
  } while (0)
