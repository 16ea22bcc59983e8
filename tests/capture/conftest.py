"""Shared fixtures: the golden sample captures and a small capture writer helper."""

from __future__ import annotations

from pathlib import Path

import pytest

from msproxy.capture import Record
from msproxy.inspect import Capture, load_capture

from .make_samples import SAMPLE_FLOWS, SAMPLES

SAMPLE_PATHS = [SAMPLES / name for name in SAMPLE_FLOWS]
MD5_CHAT = SAMPLES / "msnp2-md5-chat.jsonl"
TWN_LOGIN = SAMPLES / "msnp8-twn-login.jsonl"


@pytest.fixture
def chat() -> Capture:
    return load_capture(MD5_CHAT)


@pytest.fixture
def twn() -> Capture:
    return load_capture(TWN_LOGIN)


def header(version: int = 1, **extra: object) -> Record:
    return {
        "type": "header",
        "format": "msnp-capture",
        "version": version,
        "started": 1000.0,
        "tool": "test",
        **extra,
    }


def write_lines(path: Path, records: list[Record]) -> Path:
    """Write records as JSON Lines without the CaptureWriter (to craft odd files)."""
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
