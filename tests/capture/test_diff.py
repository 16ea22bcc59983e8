"""``msproxy diff``: alignment per connection role, ignore rules, exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msmgr.codec import Command
from msproxy.__main__ import main
from msproxy.capture import Record, read_capture
from msproxy.inspect.diff import diff_captures, format_diff
from msproxy.inspect.normalize import DEFAULT_IGNORE, normalize, parse_ignore

from .conftest import MD5_CHAT, TWN_LOGIN

A = "alice@example.com "  # the session of every connection of MD5_CHAT: its pair labels

# What differs between two runs of the same session (value in the sample -> another run).
VOLATILE = [
    ("17262740.1050826919.32308", "99999999.1111111111.22222"),  # XFR SB cookie
    ("1056411141.26158", "2222222222.33333"),  # RNG cookie
    ("17342299", "55555555"),  # RNG session id
    ("11752013", "66666666"),  # CAL RINGING session id
    ("1013928519.693957190", "1111111111.222222222"),  # MD5 salt
    ("5e0c7d1a9b44", "ffffffffffff"),  # redaction placeholders (keyed per capture)
    ("0d4be2917c3f", "eeeeeeeeeeee"),
    ("127.0.0.1:40002", "127.0.0.1:40102"),  # proxy listener
    ("127.0.0.1:1865", "10.0.0.7:1865"),  # switchboard address
    ("LoginTime: 1700000000", "LoginTime: 1700009999"),
    ("ClientPort: 50002", "ClientPort: 50777"),
]


def another_run(
    records: list[Record], *edits: tuple[str, str], trid_shift: int = 100
) -> list[Record]:
    """The same session as another run would record it: other TrIDs, cookies, ports..."""
    out = []
    for record in records:
        if record.get("type") == "cmd" and isinstance(record.get("trid"), int) and record["trid"]:
            record = {**record, "trid": record["trid"] + trid_shift}
        text = json.dumps(record)
        for old, new in (*VOLATILE, *edits):
            text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
        out.append(json.loads(text))
    return out


def write(path: Path, records: list[Record]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_same_session_with_other_volatile_values_is_equal() -> None:
    a = list(read_capture(MD5_CHAT))
    b = another_run(a)
    assert b != a
    assert diff_captures(a, b) == []
    strict = diff_captures(a, b, ignore=())
    assert {d.label for d in strict} == {A + "DS", A + "NS", A + "SB 1", A + "SB 2"}


@pytest.mark.parametrize("rule", sorted(DEFAULT_IGNORE))
def test_each_rule_is_needed(rule: str) -> None:
    a = list(read_capture(MD5_CHAT))
    b = another_run(a)
    assert diff_captures(a, b, ignore=DEFAULT_IGNORE - {rule}) != []


def test_a_changed_message_is_reported_in_its_switchboard() -> None:
    a = list(read_capture(MD5_CHAT))
    b = another_run(a, ("Hello Bob", "Hello Rob"))
    diffs = diff_captures(a, b)
    assert [d.label for d in diffs] == [A + "SB 1"]
    (hunk,) = diffs[0].hunks
    changed = [line for line in hunk.lines if line.tag != " "]
    assert [line.tag for line in changed] == ["-", "+"]
    assert changed[0].text.startswith("-> MSG 4 N 117  [text/plain 117B ")
    assert changed[1].text.startswith("-> MSG 104 N 117  [text/plain 117B ")
    assert changed[0].text != changed[1].text
    # the context around it is the previous and next commands of that switchboard
    context = [line.text for line in hunk.lines if line.tag == " "]
    assert "<- 217 3" in context
    assert "<- BYE bob@example.com" in context


def test_a_missing_command_and_a_missing_switchboard() -> None:
    a = list(read_capture(MD5_CHAT))
    b = [r for r in another_run(a) if not (r.get("cmd") == "ILN" or r.get("conn") == 4)]
    diffs = diff_captures(a, b)
    assert [(d.label, d.removed, d.added) for d in diffs] == [
        (A + "NS", 1, 0),
        (A + "SB 2", 7, 0),  # every command of the second switchboard
    ]
    assert (diffs[1].a_conn, diffs[1].b_conn) == (4, None)
    assert (diffs[1].a_name, diffs[1].b_name) == ("SB#4", None)
    text = format_diff(diffs, "a.jsonl", "b.jsonl")
    assert "--- a.jsonl NS#2\n+++ b.jsonl NS#2\n" in text
    assert "--- a.jsonl SB#4\n+++ /dev/null\n" in text
    assert "-<- ILN 9 NLN bob@example.com Bob\n" in text
    assert "+++ /dev/null\n" in text


def renumber(records: list[Record], shift: dict[int, int]) -> list[Record]:
    """The records with connection ids (``conn``, ``parent``) moved: another proxy run."""
    out = []
    for record in records:
        record = dict(record)
        for key in ("conn", "parent"):
            if isinstance(record.get(key), int):
                record[key] = shift.get(record[key], record[key])
        out.append(record)
    return out


def test_headers_name_each_sides_connection_and_labels_name_the_pair() -> None:
    """Pairs are by role and order, so each side names its own connection (``SB#3`` vs
    ``SB#7``), and the pair's label (``SB 2``) cannot be read as a connection name."""
    a = list(read_capture(MD5_CHAT))  # DS#1 NS#2 SB#3 SB#4
    b = renumber(another_run(a, ("Hello Bob", "Hello Rob")), {3: 5, 4: 7})
    b = [r for r in b if not (r.get("conn") == 7 and r.get("cmd") == "OUT")]
    diffs = diff_captures(a, b)
    assert [(d.label, d.a_conn, d.b_conn, d.a_name, d.b_name) for d in diffs] == [
        (A + "SB 1", 3, 5, "SB#3", "SB#5"),
        (A + "SB 2", 4, 7, "SB#4", "SB#7"),
    ]
    text = format_diff(diffs, "a.jsonl", "b.jsonl")
    headers = [line for line in text.splitlines() if line[:4] in ("--- ", "+++ ")]
    assert headers == [
        "--- a.jsonl SB#3",
        "+++ b.jsonl SB#5",
        "--- a.jsonl SB#4",
        "+++ b.jsonl SB#7",
    ]
    strict = diff_captures(a, renumber(a, {1: 11, 2: 12}), ignore=())
    assert strict == []
    labels = {d.label for d in diff_captures(a, another_run(a), ignore=())}
    assert labels == {A + "DS", A + "NS", A + "SB 1", A + "SB 2"}
    assert not any("#" in label for label in labels)


def test_an_unknown_role_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in --conn-role must not make two different captures "equal"."""
    a = list(read_capture(MD5_CHAT))
    changed = write(tmp_path / "changed.jsonl", another_run(a, ("Hello Bob", "Hello Rob")))
    with pytest.raises(ValueError, match="unknown connection role 'XX'"):
        diff_captures(a, read_capture(changed), roles=["XX"])
    with pytest.raises(ValueError, match="no connection role"):
        diff_captures(a, read_capture(changed), roles=[])
    for bad in ("XX", "sb,XX", ",", ""):
        assert main(["diff", str(MD5_CHAT), str(changed), "--conn-role", bad]) == 2, bad
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "msproxy diff: error: --conn-role: " in captured.err
        assert "DS, NS, SB" in captured.err
    assert main(["diff", "-q", str(MD5_CHAT), str(changed), "--conn-role", "sb"]) == 1
    assert main(["diff", "-q", str(MD5_CHAT), str(changed), "--conn-role", "ds,Ns"]) == 0


def test_roles_and_split_directions() -> None:
    a = list(read_capture(MD5_CHAT))
    b = another_run(a, ("Hello Bob", "Hello Rob"))
    assert diff_captures(a, b, roles=["NS", "DS"]) == []
    # swap the order of two adjacent commands of opposite directions in B
    index = next(i for i, r in enumerate(b) if r.get("cmd") == "JOI")
    b[index], b[index + 1] = b[index + 1], b[index]
    b = another_run(b, ("Hello Rob", "Hello Bob"), trid_shift=0)
    assert diff_captures(a, b) != []
    assert diff_captures(a, b, split_directions=True) == []


def test_different_versions_differ() -> None:
    diffs = diff_captures(read_capture(MD5_CHAT), read_capture(TWN_LOGIN), roles=["DS"])
    assert diffs[0].hunks[0].lines[0].text == "-> VER 1 MSNP2 CVR0"


def test_normalize_rules() -> None:
    usr = Command("USR", 7, ("TWN", "S", "<redacted:a81f03b2c6d9>"))
    assert normalize(usr, "c2s").text == "USR <trid> TWN S <ticket>"
    assert normalize(usr, "c2s", {"ticket"}).text == "USR 7 TWN S <ticket>"
    assert normalize(usr, "c2s", {"trid"}).text == "USR <trid> TWN S <redacted:a81f03b2c6d9>"
    salt = Command("USR", 6, ("MD5", "S", "1013928519.693957190"))
    assert normalize(salt, "s2c", {"challenge"}).text == "USR 6 MD5 S <challenge>"
    rng = Command("RNG", None, ("17342299", "10.0.0.1:1863", "CKI", "1.2", "bob@x.com", "Bob"))
    assert normalize(rng, "s2c").text == "RNG <sessid> <addr> CKI <cookie> bob@x.com Bob"
    ans = Command("ANS", 1, ("alice@x.com", "1.2", "17342299"))
    assert normalize(ans, "c2s", {"cookie"}).text == "ANS 1 alice@x.com <cookie> <sessid>"
    sb_usr = Command("USR", 1, ("alice@x.com", "1.2.3"))
    assert normalize(sb_usr, "c2s", {"cookie"}).text == "USR 1 alice@x.com <cookie>"
    chl = Command("CHL", 0, ("15570131571988941333",))
    assert normalize(chl, "s2c").text == "CHL <trid> <challenge>"
    qry1 = Command("QRY", 10, ("msmsgs@msnmsgr.com",), b"8f2f5a91b72102cd28355e9fc9000d6e")
    qry2 = Command("QRY", 11, ("msmsgs@msnmsgr.com",), b"0123456789abcdef0123456789abcdef")
    assert normalize(qry1, "c2s") == normalize(qry2, "c2s")
    assert normalize(qry1, "c2s", {"trid"}) != normalize(qry2, "c2s", {"trid"})
    syn = Command("SYN", 1, ("2005-04-23T18:57:44.8130000-07:00", "0"))
    assert normalize(syn, "c2s", {"time"}).text == "SYN 1 <time> 0"
    msg = Command("MSG", None, ("Hotmail", "Hotmail"), b"LoginTime: 1\r\nsid: 5\r\n\r\n")
    other = Command("MSG", None, ("Hotmail", "Hotmail"), b"LoginTime: 22\r\nsid: 6\r\n\r\n")
    assert normalize(msg, "s2c") == normalize(other, "s2c")
    assert normalize(msg, "s2c", {"addr"}) != normalize(other, "s2c", {"addr"})
    binary = Command("MSG", 2, ("D",), b"\x00\xff")
    assert normalize(binary, "c2s").payload is not None
    assert "binary 2B" in normalize(binary, "c2s").text


def test_parse_ignore() -> None:
    assert parse_ignore("all") == DEFAULT_IGNORE
    assert parse_ignore("none") == frozenset()
    assert parse_ignore("TRID, cookie") == {"trid", "cookie"}
    with pytest.raises(ValueError, match="unknown ignore rule"):
        parse_ignore("trid,colour")


def test_cli_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = list(read_capture(MD5_CHAT))
    same = write(tmp_path / "same.jsonl", another_run(a))
    changed = write(tmp_path / "changed.jsonl", another_run(a, ("Hello Bob", "Hello Rob")))
    assert main(["diff", str(MD5_CHAT), str(same)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["diff", str(MD5_CHAT), str(changed)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"--- {MD5_CHAT} SB#3\n+++ {changed} SB#3\n@@ ")
    assert main(["diff", "-q", str(MD5_CHAT), str(changed)]) == 1
    assert capsys.readouterr().out == ""
    assert main(["diff", str(MD5_CHAT), str(same), "--ignore", "none"]) == 1
    assert main(["diff", str(MD5_CHAT), str(changed), "--conn-role", "NS"]) == 0
    capsys.readouterr()
    assert main(["diff", str(MD5_CHAT), str(same), "--ignore", "bogus"]) == 2
    assert "unknown ignore rule" in capsys.readouterr().err
    assert main(["diff", str(MD5_CHAT), str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "msproxy diff: error: cannot read" in err
    assert "Traceback" not in err
