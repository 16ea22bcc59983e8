"""``msproxy show``: one line per record, filters, payloads, raw bytes, colour."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from msproxy.__main__ import main
from msproxy.capture import CaptureWriter, record_command
from msproxy.inspect import Capture, load_capture
from msproxy.inspect.filters import RecordFilter
from msproxy.inspect.show import ShowOptions, render_record, show_lines

from .conftest import MD5_CHAT, header, write_lines

ARROW = {"c2s": "->", "s2c": "<-"}


def show(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(["show", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def expected_names(capture: Capture) -> dict[int, str]:
    """Names built independently from the open records: role and connection id."""
    return {r["conn"]: f"{r['role']}#{r['conn']}" for r in capture.records if r["type"] == "open"}


def test_one_line_per_record_with_time_name_arrow_and_line(
    capsys: pytest.CaptureFixture[str], chat: Capture
) -> None:
    lines = show(capsys, str(MD5_CHAT))
    assert len(lines) == len(chat.records)
    names = expected_names(chat)
    assert sorted(set(names.values())) == ["DS#1", "NS#2", "SB#3", "SB#4"]
    for line, record in zip(lines, chat.records, strict=True):
        fields = line.split()
        assert float(fields[0]) == pytest.approx(record["t"] - chat.header["started"], abs=5e-4)
        assert fields[1] == names[record["conn"]]
        if record["type"] == "cmd":
            assert fields[2] == ARROW[record["dir"]]
            assert record_command(record).line in line
            if "payload" in record:
                size = len(record["payload"].encode())
                assert f", {size} bytes]" in line


def test_payload_summary_names_the_content_type(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = show(capsys, str(MD5_CHAT), "--cmd", "msg")
    assert lines
    assert all(" MSG " in line for line in lines)
    assert any("[text/x-msmsgsprofile, " in line and "[redacted]" in line for line in lines)
    assert any("[text/x-msmsgscontrol, 88 bytes]" in line for line in lines)


@pytest.mark.parametrize(
    ("argv", "check"),
    [
        (["--dir", "c2s"], lambda r: r["type"] in ("cmd", "raw") and r["dir"] == "c2s"),
        (["--conn", "3"], lambda r: r["conn"] == 3),
        (
            ["--conn", "3,4", "--dir", "s2c"],
            lambda r: r["conn"] in (3, 4) and r.get("dir") == "s2c",
        ),
        (["--cmd", "CAL,217"], lambda r: r["type"] == "cmd" and r["cmd"] in ("CAL", "217")),
        (["--cmd", "RNG"], lambda r: r.get("cmd") == "RNG"),  # the cmd and its rewrite
    ],
)
def test_filters_keep_exactly_the_matching_records(
    capsys: pytest.CaptureFixture[str], chat: Capture, argv: list[str], check: object
) -> None:
    lines = show(capsys, str(MD5_CHAT), *argv)
    expected = [r for r in chat.records if check(r)]  # type: ignore[operator]
    assert expected
    assert len(lines) == len(expected)


def test_grep_searches_lines_and_payloads(capsys: pytest.CaptureFixture[str]) -> None:
    lines = show(capsys, str(MD5_CHAT), "--grep", "caf\u00e9")
    assert len(lines) == 1
    assert "MSG 4 N" in lines[0]
    lines = show(capsys, str(MD5_CHAT), "--grep", "^USR .* MD5")
    assert len(lines) == 4


def test_payload_option_prints_text_indented(capsys: pytest.CaptureFixture[str]) -> None:
    lines = show(capsys, str(MD5_CHAT), "--conn", "3", "--cmd", "MSG", "--payload")
    assert "        Hello Bob, caf\u00e9?" in lines
    assert "        Content-Type: text/x-msmsgscontrol" in lines


def test_raw_option_shows_exact_line_ends(capsys: pytest.CaptureFixture[str]) -> None:
    lines = show(capsys, str(MD5_CHAT), "--cmd", "PNG,QNG", "--raw")
    assert [line.split(maxsplit=3)[3] for line in lines] == ["PNG\\n", "QNG\\r\\n"]


def test_binary_payload_is_hex_dumped(tmp_path: Path) -> None:
    records = [
        header(),
        {
            "type": "cmd",
            "t": 1000.0,
            "conn": 7,
            "dir": "s2c",
            "cmd": "MSG",
            "trid": None,
            "args": ["bob@example.com", "Bob"],
            "payload_b64": "AAH+/2hp",
        },
        {
            "type": "raw",
            "t": 1000.1,
            "conn": 7,
            "dir": "c2s",
            "data": "GET / HTTP/1.1\r\n",
            "reason": "not an MSNP command line",
        },
        {
            "type": "error",
            "t": 1000.1,
            "conn": 7,
            "dir": "c2s",
            "kind": "unparsed",
            "reason": "not an MSNP command line",
        },
    ]
    capture = load_capture(write_lines(tmp_path / "b.jsonl", records))
    lines = list(show_lines(capture, options=ShowOptions(payload=True)))
    assert "[binary, 6 bytes]" in lines[0]
    assert lines[1].strip() == "00000000  00 01 fe ff 68 69" + " " * (47 - 17 + 2) + "|....hi|"
    assert "?? raw 16 bytes (not an MSNP command line): GET / HTTP/1.1\\r\\n" not in lines[2]
    assert "-> raw 16 bytes (not an MSNP command line): GET / HTTP/1.1\\r\\n" in lines[2]
    assert lines[-1].endswith("!! error unparsed (c2s): not an MSNP command line")


def test_filter_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(MD5_CHAT), "--grep", "("]) == 2
    assert "invalid regular expression" in capsys.readouterr().err
    for bad in ("NS", "SB#", "x#3", "3.0", ","):
        assert main(["show", str(MD5_CHAT), "--conn", bad]) == 2, bad
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "msproxy show: error: --conn " in captured.err
    with pytest.raises(ValueError, match="direction"):
        RecordFilter.build(direction="up")


@pytest.mark.parametrize("name", ["SB#3", "sb#3", "#3", "3"])
def test_conn_takes_the_names_show_prints(
    capsys: pytest.CaptureFixture[str], chat: Capture, name: str
) -> None:
    lines = show(capsys, str(MD5_CHAT), "--conn", name)
    expected = [r for r in chat.records if r["conn"] == 3]
    assert len(lines) == len(expected)
    assert all(line.split()[1] == "SB#3" for line in lines)
    assert capsys.readouterr().err == ""


def test_conn_notes_what_does_not_exist(capsys: pytest.CaptureFixture[str]) -> None:
    """No such connection: nothing to show, exit 0 (a filter, like grep), and a note
    naming the connections there are; a name whose role is wrong is an error, before
    anything is printed."""
    assert main(["show", str(MD5_CHAT), "--conn", "99"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"msproxy show: note: {MD5_CHAT} has no connection 99 "
        "(its connections: DS#1, NS#2, SB#3, SB#4)\n"
    )
    assert main(["show", str(MD5_CHAT), "--conn", "NS#3,2"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("msproxy show: error: --conn NS#3: connection 3 is SB#3, not NS#3\n")


def test_conn_with_a_wrong_role_on_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read from a pipe, the wrong role is found when its open record comes."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(MD5_CHAT.read_bytes())))
    assert main(["show", "-", "--conn", "DS#3"]) == 2
    assert capsys.readouterr().err.endswith("connection 3 is SB#3, not DS#3\n")


def test_cmd_that_never_occurs_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(MD5_CHAT), "--cmd", "MSG,XYZ", "--filter", "not cmd ZZZ"]) == 0
    captured = capsys.readouterr()
    assert captured.out  # the MSGs
    assert captured.err == f"msproxy show: note: {MD5_CHAT} has no XYZ, ZZZ command\n"
    assert main(["show", str(MD5_CHAT), "--cmd", "BOGUS"]) == 2
    assert "--cmd: 'BOGUS' is not an MSNP verb" in capsys.readouterr().err


def test_color(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    colored = show(capsys, str(MD5_CHAT), "--color", "always", "--cmd", "217")
    assert colored == [colored[0]]
    assert "\x1b[31m<- 217 3\x1b[0m" in colored[0]
    assert all("\x1b[" not in line for line in show(capsys, str(MD5_CHAT)))  # auto, no tty
    monkeypatch.setenv("NO_COLOR", "1")
    assert all("\x1b[" not in line for line in show(capsys, str(MD5_CHAT), "--color", "auto"))


def test_render_of_open_close_rewrite(chat: Capture) -> None:
    texts = [render_record(chat, r)[0] for r in chat.records if r["type"] != "cmd"]
    assert any(
        "** open SB client=127.0.0.1:50004 upstream=127.0.0.1:1865 parent=NS#2 via=RNG" in t
        for t in texts
    )
    assert any("** rewrite RNG 127.0.0.1:1865 => 127.0.0.1:40002" in t for t in texts)
    assert any("** close by server: end of stream" in t for t in texts)


def test_show_of_a_live_written_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "live.jsonl"
    with CaptureWriter(path, tool="t", started=50.0) as writer:
        writer.write(
            {
                "type": "open",
                "t": 50.25,
                "conn": 1,
                "role": None,
                "client": "127.0.0.1:9",
                "upstream": None,
                "parent": None,
                "via": None,
            }
        )
    lines = show(capsys, str(path))
    assert lines == ["     0.250  #1    ** open ? client=127.0.0.1:9"]
