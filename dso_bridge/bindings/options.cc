// Bindings of the backend options (dso::SystemOptions and its nested structs). Every field is a
// read/write attribute; like pycolmap's options, every struct also has todict(), mergedict(dict), a
// keyword constructor (SystemOptions(ba={"max_iterations": 3})) and a __repr__ listing its fields.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "dso/backend_options.h"

namespace py = pybind11;

#define KP3D_RW(cls, field) .def_readwrite(#field, &cls::field)

namespace {

// pycolmap-style dict interface of an option struct: todict(), mergedict(), keyword constructor, __repr__.
// Nested option groups (attributes that have todict/mergedict themselves) become / take nested dicts.
py::dict ToDict(const py::object& self) {
  py::dict out;
  for (py::handle name : py::module_::import("builtins").attr("dir")(self)) {
    const std::string key = py::str(name);
    if (key.empty() || key[0] == '_') continue;
    py::object value = self.attr(name);
    if (PyCallable_Check(value.ptr())) continue;
    out[name] = py::hasattr(value, "todict") ? value.attr("todict")() : value;
  }
  return out;
}

void MergeDict(const py::object& self, const py::dict& values) {
  const std::string owner = py::str(py::type::of(self).attr("__name__"));
  for (auto item : values) {
    const std::string key = py::str(item.first);
    if (key.empty() || key[0] == '_' || !py::hasattr(self, key.c_str()) ||
        PyCallable_Check(self.attr(key.c_str()).ptr())) {
      throw py::key_error(owner + ": unknown option '" + key + "'");
    }
    py::object current = self.attr(key.c_str());
    if (py::hasattr(current, "mergedict") && py::isinstance<py::dict>(item.second)) {
      current.attr("mergedict")(item.second);
    } else {
      self.attr(key.c_str()) = item.second;
    }
  }
}

template <typename T>
py::class_<T> WithDict(py::class_<T> cls) {
  cls.def(py::init([](const py::kwargs& kwargs) {
            auto options = std::make_unique<T>();
            MergeDict(py::cast(options.get(), py::return_value_policy::reference), kwargs);
            return options;
          }),
          "Defaults, then the given fields (option groups as dicts).")
      .def("todict", &ToDict, "Nested dict of every field.")
      .def("mergedict", &MergeDict, py::arg("values"),
           "Sets the fields in `values` (option groups as dicts); an unknown key raises KeyError.")
      .def("__repr__", [](const py::object& self) {
        std::string out = py::str(py::type::of(self).attr("__name__"));
        out += "(";
        bool first = true;
        for (auto item : ToDict(self)) {
          out += (first ? "" : ", ") + std::string(py::str(item.first)) + "=" + std::string(py::repr(item.second));
          first = false;
        }
        return out + ")";
      });
  return cls;
}

}  // namespace

