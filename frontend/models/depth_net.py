"""DepthNet: monodepth2-style monocular depth (ResNet encoder + skip-connected decoder).

``forward(image: (B, 1, H, W) float32 in [0, 1]) -> (disp0, disp1, disp2, disp3)`` where
``disp_s: (B, 1, H / 2^s, W / 2^s)`` is a sigmoid output in (0, 1). Convert a disparity with
``disp_to_depth(disp, min_depth, max_depth)``: the disparity is mapped linearly to inverse depth in
``[1 / max_depth, 1 / min_depth]``; the depth (metres, after training on metric-scaled data) is
its inverse.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import nn

from frontend.models.blocks import UpBlock, init_decoder
from frontend.models.config_base import EncoderNetConfig, require
from frontend.models.resnet import ResNetEncoder

NUM_SCALES = 4  # disparity outputs at strides 1, 2, 4, 8


@dataclass
class DepthNetConfig(EncoderNetConfig):
    """DepthNet hyper-parameters (``configs/models/depth_*.yaml``)."""

    KIND = "depth"

    decoder_channels: Tuple[int, ...] = (16, 32, 64, 128, 256)  # decoder widths at strides 1, 2, 4, 8, 16
    min_depth: float = 0.1                  # metres, depth of disparity 1
    max_depth: float = 100.0                # metres, depth of disparity 0

    def check(self) -> None:
        n = type(self).__name__
        self.check_encoder()
        require(len(self.decoder_channels) == 5 and min(self.decoder_channels) >= 1, n,
                f"decoder_channels must be 5 positive ints (strides 1..16), got {self.decoder_channels}")
        require(0.0 < self.min_depth < self.max_depth, n,
                f"need 0 < min_depth < max_depth, got {self.min_depth}, {self.max_depth}")


def disp_to_depth(disp: torch.Tensor, min_depth: float = 0.1,
                  max_depth: float = 100.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sigmoid disparity -> ``(scaled_disp, depth)``, same shape as ``disp``.

    ``scaled_disp = 1/max_depth + (1/min_depth - 1/max_depth) * disp`` (inverse depth, 1/m) and
    ``depth = 1 / scaled_disp`` (metres), so depth lies in ``[min_depth, max_depth]``.
    """
    min_disp = 1.0 / max_depth
    max_disp = 1.0 / min_depth
    scaled_disp = min_disp + (max_disp - min_disp) * disp
    return scaled_disp, 1.0 / scaled_disp


class DepthNet(nn.Module):
    """Monodepth2-style depth network; see the module docstring. H, W multiples of 32."""

    def __init__(self, cfg: DepthNetConfig | dict | None = None):
        super().__init__()
        if cfg is None or isinstance(cfg, dict):
            cfg = DepthNetConfig.from_dict(cfg)
        self.config = cfg
        self.encoder = ResNetEncoder(cfg.encoder_depth, cfg.width_mult, 1, cfg.encoder_layers)
        enc = self.encoder.num_ch_enc
        dec = list(cfg.decoder_channels)
        # Stage k upsamples from stride 2^(5-k) to 2^(4-k); its skip is encoder map 3-k (none last).
        stages = []
        in_ch = enc[4]
        for level in range(4, -1, -1):
            skip_ch = enc[level - 1] if level > 0 else 0
            stages.append(UpBlock(in_ch, skip_ch, dec[level], "elu", norm=False, reflect=True))
            in_ch = dec[level]
        self.stages = nn.ModuleList(stages)
        # Disparity heads at strides 8, 4, 2, 1 (after stages 1..4).
        self.disp_heads = nn.ModuleList(
            [nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dec[level], 1, 3)) for level in range(NUM_SCALES - 1, -1, -1)])
        init_decoder(self.stages)
        init_decoder(self.disp_heads)

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.encoder(image)
        x = feats[4]
        outs = []
        for k, stage in enumerate(self.stages):
            skip: Optional[torch.Tensor] = None
            if k < 4:
                skip = feats[3 - k]
            x = stage(x, skip)
            outs.append(x)
        disps = []
        for k, head in enumerate(self.disp_heads):
            disps.append(torch.sigmoid(head(outs[k + 1])))
        # disps holds strides 8, 4, 2, 1; return scale s = 0..3 (stride 2^s).
        return disps[3], disps[2], disps[1], disps[0]
