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


def test_the_rehearsal_labs_wording_is_a_real_one() -> None:
    """The lab refuses a program its image lacks in Docker 18.09's words (images.py),
    which fabrictui reads as it reads the real runtime's."""
    import json as _json

    from fabrictui.lab.kubeapi.images import image_programs, not_found

    line, status = not_found("ping")
    assert missing_program(line.decode(), _json.dumps(status)) == "ping"
    assert status["details"]["causes"][0]["message"] == "126"
    nginx = image_programs("nginx:1.17")
    assert nginx is not None and "nginx" in nginx and "sh" in nginx
    assert not nginx & {"ping", "curl", "wget", "dig", "nslookup", "ip"}
    newer = image_programs("docker.io/library/nginx:1.21.6")
    assert newer is not None and "curl" in newer and "ping" not in newer
    netshoot = image_programs("nicolaka/netshoot:v0.13")
    assert netshoot is not None and {"ping", "dig", "tcpdump"} <= netshoot
    assert image_programs("calico/node:v3.8.2") is None  # not modelled: the host's programs