void BindOptions(py::module& m) {
  using dso::BundleAdjustmentOptions;
  using dso::InitializerOptions;
  using dso::KeyframeOptions;
  using dso::PixelSelectorOptions;
  using dso::PointOptions;
  using dso::SystemOptions;
  using dso::TrackerOptions;
  using dso::TrackingOptions;

  WithDict(py::class_<TrackerOptions>(m, "TrackerOptions", "Coarse-to-fine direct alignment (coarse_tracker.h)."))
      .def(py::init<>())
      KP3D_RW(TrackerOptions, max_iterations) KP3D_RW(TrackerOptions, max_levels)
      KP3D_RW(TrackerOptions, huber_threshold) KP3D_RW(TrackerOptions, outlier_threshold)
      KP3D_RW(TrackerOptions, max_outlier_fraction) KP3D_RW(TrackerOptions, max_threshold_doublings)
      KP3D_RW(TrackerOptions, gradient_weight_c) KP3D_RW(TrackerOptions, affine_a_prior)
      KP3D_RW(TrackerOptions, affine_b_prior) KP3D_RW(TrackerOptions, estimate_affine_a)
      KP3D_RW(TrackerOptions, estimate_affine_b) KP3D_RW(TrackerOptions, lambda_initial)
      KP3D_RW(TrackerOptions, lambda_up) KP3D_RW(TrackerOptions, lambda_down)
      KP3D_RW(TrackerOptions, convergence_px) KP3D_RW(TrackerOptions, border_margin)
      KP3D_RW(TrackerOptions, min_residuals) KP3D_RW(TrackerOptions, retrack_threshold)
      KP3D_RW(TrackerOptions, min_inlier_fraction) KP3D_RW(TrackerOptions, merge_cell)
      KP3D_RW(TrackerOptions, min_gradient);

  WithDict(py::class_<PixelSelectorOptions>(m, "PixelSelectorOptions", "Gradient candidate selection (pixel_selector.h)."))
      .def(py::init<>())
      KP3D_RW(PixelSelectorOptions, block_size) KP3D_RW(PixelSelectorOptions, histogram_bins)
      KP3D_RW(PixelSelectorOptions, threshold_quantile) KP3D_RW(PixelSelectorOptions, threshold_offset)
      KP3D_RW(PixelSelectorOptions, coarse_threshold_factor) KP3D_RW(PixelSelectorOptions, num_tiers)
      KP3D_RW(PixelSelectorOptions, border) KP3D_RW(PixelSelectorOptions, count_tolerance)
      KP3D_RW(PixelSelectorOptions, max_iterations) KP3D_RW(PixelSelectorOptions, seed);

  WithDict(py::class_<PointOptions>(m, "PointOptions", "Immature/active point management."))
      .def(py::init<>())
      KP3D_RW(PointOptions, desired_active_points) KP3D_RW(PointOptions, desired_immature_points)
      KP3D_RW(PointOptions, max_keypoint_candidates) KP3D_RW(PointOptions, min_activation_distance_px)
      KP3D_RW(PointOptions, trace_max_pixel_interval) KP3D_RW(PointOptions, trace_min_quality)
      KP3D_RW(PointOptions, trace_step_px) KP3D_RW(PointOptions, trace_max_steps)
      KP3D_RW(PointOptions, trace_gn_iterations) KP3D_RW(PointOptions, trace_outlier_energy)
      KP3D_RW(PointOptions, min_idepth) KP3D_RW(PointOptions, prior_sigma_scale)
      KP3D_RW(PointOptions, default_prior_relative_sigma) KP3D_RW(PointOptions, max_prior_depth);

  WithDict(py::class_<BundleAdjustmentOptions>(m, "BundleAdjustmentOptions", "Windowed photometric bundle adjustment."))
      .def(py::init<>())
      KP3D_RW(BundleAdjustmentOptions, max_iterations) KP3D_RW(BundleAdjustmentOptions, huber_threshold)
      KP3D_RW(BundleAdjustmentOptions, gradient_weight_c) KP3D_RW(BundleAdjustmentOptions, outlier_energy)
      KP3D_RW(BundleAdjustmentOptions, initial_lambda) KP3D_RW(BundleAdjustmentOptions, affine_a_prior)
      KP3D_RW(BundleAdjustmentOptions, affine_b_prior) KP3D_RW(BundleAdjustmentOptions, depth_prior_weight)
      KP3D_RW(BundleAdjustmentOptions, prior_scale_gain) KP3D_RW(BundleAdjustmentOptions, prior_scale_min_points)
      KP3D_RW(BundleAdjustmentOptions, prior_handover_planes)
      KP3D_RW(BundleAdjustmentOptions, prior_handover_sigma_scale)
      KP3D_RW(BundleAdjustmentOptions, prior_scale_near_fraction)
      KP3D_RW(BundleAdjustmentOptions, prior_scale_ground)
      KP3D_RW(BundleAdjustmentOptions, ground_height_samples) KP3D_RW(BundleAdjustmentOptions, ground_height_gain) KP3D_RW(BundleAdjustmentOptions, ground_height_max_error) KP3D_RW(BundleAdjustmentOptions, ground_height_relock)
      KP3D_RW(BundleAdjustmentOptions, ground_height_drift_band)
      KP3D_RW(BundleAdjustmentOptions, camera_height) KP3D_RW(BundleAdjustmentOptions, camera_height_relock_band)
      KP3D_RW(BundleAdjustmentOptions, ground_target_prior_band)
      KP3D_RW(BundleAdjustmentOptions, ground_height_bias) KP3D_RW(BundleAdjustmentOptions, ground_curvature_correction)
      KP3D_RW(BundleAdjustmentOptions, ground_height_max_normal_deg)
      KP3D_RW(BundleAdjustmentOptions, ground_search_near_held_deg) KP3D_RW(BundleAdjustmentOptions, ground_height_parallel_deg)
      KP3D_RW(BundleAdjustmentOptions, ground_height_parallel_max_error)
      KP3D_RW(BundleAdjustmentOptions, first_frame_prior) KP3D_RW(BundleAdjustmentOptions, stop_update_norm)
      KP3D_RW(BundleAdjustmentOptions, num_threads)
      KP3D_RW(BundleAdjustmentOptions, marginalize_points_min_residuals);

  WithDict(py::class_<KeyframeOptions>(m, "KeyframeOptions", "Sliding window and keyframe decision."))
      .def(py::init<>())
      KP3D_RW(KeyframeOptions, max_keyframes) KP3D_RW(KeyframeOptions, min_keyframes)
      KP3D_RW(KeyframeOptions, translation_flow_fraction) KP3D_RW(KeyframeOptions, rotation_translation_flow_fraction)
      KP3D_RW(KeyframeOptions, brightness_threshold) KP3D_RW(KeyframeOptions, rmse_increase)
      KP3D_RW(KeyframeOptions, global_weight) KP3D_RW(KeyframeOptions, max_frames_between_keyframes)
      KP3D_RW(KeyframeOptions, min_points_remaining)
      KP3D_RW(KeyframeOptions, max_log_affine_in_window)
      KP3D_RW(KeyframeOptions, forced_keyframe_min_translation)
      KP3D_RW(KeyframeOptions, marginalized_follow_keyframes);

  WithDict(py::class_<InitializerOptions>(m, "InitializerOptions", "Two-view initialisation (no depth prior)."))
      .def(py::init<>())
      KP3D_RW(InitializerOptions, max_features) KP3D_RW(InitializerOptions, min_parallax_px)
      KP3D_RW(InitializerOptions, ransac_iterations) KP3D_RW(InitializerOptions, ransac_threshold_px)
      KP3D_RW(InitializerOptions, min_inliers) KP3D_RW(InitializerOptions, max_init_frames)
      KP3D_RW(InitializerOptions, min_parallax_deg) KP3D_RW(InitializerOptions, max_direction_sigma_deg)
      KP3D_RW(InitializerOptions, min_inlier_ratio) KP3D_RW(InitializerOptions, reference_interval)
      KP3D_RW(InitializerOptions, max_references)
      KP3D_RW(InitializerOptions, klt_levels) KP3D_RW(InitializerOptions, klt_window);

  WithDict(py::class_<TrackingOptions>(m, "TrackingOptions", "Tracking-quality checks and recovery."))
      .def(py::init<>())
      KP3D_RW(TrackingOptions, max_rmse) KP3D_RW(TrackingOptions, lost_frames_before_reinit)
      KP3D_RW(TrackingOptions, pyramid_levels)
      KP3D_RW(TrackingOptions, retrack_rmse_history)
      KP3D_RW(TrackingOptions, init_pose_coarsest_level)
      KP3D_RW(TrackingOptions, init_pose_prediction_margin)
      KP3D_RW(TrackingOptions, init_pose_prediction_min_shift_px)
      KP3D_RW(TrackingOptions, motion_time_tolerance)
      KP3D_RW(TrackingOptions, max_rotation_change_deg);

  WithDict(py::class_<SystemOptions>(m, "SystemOptions", "All backend options; check() raises ValueError naming a bad field."))
      .def(py::init<>())
      KP3D_RW(SystemOptions, tracker) KP3D_RW(SystemOptions, selector) KP3D_RW(SystemOptions, points)
      KP3D_RW(SystemOptions, ba) KP3D_RW(SystemOptions, keyframes) KP3D_RW(SystemOptions, init)
      KP3D_RW(SystemOptions, tracking) KP3D_RW(SystemOptions, use_depth_prior)
      KP3D_RW(SystemOptions, mapping_thread) KP3D_RW(SystemOptions, mapping_max_backlog)
      .def("check", &SystemOptions::Check, "Raises ValueError naming the first invalid field.");
}
