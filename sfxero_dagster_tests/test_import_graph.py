"""No import circle anywhere in the project (issue #16), lazy imports included."""

from __future__ import annotations

from pathlib import Path

import sfxero_dagster

from .import_graph import circles, import_graph, modules_under


def test_no_import_circle_in_the_whole_package() -> None:
    modules = modules_under(Path(sfxero_dagster.__file__).parent, "sfxero_dagster")
    assert len(modules) > 100  # the whole tree was read, not one folder
    assert circles(import_graph(modules)) == []
