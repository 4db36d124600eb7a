"""Compare typed YAML loaders (pydantic v2, msgspec, dacite) on the shape of the project's configs.

For each library that imports: CPU time of ``import`` in a fresh interpreter (median of N, minus a bare
interpreter), conversion time of a run-config-like mapping into nested stdlib dataclasses, the error
message for a wrong type / an unknown key / a missing key, and what it accepts (strictness).

    .venv/bin/python bench/config_loaders.py [--repeats 7]
    PYTHONPATH=DIR_WITH_MSGSPEC_AND_DACITE .venv/bin/python bench/config_loaders.py
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Optional


@dataclasses.dataclass
class Inner:
    min_matches: int = 12
    ransac_px: float = 2.0
    sizes: tuple[int, ...] = (1, 2)


@dataclasses.dataclass
class Outer:
    mode: str
    width: int = 640
    flag: bool = True
    model_dir: Optional[str] = None
    backend: dict[str, Any] = dataclasses.field(default_factory=dict)
    inner: Inner = dataclasses.field(default_factory=Inner)


GOOD = {"mode": "dsdso", "width": 640, "flag": False, "backend": {"points": {"top_k": 5}},
        "inner": {"min_matches": 10, "ransac_px": 3, "sizes": [4, 5]}}
CASES = {
    "wrong type": {"mode": "dsdso", "inner": {"min_matches": "many"}},
    "unknown key": {"mode": "dsdso", "inner": {"min_macthes": 3}},
    "missing key": {"width": 640},
}
# strictness probes: does the loader accept these (YAML-typical mistakes)?
PROBES = {
    "str '640' for int": {"mode": "x", "width": "640"},
    "bool for int": {"mode": "x", "width": True},
    "float 640.0 for int": {"mode": "x", "width": 640.0},
    "int 3 for float": {"mode": "x", "inner": {"ransac_px": 3}},
    "str 'yes' for bool": {"mode": "x", "flag": "yes"},
    "list for tuple": {"mode": "x", "inner": {"sizes": [1, 2, 3]}},
}


def _pydantic():
    import pydantic

    def convert(data):
        # strict scalars with YAML/JSON semantics (arrays -> tuples, int -> float), unknown keys rejected
        ta = pydantic.TypeAdapter(pydantic.with_config(pydantic.ConfigDict(extra="forbid", strict=True))(Outer))
        return ta.validate_json(json.dumps(data))
    return convert, pydantic.ValidationError


def _msgspec():
    import msgspec

    def convert(data):
        return msgspec.convert(data, Outer, strict=True)
    return convert, msgspec.ValidationError


def _dacite():
    import dacite

    def convert(data):
        return dacite.from_dict(Outer, data, config=dacite.Config(strict=True, cast=[tuple]))
    return convert, dacite.DaciteError


LIBS = {"pydantic": _pydantic, "msgspec": _msgspec, "dacite": _dacite}


def import_cpu_s(stmt: str, repeats: int) -> float:
    """Median user+sys CPU seconds of ``python -c stmt`` in a fresh interpreter."""
    times = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", stmt], check=True, env=dict(os.environ))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    bare = import_cpu_s("pass", args.repeats)
    print(f"bare interpreter: {bare * 1e3:.0f} ms CPU (median of {args.repeats})")
    for name, factory in LIBS.items():
        if importlib.util.find_spec(name) is None:
            print(f"\n## {name}: not importable, skipped")
            continue
        version = __import__(name).__dict__.get("__version__", "?")
        print(f"\n## {name} {version}")
        cost = import_cpu_s(f"import {name}", args.repeats) - bare
        first = import_cpu_s(f"import bench.config_loaders as b; b.LIBS[{name!r}]()[0](b.GOOD)", args.repeats)
        base = import_cpu_s("import bench.config_loaders", args.repeats)
        print(f"import: +{cost * 1e3:.0f} ms CPU; import + first conversion: +{(first - base) * 1e3:.0f} ms CPU")
        convert, error = factory()
        t0 = time.process_time()
        n = 200
        for _ in range(n):
            out = convert(GOOD)
        print(f"convert (incl. schema build where the library has one): {(time.process_time() - t0) / n * 1e6:.0f} us/call;"
              f" inner.sizes -> {out.inner.sizes!r}, inner.ransac_px -> {out.inner.ransac_px!r}")
        for case, data in CASES.items():
            try:
                convert(data)
                print(f"{case}: ACCEPTED")
            except error as exc:
                print(f"{case}: {' | '.join(str(exc).splitlines())}")
            except Exception as exc:  # noqa: BLE001 - a library raising something else is a finding
                print(f"{case}: {type(exc).__name__}: {exc}")
        for probe, data in PROBES.items():
            try:
                out = convert(data)
                got = out.width if "width" in data else (out.flag if "flag" in data else out.inner)
                print(f"  {probe}: accepted -> {got!r}")
            except error:
                print(f"  {probe}: rejected")
            except Exception as exc:  # noqa: BLE001
                print(f"  {probe}: {type(exc).__name__}")
    if importlib.util.find_spec("pydantic") is not None:
        project_cost(args.repeats, bare)


def project_cost(repeats: int, bare: float) -> None:
    """What the chosen loader (pydantic, ``frontend.common.typed_config``) costs the ``kp3d-vo run`` start-up."""
    load = ("from apps.pipeline.config import load_config; load_config('configs/run/dso.yaml'); import sys; "
            "assert 'torch' not in sys.modules, 'dso mode imported torch'")
    cost = import_cpu_s(load, repeats) - bare
    base = import_cpu_s("import apps.pipeline.config", repeats) - bare
    print(f"\n## project: import apps.pipeline.config +{base * 1e3:.0f} ms CPU; + load_config(configs/run/dso.yaml) "
          f"(typed loader, backend options checked) +{(cost - base) * 1e3:.0f} ms CPU; torch not imported")


if __name__ == "__main__":
    main()
