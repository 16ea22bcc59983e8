"""msproxy/inspect/replay: play one recorded connection back, as the server or as the client.

A recorded connection is cut into steps: each client command with the server commands
that followed it, up to the next client command (``script``, in ``replay_script``).

* ``replay_as_server`` / ``serve_replay`` (``replay_server``): we stand in for the
  server, answering the live client's commands with the recorded replies.
* ``replay_as_client`` (``replay_client``): we re-drive a server with the recorded
  client commands and compare its replies.

Both return a ``ReplayReport`` (``replay_report``); ``ReplayReport.ok`` is True when
nothing differed. This module gathers the names callers use from those modules.
"""

from __future__ import annotations

from .replay_client import replay_as_client
from .replay_report import ReplayIssue, ReplayReport, explain
from .replay_script import Step, choose_connection, script
from .replay_server import Director, play_server_connection, replay_as_server, serve_replay
from .replay_wire import DEFAULT_TIMEOUT

__all__ = [
    "DEFAULT_TIMEOUT",
    "Director",
    "ReplayIssue",
    "ReplayReport",
    "Step",
    "choose_connection",
    "explain",
    "play_server_connection",
    "replay_as_client",
    "replay_as_server",
    "script",
    "serve_replay",
]
