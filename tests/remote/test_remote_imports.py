"""The terminal client's modules import each other one way (docs/terminal.md, STYLE 15)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import vsmanager.remote

PACKAGE = "vsmanager.remote"
ROOT = Path(vsmanager.remote.__file__).parent


def _imports(path: Path) -> set[str]:
    """The sibling modules ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE:
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(PACKAGE + "."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[2] for alias in node.names
                         if alias.name.startswith(PACKAGE + "."))
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _imports(path) - {path.stem}
            for path in ROOT.glob("*.py") if path.stem != "__init__"}


def test_remote_modules_import_each_other_one_way() -> None:
    graph = _graph()
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        raise AssertionError(f"an import cycle in {PACKAGE}: {exc.args[1]}") from None
    assert not any("cli" in deps for deps in graph.values()), "only __init__ imports cli"


def test_shared_modules_import_no_command_module() -> None:
    graph = _graph()
    commands = {"cli", "lifecycle", "tail_command", "status_command"}
    for shared in ("exits", "options", "terminal", "endpoint", "api"):
        assert not graph[shared] & commands, f"{shared} imports {graph[shared] & commands}"
