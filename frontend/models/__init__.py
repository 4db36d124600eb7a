"""Frontend networks (ResNet encoder, KeypointNet, DepthNet, PoseNet), configs and checkpoints."""
from frontend.models.depth_net import DepthNet, DepthNetConfig, disp_to_depth
from frontend.models.factory import (build_depth_net, build_keypoint_net, build_model, build_pose_net,
                                     load_checkpoint, load_config_file, read_checkpoint, save_checkpoint)
from frontend.models.keypoint_net import CELL, KeypointNet, KeypointNetConfig
from frontend.models.pose_net import PoseNet, PoseNetConfig
from frontend.models.resnet import ResNetEncoder

__all__ = [
    "CELL", "DepthNet", "DepthNetConfig", "KeypointNet", "KeypointNetConfig", "PoseNet", "PoseNetConfig",
    "ResNetEncoder", "build_depth_net", "build_keypoint_net", "build_model",
    "build_pose_net", "disp_to_depth", "load_checkpoint", "load_config_file",
    "read_checkpoint", "save_checkpoint",
]
