"""The architecture's import contracts ([tool.importlinter] in pyproject.toml), checked in
every test run with import-linter's own command, on the real package: each layer imports only
those below it, and the pure cores no I/O. The checker is shown to catch a violation on a
throwaway package, and no room of vsmanager may stay outside the layers."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import vsmanager

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# __main__ only runs the command line; nothing may import it.
OUTSIDE_THE_LAYERS = {"__main__"}


def lint_imports(config: Path, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} missing: install the test extra (import-linter)"
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def layer_names(layers: list[str]) -> set[str]:
    """``"routes | remote : setup"`` holds three names."""
    return {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(REPO / "pyproject.toml", REPO)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "BROKEN" not in output and "0 broken" in output, output


def test_every_room_of_vsmanager_is_in_the_layers() -> None:
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [contract for contract in contracts if contract["type"] == "layers"]
    assert layers["containers"] == ["vsmanager"]
    rooms = {module.name for module in pkgutil.iter_modules(vsmanager.__path__)} - OUTSIDE_THE_LAYERS
    missing = rooms - layer_names(layers["layers"])
    assert not missing, f"not in the layers contract (pyproject.toml): {sorted(missing)}"
    assert {"game", "console", "config", "edge", "access"} <= rooms  # the listing itself works


def test_the_docs_draw_the_layers_of_the_contract() -> None:
    # README and docs/architecture.md show the layers to a newcomer: they went stale once
    # (backups was in the contract, not in either drawing).
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [contract["layers"] for contract in contracts if contract["type"] == "layers"]
    assert " → ".join(layers) in (REPO / "README.md").read_text()
    assert "\n".join(layers) in (REPO / "docs" / "architecture.md").read_text()


def _town(root: Path, low_imports_high: bool) -> Path:
    """A package ``town`` with two rooms, ``high`` above ``low``, and its contract."""
    package = root / "town"
    for room in ("high", "low"):
        (package / room).mkdir(parents=True)
        (package / room / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "high" / "hall.py").write_text("from town.low import cellar\n")
    (package / "low" / "cellar.py").write_text("import town.high.hall\n" if low_imports_high else "")
    config = root / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "town"\n\n'
        '[[tool.importlinter.contracts]]\nname = "Layers"\ntype = "layers"\n'
        'containers = ["town"]\nlayers = ["high", "low"]\n'
    )
    return config


def test_the_checker_reports_a_lower_room_importing_a_higher_one(tmp_path: Path) -> None:
    broken = _town(tmp_path / "broken", low_imports_high=True)
    result = lint_imports(broken, broken.parent, pythonpath=broken.parent)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "BROKEN" in output and "town.low.cellar -> town.high.hall" in output, output
    # The same town without that import passes: the failure above is the import, nothing else.
    kept = _town(tmp_path / "kept", low_imports_high=False)
    result = lint_imports(kept, kept.parent, pythonpath=kept.parent)
    assert result.returncode == 0, result.stdout + result.stderr
