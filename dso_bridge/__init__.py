"""Python bindings of the C++ DS-DSO backend (numpy in, numpy out).

``Backend`` (typed wrapper) and ``SystemOptions`` (bound options struct; ``options_from_dict`` /
``load_options`` build it from a dict or YAML file).
"""
from dso_bridge._dso_bridge import (
    BundleAdjustmentOptions,
    InitializerOptions,
    KeyframeOptions,
    PixelSelectorOptions,
    PointOptions,
    SystemOptions,
    TrackerOptions,
    TrackingOptions,
    version,
)
from dso_bridge.backend import FRAME_STATUSES, Backend, FrameResult
from dso_bridge.options import load_options, options_from_dict, options_to_dict

__all__ = [
    "Backend", "FrameResult", "FRAME_STATUSES", "SystemOptions", "TrackerOptions", "PixelSelectorOptions",
    "PointOptions", "BundleAdjustmentOptions", "KeyframeOptions", "InitializerOptions", "TrackingOptions",
    "options_from_dict", "options_to_dict", "load_options", "version",
]
