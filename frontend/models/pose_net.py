"""PoseNet: relative camera motion between two grey frames (monodepth2-style).

``forward(image_a, image_b)`` with both ``(B, 1, H, W) float32`` in [0, 1] stacks the frames
as ``[a, b]`` (2 channels) through a ResNet encoder; a small convolutional decoder averages its
output over the image to ``(B, 6) = (axis_angle (3, radians), translation (3, metres up to the
scale of the depth))`` of ``cam_b_from_cam_a``, the rigid transform that maps a point from camera-a
coordinates to camera-b coordinates: ``X_b = R(axis_angle) X_a + t``. Outputs are multiplied by
small constants (``rotation_scale``, ``translation_scale``, default 0.01) so training starts near
the identity. ``pose_vector_to_matrix`` turns the vector into ``(B, 4, 4)`` matrices.
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


def axis_angle_to_matrix(axis_angle: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Rodrigues: ``(B, 3)`` radians -> ``(B, 3, 3)`` rotation matrices (differentiable, stable at 0)."""
    theta2 = (axis_angle * axis_angle).sum(dim=1, keepdim=True)
    theta = torch.sqrt(theta2 + eps)
    # sin(t)/t and (1 - cos t)/t^2 with series expansions for small angles.
    small = theta2 < 1e-6
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / (theta * theta))
    x, y, z = axis_angle[:, 0], axis_angle[:, 1], axis_angle[:, 2]
    zero = torch.zeros_like(x)
    skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=1).view(-1, 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device).expand_as(skew)
    return eye + a.view(-1, 1, 1) * skew + b.view(-1, 1, 1) * (skew @ skew)


def pose_vector_to_matrix(pose: torch.Tensor) -> torch.Tensor:
    """``(B, 6)`` (axis-angle, translation) -> ``(B, 4, 4)`` rigid transforms ``[[R, t], [0, 1]]``."""
    if pose.dim() != 2 or pose.shape[1] != 6:
        raise ValueError(f"pose must be (B, 6), got {list(pose.shape)}")
    out = torch.zeros(pose.shape[0], 4, 4, dtype=pose.dtype, device=pose.device)
    out[:, :3, :3] = axis_angle_to_matrix(pose[:, :3])
    out[:, :3, 3] = pose[:, 3:]
    out[:, 3, 3] = 1.0
    return out
