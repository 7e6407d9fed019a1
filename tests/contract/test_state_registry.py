"""State systems are plug-ins: one registry names them, nothing else asks which one."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from bridge.state.registry import SYSTEMS, SystemName

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "bridge" / "state" / "registry.py"


def test_the_registry_covers_every_system_a_profile_may_name() -> None:
    assert set(get_args(SystemName)) == set(SYSTEMS)
    for name, system in SYSTEMS.items():
        assert system.name == name


def _system_checks(path: Path) -> list[str]:
    """Places comparing something to a system's name (``profile.system == "metrc"``)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            names = {s.value for s in sides if isinstance(s, ast.Constant)}
            if names & set(SYSTEMS):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_outside_the_registry_asks_which_system_a_licence_uses() -> None:
    modules = [p for package in ("bridge", "cli") for p in sorted((ROOT / package).rglob("*.py"))]
    wrong = [where for path in modules if path != REGISTRY for where in _system_checks(path)]
    assert not wrong, "\n".join(wrong)
