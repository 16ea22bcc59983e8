"""The tree is ruff-clean, ruff-formatted, mypy --strict clean and keeps its import layers
(rules and contracts: pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# import-linter has no ``python -m`` entry: its console script's function, called directly.
_IMPORT_LINTER = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    argv = ["-c", _IMPORT_LINTER] if args == ("importlinter_main",) else ["-m", *args]
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy",),
        ("importlinter_main",),
    ],
    ids=["ruff-check", "ruff-format", "mypy", "import-linter"],
)
def test_tool_is_clean(command: tuple[str, ...]) -> None:
    result = run_tool(*command)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
