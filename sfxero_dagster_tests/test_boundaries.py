"""Architecture rules: production code never imports the sandbox, and the core never imports Dagster."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sfxero_dagster"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(("." * node.level) + node.module)
    return names


def production_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "sandbox" not in p.relative_to(PACKAGE).parts]


def test_production_never_imports_the_sandbox() -> None:
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(n for n in imports(p) if "sandbox" in n)
        for p in production_files()
        if p.name
        not in ("cli.py", "demo.py")  # the command line starts the sandbox on request; nothing imports them
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(production_files()) > 10


def test_cli_and_demo_import_the_sandbox_only_inside_functions() -> None:
    for name in ("cli.py", "demo.py"):
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        assert not any("sandbox" in (getattr(n, "module", "") or "") for n in top), name


def test_core_is_pure() -> None:
    for p in (PACKAGE / "core").glob("*.py"):
        bad = sorted(
            n
            for n in imports(p)
            if n.split(".")[0] in ("dagster", "requests", "xero_python", "simple_salesforce", "urllib3")
        )
        assert bad == [], f"{p.name} imports {bad}"
