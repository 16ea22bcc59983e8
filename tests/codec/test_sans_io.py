"""The codec is sans-IO: it never imports trio, socket or time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import msmgr.codec

CODEC_DIR = Path(msmgr.codec.__file__).parent
FORBIDDEN = {"trio", "socket", "time", "asyncio", "select", "selectors"}


def test_no_codec_module_imports_io() -> None:
    files = sorted(CODEC_DIR.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_importing_the_codec_loads_no_io_library() -> None:
    # Stand in for the msmgr package so that only the codec itself is imported (msmgr's
    # own __init__ may re-export the trio-based client).
    code = (
        "import sys, types; pkg = types.ModuleType('msmgr'); "
        f"pkg.__path__ = [{str(CODEC_DIR.parent)!r}]; sys.modules['msmgr'] = pkg; "
        "import msmgr.codec; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('trio', 'socket', 'asyncio')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
