"""Switches whose own answer is missing, judged by the rest of the evidence (issue 28).

A switch that does not answer SSH is not thereby down: its peers' summaries show whether its
sessions are Established, and a pod ping across the fabric shows whether it forwards. Each
switch the sessions check could not read ends in one of three lists: `seen_up` (the peers see
it up: the check can pass, saying what it could not see), `seen_down` (the peers see it down:
a failure) or `undecided` (nobody that answered has a session with it: not observed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fabrictui.actions.verify.checks import not_observed
from fabrictui.actions.verify.diagnose import LabSnapshot
from fabrictui.intent import labshape
from fabrictui.intent.liveness import management_cut, node_says, switch_as_peers_see_it, switch_says
from fabrictui.model import CheckResult, PingResult, VmState

CROSSES = "pod traffic crosses the fabric"


@dataclass
class Unread:
    seen_up: list[str] = field(default_factory=list)
    seen_down: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)


def why_unread(snap: LabSnapshot, switch: str) -> str | None:
    """What could not be read of `switch` (its management SSH, its BGP summary); None when
    its summary was read and its SSH answered."""
    reading = snap.readings.get(switch)
    if reading is not None and reading.summary is not None:
        return None  # its own answer is here: nothing to infer
    host = snap.host(switch)
    cut = management_cut(host) if host is not None else None
    if cut is not None:
        return cut
    if reading is not None:
        error = (reading.error or "no answer").removeprefix(f"{switch}: ")
        return f"BGP summary not read ({error})"
    return None


def judge_unread(snap: LabSnapshot, switches: Iterable[str], crossing: bool = False) -> Unread:
    """Each of `switches` that could not be read, judged by its peers' summaries; `crossing`:
    a pod ping crossed the fabric (the switches forward)."""
    # the lab's own list of sessions when it gives one (an inventory), else the pattern's
    pairs = snap.info.expected_sessions or labshape.expected_sessions(snap.hosts)
    addresses = dict(snap.info.peer_addresses)
    out = Unread()
    for switch in switches:
        why = why_unread(snap, switch)
        if why is None:
            continue
        view = switch_as_peers_see_it(switch, snap.readings, pairs, addresses)
        line = f"{switch}: {why}; {switch_says(switch, view)}"
        reading = snap.readings.get(switch)
        # read from Prometheus (docs/telemetry.md), what is cut is its exporter, not its SSH
        path = "telemetry" if reading is not None and reading.source == "prometheus" else (
            "management path"
        )  # fmt: skip
        if view.alive:
            if crossing:
                line += f" and {CROSSES}: the switch forwards, only its {path} is cut"
            else:
                line += f": it runs its BGP, only its {path} is cut"
            out.seen_up.append(line)
        elif view.down:
            out.seen_down.append(line)
        else:
            out.undecided.append(line)
    return out


def powered_off(snap: LabSnapshot, switches: Iterable[str]) -> list[str]:
    """Switches whose provider says they do not run (not a management path matter)."""
    lines = []
    for switch in switches:
        host = snap.host(switch)
        if host is None or host.state in (VmState.RUNNING, VmState.UNREACHABLE):
            continue
        lines.append(f"{switch} VM is {host.state}")
    return lines


def verdict(name: str, evidence: list[str], problems: list[str], unread: Unread) -> CheckResult:
    """Fail on anything seen wrong; not observed when something could not be decided; else
    pass, saying what could not be seen."""
    problems = problems + unread.seen_down
    if problems:
        return CheckResult(name, False, tuple(evidence + problems), "; ".join(problems))
    if unread.undecided:
        cause = "; ".join(unread.undecided + unread.seen_up)
        return CheckResult.not_observed(name, cause, tuple(evidence))
    return CheckResult(name, True, tuple(evidence), unseen=tuple(unread.seen_up))


def capture_not_observed(
    name: str, snap: LabSnapshot, node: str, capture_error: str, ping_line: str, ping_ok: bool
) -> CheckResult:
    """A wire check whose capture could not run: not observed, saying what cut it and what
    the ping and the API say of the node."""
    host = snap.host(node)
    cut = management_cut(host) if host is not None else None
    alive, says = node_says(next((n for n in snap.nodes if n.name == node), None))
    what = f"{node}: {cut}: cannot capture on its eth0" if cut else capture_error
    if ping_ok:
        says = f"the ping from its pod crossed the fabric ({ping_line.split(': ', 1)[-1]}); {says}"
        if alive and cut:
            says += ": the node works, only its management path is cut"
    return CheckResult.not_observed(name, f"{what}; {says}", (capture_error,))


def program_missing(
    names: tuple[str, str],
    why: str,
    ping_line: str,
    snap: LabSnapshot,
    node: str,
    capture_error: str | None,
) -> tuple[CheckResult, CheckResult]:
    """The ping check and its wire check when no method had a program to ping with: both
    saw nothing, and the network is not blamed. The wire check says first what kept its
    own capture from running, when something did (no inventory, the node's SSH cut)."""
    ping_check, wire_check = names
    ping = CheckResult.not_observed(ping_check, f"not probed: {why}", (ping_line,))
    if capture_error and snap.info.not_observed:
        wire = not_observed(wire_check, snap.info, f"no capture on {node} eth0: ")
    elif capture_error:
        wire = capture_not_observed(wire_check, snap, node, capture_error, ping_line, False)
    else:
        wire = CheckResult.not_observed(wire_check, f"not probed: {why} (no ping to watch)")
    return ping, wire


def unprobed(result: PingResult, cause: str) -> bool:
    """The ping never sent an echo and nothing more specific than its own error explains
    it (a pod not Running, a session down would): the path was not observed."""
    return not result.probed and cause == (result.error or cause)


def nothing_answered(snap: LabSnapshot) -> str | None:
    """Why no part of the lab answered (no switch's summary read, no host's SSH, the API
    not read); None when something did. Verify then ends with exit 2, not a verdict."""
    if any(r.summary is not None for r in snap.readings.values()) or not snap.errors:
        return None
    if any(h.state is VmState.RUNNING for h in snap.hosts):
        return None
    return f"no part of the lab answered (no switch, no host's SSH; {snap.errors[0]})"
