"""msproxy.inspect: tools over captures: show, summary, diff and replay.

Everything here reads capture records (``msproxy.capture``) and never writes them; the
command-line front ends live in ``msproxy/cli/{show,summary,diff,replay}.py``.
"""

from __future__ import annotations

from .model import Capture, Connection, load_capture, make_capture

__all__ = ["Capture", "Connection", "load_capture", "make_capture"]
