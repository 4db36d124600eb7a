"""Self-supervised training of the frontend networks (KP2D homography adaptation, monodepth2-style
depth, KP3D multi-view adaptation): data, augmentation, trainers, checkpoints, distributed runs."""
