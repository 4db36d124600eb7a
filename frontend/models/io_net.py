"""IO-Net (KP2D): a 1-D convolutional point-pair classifier for outlier rejection.

Input ``(B, C_in, K)`` features of K point pairs (default C_in = 5: source x, y and target x, y in
[-1, 1] plus descriptor distance); output ``(B, 1, K)`` inlier logits. Residual blocks of 1x1
convolutions with context normalisation (instance norm over the K points, which lets each pair see
the statistics of all others) followed by batch norm, as in PointCN-style correspondence networks.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class IONetConfig:
    in_channels: int = 5   # features per point pair
    width: int = 128       # channels of the hidden layers
    blocks: int = 4        # residual blocks

    def __post_init__(self) -> None:
        if self.in_channels < 1 or self.width < 8 or self.blocks < 1:
            raise ValueError(f"IONetConfig: need in_channels >= 1, width >= 8, blocks >= 1, got {self}")


class _Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.InstanceNorm1d(width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Conv1d(width, width, 1),
            nn.InstanceNorm1d(width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Conv1d(width, width, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class IONet(nn.Module):
    """Point-pair inlier classifier: ``(B, C_in, K)`` -> ``(B, 1, K)`` logits (K >= 2)."""

    def __init__(self, config: IONetConfig | None = None):
        super().__init__()
        self.config = config or IONetConfig()
        c = self.config
        self.stem = nn.Conv1d(c.in_channels, c.width, 1)
        self.blocks = nn.Sequential(*[_Block(c.width) for _ in range(c.blocks)])
        self.head = nn.Conv1d(c.width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != self.config.in_channels or x.shape[2] < 2:
            raise ValueError(f"IONet: expected (B, {self.config.in_channels}, K>=2) input, got {tuple(x.shape)}")
        return self.head(self.blocks(self.stem(x)))
