"""The layers stay where they belong: short assets in defs, Dagster-free engines (sync) and store."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .test_boundaries import PACKAGE, imports

ASSET_DECORATORS = {"asset", "multi_asset"}
MAX_ASSET_LINES = 60


def _decorator_name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return None


def asset_functions(path: Path) -> list[tuple[str, int]]:
    """(name, body lines) of each function decorated as a Dagster asset or multi-asset in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, node.end_lineno - node.body[0].lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(_decorator_name(d) in ASSET_DECORATORS for d in node.decorator_list)
    ]


def test_assets_are_short() -> None:
    found = {
        f"{p.relative_to(PACKAGE)}:{name}": n
        for p in (PACKAGE / "defs").rglob("*.py")
        for name, n in asset_functions(p)
    }
    assert len(found) >= 10  # the walk sees the assets
    assert {k: n for k, n in found.items() if n > MAX_ASSET_LINES} == {}


def test_engines_and_store_do_not_import_dagster() -> None:
    for room in ("sync", "store"):
        files = list((PACKAGE / room).rglob("*.py"))
        assert len(files) >= 4, f"{room}/ holds the engines or the store"
        bad = {
            str(p.relative_to(PACKAGE)): sorted(n for n in imports(p) if n.split(".")[0] == "dagster")
            for p in files
        }
        assert {k: v for k, v in bad.items() if v} == {}


def test_only_the_clients_name_xero_python_methods() -> None:
    """Callers use the typed facade (clients/xero_api.py); xero-python's method names stay in clients/."""
    from xero_python.accounting import AccountingApi
    from xero_python.identity import IdentityApi

    names = {
        n for api in (AccountingApi, IdentityApi) for n in dir(api) if callable(getattr(api, n)) and "_" in n
    }
    literal = re.compile(r"""["']([a-z_]+)["']""")
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(
            {m.group(0) for m in literal.finditer(p.read_text("utf-8")) if m.group(1) in names}
        )
        for p in PACKAGE.rglob("*.py")
        if not {"clients", "sandbox"} & set(p.relative_to(PACKAGE).parts)
    }
    assert {k: v for k, v in offenders.items() if v} == {}
