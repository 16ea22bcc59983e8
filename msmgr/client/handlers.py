"""msmgr/client/handlers: handler specs and dispatch, as Net::Msmgr's callback model.

A handler is registered per connection for one or more command names (``"MSG"``,
``"217"``) or pseudo events (``"login"``, ``"close"``, ``"conversation"``). Every handler
for a name is called, in registration order. A handler spec is one of:

* a callable: ``handler(command)``;
* a session method name: ``session.<name>(command)``;
* a tuple ``(callable_or_name, *extra)``: called as ``handler(command, *extra)``;
* a tuple ``(object, "method", *extra)``: ``object.method(command, *extra)``.

Sync and async callables both work (an awaitable result is awaited before the next
handler runs). Handlers run in the connection's reading task, one command at a time
in the order received; a handler may await a reply on the same connection
(``request()``, ``send_text(ack="A")``): the task reads on for it meanwhile. The next
command's handlers run only once it returns (see ``msmgr.client.connection``), and a
handler that takes long holds up reading on its connection for as long.

Pseudo events pass their subject instead of a command: ``login`` the
Session (what Net::Msmgr's documentation promised), ``conversation`` the new
Conversation, ``close`` the Connection that closed.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeAlias

from msmgr.codec import Command
from msmgr.debug import Debug, flag_logger

logger = logging.getLogger(__name__)
handler_log = flag_logger(Debug.HANDLER)

Handler: TypeAlias = Callable[..., Any] | str | tuple[Any, ...]


def validate(spec: Handler, owner: object | None = None) -> None:
    """Check the shape of a handler spec now rather than when it is first called.

    Raises:
        TypeError: not a callable, a method name or a tuple starting with one.
        ValueError: a method name that ``owner`` (the session) does not have.
    """
    first: Any = spec[0] if isinstance(spec, tuple) and spec else spec
    if isinstance(spec, tuple) and not spec:
        raise TypeError("an empty tuple is not a handler")
    if isinstance(first, str):
        if owner is not None and not callable(getattr(owner, first, None)):
            raise ValueError(f"{type(owner).__name__} has no method {first!r} to use as handler")
        return
    if callable(first):
        return
    if isinstance(spec, tuple) and len(spec) >= 2 and isinstance(spec[1], str):
        if not callable(getattr(first, spec[1], None)):
            raise ValueError(f"{type(first).__name__} has no method {spec[1]!r}")
        return
    raise TypeError(f"not a handler: {spec!r}")


def resolve(spec: Handler, owner: object) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The callable and the extra arguments a handler spec stands for."""
    if isinstance(spec, tuple):
        first, extra = spec[0], spec[1:]
    else:
        first, extra = spec, ()
    if isinstance(first, str):
        method = getattr(owner, first, None)
        if not callable(method):
            raise ValueError(f"{type(owner).__name__} has no method {first!r} to use as handler")
        return method, extra
    if callable(first):
        return first, extra
    if extra and isinstance(extra[0], str):
        return getattr(first, extra[0]), extra[1:]
    raise TypeError(f"not a handler: {spec!r}")


def subject(command: Command) -> Any:
    """What a handler receives first: the command, or a pseudo event's subject."""
    if command.pseudo and command.context:
        return command.context[0]
    return command


class HandlerTable:
    """The handlers of one connection (or of all of a session's NS connections), by name."""

    def __init__(self) -> None:
        self._table: dict[str, list[Handler]] = {}

    def add(self, handler: Handler, *names: str, owner: object | None = None) -> None:
        """Append ``handler`` to the list of every name in ``names``."""
        if not names:
            raise TypeError("add_handler needs at least one command or event name")
        validate(handler, owner)
        for name in names:
            self._table.setdefault(name, []).append(handler)

    def remove(self, handler: Handler, *names: str) -> None:
        """Remove ``handler`` from the named lists (all lists when no name is given)."""
        for name in names or tuple(self._table):
            specs = self._table.get(name, [])
            while handler in specs:
                specs.remove(handler)

    def get(self, name: str) -> list[Handler]:
        """The handlers registered for ``name``, in order (a copy)."""
        return list(self._table.get(name, ()))

    def __contains__(self, name: object) -> bool:
        return bool(self._table.get(name)) if isinstance(name, str) else False

    async def dispatch(
        self, command: Command, *, owner: object, conn_name: str, debug: Debug
    ) -> None:
        """Call every handler of ``command.verb`` in order, awaiting async ones.

        Args:
            command: the received (or pseudo) command.
            owner: the session, whose methods string specs name.
            conn_name: the connection's name, for DEBUG_HANDLER output.
            debug: the flags that decide whether DEBUG_HANDLER output is logged.
        """
        specs = self._table.get(command.verb)
        if not specs:
            return
        first_arg = subject(command)
        for spec in list(specs):
            if debug & Debug.HANDLER:
                handler_log.debug("%s is calling a %s handler", conn_name, command.verb)
            func, extra = resolve(spec, owner)
            result = func(first_arg, *extra)
            if inspect.isawaitable(result):
                await result
