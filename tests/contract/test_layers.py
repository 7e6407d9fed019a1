"""Every import points down the house (ARCHITECTURE.md "Top level").

The folder names are the data flow: ``drivers`` → ``agent``, ``canopy`` (the
contract) under everything, the ``bridge`` beside the agent, ``statesim`` used
only by the command line and the tests, ``cli`` on top. This test reads every
import statement of every module (those inside functions too, since a lazy
import is still a dependency) and names each edge that points the wrong way,
and each reach into another package's private modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> the project packages it may import (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    "canopy": frozenset(),
    "drivers": frozenset({"canopy"}),
    "kiosk_ui": frozenset({"canopy"}),
    "agent": frozenset({"canopy", "drivers", "kiosk_ui"}),
    "bridge": frozenset({"canopy"}),
    "statesim": frozenset({"canopy", "bridge"}),
    "provisioning": frozenset({"canopy", "drivers", "agent", "bridge"}),
    "console": frozenset({"canopy", "bridge"}),
    "cli": frozenset({"canopy", "drivers", "kiosk_ui", "agent", "bridge", "statesim", "provisioning",
                      "console"}),
}
PACKAGES = frozenset(ALLOWED)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # `from bridge.state.metrc import _wire` reaches in too
                yield node.lineno, f"{node.module}.{alias.name}"


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _private_part(module: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in module.split(".")[1:])


def edges(package: str) -> Iterator[tuple[str, str]]:
    """(where, imported module) for every project import in ``package``."""
    for path in _modules(package):
        where = path.relative_to(ROOT)
        for line, module in _imports(path):
            if module.split(".")[0] in PACKAGES:
                yield f"{where}:{line}", module


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package: str) -> None:
    wrong = [f"{where} imports {module}" for where, module in edges(package)
             if (top := module.split(".")[0]) != package and top not in ALLOWED[package]]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_reaching_into_private_modules(package: str) -> None:
    wrong = [f"{where} imports {module}" for where, module in edges(package)
             if module.split(".")[0] != package and _private_part(module)]
    assert not wrong, "\n".join(wrong)


def test_tests_use_public_seams_only() -> None:
    """Tests and benchmarks import each package's public names and its ``testing`` modules,
    never its private modules: what they exercise is what a caller can rely on."""
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {module}"
             for folder in ("tests", "bench") for path in sorted((ROOT / folder).rglob("*.py"))
             for line, module in _imports(path)
             if module.split(".")[0] in PACKAGES and _private_part(module)]
    assert not wrong, "\n".join(wrong)


def test_every_package_is_placed() -> None:
    """A new top-level package must be given its place in ALLOWED (and the README's table)."""
    found = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert found == set(ALLOWED)


def test_a_kiosk_tool_loads_no_bridge_code() -> None:
    """`canopy doctor` and `canopy agent` on a kiosk import nothing of the bridge."""
    import subprocess
    import sys

    code = ("import sys; import cli.commands.doctor, cli.commands.agent, provisioning, agent.app;"
            " bad = sorted(m for m in sys.modules if m == 'bridge' or m.startswith(('bridge.', 'statesim')));"
            " print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
