"""Shared pytest fixtures. Data under ../shared/data is optional: tests that need it skip."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$KP3D_SHARED_DATA`` or ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("KP3D_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_data_dir()
    if not (root / "kitti").is_dir():
        pytest.skip(f"real KITTI/HPatches data not found at {root} (set KP3D_SHARED_DATA); "
                    "this test checks against real data and is skipped without it")
    return root
