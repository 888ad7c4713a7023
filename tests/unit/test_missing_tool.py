"""A missing program is recognised in each runtime's and shell's real wording."""

from __future__ import annotations

import json

import pytest

from fabrictui.parsers.missing import missing_program
from tests._paths import TEST_DATA

DATA = json.loads((TEST_DATA / "not_found" / "messages.json").read_text())


@pytest.mark.parametrize("entry", DATA["messages"], ids=lambda e: e["runtime"][:40])
def test_real_not_found_messages_name_the_program(entry: dict) -> None:
    found = missing_program(entry["text"])
    if entry["program"] is None:
        # dockershim's status names no program: the runtime's line (stdout) does
        assert found is None
    else:
        assert found == entry["program"], entry["source"]


@pytest.mark.parametrize("text", DATA["not_missing"])
def test_other_failures_are_not_a_missing_program(text: str) -> None:
    assert missing_program(text) is None


def test_any_of_several_texts() -> None:
    assert missing_program("", None, "sh: 1: ping: not found\n") == "ping"
