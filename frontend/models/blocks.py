"""Decoder building blocks shared by KeypointNet and DepthNet (TorchScript-compatible)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def _activation(name: str) -> nn.Module:
    if name == "elu":
        return nn.ELU(inplace=True)
    if name == "lrelu":
        return nn.LeakyReLU(0.1, inplace=True)
    if name == "relu":
        return nn.ReLU(inplace=True)
    raise ValueError(f"activation must be 'elu', 'lrelu' or 'relu', got {name!r}")


class ConvAct(nn.Module):
    """3x3 convolution (zero or reflection padding), optional BatchNorm, activation."""

    def __init__(self, in_ch: int, out_ch: int, act: str = "elu", norm: bool = False, reflect: bool = True):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1) if reflect else nn.ZeroPad2d(1)
        self.conv = nn.Conv2d(in_ch, out_ch, 3, bias=not norm)
        self.norm = nn.BatchNorm2d(out_ch) if norm else nn.Identity()
        self.act = _activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.pad(x))))


class UpBlock(nn.Module):
    """conv -> nearest x2 upsampling -> concat skip (optional) -> conv; doubles the resolution.

    ``forward(x: (B, in_ch, h, w), skip: (B, skip_ch, 2h, 2w) | None) -> (B, out_ch, 2h, 2w)``.
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, act: str = "elu", norm: bool = False,
                 reflect: bool = True):
        super().__init__()
        self.conv0 = ConvAct(in_ch, out_ch, act, norm, reflect)
        self.conv1 = ConvAct(out_ch + skip_ch, out_ch, act, norm, reflect)
        self.skip_ch = skip_ch

    def forward(self, x: torch.Tensor, skip: Optional[torch.Tensor]) -> torch.Tensor:
        x = F.interpolate(self.conv0(x), scale_factor=2.0, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv1(x)


def init_decoder(module: nn.Module) -> None:
    """Kaiming-normal init of every convolution in ``module`` (zero bias)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="leaky_relu", a=0.1)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
