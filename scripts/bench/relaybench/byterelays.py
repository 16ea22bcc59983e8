"""The relays the benchmark runs in its own helper processes: ``plain`` (a trio byte
relay, the floor), ``tee`` (the same, also writing down every byte it relays, the least
any capture costs) and, without a capture, msproxy's ``serve_proxy`` (``msproxy run``
always captures)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import trio

from msproxy.capture.writer import drop_written
from msproxy.cli.run import capture_accelerate
from msproxy.proxy.allocator import tune_malloc
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import ProxyListening, serve_proxy
from msproxy.proxy.session import RECEIVE_SIZE
from msproxy.proxy.sink import DROP_BYTES

from .upstream import Address, serve_until_stdin_ends, start_tcp


class Tee:
    """The raw bytes a ``tee`` relay appends: both directions of every connection, as
    they pass, into one file (no framing, no records: the least any capture can cost),
    handled like the proxy's capture (``CaptureSink``/``CaptureWriter``): appended with
    ``O_APPEND``, and every ``DROP_BYTES`` put on the disk and out of the page cache
    from a worker thread."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self.written = self.kept = 0
        self.lock = trio.Lock()

    async def write(self, chunk: bytes | bytearray) -> None:
        """Append ``chunk``; past ``DROP_BYTES`` since the last drop, drop again."""
        os.write(self.fd, chunk)
        self.written += len(chunk)
        if self.written - self.kept >= DROP_BYTES and not self.lock.locked():
            async with self.lock:
                await trio.to_thread.run_sync(self._drop)

    def _drop(self) -> None:
        written = self.written
        drop_written(self.fd, self.kept, written)
        self.kept = written


async def plain_relay(
    upstream: Address, stream: trio.SocketStream, *, tee: Tee | None = None
) -> None:
    """The baseline: a byte relay with the same structure (and receive size) and no
    parsing. With ``tee``, the capture baseline: it also appends every chunk it relays
    to a file, after forwarding it."""
    async with stream, await trio.open_tcp_stream(*upstream) as up:

        async def pump(src: trio.SocketStream, dst: trio.SocketStream) -> None:
            try:
                while chunk := await src.receive_some(RECEIVE_SIZE):
                    await dst.send_all(chunk)
                    if tee is not None:
                        await tee.write(chunk)
                await dst.send_eof()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                nursery.cancel_scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(pump, stream, up)
            nursery.start_soon(pump, up, stream)


async def start_msproxy(upstream: Address, nursery: trio.Nursery) -> Address:
    """msproxy's ``serve_proxy`` without a capture, on a free port of 127.0.0.1."""
    config = ProxyConfig(
        upstream=upstream,
        listen=("127.0.0.1", 0),
        capture=None,
        accelerate=capture_accelerate(),  # MSPROXY_PURE_PYTHON, as msproxy run reads it
    )
    listening: ProxyListening = await nursery.start(serve_proxy, config)
    return listening.address


def relay_child(kind: str, upstream: Address, capture_path: Path | None) -> None:
    """Child process: one relay under test. Each tunes malloc as ``msproxy run`` does
    (``tune_malloc``), so that the baselines run under the same allocator settings."""
    tune_malloc()
    if kind == "plain":
        trio.run(serve_until_stdin_ends, partial(start_tcp, partial(plain_relay, upstream)))
    elif kind == "tee":
        assert capture_path is not None
        tee = Tee(capture_path)
        try:
            handler = partial(plain_relay, upstream, tee=tee)
            trio.run(serve_until_stdin_ends, partial(start_tcp, handler))
        finally:
            os.close(tee.fd)
    else:
        trio.run(serve_until_stdin_ends, partial(start_msproxy, upstream))
