"""Reading YAML configuration files with errors that name the file.

Every YAML file of the project is parsed by :func:`load_yaml_text`: PyYAML's safe loader (YAML 1.1)
with YAML 1.2's floats, so that ``lr: 1e-4`` or ``affine_a_prior: 1e6`` is the number a user means.
PyYAML reads an exponent without a decimal point as a *string* (yaml/pyyaml#173), which the typed
config loader then refuses ("expected float, got str '1e-4'"). ruamel.yaml parses YAML 1.2 but would be
a second YAML library for one regular expression; none of the project's files relies on the string.
"""
from __future__ import annotations

import functools
import os
import re
from typing import Any

# YAML 1.2 core-schema floats plus YAML 1.1's forms (digit separators, sexagesimal), as PyYAML spells them.
_FLOAT_1_2 = re.compile(r"""^(?:
     [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


@functools.lru_cache(maxsize=1)
def _loader() -> type:
    import yaml  # lazy: keeps imports of callers cheap

    class Loader(yaml.SafeLoader):
        """``yaml.SafeLoader`` whose floats follow YAML 1.2 (``1e-4`` is a float) and which refuses a
        mapping with the same key twice (PyYAML keeps the last one silently)."""

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *base" keys may be overridden
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        problem=f"duplicate key {key!r} on line {key_node.start_mark.line + 1} (a key may "
                                f"appear once in a mapping; the mapping starts on line {node.start_mark.line + 1})")
            return super().construct_mapping(node, deep=deep)

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_1_2, list("-+0123456789."))
    return Loader


def load_yaml_text(text: str) -> Any:
    """The YAML document ``text`` parsed safely (None when empty), ``1e-4`` read as a float.

    Raises ``yaml.YAMLError`` for text that is not YAML.
    """
    import yaml

    return yaml.load(text, Loader=_loader())  # noqa: S506 (a SafeLoader subclass)


def read_yaml(path: str | os.PathLike, what: str = "YAML file") -> Any:
    """Parsed content of the YAML file ``path`` (None for an empty file), as :func:`load_yaml_text`.

    Raises FileNotFoundError (IsADirectoryError for a folder) naming ``what`` and the path when it is
    missing, and ValueError naming the path when it is not valid YAML (a duplicate key included).
    """
    import yaml

    from frontend.common.paths import require_file

    path = require_file(path, what)
    try:
        return load_yaml_text(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from None
