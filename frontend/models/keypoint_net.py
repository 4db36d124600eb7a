"""KeypointNet: KP2D/KP3D-style keypoint detector and descriptor on a ResNet encoder.

The image is divided into ``CELL x CELL`` (8x8) pixel cells. For every cell the network predicts
a score in [0, 1], one keypoint position and (through a dense map) a descriptor:

* ``score (B, 1, H/8, W/8)``: sigmoid.
* ``coord (B, 2, H/8, W/8)``: full-image pixel ``(x, y)``, pixel-centre convention (the centre of
  the top-left pixel is (0, 0)). ``coord = cell_centre + tanh(offset) * CELL * cross_ratio / 2``
  where the centre of cell ``(i, j)`` is ``(8 j + 3.5, 8 i + 3.5)``; with the default
  ``cross_ratio=2`` a keypoint may move up to one cell beyond its own. Coordinates are clamped
  to the image ``[0, W-1] x [0, H-1]``.
* ``desc (B, D, H/s, W/s)``: dense L2-normalised descriptor map at stride ``s = desc_stride``
  (4 or 8); sample it at keypoints with ``frontend.keypoints.sample_descriptors``.

Border cells are not removed by the network; ``frontend.keypoints.select_topk`` drops
``border_cells`` rings of cells at selection time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from frontend.models.blocks import ConvAct, UpBlock, init_decoder
from frontend.models.config_base import EncoderNetConfig, require
from frontend.models.resnet import ResNetEncoder

CELL = 8  # keypoint cell size in pixels (= stride of score and coord maps)


@dataclass
class KeypointNetConfig(EncoderNetConfig):
    """KeypointNet hyper-parameters (``configs/models/keypoint_*.yaml``)."""

    KIND = "keypoint"

    decoder_channels: Tuple[int, ...] = (128, 128, 64)  # decoder widths at strides 16, 8, 4
    head_channels: int = 128                # hidden width of the score/location/descriptor heads
    desc_dim: int = 64                      # descriptor length D
    desc_stride: int = 4                    # stride of the dense descriptor map (4 or 8)
    cross_ratio: float = 2.0                # max keypoint offset = CELL * cross_ratio / 2 pixels
    border_cells: int = 1                   # rings of border cells dropped at top-k selection
    top_k: int = 1000                       # default keypoint budget of export/runtime

    def check(self) -> None:
        n = type(self).__name__
        self.check_encoder()
        require(len(self.decoder_channels) == 3 and min(self.decoder_channels) >= 1, n,
                f"decoder_channels must be 3 positive ints (strides 16, 8, 4), got {self.decoder_channels}")
        require(self.head_channels >= 1, n, f"head_channels must be >= 1, got {self.head_channels}")
        require(self.desc_dim >= 1, n, f"desc_dim must be >= 1, got {self.desc_dim}")
        require(self.desc_stride in (4, 8), n, f"desc_stride must be 4 or 8, got {self.desc_stride}")
        require(0.0 < self.cross_ratio <= 4.0, n, f"cross_ratio must be in (0, 4], got {self.cross_ratio}")
        require(self.border_cells >= 0, n, f"border_cells must be >= 0, got {self.border_cells}")
        require(self.top_k >= 1, n, f"top_k must be >= 1, got {self.top_k}")


def _head(in_ch: int, hidden: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(ConvAct(in_ch, hidden, "lrelu", norm=True, reflect=False), nn.Conv2d(hidden, out_ch, 1))


class _KeepResolution(nn.Module):
    """Stand-in for the stride-4 up block when descriptors stay at stride 8."""

    def forward(self, x: torch.Tensor, skip: Optional[torch.Tensor]) -> torch.Tensor:
        return x


class KeypointNet(nn.Module):
    """``forward(image: (B, 1, H, W) float32 in [0, 1]) -> (score, coord, desc)`` (see module doc).

    H and W must be multiples of 32. ``self.config`` is the ``KeypointNetConfig``.
    """

    def __init__(self, cfg: KeypointNetConfig | dict | None = None):
        super().__init__()
        if cfg is None or isinstance(cfg, dict):
            cfg = KeypointNetConfig.from_dict(cfg)
        self.config = cfg
        self.cell = CELL
        self.desc_stride = int(cfg.desc_stride)
        self.half_range = float(CELL * cfg.cross_ratio / 2.0)
        self.encoder = ResNetEncoder(cfg.encoder_depth, cfg.width_mult, 1, cfg.encoder_layers)
        enc = self.encoder.num_ch_enc
        c16, c8, c4 = cfg.decoder_channels
        self.up16 = UpBlock(enc[4], enc[3], c16, "lrelu", norm=True, reflect=False)
        self.up8 = UpBlock(c16, enc[2], c8, "lrelu", norm=True, reflect=False)
        self.score_head = _head(c8, cfg.head_channels, 1)
        self.loc_head = _head(c8, cfg.head_channels, 2)
        if self.desc_stride == 4:
            self.up4 = UpBlock(c8, enc[1], c4, "lrelu", norm=True, reflect=False)
            self.desc_head = _head(c4, cfg.head_channels, cfg.desc_dim)
        else:
            self.up4 = _KeepResolution()
            self.desc_head = _head(c8, cfg.head_channels, cfg.desc_dim)
        init_decoder(self.up16)
        init_decoder(self.up8)
        init_decoder(self.up4)
        for head in (self.score_head, self.loc_head, self.desc_head):
            init_decoder(head)
        # Small location outputs at start: keypoints begin near their cell centres.
        nn.init.normal_(self.loc_head[1].weight, std=1e-3)

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.encoder(image)
        x8 = self.up8(self.up16(feats[4], feats[3]), feats[2])
        score = torch.sigmoid(self.score_head(x8))
        offset = torch.tanh(self.loc_head(x8)) * self.half_range
        hc, wc = x8.shape[-2], x8.shape[-1]
        half = (self.cell - 1) / 2.0
        # Cell indices 0..n-1 as cumulative sums of ones_like: a traced module then holds no device
        # constant (torch.arange(device=...) is recorded as "cpu" by torch.jit.trace and fails on CUDA).
        xs = (torch.ones_like(x8[0, 0, 0]).cumsum(0) - 1.0) * self.cell + half
        ys = (torch.ones_like(x8[0, 0, :, 0]).cumsum(0) - 1.0) * self.cell + half
        centres = torch.stack([xs.view(1, wc).expand(hc, wc), ys.view(hc, 1).expand(hc, wc)], dim=0)
        coord = centres.unsqueeze(0) + offset
        # Clamp to the image [0, W-1] x [0, H-1]; W - 1 = last cell centre + half (tensor ops: traceable).
        x_max, y_max = xs[-1] + half, ys[-1] + half
        coord = torch.stack([torch.minimum(coord[:, 0].clamp(min=0.0), x_max),
                             torch.minimum(coord[:, 1].clamp(min=0.0), y_max)], dim=1)
        desc = F.normalize(self.desc_head(self.up4(x8, feats[1])), p=2.0, dim=1)
        return score, coord, desc
