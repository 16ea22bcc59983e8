"""``scripts/echo_bot.py`` imported as a module, for the tests that drive the bot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_echo_bot() -> ModuleType:
    """The module of ``scripts/echo_bot.py`` (once per test session, as ``echo_bot``)."""
    spec = importlib.util.spec_from_file_location("echo_bot", ROOT / "scripts" / "echo_bot.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("echo_bot", module)
    spec.loader.exec_module(module)
    return module
