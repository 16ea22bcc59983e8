"""msproxy.web: the live web view: sessions, ladders and details of captures, in a browser.

``model`` groups a capture's connections into client sessions and lays out their
ladders (sans-IO, no trio); ``follow`` reads a capture file as it grows; ``store`` holds
the captures being shown and tells browsers when they change; ``app`` is the page and
its API (Starlette), ``guard`` its token and ``Host`` checks, ``serve`` runs it on trio
(Hypercorn). The command lines are ``msproxy web`` and ``msproxy run --web``.
"""

from __future__ import annotations
