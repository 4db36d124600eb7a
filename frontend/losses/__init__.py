"""Self-supervised losses: photometric (monodepth2-style), keypoint (KP2D) and multi-view (KP3D)."""
