"""PoseNet: relative camera motion between two grey frames (monodepth2-style).

``forward(image_a, image_b)`` with both ``(B, 1, H, W) float32`` in [0, 1] stacks the frames
as ``[a, b]`` (2 channels) through a ResNet encoder; a small convolutional decoder averages its
output over the image to ``(B, 6) = (axis_angle (3, radians), translation (3, metres up to the
scale of the depth))`` of ``cam_b_from_cam_a``, the rigid transform that maps a point from camera-a
coordinates to camera-b coordinates: ``X_b = R(axis_angle) X_a + t``. Outputs are multiplied by
small constants (``rotation_scale``, ``translation_scale``, default 0.01) so training starts near
the identity. ``frontend.geometry.pose_vec_to_matrix`` turns the vector into ``(B, 4, 4)`` matrices.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from frontend.models.config_base import EncoderNetConfig, require
from frontend.models.resnet import ResNetEncoder


@dataclass
class PoseNetConfig(EncoderNetConfig):
    """PoseNet hyper-parameters (``configs/models/pose.yaml``)."""

    KIND = "pose"

    decoder_channels: int = 256             # width of the pose decoder convolutions
    rotation_scale: float = 0.01            # output scaling of the axis-angle (radians)
    translation_scale: float = 0.01         # output scaling of the translation

    def check(self) -> None:
        n = type(self).__name__
        self.check_encoder()
        require(self.decoder_channels >= 1, n, f"decoder_channels must be >= 1, got {self.decoder_channels}")
        require(self.rotation_scale > 0 and self.translation_scale > 0, n,
                "rotation_scale and translation_scale must be > 0")


class PoseNet(nn.Module):
    """``forward(image_a, image_b) -> (B, 6)`` axis-angle + translation of ``cam_b_from_cam_a``."""

    def __init__(self, cfg: PoseNetConfig | dict | None = None):
        super().__init__()
        if cfg is None or isinstance(cfg, dict):
            cfg = PoseNetConfig.from_dict(cfg)
        self.config = cfg
        self.encoder = ResNetEncoder(cfg.encoder_depth, cfg.width_mult, 2, cfg.encoder_layers)
        c = cfg.decoder_channels
        self.decoder = nn.Sequential(
            nn.Conv2d(self.encoder.num_ch_enc[4], c, 1), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, 6, 1))
        self.register_buffer("output_scale", torch.tensor(
            [cfg.rotation_scale] * 3 + [cfg.translation_scale] * 3, dtype=torch.float32), persistent=False)

    def forward(self, image_a: torch.Tensor, image_b: torch.Tensor) -> torch.Tensor:
        if image_a.shape != image_b.shape:
            raise ValueError(f"PoseNet: image_a {list(image_a.shape)} and image_b {list(image_b.shape)} differ")
        x = self.decoder(self.encoder(torch.cat([image_a, image_b], dim=1))[4])
        return x.mean(dim=(2, 3)) * self.output_scale
