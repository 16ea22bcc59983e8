"""Tests of the capture format and the capture tools (show, summary, diff, replay)."""
