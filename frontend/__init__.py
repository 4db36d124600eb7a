"""PyTorch frontend: KeypointNet / DepthNet / PoseNet, TorchScript export, inference runtime, HPatches evaluation.

Submodules are imported explicitly (``frontend.models``, ``frontend.inference``, ...); importing
``frontend`` itself loads nothing heavy.
"""
