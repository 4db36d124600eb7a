"""Portable labels for paths recorded in shipped metadata (nothing that names one machine's folders)."""
from __future__ import annotations

import os
from pathlib import Path


def portable_label(path: str | os.PathLike, base: str | os.PathLike | None = None) -> str:
    """``path`` as recorded in metadata: relative to ``base`` (default: the working directory) when inside
    it, else its last three components (``synth_calib/sequences/01``)."""
    p = Path(path).resolve()
    root = Path(base if base is not None else Path.cwd()).resolve()
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return "/".join(p.parts[-3:])
