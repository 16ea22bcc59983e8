"""The capture sink and its encoder: same bytes as the capture writer, batches, backpressure,
and records that JSON cannot hold as they are."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import trio
import trio.testing

import msproxy.proxy.sink as sink_module
from msmgr.codec import Command, Direction, Framer
from msproxy.capture import CaptureWriter, Record, command_record, read_capture, rebuild
from msproxy.capture.encode import encode_pieces, encode_record, encode_records
from msproxy.proxy.sink import CaptureSink

WIRE = (
    b"VER 1 MSNP8 CVR0\r\n"
    b"MSG 2 N 13\r\nh\xc3\xa9llo \xe2\x82\xac \x00\x01"
    b"MSG 3 D 4\r\n\xff\xfe\x00\x01"
    b"PNG\n"
    b"CHG 007 NLN 0\r\n"
    b'ADC 4 FL N=a@b.c F=%22quoted%22 "x" \\ /\r\n'
)


def wire_records() -> list[Record]:
    events = [e for e in Framer(Direction.C2S, strict=False).feed(WIRE) if isinstance(e, Command)]
    assert b"".join(e.to_bytes() for e in events) == WIRE
    records = [command_record(1, "c2s", e, 1700000000.25 + i) for i, e in enumerate(events)]
    records.append({"type": "close", "t": 1e9, "conn": 1, "by": "proxy", "reason": "é\n\u2028"})
    records.append({"type": "open", "t": 1, "conn": 2, "parent": None, "ok": True})
    return records


def test_encoding_is_byte_identical_to_the_capture_writer() -> None:
    records = wire_records()
    assert encode_records(records) == b"".join(encode_record(r) for r in records)


def test_non_utf8_argument_is_written_and_rebuilds_exactly(tmp_path: Path) -> None:
    """The codec keeps non-UTF-8 bytes as surrogates; the record keeps them in line_b64."""
    line = b"ADD 1 AL a\xff@b.c x\r\n"
    (command,) = Framer(Direction.C2S).feed(line)
    assert isinstance(command, Command)
    record = command_record(1, "c2s", command, 1.0)
    assert record["args"] == ["AL", "a\ufffd@b.c", "x"]
    assert "line_b64" in record
    data = encode_records([record, {"type": "close", "t": 2.0, "conn": 1}])
    assert data == encode_record(record) + encode_record({"type": "close", "t": 2.0, "conn": 1})
    assert data.count(b"\n") == 2
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path, tool="t", started=0.0) as writer:
        writer.write_pieces([data], 2)
        assert writer.records_written == 3
    _, written, _ = read_capture(path)
    assert rebuild(written) == line


def test_lone_surrogates_are_escaped_not_fatal() -> None:
    record: Record = {"type": "close", "t": 2.0, "conn": 1, "by": "proxy", "reason": "a\udcff"}
    (line,) = encode_records([record]).splitlines()
    assert json.loads(line)["reason"] == "a\udcff"


def test_a_record_json_refuses_becomes_an_error_record() -> None:
    bad: Record = {"type": "cmd", "t": 3.0, "conn": 4, "args": [object()]}
    (line,) = encode_records([bad]).splitlines()
    error = json.loads(line)
    assert error["type"] == "error"
    assert (error["kind"], error["conn"], error["t"]) == ("capture", 4, 3.0)
    assert "'cmd' record" in error["message"]


async def written(sink: CaptureSink, batches: int) -> None:
    """Wait until ``batches`` batches were written: the writer's thread runs in real time,
    which the autojump clock does not wait for."""
    for _ in range(100_000):
        if sink.batches_written >= batches:
            return
        await trio.sleep(0.001)
    raise AssertionError(f"{sink.batches_written} batches written, not {batches}")


async def test_records_are_written_in_batches_in_order(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, tool="t", started=0.0)
    sink = CaptureSink(writer, interval=0.01, batch=1000)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sink.run)
        for i in range(50):  # 50 chunks within one interval: one write
            sink.put([{"type": "close", "t": float(i), "conn": i}])
            await trio.sleep(0.0001)
        await trio.sleep(0.02)
        await written(sink, 1)
        assert sink.batches_written == 1
        assert sink.backlog == 0
        sink.put([{"type": "close", "t": 50.0, "conn": 50}])
        await trio.sleep(0.02)
        await written(sink, 2)
        assert sink.batches_written == 2
        nursery.cancel_scope.cancel()
    writer.close()
    assert [r["conn"] for r in list(read_capture(path))[1:]] == list(range(51))


async def test_a_full_queue_makes_producers_wait_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, tool="t", started=0.0)
    sink = CaptureSink(writer, high_water=10, batch=5, interval=60.0)
    sink.put([{"type": "close", "t": 0.0, "conn": i} for i in range(11)])
    assert sink.backlog == 11
    with trio.move_on_after(0.05) as scope:
        await sink.wait_room()  # no writer running: stays blocked
    assert scope.cancelled_caught
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sink.run)
            await sink.wait_room()  # the writer took the batch (the full queue woke it)
            nursery.cancel_scope.cancel()
    sink.flush()
    writer.close()
    assert [r["conn"] for r in list(read_capture(path))[1:]] == list(range(11))


async def test_big_records_weigh_by_their_bytes(tmp_path: Path) -> None:
    # A few huge commands fill memory like many small ones: the queue counts bytes too.
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, tool="t", started=0.0)
    sink = CaptureSink(writer, interval=60.0, batch_bytes=1000, high_water_bytes=5000)
    big: Record = {"type": "cmd", "t": 0.0, "conn": 1, "dir": "c2s", "cmd": "MSG"}
    big.update(trid=1, args=["N"], payload="x" * 2000)
    sink.put([big])
    assert (sink.backlog, sink.backlog_bytes, sink.full) == (1, 2064, False)
    sink.put([big, big])
    assert (sink.backlog, sink.full) == (3, True)  # above 5000 bytes with three records
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sink.run)
            await sink.wait_room()  # woken by the bytes, not the 60 s interval
            nursery.cancel_scope.cancel()
    assert (sink.backlog, sink.backlog_bytes, sink.full) == (0, 0, False)
    writer.close()
    assert [r["payload"] for r in list(read_capture(path))[1:]] == ["x" * 2000] * 3


async def test_a_long_capture_is_dropped_from_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every DROP_BYTES of capture, the writer's thread gets it onto the disk and out of
    # the page cache; nothing is lost.
    monkeypatch.setattr(sink_module, "DROP_BYTES", 3000)
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, tool="t", started=0.0)
    drops: list[int] = []
    real_drop = writer.drop_cached

    loop_thread = threading.get_ident()

    def counting_drop() -> None:
        assert threading.get_ident() != loop_thread  # (fdatasync: never in the loop)
        drops.append(writer.cached)
        real_drop()

    monkeypatch.setattr(writer, "drop_cached", counting_drop)
    sink = CaptureSink(writer, interval=0.01)
    record: Record = {"type": "cmd", "t": 0.0, "conn": 1, "dir": "c2s", "cmd": "MSG"}
    record.update(trid=1, args=["N"], payload="x" * 1000)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sink.run)
            for _ in range(10):
                sink.put([record])
                await written(sink, sink.batches_written + 1)
            nursery.cancel_scope.cancel()
    writer.close()
    assert len(drops) >= 2
    assert all(size >= 3000 for size in drops)
    assert len([r for r in read_capture(path) if r["type"] == "cmd"]) == 10


async def test_big_batches_are_encoded_and_written_off_the_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch holding THREAD_BYTES or more is encoded (the C encoder releases the GIL)
    # and written in a worker thread; a small one is encoded in the loop's thread, and
    # only its page-cache drop (fdatasync) goes to a worker thread.
    monkeypatch.setattr(sink_module, "THREAD_BYTES", 5000)
    monkeypatch.setattr(sink_module, "DROP_BYTES", 3000)
    loop_thread = threading.get_ident()
    encoded_in: list[tuple[int, bool]] = []  # (records in the batch, in the loop thread)
    dropped_in: list[bool] = []

    def spying_encode(batch: list[Record], version: int = 2) -> list[bytes]:
        encoded_in.append((len(batch), threading.get_ident() == loop_thread))
        return encode_pieces(batch, version)

    monkeypatch.setattr(sink_module, "encode_pieces", spying_encode)
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, tool="t", started=0.0)
    real_drop = writer.drop_cached

    def spying_drop() -> None:
        dropped_in.append(threading.get_ident() == loop_thread)
        real_drop()

    monkeypatch.setattr(writer, "drop_cached", spying_drop)
    sink = CaptureSink(writer, interval=60.0, batch_bytes=4000)
    record: Record = {"type": "cmd", "t": 0.0, "conn": 1, "dir": "c2s", "cmd": "MSG"}
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sink.run)
            # 2 x 1,000 payload bytes wake nobody (under batch_bytes); with 6,000 more the
            # batch holds over THREAD_BYTES
            sink.put([{**record, "trid": n, "args": ["N"], "payload": "s" * 1000} for n in (1, 2)])
            sink.put([{**record, "trid": 3, "args": ["N"], "payload": "b" * 6000}])
            await written(sink, 1)
            # 4,500 bytes: over batch_bytes (the writer wakes), under THREAD_BYTES
            sink.put([{**record, "trid": 4, "args": ["N"], "payload": "c" * 4500}])
            await written(sink, 2)
            nursery.cancel_scope.cancel()
    writer.close()
    assert encoded_in == [(3, False), (1, True)]
    assert dropped_in
    assert not any(dropped_in)
    assert [r["trid"] for r in read_capture(path) if r["type"] == "cmd"] == [1, 2, 3, 4]


def test_without_a_writer_nothing_is_queued() -> None:
    sink = CaptureSink(None)
    sink.put([{"type": "close", "t": 0.0, "conn": 1}])
    assert sink.backlog == 0
    sink.flush()


@pytest.mark.parametrize("short", [False, True])
def test_pieces_are_written_whole_in_order_past_iov_max_and_after_a_short_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short: bool
) -> None:
    from msproxy.capture import writer as writer_module

    records = wire_records() * 700  # more pieces than one writev takes
    pieces = encode_pieces(records)
    assert len(pieces) > writer_module._IOV_MAX
    real = writer_module._writev
    assert real is not None
    calls: list[int] = []

    def writev(fd: int, group: list[bytes]) -> int:
        calls.append(len(group))
        if short and len(calls) == 1:  # the first call writes only part of a piece
            written: int = real(fd, [group[0][:5]])
            return written
        result: int = real(fd, group)
        return result

    monkeypatch.setattr(writer_module, "_writev", writev)
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path, tool="t", started=0.0) as writer:
        writer.write_pieces(pieces, len(records))
        assert writer.records_written == 1 + len(records)
        assert writer.cached == path.stat().st_size
    assert max(calls) <= writer_module._IOV_MAX
    assert len(calls) == -(-len(pieces) // writer_module._IOV_MAX)
    assert path.read_bytes().split(b"\n", 1)[1] == encode_records(records)
    assert len(list(read_capture(path))) == 1 + len(records)
