#include "dso/version.h"

namespace dso {

std::string Version() { return "0.1.0"; }

}  // namespace dso
