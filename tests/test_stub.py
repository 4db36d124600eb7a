"""The committed type stub dso_bridge/_dso_bridge.pyi is what pybind11-stubgen makes of the built module.

After changing a binding or an option struct, regenerate it (from the repository root)::

    .venv/bin/python -m pybind11_stubgen -o . dso_bridge._dso_bridge
"""
from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STUB = REPO_ROOT / "dso_bridge" / "_dso_bridge.pyi"


def test_committed_stub_is_generated_from_the_built_module(tmp_path):
    pytest.importorskip("pybind11_stubgen", reason="pybind11-stubgen (requirements.txt) is not installed")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "pybind11_stubgen", "--exit-code", "-o", str(tmp_path),
                           "dso_bridge._dso_bridge"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    generated = (tmp_path / "dso_bridge" / "_dso_bridge.pyi").read_text(encoding="utf-8")
    committed = STUB.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True),
                                        "committed", "generated", n=1))
    assert not diff, ("dso_bridge/_dso_bridge.pyi is stale; regenerate it with "
                      "`.venv/bin/python -m pybind11_stubgen -o . dso_bridge._dso_bridge`:\n" + diff[:3000])


def test_stub_lists_every_bound_option_field():
    from dso_bridge import SystemOptions
    from dso_bridge.options import GROUPS

    stub = STUB.read_text(encoding="utf-8")
    options = SystemOptions()
    for group in GROUPS:
        values = getattr(options, group)
        for field in (n for n in dir(values) if not n.startswith("_") and not callable(getattr(values, n))):
            assert f"def {field}(self)" in stub or f"\n    {field}: " in stub, f"{group}.{field} missing from the stub"
