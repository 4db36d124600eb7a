"""Package layering: ``frontend`` <- ``apps`` (and ``dso_bridge`` <- ``apps``), never the other way, and no
import cycle between modules, counting the imports written inside functions too.

Layers (docs/ARCHITECTURE.md): ``frontend`` (networks, training, ``frontend.common`` primitives) and
``dso_bridge`` (the C++ backend) import nothing of ``apps``; ``apps`` hands them data.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("frontend", "dso_bridge", "apps")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: project modules it imports}`` over every .py file of PACKAGES (function-level imports too).

    ``from pkg import name`` counts as an import of ``pkg.name`` when that is a module, else of ``pkg``;
    relative imports are resolved against the importing module's package.
    Names that are not .py modules of the project (third-party, the compiled ``dso_bridge._dso_bridge``)
    are left out.
    """
    files = {_module_name(f): f for pkg in PACKAGES for f in sorted((REPO_ROOT / pkg).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in files)
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:  # relative: from the module's package, up level - 1
                    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
                    base = ".".join(package.split(".")[:len(package.split(".")) - (node.level - 1)])
                    module = f"{base}.{module}" if module else base
                for a in node.names:
                    sub = f"{module}.{a.name}"
                    target = sub if sub in files else module
                    if target in files:
                        deps.add(target)
        deps.discard(mod)
        graph[mod] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules():
    graph = import_graph()
    assert len(graph) > 50  # the walk found the packages
    assert cycles(graph) == []


def test_lower_layers_never_import_apps():
    graph = import_graph()
    upward = {m: sorted(d for d in deps if d.split(".")[0] == "apps")
              for m, deps in graph.items() if m.split(".")[0] in ("frontend", "dso_bridge")}
    assert {m: d for m, d in upward.items() if d} == {}
    # the pipeline reports to observers it defines; the viewer is one of them, not a dependency
    assert not [m for m, deps in graph.items() if m.startswith("apps.pipeline") and
                any(d.startswith("apps.viewer") for d in deps)]


def test_frontend_imports_with_apps_blocked():
    """Every frontend module imports in a fresh interpreter where ``import apps`` fails."""
    code = textwrap.dedent("""
        import importlib, pkgutil, sys

        class BlockApps:
            def find_spec(self, name, path=None, target=None):
                if name == "apps" or name.startswith("apps."):
                    raise ImportError(f"apps is blocked in this test (imported: {name})")
                return None

        sys.meta_path.insert(0, BlockApps())
        import frontend
        names = [m.name for m in pkgutil.walk_packages(frontend.__path__, "frontend.")]
        for name in names:
            importlib.import_module(name)
        assert not [m for m in sys.modules if m == "apps" or m.startswith("apps.")]
        print(len(names))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) >= 30  # frontend.models.*, frontend.training.*, frontend.common.*, ...
