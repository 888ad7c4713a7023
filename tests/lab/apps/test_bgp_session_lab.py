"""A BGP session's story on the rehearsal lab (issue 26), from its real FRR: healthy, a
spine's BGP shut down (the lab's fault `stop-bgp:<spine>`: `bgp shutdown`, which sends every
peer a NOTIFICATION) shows on the leaf as the reset reason and the NOTIFICATION in RFC
4271's words; cleared, the session comes back and remembers its last reset. Read through
the DESCRIBERS table over the real backend (SSH to the switch, `vtysh ... json`), as the
describe command and the TUI's Enter read it.

Needs root, FRR, sshd and kubectl (the shared lab of tests/lab/apps); skips without them,
fails without them when CI=true.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from fabrictui.actions.drill import DESCRIBERS
from fabrictui.backends.base import BackendError
from fabrictui.parsers.bgp import parse_bgp_neighbors
from fabrictui.render.detail import Detail, detail_text
from fabrictui.session.bgp_resets import record_resets
from fabrictui.session.state import LabState
from tests._rehearsal_tui import open_lab

pytestmark = pytest.mark.lab


def rows(detail: Detail, title: str) -> dict[str, str]:
    return dict(next(s for s in detail.sections if s.title == title).rows)


async def wait_for(backend, name: str, done, timeout: float = 30.0) -> Detail:  # type: ignore[no-untyped-def]
    """The session's detail once `done(detail)`; fails with the last detail read."""
    last = ""
    async with asyncio.timeout(timeout):
        while True:
            detail = await DESCRIBERS["session"](backend, name, None)
            if done(detail):
                return detail
            last = detail_text(detail)
            await asyncio.sleep(0.5)
    raise AssertionError(last)  # pragma: no cover - the timeout raises first


def state(detail: Detail) -> str:
    return rows(detail, "Session")["State"]


async def fabric_whole(backend, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Every leaf's sessions Established again (the lab is shared by the modules after)."""
    deadline = time.monotonic() + timeout
    while True:
        readings = [await backend.bgp_summary(leaf) for leaf in ("leaf1", "leaf2")]
        if all(
            r.summary is not None and all(p.state == "Established" for p in r.summary.peers)
            for r in readings
        ):
            return
        assert time.monotonic() < deadline, f"fabric not whole again within {timeout:.0f} s"
        await asyncio.sleep(0.5)


async def test_a_shut_session_tells_its_reset_and_notification(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    await backend.start()
    try:
        t = time.monotonic()
        healthy = await DESCRIBERS["session"](backend, "leaf1/spine-sw1", None)
        session_s = time.monotonic() - t
        t = time.monotonic()
        await DESCRIBERS["switch"](backend, "leaf1", None)
        switch_s = time.monotonic() - t
        print(f"describe session {session_s:.3f}s, switch {switch_s:.3f}s (first, cold SSH)")
        assert state(healthy) == "Established", detail_text(healthy)
        assert rows(healthy, "Timers")["Hold"] == "9s negotiated, 9s configured"
        links = [(x.kind, x.name) for x in healthy.links]
        address = healthy.name.split("/")[1]  # spine-sw1's address, as leaf1 names it
        assert links[0] == ("switch", "leaf1") and links[1][0] == "session", links
        assert links[1][1].startswith("spine-sw1/")

        before = {"leaf1": await backend.bgp_summary("leaf1")}
        started = time.monotonic()
        await backend.set_fault("stop-bgp:spine-sw1", True)
        try:
            down = await wait_for(backend, f"leaf1/{address}", lambda d: state(d) != "Established")
            noticed_s = time.monotonic() - started
            reset = rows(down, "Last reset")
            assert reset["NOTIFICATION"] == (
                "received from the peer: Cease / Administrative Shutdown (code 6, subcode 2)"
            ), detail_text(down)
            assert "Notification received" in reset["Reason"], reset
            assert rows(down, "Session")["Down for"].startswith("00:00:"), detail_text(down)
            # what the fabric poll records when it sees the session leave Established
            lab_state = LabState(backend.info(), time.time)
            noted: list[object] = []
            lab_state.listeners.append(lambda kind, data: noted.append((kind, data)))
            after = {"leaf1": await backend.bgp_summary("leaf1")}
            await record_resets(backend, lab_state, before, after)
            assert noted and noted[0][1][:2] == ["leaf1", address], noted  # type: ignore[index]
            assert "Cease / Administrative Shutdown (code 6, subcode 2)" in noted[0][1][3]  # type: ignore[index]
            # the same session through NCLU's text (the lab's `net` shim prints FRR's
            # text, as Cumulus 3.7's NCLU does): the text parser reads the same story
            nclu = await backend.pool.run("leaf1", ["net", "show", "bgp", "neighbor", address])
            assert nclu.ok, nclu.stderr
            [as_text] = parse_bgp_neighbors(nclu.stdout)
            assert as_text.state == rows(down, "Session")["State"]
            assert as_text.notification is not None
            assert (as_text.notification.code, as_text.notification.subcode) == (6, 2)
            switch = await DESCRIBERS["switch"](backend, "leaf1", None)
            assert not switch.problems, switch.problems
            ports = rows(switch, "Interfaces")
            assert all(v.startswith("up,") for k, v in ports.items() if k.startswith("swp"))
            print(f"leaf1 saw the shutdown in {noticed_s:.1f}s")
            print(detail_text(down))
        finally:
            await backend.set_fault("stop-bgp:spine-sw1", False)
        back = await wait_for(backend, f"leaf1/{address}", lambda d: state(d) == "Established")
        await fabric_whole(backend)  # leaf2's session with spine-sw1 too: the next module's lab
        assert rows(back, "Last reset")["NOTIFICATION"].startswith("received from the peer: Cease")
        with pytest.raises(BackendError, match="No such neighbor"):
            await DESCRIBERS["session"](backend, "leaf1/10.255.255.1", None)
    finally:
        await backend.close()
