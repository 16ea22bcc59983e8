"""msmgr/logsetup: logging configuration for the command lines (never called by the library)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}


def level_for(verbosity: int) -> int:
    """``-q`` -> ERROR, default WARNING, ``-v`` INFO, ``-vv`` DEBUG, ``-vvv`` TRACE."""
    if verbosity >= 3:
        return TRACE
    return _LEVELS[max(-1, verbosity)]


def configure_logging(
    verbosity: int = 0, *, debug_loggers: bool = False, logfile: Path | None = None
) -> None:
    """Send log records to stderr (and ``logfile``) at the level ``verbosity`` selects.

    Args:
        verbosity: count of ``-v`` minus count of ``-q``.
        debug_loggers: when True the ``msmgr.debug.*`` loggers (the debug flags' output)
            are shown whatever the verbosity; the flags themselves decide what is logged.
        logfile: also write every record there.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    if logfile is not None:
        file_handler = logging.FileHandler(logfile, encoding="utf-8")
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
        root.addHandler(file_handler)
    root.setLevel(level_for(verbosity))
    if debug_loggers:
        logging.getLogger("msmgr.debug").setLevel(logging.DEBUG)
