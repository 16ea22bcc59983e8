"""msproxy.testing.assert_same_session over captures and record lists."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from msproxy.capture import Record, read_capture
from msproxy.testing import assert_same_session

SAMPLE = Path(__file__).resolve().parents[2] / "captures" / "samples" / "msnp8-twn-login.jsonl"


def changed(records: list[Record], verb: str, args: list[str]) -> list[Record]:
    """A copy of ``records`` with the first ``verb`` from the server given ``args``."""
    out = copy.deepcopy(records)
    for record in out:
        if record.get("type") == "cmd" and record["dir"] == "s2c" and record["cmd"] == verb:
            record["args"] = args
            return out
    raise AssertionError(f"no {verb} from the server in the sample")


def test_a_capture_is_the_same_session_as_its_records() -> None:
    assert_same_session(SAMPLE, list(read_capture(SAMPLE)))


def test_a_changed_server_answer_fails_with_the_diff_text() -> None:
    records = list(read_capture(SAMPLE))
    other = changed(records, "CHG", ["BSY", "268435492"])
    with pytest.raises(AssertionError) as failure:
        assert_same_session(SAMPLE, other)
    text = str(failure.value)
    assert text.startswith("the sessions differ (as msproxy diff shows them):\n")
    assert f"--- {SAMPLE} NS#2\n+++ b NS#2\n" in text
    assert "\n-<- CHG 9 NLN 268435492\n+<- CHG 9 BSY 268435492\n" in text


def test_record_subsets_compare_without_a_header() -> None:
    records = list(read_capture(SAMPLE))
    other = changed(records, "CHG", ["BSY", "268435492"])
    ds = [r for r in records if r.get("conn") == 1]
    assert_same_session(ds, [r for r in other if r.get("conn") == 1])
    with pytest.raises(AssertionError, match="CHG 9 BSY"):
        assert_same_session(
            [r for r in records if r.get("conn") == 2], [r for r in other if r.get("conn") == 2]
        )


def test_ignore_cmd_and_roles_leave_differences_out() -> None:
    records = list(read_capture(SAMPLE))
    other = changed(records, "CHL", ["12345"])
    other = [r for r in other if not (r.get("type") == "cmd" and r["cmd"] == "QRY")]
    with pytest.raises(AssertionError, match="QRY"):
        assert_same_session(records, other, ignore=["trid"])
    assert_same_session(records, other, ignore=["trid"], ignore_cmd=["chl", "QRY"])
    assert_same_session(records, other, ignore=["trid"], roles=["DS"])


def test_a_notification_may_move_within_the_reorder_window() -> None:
    records = list(read_capture(SAMPLE))
    other = copy.deepcopy(records)
    # bob's NLN arrives before alice's PNG instead of after its QNG: moved by two commands
    i = next(n for n, r in enumerate(other) if r.get("cmd") == "NLN")
    j = next(n for n, r in enumerate(other) if r.get("cmd") == "PNG")
    other.insert(j, other.pop(i))
    assert_same_session(records, other)
    with pytest.raises(AssertionError, match=r"NLN AWY bob@example\.com"):
        assert_same_session(records, other, reorder_window=0)
