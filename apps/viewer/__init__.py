"""Live view of a VO run: observer interface (``OutputObserver``) and the Open3D viewer.

Open3D is imported only when an ``Open3DViewer`` renders its first frame.
"""
from apps.viewer.observer import CompositeObserver, OutputObserver
from apps.viewer.open3d_viewer import Open3DViewer, ViewerOptions, display_available

__all__ = ["OutputObserver", "CompositeObserver", "Open3DViewer", "ViewerOptions", "display_available"]
