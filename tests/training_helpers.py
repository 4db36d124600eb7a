"""Tiny network configs and a texture for the training tests (fast on CPU)."""
from __future__ import annotations

import cv2
import numpy as np

TINY_KP = {"encoder_layers": [1, 1, 1, 1], "width_mult": 0.25, "decoder_channels": [16, 16, 16],
           "head_channels": 16, "desc_dim": 16}
TINY_DEPTH = {"encoder_layers": [1, 1, 1, 1], "width_mult": 0.25, "decoder_channels": [4, 8, 8, 16, 16]}
TINY_POSE = {"encoder_layers": [1, 1, 1, 1], "width_mult": 0.25, "decoder_channels": 16}


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture ``(h, w) float32`` in [0, 1]."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.5)
    return (img - img.min()) / (img.max() - img.min())
