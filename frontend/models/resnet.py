"""ResNet encoder (He et al. 2016) for grey images, written for training from scratch.

No torchvision here: the basic-block ResNet is small enough to write directly. The encoder
returns the five feature maps a U-Net style decoder needs:

=====  ======  ==========================  =======================
index  stride  module                      channels (width_mult=1)
=====  ======  ==========================  =======================
0      2       conv1 7x7/2 + BN + ReLU     64
1      4       maxpool + layer1            64
2      8       layer2                      128
3      16      layer3                      256
4      32      layer4                      512
=====  ======  ==========================  =======================

Initialisation: Kaiming-normal (fan_out, ReLU) convolutions, BN gamma=1/beta=0, and the last
BN gamma of every residual block set to zero so that each block starts as the identity
(Goyal et al. 2017) -- this matters when there are no ImageNet weights.
"""
from __future__ import annotations

from typing import List, Sequence

import torch
from torch import nn

# Blocks per stage of the basic-block ResNets.
RESNET_LAYERS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}

# Input normalisation of grey images in [0, 1] (mean/std of the ImageNet grey channel).
GREY_MEAN = 0.45
GREY_STD = 0.225


def scaled_channels(base: int, width_mult: float) -> int:
    """``base * width_mult`` rounded to a multiple of 8 (at least 8)."""
    return max(8, int(round(base * width_mult / 8.0)) * 8)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (projection when the shape changes)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))
        else:
            self.downsample = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class ResNetEncoder(nn.Module):
    """Basic-block ResNet returning 5 feature maps at strides 2, 4, 8, 16, 32.

    Args:
        depth: 10, 18 or 34 (blocks per stage from ``RESNET_LAYERS``), ignored when ``layers`` is given.
        width_mult: channel multiplier (0.5 gives a ~4x lighter network).
        in_channels: input channels (1 for a grey image, 2 for two stacked grey frames).
        layers: optional explicit blocks per stage, 4 positive ints.
        normalize_input: subtract ``GREY_MEAN`` and divide by ``GREY_STD`` first (inputs in [0, 1]).

    ``forward(x: (B, in_channels, H, W) float32) -> list of 5 (B, num_ch_enc[i], H/2^(i+1), W/2^(i+1))``.
    """

    def __init__(self, depth: int = 18, width_mult: float = 1.0, in_channels: int = 1,
                 layers: Sequence[int] | None = None, normalize_input: bool = True):
        super().__init__()
        if layers is None:
            if depth not in RESNET_LAYERS:
                raise ValueError(f"ResNetEncoder depth must be one of {sorted(RESNET_LAYERS)}, got {depth}")
            layers = RESNET_LAYERS[depth]
        layers = tuple(int(n) for n in layers)
        if len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"ResNetEncoder layers must be 4 positive ints, got {layers}")
        if not (0.0 < width_mult <= 4.0):
            raise ValueError(f"ResNetEncoder width_mult must be in (0, 4], got {width_mult}")
        if in_channels < 1:
            raise ValueError(f"ResNetEncoder in_channels must be >= 1, got {in_channels}")
        self.normalize_input = bool(normalize_input)
        self.input_mean = float(GREY_MEAN)
        self.input_std = float(GREY_STD)
        widths = [scaled_channels(c, width_mult) for c in (64, 128, 256, 512)]
        self.num_ch_enc: List[int] = [widths[0]] + widths
        self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages = []
        in_ch = widths[0]
        for i, (n_blocks, out_ch) in enumerate(zip(layers, widths)):
            blocks = [BasicBlock(in_ch, out_ch, 1 if i == 0 else 2)]
            blocks += [BasicBlock(out_ch, out_ch, 1) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            in_ch = out_ch
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        if self.normalize_input:
            x = (x - self.input_mean) / self.input_std
        f0 = self.relu(self.bn1(self.conv1(x)))
        f1 = self.layer1(self.maxpool(f0))
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        f4 = self.layer4(f3)
        return [f0, f1, f2, f3, f4]
