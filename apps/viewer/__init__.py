"""Live view of a VO run: the Open3D viewer, an ``apps.pipeline.observer.OutputObserver``.

Open3D is imported only when an ``Open3DViewer`` renders its first frame.
"""
from apps.viewer.open3d_viewer import Open3DViewer, ViewerOptions, display_available

__all__ = ["Open3DViewer", "ViewerOptions", "display_available"]
