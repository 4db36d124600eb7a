"""Live view of a VO run: the Open3D viewer, an ``apps.pipeline.observer.OutputObserver``.

Nothing heavy is imported with the package (``kp3d-vo``'s argument parser reads ``apps.viewer.cli_args``):
``Open3DViewer``, ``ViewerOptions`` and ``display_available`` load ``apps.viewer.open3d_viewer`` on first
access, and Open3D itself is imported only when an ``Open3DViewer`` renders its first frame.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Open3DViewer", "ViewerOptions", "display_available"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("apps.viewer.open3d_viewer"), name)
    raise AttributeError(f"module 'apps.viewer' has no attribute {name!r}")
