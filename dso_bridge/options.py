"""Backend options as nested dicts / YAML <-> the bound ``SystemOptions`` struct.

``SystemOptions`` (C++, ``dso_bridge._dso_bridge``) holds the nested option groups ``tracker``,
``selector``, ``points``, ``ba``, ``keyframes``, ``init``, ``tracking`` and the flags ``use_depth_prior``,
``mapping_thread`` / ``mapping_max_backlog`` (DSO's mapping thread, off: deterministic); every
field keeps the commented default of ``cpp/dso/backend_options.h`` / ``coarse_tracker.h`` /
``pixel_selector.h``. ``SystemOptions.check()`` raises ``ValueError`` naming the first bad field.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dso_bridge._dso_bridge import SystemOptions

GROUPS = ("tracker", "selector", "points", "ba", "keyframes", "init", "tracking")


def _fields(obj: Any) -> list[str]:
    return [n for n in dir(obj) if not n.startswith("_") and not callable(getattr(obj, n))]


def _check_type(key: str, current: Any, value: Any) -> None:
    """Refuse what pybind11 would convert silently (``1`` for a bool, ``True`` for a number)."""
    if isinstance(current, bool):
        ok = isinstance(value, (bool, np.bool_))
    elif isinstance(current, numbers.Integral):
        ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    elif isinstance(current, numbers.Real):
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    else:
        ok = True  # other field types: pybind11's own conversion decides
    if not ok:
        raise ValueError(_wrong_type(key, current, value))


def _wrong_type(key: str, current: Any, value: Any) -> str:
    """``key: expected int, got str '640'`` (the wording of ``frontend.common.typed_config``)."""
    text = repr(value)
    return f"{key}: expected {type(current).__name__}, got {type(value).__name__} {text[:57] + '...' if len(text) > 60 else text}"


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
                _check_type(f"{key}.{sub}", getattr(group, sub), v)
                try:
                    setattr(group, sub, v)
                except TypeError:
                    raise ValueError(_wrong_type(f"{key}.{sub}", getattr(group, sub), v)) from None
        else:
            _check_type(key, getattr(opts, key), value)
            try:
                setattr(opts, key, value)
            except TypeError:
                raise ValueError(_wrong_type(key, getattr(opts, key), value)) from None
    opts.check()
    return opts


def load_options(path: str | Path) -> SystemOptions:
    """Reads backend options from a YAML file (a nested mapping, optionally under a ``backend`` key;
    ``1e6`` is a float, as in YAML 1.2)."""
    from frontend.common.yaml_file import read_yaml

    data = read_yaml(path, "backend options file") or {}
    if isinstance(data, Mapping) and "backend" in data:
        data = data["backend"]
    try:
        return options_from_dict(data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
