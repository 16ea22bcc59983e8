"""``msproxy run`` as a child process, for the tests that need a real process (signals,
exit statuses, descriptor limits, a full disk), and an upstream that echoes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import trio


async def echo(stream: trio.SocketStream) -> None:
    """A scripted upstream that sends every byte back."""
    async with stream:
        try:
            async for chunk in stream:
                await stream.send_all(chunk)
        except trio.BrokenResourceError:
            pass


LISTENING = re.compile(rb"msproxy listening on 127\.0\.0\.1:(\d+),")


@asynccontextmanager
async def msproxy_process(
    argv: Sequence[str], errors: Path
) -> AsyncIterator[tuple[trio.Process, tuple[str, int]]]:
    """Start ``argv`` (an ``msproxy run`` command line listening on 127.0.0.1), its
    standard error to ``errors``; yield the process and the address it listens on once it
    says so. The process is killed on the way out if it is still running."""
    with errors.open("wb") as err:
        proc = await trio.lowlevel.open_process(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err
        )
    try:
        assert proc.stdout is not None
        line = b""
        while not line.endswith(b"\n"):
            chunk = await proc.stdout.receive_some(1000)
            assert chunk, f"msproxy exited: {errors.read_text()}"  # noqa: ASYNC240
            line += chunk
        match = LISTENING.match(line)
        assert match, line
        yield proc, ("127.0.0.1", int(match[1]))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
