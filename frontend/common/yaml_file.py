"""Reading YAML configuration files with errors that name the file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def read_yaml(path: str | os.PathLike, what: str = "YAML file") -> Any:
    """Parsed content of the YAML file ``path`` (None for an empty file).

    Raises FileNotFoundError naming ``what`` and the path when it is missing, and ValueError
    naming the path when it is not valid YAML.
    """
    import yaml  # lazy: keeps imports of callers cheap

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from None
