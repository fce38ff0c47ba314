"""No import circle runs through the Xero emulator or the shared sandbox kernel; its modules stay small.

The graph is built from the source with ``ast`` (every import, also those inside functions, which is
where a circle usually hides), so a circle is found even when today's import order happens to work.
Circles inside the Salesforce emulator are that emulator's own test (test_import_graph_salesforce.py);
here a circle counts when it passes through any sandbox module outside ``sandbox.salesforce``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sfxero_dagster.sandbox as sandbox_pkg

SANDBOX = Path(sandbox_pkg.__file__).parent
PACKAGE = "sfxero_dagster.sandbox"
SALESFORCE = PACKAGE + ".salesforce"
XERO = PACKAGE + ".xero"
MAX_LINES = 500


def modules_under(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``root`` (a package named ``package``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of the same set it imports (anywhere in its source)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = name.split(".") if is_pkg else name.split(".")[:-1]
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:  # ``import a.b.c`` depends on the deepest known module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_finder_sees_a_circle_through_a_lazy_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import x\n")
    (pkg / "c.py").write_text("from . import a\n")
    graph = import_graph(modules_under(pkg, "pkg"))
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.a"}
    assert circles(graph) == [["pkg.a", "pkg.sub.b"]]


def test_no_import_circle_through_the_xero_emulator_or_the_kernel() -> None:
    graph = import_graph(modules_under(SANDBOX, PACKAGE))
    assert graph[XERO + ".app"]  # the graph is the real tree, edges and all
    ours = [c for c in circles(graph) if any(not m.startswith(SALESFORCE) for m in c)]
    assert ours == []


def test_every_xero_emulator_module_imports_on_its_own() -> None:
    """Each module imported first, in a fresh set of modules: no import order is load-bearing."""
    names = [m for m in modules_under(SANDBOX, PACKAGE) if m == XERO or m.startswith(XERO + ".")]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for k in [k for k in sys.modules if k.startswith('sfxero_dagster')]:\n"
        "        del sys.modules[k]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_xero_modules_stay_small_or_say_why() -> None:
    """Over ~500 lines a module's docstring says why it is one module (issue #16)."""
    big = []
    for name, path in modules_under(SANDBOX, PACKAGE).items():
        if name != XERO and not name.startswith(XERO + "."):
            continue
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > MAX_LINES and "one module" not in doc.lower():
            big.append(f"{name}: {len(text.splitlines())} lines")
    assert not big, big
