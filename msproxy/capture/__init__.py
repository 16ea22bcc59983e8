"""msproxy.capture: the capture format (JSON Lines) and its writer and reader."""

from __future__ import annotations

from .encode import encode_record, encode_records
from .format import (
    CaptureFormatError,
    get_bytes,
    rebuild,
    record_command,
    run_commands,
    run_records,
)
from .reader import read_capture
from .records import (
    FORMAT_NAME,
    FORMAT_VERSION,
    VERSIONS,
    Record,
    close_record,
    command_record,
    error_record,
    header_record,
    open_record,
    put_bytes,
    raw_record,
    rewrite_record,
)
from .writer import CaptureWriter

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "VERSIONS",
    "CaptureFormatError",
    "CaptureWriter",
    "Record",
    "close_record",
    "command_record",
    "encode_record",
    "encode_records",
    "error_record",
    "get_bytes",
    "header_record",
    "open_record",
    "put_bytes",
    "raw_record",
    "read_capture",
    "rebuild",
    "record_command",
    "rewrite_record",
    "run_commands",
    "run_records",
]
