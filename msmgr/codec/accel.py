"""msmgr/codec/accel: loading an optional C accelerator, and refusing one built from other sources.

The accelerators are compiled by ``pip install``. An editable install keeps the build it
made while the Python sources move on, so a module compiled from older C could meet
Python code that calls it differently (and, say, write broken capture records without
any error). Each accelerator therefore carries an ``ABI`` number, raised whenever its
interface changes; one whose number is not what the Python code expects is not used.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def load_accelerator(name: str, abi: int) -> tuple[ModuleType | None, str]:
    """(the module, "") when ``name`` is built with interface ``abi``, else (None, why not)."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None, "not built"
    found = getattr(module, "ABI", None)
    if found != abi:
        return None, (
            f"built from other sources (interface {found}, these sources need {abi}): "
            "reinstall to rebuild it"
        )
    return module, ""
