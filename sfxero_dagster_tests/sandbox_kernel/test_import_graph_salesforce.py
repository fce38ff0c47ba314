"""The Salesforce emulator's modules form no import circle and stay small (issue #16).

The import graph of ``sfxero_dagster.sandbox`` is read with ``ast`` from the source, so an import inside
a function or under ``TYPE_CHECKING`` counts too: deferring one side of a circle hides it from Python,
not from the reader (``app.py`` and ``bulk2.py`` used to import each other that way).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sfxero_dagster.sandbox as sandbox

PACKAGE = sandbox.__name__
ROOT = Path(sandbox.__file__).parent
SALESFORCE = f"{PACKAGE}.salesforce"
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join([PACKAGE, *parts])] = path
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The sandbox modules ``name`` imports (a ``from pkg import mod`` edge goes to ``mod``)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in known else module)
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per back edge found by depth-first search (enough to name every circle)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_the_graph_sees_relative_and_deferred_imports() -> None:
    graph = _graph()
    assert f"{SALESFORCE}.schema" in graph[f"{SALESFORCE}.soql"]  # from .schema import ...
    assert f"{SALESFORCE}.ids" in graph[f"{PACKAGE}.seed"]  # from .salesforce.ids import ...
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_circle_through_the_salesforce_emulator() -> None:
    circles = [c for c in _cycles(_graph()) if any(m.startswith(SALESFORCE) for m in c)]
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_every_salesforce_module_imports_on_its_own() -> None:
    """Each module imported first, in a fresh interpreter, so no import order hides a circle."""
    names = [n for n in _modules() if n == SALESFORCE or n.startswith(SALESFORCE + ".")]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('sfxero_dagster')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_salesforce_modules_stay_small_or_say_why() -> None:
    """Over ~500 lines a module's docstring says why it is one module (issue #16)."""
    big = []
    for name, path in _modules().items():
        if not name.startswith(SALESFORCE):
            continue
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > MAX_LINES and "one module" not in doc.lower():
            big.append(f"{name}: {len(text.splitlines())} lines")
    assert not big, big
