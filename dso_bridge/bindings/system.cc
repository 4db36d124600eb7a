// Bindings of dso::System (the DS-DSO backend): numpy in, numpy out. Arguments are validated here
// (dtype, shape, size, finiteness) and ValueError names the argument and what was expected; the
// heavy work runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dso/system.h"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::string ShapeString(const py::array& a) {
  std::ostringstream os;
  os << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) os << (i ? ", " : "") << a.shape(i);
  os << (a.ndim() == 1 ? ",)" : ")");
  return os.str();
}

// Validates an optional array argument: numpy array of dtype `dtype` (float32 / float64) with the
// given shape (-1 = any). Returns a C-contiguous copy/view, or nullopt for None.
template <typename T>
std::optional<py::array_t<T, py::array::c_style | py::array::forcecast>> CheckArray(
    const py::object& obj, const char* name, const std::vector<py::ssize_t>& shape, const char* expected,
    bool allow_nonfinite = false) {
  if (obj.is_none()) return std::nullopt;
  if (!py::isinstance<py::array>(obj)) {
    throw py::value_error(std::string(name) + " must be a numpy array " + expected + ", got " +
                          std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  }
  py::array a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<T>())) {
    throw py::value_error(std::string(name) + " must be " + expected + ", got dtype " +
                          std::string(py::str(a.dtype())));
  }
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || a.shape(i) == shape[i];
  if (!ok) throw py::value_error(std::string(name) + " must be " + expected + ", got shape " + ShapeString(a));
  auto c = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!c) throw py::value_error(std::string(name) + ": cannot convert to a C-contiguous array");
  if (!allow_nonfinite) {
    const T* p = c.data();
    for (py::ssize_t i = 0; i < c.size(); ++i) {
      if (!std::isfinite(p[i])) {
        throw py::value_error(std::string(name) + " contains NaN or infinite values (expected " + expected + ")");
      }
    }
  }
  return c;
}

py::array_t<double> MatsToArray(const std::vector<dso::Mat4>& mats) {
  py::array_t<double> out({static_cast<py::ssize_t>(mats.size()), py::ssize_t{4}, py::ssize_t{4}});
  auto r = out.mutable_unchecked<3>();
  for (size_t i = 0; i < mats.size(); ++i) {
    for (int a = 0; a < 4; ++a) {
      for (int b = 0; b < 4; ++b) r(i, a, b) = mats[i](a, b);
    }
  }
  return out;
}

py::tuple PointsToTuple(const std::vector<Eigen::Vector3f>& xyz, const std::vector<uint8_t>& grey) {
  py::array_t<float> a({static_cast<py::ssize_t>(xyz.size()), py::ssize_t{3}});
  auto r = a.mutable_unchecked<2>();
  for (size_t i = 0; i < xyz.size(); ++i) {
    for (int j = 0; j < 3; ++j) r(i, j) = xyz[i](j);
  }
  return py::make_tuple(a, py::array_t<uint8_t>(grey.size(), grey.data()));
}

py::dict TimingsToDict(const dso::FrameTimings& timings) {
  py::dict t;
  t["total"] = timings.total;
  t["pyramid"] = timings.pyramid;
  t["tracking"] = timings.tracking;
  t["point_tracing"] = timings.point_tracing;
  t["activation"] = timings.activation;
  t["bundle_adjustment"] = timings.bundle_adjustment;
  t["marginalization"] = timings.marginalization;
  t["initialization"] = timings.initialization;
  return t;
}

py::dict GroundHoldToDict(const dso::GroundHoldStats& st) {
  py::dict d;
  d["planes"] = st.planes;
  d["measuring"] = st.measuring;
  d["accepted"] = st.accepted;
  d["rejected_tilt"] = st.rejected_tilt;
  d["rejected_height"] = st.rejected_height;
  d["locks"] = st.locks;
  d["prior_chosen"] = st.prior_chosen;
  return d;
}

py::dict ResultToDict(const dso::FrameResult& r) {
  py::dict d;
  d["frame_index"] = r.frame_index;
  d["timestamp"] = r.timestamp;
  d["status"] = std::string(dso::FrameStatusName(r.status));
  d["is_keyframe"] = r.is_keyframe;
  d["world_from_cam"] = MatsToArray({r.world_from_cam})[py::int_(0)];
  d["tracking_rmse"] = r.tracking_rmse;
  d["rotation_change_deg"] = r.rotation_change_deg;
  d["rotation_rejected"] = r.rotation_rejected;
  d["num_active_points"] = r.num_active_points;
  d["num_immature_points"] = r.num_immature_points;
  d["num_keyframes"] = r.num_keyframes;
  d["timings_ms"] = TimingsToDict(r.timings);
  return d;
}

