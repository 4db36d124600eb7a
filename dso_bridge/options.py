"""Backend options as nested dicts / YAML <-> the bound ``SystemOptions`` struct.

``SystemOptions`` (C++, ``dso_bridge._dso_bridge``) holds the nested option groups ``tracker``,
``selector``, ``points``, ``ba``, ``keyframes``, ``init``, ``tracking`` and ``use_depth_prior``; every
field keeps the commented default of ``cpp/dso/backend_options.h`` / ``coarse_tracker.h`` /
``pixel_selector.h``. ``SystemOptions.check()`` raises ``ValueError`` naming the first bad field.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dso_bridge._dso_bridge import SystemOptions

GROUPS = ("tracker", "selector", "points", "ba", "keyframes", "init", "tracking")


def _fields(obj: Any) -> list[str]:
    return [n for n in dir(obj) if not n.startswith("_") and not callable(getattr(obj, n))]


def options_to_dict(options: SystemOptions) -> dict[str, Any]:
    """Nested dict of every option (groups as sub-dicts)."""
    out: dict[str, Any] = {}
    for name in _fields(options):
        value = getattr(options, name)
        out[name] = {f: getattr(value, f) for f in _fields(value)} if name in GROUPS else value
    return out


def options_from_dict(values: Mapping[str, Any], base: SystemOptions | None = None) -> SystemOptions:
    """``SystemOptions`` with the fields in ``values`` (nested dict, e.g. ``{"points": {"desired_active_points":
    1000}}``) set over ``base`` (defaults when None). Unknown keys or values of the wrong type raise
    ``ValueError`` naming the key; the result is validated with ``check()``."""
    opts = base if base is not None else SystemOptions()
    if not isinstance(values, Mapping):
        raise ValueError(f"backend options must be a mapping, got {type(values).__name__}")
    for key, value in values.items():
        if key not in _fields(opts):
            raise ValueError(f"unknown backend option {key!r}; known: {', '.join(_fields(opts))}")
        if key in GROUPS:
            if not isinstance(value, Mapping):
                raise ValueError(f"backend option {key!r} must be a mapping of its fields, got {type(value).__name__}")
            group = getattr(opts, key)
            for sub, v in value.items():
                if sub not in _fields(group):
                    raise ValueError(f"unknown backend option {key}.{sub}; known: {', '.join(_fields(group))}")
                try:
                    setattr(group, sub, v)
                except TypeError as e:
                    raise ValueError(f"backend option {key}.{sub}: wrong type {type(v).__name__} ({e})") from None
        else:
            try:
                setattr(opts, key, value)
            except TypeError as e:
                raise ValueError(f"backend option {key}: wrong type {type(value).__name__} ({e})") from None
    opts.check()
    return opts


def load_options(path: str | Path) -> SystemOptions:
    """Reads backend options from a YAML file (a nested mapping, optionally under a ``backend`` key)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"backend options file not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    if isinstance(data, Mapping) and "backend" in data:
        data = data["backend"]
    try:
        return options_from_dict(data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
