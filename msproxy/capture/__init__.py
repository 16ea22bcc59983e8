"""msproxy.capture: the capture format (JSON Lines) and its writer and reader."""

from __future__ import annotations

from .encode import encode_record, encode_records
from .format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    VERSIONS,
    CaptureFormatError,
    Record,
    command_record,
    get_bytes,
    header_record,
    put_bytes,
    rebuild,
    record_command,
    run_commands,
    run_records,
)
from .reader import read_capture
from .writer import CaptureWriter

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "VERSIONS",
    "CaptureFormatError",
    "CaptureWriter",
    "Record",
    "command_record",
    "encode_record",
    "encode_records",
    "get_bytes",
    "header_record",
    "put_bytes",
    "read_capture",
    "rebuild",
    "record_command",
    "run_commands",
    "run_records",
]
