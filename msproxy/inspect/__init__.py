"""msproxy.inspect: tools over captures: show, summary, diff and replay.

Everything here reads capture records (``msproxy.capture``) and never writes them; the
command-line front ends live in ``msproxy/cli/{show,summary,diff,replay}.py``.
"""

from __future__ import annotations

from .diff import ConnectionDiff, diff_captures, diff_files, diff_json, format_diff
from .model import Capture, CaptureConnection, load_capture, make_capture
from .normalize import DEFAULT_IGNORE, IGNORE_RULES, normalize
from .replay import ReplayIssue, ReplayReport, replay_as_client, replay_as_server, serve_replay
from .session_replay import SessionReport, serve_session_replay
from .streams import rebuild_direction

__all__ = [
    "DEFAULT_IGNORE",
    "IGNORE_RULES",
    "Capture",
    "CaptureConnection",
    "ConnectionDiff",
    "ReplayIssue",
    "ReplayReport",
    "SessionReport",
    "diff_captures",
    "diff_files",
    "diff_json",
    "format_diff",
    "load_capture",
    "make_capture",
    "normalize",
    "rebuild_direction",
    "replay_as_client",
    "replay_as_server",
    "serve_replay",
    "serve_session_replay",
]
