"""Test helpers for the pipeline: an oracle frontend (SIFT keypoints + exact synthetic depth)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class OracleOutput:
    keypoints: np.ndarray    # (K, 2) float32
    scores: np.ndarray       # (K,) float32
    descriptors: np.ndarray  # (K, D) float32, unit norm
    depth: np.ndarray        # (H, W) float32 metres


class OracleFrontend:
    """Stands in for the networks: SIFT keypoints/descriptors and the renderer's exact depth.

    Frames are recognised by their pixels (so prefetching and skipped frames don't confuse it).
    """

    def __init__(self, sequence, top_k: int = 500):
        self._depth_by_hash = {}
        for i in range(len(sequence)):
            try:
                img = sequence.image(i)
            except ValueError:
                continue
            self._depth_by_hash[hashlib.sha1(img.tobytes()).hexdigest()] = sequence.depth(i)
        self._sift = cv2.SIFT_create(nfeatures=top_k)

    def __call__(self, image: np.ndarray) -> OracleOutput:
        depth = self._depth_by_hash[hashlib.sha1(image.tobytes()).hexdigest()]
        kps, desc = self._sift.detectAndCompute(image, None)
        if desc is None:
            desc = np.zeros((0, 128), np.float32)
        desc = desc / np.maximum(np.linalg.norm(desc, axis=1, keepdims=True), 1e-9)
        xy = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
        scores = np.array([k.response for k in kps], np.float32)
        return OracleOutput(xy, scores, desc.astype(np.float32), depth)
