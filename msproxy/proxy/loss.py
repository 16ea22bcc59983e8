"""msproxy/proxy/loss: what a capture that stopped early lost, and how it is told.

A write to the capture that fails (a full disk, EIO, a file system gone) stops the
capture, never the relay: ``CaptureSink`` keeps a ``CaptureLoss`` from then on, counts
every record it could not write, and the command lines report it on exit (``summary``)
and exit with ``CAPTURE_INCOMPLETE``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

CAPTURE_INCOMPLETE = 3
"""Exit status of ``msproxy run`` and ``msproxy demo`` when capture records were lost."""


@dataclass(slots=True)
class CaptureLoss:
    """Kept by the sink once a capture write failed: the error, since when records are
    lost (the time of the first one not written) and how many so far."""

    path: Path
    error: OSError
    since: float
    lost: int = 0
    torn: bool = False  # the file could not be cut back to its last complete line

    def clock(self) -> str:
        """``since`` as local time, ``HH:MM:SS.mmm``."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"{stamp}.{int(self.since * 1000) % 1000:03d}"

    def stopped(self) -> str:
        """The one line logged when the capture stops."""
        return (
            f"capture stopped: writing {self.path} failed ({_reason(self.error)}); every "
            f"record from {self.clock()} on is lost ({self.lost} so far), the connections "
            "go on being relayed"
        )

    def summary(self) -> str:
        """The line printed on exit."""
        torn = ", and its last line is torn" if self.torn else ""
        return (
            f"the capture {self.path} is incomplete: {self.lost} records lost from "
            f"{self.clock()} on ({_reason(self.error)}){torn}"
        )


def _reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__
