"""msproxy/web/app: the page and its JSON API (Starlette), over a ``WebStore``.

``GET /`` is the page (it also sets the token cookie); ``/static/*`` its scripts and
style; ``/api/sessions`` the sessions list; ``/api/sessions/{key}`` a session's columns
and row count under a filter (``filter``) with folds opened (``open``: first record
indices, comma-separated), ``.../rows?start=&count=`` a window of its rows,
``.../detail?n=`` one row's records in full, ``.../export.mmd``, ``.svg``, ``.jsonl``
its exports; ``/ws`` the WebSocket of live updates. ``Guard`` checks every one.
"""

from __future__ import annotations

import json
from pathlib import Path

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from starlette.websockets import WebSocket, WebSocketDisconnect

from msproxy.inspect.model import Capture

from .detail import record_detail
from .export import jsonl, mermaid, svg
from .guard import Guard, cookie_name
from .model import LadderView, WebSession, columns, row_json, session_json
from .store import WebStore

STATIC = Path(__file__).parent / "static"
MAX_ROWS = 500
"""Rows one request may ask for (the page asks for what it shows, and a margin)."""
MAX_FOLDED = 200
"""Records of a folded row the detail pane lists at most."""


class ApiError(Exception):
    """A request the API cannot answer: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def build_app(store: WebStore, token: str) -> ASGIApp:
    """The whole web app, behind its ``Guard``."""
    api = Api(store, token)
    app = Starlette(
        routes=[
            Route("/", api.index),
            Route("/favicon.ico", lambda request: Response(status_code=204)),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Route("/api/info", api.info),
            Route("/api/sessions", api.sessions),
            Route("/api/sessions/{key}", api.session),
            Route("/api/sessions/{key}/rows", api.rows),
            Route("/api/sessions/{key}/detail", api.detail),
            Route("/api/sessions/{key}/export.{kind}", api.export),
            WebSocketRoute("/ws", api.updates),
        ],
        exception_handlers={ApiError: api.error},
    )
    return Guard(app, token)


class Api:
    """The request handlers, over one store."""

    def __init__(self, store: WebStore, token: str) -> None:
        self.store = store
        self.cookie = cookie_name(token)

    async def index(self, request: Request) -> Response:
        """The page; its first load (with ``?token=``) leaves the token in a cookie."""
        response = FileResponse(STATIC / "index.html", media_type="text/html")
        token = request.query_params.get("token")
        if token:  # the guard let it in: it is the token
            response.set_cookie(self.cookie, token, httponly=True, samesite="strict")
        response.headers["cache-control"] = "no-store"
        return response

    async def error(self, request: Request, exc: Exception) -> Response:
        """An ``ApiError`` as a JSON answer."""
        status = exc.status if isinstance(exc, ApiError) else 500
        return JSONResponse({"error": str(exc)}, status_code=status)

    async def info(self, request: Request) -> Response:
        """What is shown: the captures (and any problem reading one), redaction."""
        captures = [
            {"source": f.capture.source, "records": len(f.capture.records), "problem": f.problem}
            for f in self.store.captures
        ]
        return JSONResponse({"captures": captures, "redact": self.store.redact})

    async def sessions(self, request: Request) -> Response:
        """The sessions list."""
        rows = [session_json(capture, session) for capture, session in self.store.sessions()]
        return JSONResponse({"sessions": rows})

    async def session(self, request: Request) -> Response:
        """A session's columns and number of rows under the request's filter."""
        capture, session, view = self._view(request)
        return JSONResponse(
            {
                "session": session_json(capture, session),
                "columns": columns(capture, session),
                "total": len(view.rows),
            }
        )

    async def rows(self, request: Request) -> Response:
        """A window of a session's rows."""
        capture, session, view = self._view(request)
        start = max(0, _int(request, "start", 0))
        count = min(MAX_ROWS, max(0, _int(request, "count", 100)))
        stop = min(len(view.rows), start + count)
        rows = [row_json(capture, session, view, n) for n in range(start, stop)]
        return JSONResponse({"start": start, "total": len(view.rows), "rows": rows})

    async def detail(self, request: Request) -> Response:
        """One row's records in full (a fold: its first ``MAX_FOLDED``)."""
        capture, session, view = self._view(request)
        number = _int(request, "n", -1)
        if not 0 <= number < len(view.rows):
            raise ApiError(404, f"no row {number}")
        row = view.rows[number]
        indices = row.indices()[:MAX_FOLDED]
        if row.rewrite is not None:
            indices.append(row.rewrite)
        details = [record_detail(capture.records[index], index) for index in indices]
        return JSONResponse({"row": row_json(capture, session, view, number), "records": details})

    async def export(self, request: Request) -> Response:
        """The ladder as Mermaid text or SVG, or the session's records as JSONL."""
        capture, session, view = self._view(request)
        kind = request.path_params["kind"]
        name = f"msproxy-{session.key}"
        if kind == "mmd":
            return PlainTextResponse(mermaid(capture, session, view), headers=_attach(name, kind))
        if kind == "svg":
            return Response(
                svg(capture, session, view),
                media_type="image/svg+xml",
                headers=_attach(name, kind),
            )
        if kind == "jsonl":
            return StreamingResponse(
                jsonl(capture, session),
                media_type="application/x-ndjson",
                headers=_attach(name, kind),
            )
        raise ApiError(404, f"no export {kind!r} (mmd, svg, jsonl)")

    async def updates(self, websocket: WebSocket) -> None:
        """Live updates: the store's messages for this browser, as they come."""
        await websocket.accept()
        subscriber = self.store.subscribe()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_drain, websocket, nursery.cancel_scope)
                while True:
                    for message in await subscriber.get():
                        await websocket.send_text(json.dumps(message))
        except WebSocketDisconnect:
            pass
        finally:
            self.store.unsubscribe(subscriber)

    def _view(self, request: Request) -> tuple[Capture, WebSession, LadderView]:
        found = self.store.find(request.path_params["key"])
        if found is None:
            raise ApiError(404, f"no session {request.path_params['key']!r}")
        capture, session = found
        text = request.query_params.get("filter", "")
        try:
            opened = frozenset(
                int(part) for part in request.query_params.get("open", "").split(",") if part
            )
            return capture, session, self.store.view(capture, session, text, opened)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None


async def _drain(websocket: WebSocket, scope: trio.CancelScope) -> None:
    """Read (and ignore) what the browser sends; when it goes, stop sending to it."""
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        scope.cancel()


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        raise ApiError(400, f"{name} must be a number") from None


def _attach(name: str, kind: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{name}.{kind}"'}
