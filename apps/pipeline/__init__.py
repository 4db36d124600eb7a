"""The VO pipeline: frontend (TorchScript) -> odometry (DS-DSO backend / DSO / frame-to-frame) -> outputs."""