py::dict Track(dso::System& system, const py::object& image, double timestamp, const py::object& keypoints,
               const py::object& scores, const py::object& depth, const py::object& keypoint_idepth,
               const py::object& keypoint_idepth_var, const py::object& init_pose, double exposure) {
  const int w = system.camera().width, h = system.camera().height;
  const std::string img_shape = "(" + std::to_string(h) + ", " + std::to_string(w) + ") float32";
  if (image.is_none()) throw py::value_error("image must be a numpy array " + img_shape + ", got None");
  if (!std::isfinite(timestamp)) throw py::value_error("timestamp must be finite");
  auto img = CheckArray<float>(image, "image", {h, w}, (img_shape + " grey in [0, 255]").c_str());
  if (keypoints.is_none() && !(scores.is_none() && keypoint_idepth.is_none() && keypoint_idepth_var.is_none())) {
    throw py::value_error("scores/keypoint_idepth/keypoint_idepth_var need keypoints (K, 2) float32");
  }
  auto kps = CheckArray<float>(keypoints, "keypoints", {-1, 2}, "(K, 2) float32 pixels (x, y)");
  const py::ssize_t k = kps ? kps->shape(0) : 0;
  auto sc = CheckArray<float>(scores, "scores", {k}, ("(" + std::to_string(k) + ",) float32 (one per keypoint)").c_str());
  auto dep = CheckArray<float>(depth, "depth", {h, w}, (img_shape + " metres (0 = unknown)").c_str());
  auto kid = CheckArray<float>(keypoint_idepth, "keypoint_idepth", {k},
                               ("(" + std::to_string(k) + ",) float32 1/m (one per keypoint)").c_str());
  auto kvar = CheckArray<float>(keypoint_idepth_var, "keypoint_idepth_var", {k},
                                ("(" + std::to_string(k) + ",) float32 (1/m)^2 (one per keypoint)").c_str());
  auto pose = CheckArray<double>(init_pose, "init_pose", {4, 4}, "(4, 4) float64 world_from_cam");
  if (kvar && !kid) throw py::value_error("keypoint_idepth_var needs keypoint_idepth");
  if (dep) {
    const float* p = dep->data();
    for (py::ssize_t i = 0; i < dep->size(); ++i) {
      if (p[i] < 0) throw py::value_error("depth must be >= 0 metres (0 = unknown), found negative values");
    }
  }
  dso::Mat4 pose_m;
  dso::FrameInput in;
  in.image = img->data();
  in.width = w;
  in.height = h;
  in.timestamp = timestamp;
  if (kps) {
    in.keypoints = kps->data();
    in.num_keypoints = static_cast<int>(k);
  }
  if (sc) in.scores = sc->data();
  if (dep) in.depth = dep->data();
  if (kid) in.keypoint_idepth = kid->data();
  if (kvar) in.keypoint_idepth_var = kvar->data();
  if (!(exposure >= 0.0) || !std::isfinite(exposure)) {
    throw py::value_error("exposure must be a finite exposure time >= 0 (0 = unknown), got " +
                          std::to_string(exposure));
  }
  in.exposure = exposure;
  if (pose) {
    auto r = pose->unchecked<2>();
    for (int a = 0; a < 4; ++a) {
      for (int b = 0; b < 4; ++b) pose_m(a, b) = r(a, b);
    }
    in.init_world_from_cam = &pose_m;
  }
  dso::FrameResult result;
  {
    py::gil_scoped_release release;
    result = system.Track(in);
  }
  return ResultToDict(result);
}

}  // namespace

