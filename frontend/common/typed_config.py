"""The one typed config loader: a mapping (as read from YAML) -> a stdlib dataclass, types checked.

Every YAML config of the project (run, training, network, batch-evaluation configs) goes through
:func:`load_dataclass` / :func:`load_yaml_dataclass`. The dataclasses stay plain ``dataclasses``
(their ``__post_init__`` / ``check()`` keep the range checks); the loader adds what none of the
hand-written validators did: types. Validation is pydantic v2 (strict, JSON semantics: YAML lists
become tuples where a tuple is declared, an int is accepted for a float, nothing else is coerced),
unknown keys are refused, nested dataclasses, ``Optional``, ``tuple[...]``, ``list[...]`` and
``dict[str, ...]`` fields are followed. A bad value gives one ``ConfigError`` (a ``ValueError``)::

    config.yaml: width: expected int, got str '640'
    config.yaml: f2f.min_macthes: unknown key; allowed: max_depth_m, min_depth_m, min_inliers, ...

``None`` for a field whose type is a dataclass, dict, list or tuple (an empty YAML section such as
``optim:``) means "that field's default". pydantic is imported on first use only (``bench/config_loaders.py``
measures the libraries; pydantic was picked because it alone refuses unknown keys of nested
dataclasses with their path and ``True`` for an int).
"""
from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

T = TypeVar("T")

_EXPECTED = {
    "int_type": "int", "float_type": "float", "bool_type": "bool", "string_type": "str",
    "tuple_type": "a list", "list_type": "a list", "dict_type": "a mapping", "dataclass_type": "a mapping",
    "model_type": "a mapping", "path_type": "a path (str)", "none_required": "null",
}
_MAX_REPR = 60


class ConfigError(ValueError):
    """A config value of the wrong type, an unknown or missing key, or a failed range check."""


def load_dataclass(cls: type[T], data: Any, where: str) -> T:
    """``cls`` (a dataclass) from ``data`` (a mapping), every field's type checked.

    where: names the source in errors (a file path, or e.g. ``"training config x.yaml: data"``).
    Raises ``ConfigError`` listing each bad key as ``where: dotted.key: what was expected, got ...``;
    a ``ValueError`` raised by the dataclass's ``__post_init__`` is reported the same way.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"load_dataclass: {cls!r} is not a dataclass")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {_describe(data)}")
    data = _drop_none_sections(cls, dict(data))
    import pydantic

    wrapper = pydantic.create_model("Config", __config__=pydantic.ConfigDict(extra="forbid", strict=True),
                                    value=(cls, ...))
    try:
        text = json.dumps({"value": data}, default=_json_default, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: value that is not plain YAML data ({exc})") from None
    try:
        return wrapper.model_validate_json(text).value
    except pydantic.ValidationError as exc:
        lines = [_format_error(cls, err) for err in exc.errors(include_url=False)]
        raise ConfigError(f"{where}: " + "; ".join(lines)) from None


def check_ranges(where: str, checks: Mapping[str, tuple[Any, bool, str]]) -> None:
    """Range checks of a config: ``checks`` maps a field's name (e.g. ``"steps (--steps)"``) to
    ``(value, ok, expected)``; every one not ``ok`` goes into one ``ConfigError``
    ``where: steps (--steps) must be >= 0, got -1``."""
    bad = [f"{name} must be {expected}, got {value!r}" for name, (value, ok, expected) in checks.items() if not ok]
    if bad:
        raise ConfigError(f"{where}: " + "; ".join(bad))


def load_yaml_dataclass(cls: type[T], path: str | os.PathLike, what: str = "config file", *,
                        overrides: Mapping[str, Any] | None = None) -> T:
    """``cls`` from the YAML file ``path`` (``None``: defaults) with ``overrides`` (values not None) on top.

    The file must hold a mapping; errors name the file (``FileNotFoundError`` / ``ConfigError``).
    """
    from frontend.common.yaml_file import read_yaml

    data: dict[str, Any] = {}
    where = "config"
    if path is not None:
        where = str(path)
        loaded = read_yaml(Path(path), what)
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ConfigError(f"{where}: expected a YAML mapping at top level, got {_describe(loaded)}")
        data.update(loaded or {})
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return load_dataclass(cls, data, where)


def _json_default(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} {value!r}")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > _MAX_REPR:
        text = text[:_MAX_REPR - 3] + "..."
    return f"{type(value).__name__} {text}"


def _loc_text(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _format_error(root: type, err: dict) -> str:
    loc = tuple(err["loc"])[1:]  # drop the wrapper's "value"
    key = _loc_text(loc)
    kind = err["type"]
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        allowed = _allowed_keys(root, loc[:-1])
        return f"{key}: unknown key" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return f"{key}: missing " + ("item" if loc and isinstance(loc[-1], int) else "required key")
    if kind == "value_error":
        message = str((err.get("ctx") or {}).get("error", err["msg"]))
        return f"{key}: {message}" if key and not message.startswith(str(loc[-1])) else message
    if kind in _EXPECTED:
        return f"{key}: expected {_EXPECTED[kind]}, got {_describe(err.get('input'))}"
    return f"{key}: {err['msg']}, got {_describe(err.get('input'))}"


def _dataclass_of(tp: Any) -> type | None:
    """The dataclass inside ``tp`` (``X``, ``Optional[X]``), else None."""
    if dataclasses.is_dataclass(tp):
        return tp
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
        return _dataclass_of(args[0])
    return None


def _field_types(cls: type) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - unresolved annotation: no nesting information, validation still runs
        return {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def _allowed_keys(root: type, loc: tuple) -> list[str]:
    """Field names of the dataclass at ``loc`` below ``root`` (empty when it is not a dataclass)."""
    tp: Any = root
    for part in loc:
        if isinstance(part, int) or not isinstance(part, str):
            args = typing.get_args(tp)
            tp = args[0] if args else Any
            continue
        cls = _dataclass_of(tp)
        if cls is None:
            return []
        tp = _field_types(cls).get(part, Any)
    cls = _dataclass_of(tp)
    return sorted(_field_types(cls)) if cls is not None else []


def _drop_none_sections(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Drop ``key: None`` where the field is a (non-Optional) dataclass, dict, list or tuple, recursively:
    the default applies."""
    types = _field_types(cls)
    out = {}
    for key, value in data.items():
        tp = types.get(key)
        if value is None and tp is not None and (dataclasses.is_dataclass(tp) or typing.get_origin(tp) in (dict, list, tuple)):
            continue
        if tp is not None and dataclasses.is_dataclass(tp):
            if isinstance(value, Mapping):
                value = _drop_none_sections(tp, dict(value))
        out[key] = value
    return out
