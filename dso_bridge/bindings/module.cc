// Entry point of the dso_bridge._dso_bridge extension. Each binding file defines one
// BindX(py::module&) (pycolmap style); this file only calls them.
#include <pybind11/pybind11.h>

#include "dso/version.h"

namespace py = pybind11;

void BindOptions(py::module& m);  // bindings/options.cc
void BindSystem(py::module& m);   // bindings/system.cc

PYBIND11_MODULE(_dso_bridge, m) {
  m.doc() = "pybind11 bindings of the kp3d-vo C++ DS-DSO backend";
  m.def("version", &dso::Version, "Version of the C++ backend library.");
  BindOptions(m);
  BindSystem(m);
}
