#pragma once
#include <string>

namespace dso {

// Version of the backend library, "MAJOR.MINOR.PATCH".
std::string Version();

}  // namespace dso
