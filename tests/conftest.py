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


# -- synthetic sequence (apps/synth) ---------------------------------------------------------------
SYNTH_FIXTURE = dict(kind="kitti-like", frames=60, width=320, height=96, seed=3)


@pytest.fixture(scope="session")
def synth_sequence(tmp_path_factory) -> Path:
    """A small synthetic KITTI-layout sequence rendered once per session (exact depth, GT poses).

    60 frames at 320x96 along a seeded "kitti-like" trajectory (see ``SYNTH_FIXTURE``), no image
    effects. Returns the sequence folder ``<tmp>/sequences/00`` (poses in ``<tmp>/poses/00.txt``).
    """
    from apps.synth import SynthOptions, make_trajectory, render_sequence

    cfg = SYNTH_FIXTURE
    poses = make_trajectory(cfg["kind"], cfg["frames"], seed=cfg["seed"])
    root = tmp_path_factory.mktemp("synth")
    options = SynthOptions(width=cfg["width"], height=cfg["height"], seed=cfg["seed"])
    return render_sequence(root, poses, None, options, name="00")