void BindSystem(py::module& m) {
  py::class_<dso::System>(m, "System", "DS-DSO backend (C++). Use dso_bridge.Backend for the typed wrapper.")
      .def(py::init([](double fx, double fy, double cx, double cy, int width, int height,
                       const dso::SystemOptions& options) {
             return std::make_unique<dso::System>(dso::PinholeCamera(fx, fy, cx, cy, width, height), options);
           }),
           py::arg("fx"), py::arg("fy"), py::arg("cx"), py::arg("cy"), py::arg("width"), py::arg("height"),
           py::arg_v("options", dso::SystemOptions(), "SystemOptions()"))
      .def("track", &Track, py::arg("image"), py::arg("timestamp"), py::arg("keypoints") = py::none(),
           py::arg("scores") = py::none(), py::arg("depth") = py::none(), py::arg("keypoint_idepth") = py::none(),
           py::arg("keypoint_idepth_var") = py::none(), py::arg("init_pose") = py::none(), py::arg("exposure") = 0.0,
           "Processes one frame; returns a dict (see dso_bridge.FrameResult).")
      .def("set_photometric_calibration",
           [](dso::System& s, const py::object& inverse_response, const py::object& vignette) {
             const int w = s.camera().width, h = s.camera().height;
             dso::PhotometricCalibration c;
             if (auto g = CheckArray<float>(inverse_response, "inverse_response", {256},
                                            "(256,) float32 non-decreasing (G^-1 of grey levels 0..255)")) {
               c.inverse_response.assign(g->data(), g->data() + g->size());
             }
             const std::string shape = "(" + std::to_string(h) + ", " + std::to_string(w) + ") float32 in (0, 1]";
             if (auto v = CheckArray<float>(vignette, "vignette", {h, w}, shape.c_str())) {
               c.vignette.assign(v->data(), v->data() + v->size());
             }
             try {
               s.SetPhotometricCalibration(c);
             } catch (const std::logic_error& e) {
               if (dynamic_cast<const std::invalid_argument*>(&e) != nullptr) throw py::value_error(e.what());
               throw std::runtime_error(e.what());
             }
           },
           py::arg("inverse_response") = py::none(), py::arg("vignette") = py::none(),
           "DSO's photometric calibration: frames become G^-1(I) / V before tracking (before the first frame).")
      .def("flush",
           [](dso::System& s) {
             py::gil_scoped_release release;
             s.Flush();
           },
           "Waits for the mapping thread to process every tracked frame (no-op without one).")
      .def("mapping_timings", [](const dso::System& s) { return TimingsToDict(s.MappingTimings()); },
           "Summed milliseconds of the mapping thread's work (zeros without one).")
      .def("trajectory",
           [](const dso::System& s) {
             std::vector<dso::Mat4> poses;
             {
               py::gil_scoped_release release;
               poses = s.Trajectory();
             }
             return MatsToArray(poses);
           },
           "(N, 4, 4) float64 world_from_cam of every frame (current estimates; flush() first for final ones).")
      .def("timestamps", &dso::System::Timestamps)
      .def("keyframe_poses",
           [](const dso::System& s) {
             std::vector<int> idx;
             auto poses = MatsToArray(s.KeyframePoses(&idx));
             return py::make_tuple(poses, py::array_t<int64_t>(idx.size(), std::vector<int64_t>(idx.begin(), idx.end()).data()));
           },
           "((M, 4, 4) float64 world_from_cam, (M,) int64 frame indices) of every keyframe.")
      .def("points",
           [](const dso::System& s, bool include_marginalized) {
             std::vector<Eigen::Vector3f> xyz;
             std::vector<uint8_t> grey;
             {
               py::gil_scoped_release release;
               s.Points(&xyz, &grey, include_marginalized);
             }
             return PointsToTuple(xyz, grey);
           },
           py::arg("include_marginalized") = true, "((M, 3) float32 world xyz, (M,) uint8 grey).")
      .def("marginalized_points",
           [](const dso::System& s, py::ssize_t start) {
             if (start < 0) throw py::value_error("start must be >= 0, got " + std::to_string(start));
             std::vector<Eigen::Vector3f> xyz;
             std::vector<uint8_t> grey;
             {
               py::gil_scoped_release release;
               s.MarginalizedPointsSince(static_cast<size_t>(start), &xyz, &grey);
             }
             return PointsToTuple(xyz, grey);
           },
           py::arg("start") = 0,
           "Marginalised points from the start-th on: ((M - start, 3) float32 world xyz, (M - start,) uint8 grey).")
      .def("frame_statuses",
           [](const dso::System& s) {
             std::vector<std::string> out;
             for (dso::FrameStatus st : s.FrameStatuses()) out.emplace_back(dso::FrameStatusName(st));
             return out;
           })
      .def_property_readonly("num_frames", &dso::System::NumFrames)
      .def_property_readonly("prior_frames", &dso::System::PriorFrames)
      .def_property_readonly("marginalized_revision", &dso::System::MarginalizedRevision,
                             "Changes of the map's unit that moved the marginalised points already returned "
                             "(ba.camera_height): when it changes, fetch them all again.")
      .def_property_readonly("ground_height", &dso::System::GroundHeight,
                             "The camera's height above the road held by ba.ground_height_*, in the map's unit "
                             "(the planes' fitted height / ba.ground_height_bias; 0 until measured, and again while "
                             "it is measured anew after a relock).")
      .def_property_readonly("in_metres", &dso::System::InMetres,
                             "True once ba.camera_height has put the map in metres (for the rest of the run, "
                             "relocks of the held height and map resets included).")
      .def_property_readonly(
          "ground_hold",
          [](const dso::System& self) { return GroundHoldToDict(self.GroundHold()); },
          "What the camera-height hold (ba.ground_height_*) did with the road planes so far: planes given, "
          "taken while a target was measured, accepted (corrected the scale), rejected as tilted from the held "
          "road or at a height outside the band, and targets set (the first and one per relock).");
}
