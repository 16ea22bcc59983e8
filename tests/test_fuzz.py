"""The fuzz harness (scripts/fuzz/): its checks hold on the seeds, on hand-picked edge
cases and on every input the fuzzer found failing (tests/fuzz_found/<target>/), and
``run.py`` runs for a bounded time where atheris is installed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "scripts" / "fuzz"
FOUND = Path(__file__).resolve().parent / "fuzz_found"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}", FUZZ / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checks, runner = load("checks"), load("run")


def found(target: str) -> list[Path]:
    return sorted((FOUND / target).glob("*")) if (FOUND / target).is_dir() else []


FRAMER_EDGES = [
    b"",
    b"\x00\x00",
    b"\x01\x00MSG 1 N 5\r\nhello",
    b"\x01\x00MSG 1 N 5\r\nhel",  # a payload cut short: left over at the end
    b"\x01\x05MSG 1 N 99999999999999999999\r\n",
    b"\x40\x00" + b"X" * 100 + b"\r\nPNG\r\n",  # over the small limits: framing lost
    b"\x00\x03VER 1 MSNP8\r\n911 2\r\nLSG 3 a b 0\r\n",
    b"\x02\x00\r\n\n\r\r\n \r\n",
    b"\x01\x10" + "NLN é \udcff\r\n".encode("utf-8", "surrogateescape"),
]
CAPTURE_EDGES = [
    b"",
    b"\n",
    b"{}\n",
    b'{"type":"header","format":"msnp-capture","version":2,"started":0}\n{"type":"run"}\n',
    b'{"type":"header","format":"msnp-capture","version":2,"started":0}\n{"type":"cmd"',
    b'{"type":"header","format":"msnp-capture","version":1,"started":1e400}\n',
    b'{"type":"header","format":"msnp-capture","version":2,"started":0}\n'
    b'{"type":"fault","t":0,"conn":1,"dir":"s2c","action":"drop","rule":1,"cmd":"NLN",'
    b'"offset":0,"size":5}\n',
    b"[" * 100_000 + b"\n",
]


@pytest.mark.parametrize(
    "data", [*FRAMER_EDGES, *runner._framer_seeds(), *(p.read_bytes() for p in found("framer"))]
)
def test_the_framer_checks_hold(data: bytes) -> None:
    checks.framer_case(data)


def test_the_framer_checks_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A framer that lost a byte would be caught."""
    real = checks._pieces
    monkeypatch.setattr(checks, "_pieces", lambda events: real(events)[1:])
    with pytest.raises(AssertionError, match="lost or changed bytes"):
        checks.framer_case(b"\x01\x00PNG\r\nPNG\r\n")


CAPTURES = [
    *CAPTURE_EDGES,
    *(p.read_bytes() for p in sorted(runner.SAMPLES.glob("*.jsonl"))),
    *(p.read_bytes() for p in found("capture")),
]


@pytest.mark.parametrize("data", CAPTURES)
def test_the_capture_checks_hold(data: bytes, tmp_path: Path) -> None:
    checks.capture_case(data, tmp_path / "c.jsonl")


INJECTOR_EDGES = [
    b"\x00\x00MSG 1 N 3\r\nabcPNG\r\n",
    b"\x74\x01PNG\r\nMSG 1 N 9\r\nabc",  # a cut and a drop: dropped bytes do not count
    b"\x44\x02PNG\r\nPNG\r\nPNG\r\n",  # a reset on the second PNG
    b"\x29\x03911 3\r\nQNG 5\r\nNLN a b\r\n",  # two rules dropping one command
]


@pytest.mark.parametrize(
    "data",
    [*INJECTOR_EDGES, *runner._framer_seeds(), *(p.read_bytes() for p in found("injector"))],
)
def test_the_injector_checks_hold(data: bytes) -> None:
    checks.injector_case(data)


def test_received_is_the_format_documents_rule() -> None:
    stream = b"PNG\r\nMSG 1 N 3\r\nabcQNG 5\r\n"
    drop = {"action": "drop", "offset": 5, "size": 14}
    assert checks.received(stream, [drop]) == b"PNG\r\nQNG 5\r\n"
    cut = {"action": "cut", "offset": 0, "after": 7}
    assert checks.received(stream, [cut, drop]) == b"PNG\r\nQN"
    assert checks.received(stream, [{"action": "stall", "offset": 5}]) == b"PNG\r\n"


def test_the_capture_checks_can_fail(tmp_path: Path) -> None:
    """Anything but CaptureFormatError escapes (here: no such folder)."""
    with pytest.raises(FileNotFoundError):
        checks.capture_case(b"{}\n", tmp_path / "missing" / "c.jsonl")


def test_run_fuzzes_a_target_for_a_bounded_time(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -e '.[fuzz]')")
    bounds = ["--seconds", "20", "--runs", "30", "--work", str(tmp_path), "--target", "injector"]
    result = subprocess.run(
        [sys.executable, str(FUZZ / "run.py"), *bounds],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["fuzz injector: 20 s"]
    assert any((tmp_path / "injector" / "corpus").iterdir())  # seeded, kept for next time
