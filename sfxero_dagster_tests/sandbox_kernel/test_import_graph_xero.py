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

from ..import_graph import circles, import_graph, modules_under

SANDBOX = Path(sandbox_pkg.__file__).parent
PACKAGE = "sfxero_dagster.sandbox"
SALESFORCE = PACKAGE + ".salesforce"
XERO = PACKAGE + ".xero"
MAX_LINES = 500


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
