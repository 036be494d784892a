"""The emulator stays independent: it never imports the controller or the console."""

from __future__ import annotations

import ast
from pathlib import Path

import switchsim

FORBIDDEN = ("controller", "web", "huntsman")


def test_switchsim_imports_neither_controller_nor_web() -> None:
    offenders = []
    for path in Path(switchsim.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
