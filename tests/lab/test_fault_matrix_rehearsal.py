"""The fault matrix on the rehearsal lab (issue 6, item 1): while the TUI runs
with the real backends, each fault is injected for real (a process killed, a
link set down, a listener that never answers, an API answering 500 or 410, a
route black-holed), what the user sees is awaited and timed, the fault is
cleared and the recovery, without restarting the app, is awaited and timed.

For every fault: no traceback on screen, keys still handled, every feed worker
still running, the pane concerned showing the problem (or marked stale).

The measured table is printed (pytest -s) and, with FABRICTUI_FAULT_TABLE=FILE,
written as markdown to FILE (docs/fault-matrix.md holds one run).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import fabrictui.app
from fabrictui.actions.verify.apps import APP_CHECKS
from fabrictui.app import FabricApp
from fabrictui.backends.base import LabBackend
from fabrictui.config import Settings
from fabrictui.lab.build import kube_version_answers
from fabrictui.ui.screens.ping_matrix import PingMatrixScreen
from tests._kube_proxy import KubeProxy
from tests._lab_faults import (
    kill_sshd,
    lab_state,
    management_ssh_cut,
    namespace,
    prepare_workload,
    process_record,
    respawn,
    restart_sshd,
    ssh_port,
)
from tests._rehearsal_tui import (
    NODES,
    assert_no_traceback,
    assert_responsive,
    feeds_alive,
    finish_action,
    lab_namespaces,
    loaded,
    open_lab,
    pane,
    pane_text,
    processes_in,
    wait_gone,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

POLL = 1.0  # fabric and host refresh interval of the app under test
# one refresh: the next poll after the fault is visible at its source, plus reading all switches
ONE_REFRESH = POLL + 2.0
SSH_TIMEOUT = 5.0  # the app's per-switch read timeout: max(5, 2 * POLL)
FEEDS = ["bgp", "capture", "events", "fabric", "hosts", "nodes", "pods", "services"]
SWITCHES = ("spine-sw1", "spine-sw2", "leaf1", "leaf2")
LEAVES = ("leaf1", "leaf2")
# (fault, what the user sees, seen within s, recovered in s, note)
RESULTS: list[tuple[str, str, float, float | None, str, str]] = []


# -- the lab, Calico and the workload, once for the module -----------------------------


@pytest.fixture(scope="module")
def lab_dir(shared_lab) -> Iterator[Path]:
    yield shared_lab.take()  # prepared: Calico and nginx on 4 workers
    _report()


def _report() -> None:
    if not RESULTS:
        return
    lines = [
        "| fault | what the user sees | what the trace says | seen within (s) | recovered in (s)"
        " | note |",
        "|---|---|---|---:|---:|---|",
    ]
    for fault, sees, seen, recovered, note, traced in RESULTS:
        back = "—" if recovered is None else f"{recovered:.2f}"
        lines.append(f"| {fault} | {sees} | {traced} | {seen:.2f} | {back} | {note} |")
    table = "\n".join(lines)
    print(f"\n\nfault matrix (rehearsal lab, refresh every {POLL:.1f} s):\n{table}")
    target = os.environ.get("FABRICTUI_FAULT_TABLE")
    if target:
        # the sections other tests measured (path MTU: tests/lab/apps/test_mtu_lab.py) stay
        old = Path(target).read_text() if Path(target).is_file() else ""
        kept = old[old.find("\n## ") :] if "\n## " in old else ""
        Path(target).write_text(FAULT_DOC.format(poll=POLL, table=table, when=time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime())) + kept)  # fmt: skip


FAULT_DOC = """# Fault matrix: the rehearsal lab

Measured by `tests/lab/test_fault_matrix_rehearsal.py` on {when}: the TUI runs on a
rehearsal lab through the real backends (`--lab DIR`: SSH to FRR switches and nodes, the lab's
Kubernetes API, tcpdump over SSH), with fabric and VM refresh every {poll:.1f} s. Each
fault is injected for real while the app runs; *seen within* is the time from the
injection to the pane concerned showing it, *recovered in* the time from clearing the
fault (or, for the faults the app clears itself, from the injection) to the pane being
current and unmarked again, without restarting the app. After every step the test
checks that no traceback reached the screen, that a key press is handled and that all
five feed workers still run. *What the trace says* is a path trace (docs/trace.md) of a
cross-rack pod pair run while the fault is on, its verdict checked against the fault (a
dash: not traced, the hung switch would only add its SSH timeout and a 410 is a watch's
matter).

{table}

How each fault is made and cleared:

- **bgpd killed**: SIGKILL of the spine's `bgpd` (pid from the lab's `state.json`);
  cleared by starting it again with the lab's own command line (`fabrictui.lab.frr`).
- **uplink down**: `ip -n <leaf ns> link set swp51 down`, then `up`.
- **switch SSH refusing, then hanging**: the switch's `sshd` killed with its sessions;
  then a listener on the same 127.0.0.1 port that accepts TCP and never answers; cleared
  by closing it and starting `sshd` again. A hang can only be known by its timeout: the
  app's per-switch read timeout is 5 s.
- **management path cut**: SIGSTOP of the switch's `sshd` and every session below it (its
  port takes TCP and never answers, no reset: a firewall dropping the packets), with the
  fabric untouched; cleared by SIGCONT. The VM pane must say `running, no SSH` (its peers
  see its sessions Established), never `unreachable` alone, and verify exits 3 with no check
  failed (`tests/lab/test_unobserved_rehearsal.py`, docs/checks.md).
- **tcpdump killed mid-stream**: SIGKILL of the tcpdump in the node's namespace while
  pings cross the node; the app restarts the capture by itself.
- **capture host gone**: the node's `sshd` killed with its sessions, then started again.
- **calico-node crash-looping**: the pod's status set to `CrashLoopBackOff` through the
  status subresource (what a kubelet reports); cleared by deleting the pod (the
  DaemonSet creates a new one).
- **pod black-holed**: `ip -n <node ns> route replace blackhole <pod ip>/32`; seen and
  recovered are one ping mesh (`P`) each, with 2 pings per pair.
- **API 500 / watch 410**: a reverse proxy on 127.0.0.1 in front of the lab's API
  (`tests/_kube_proxy.py`), switched to answer 500 to everything, or one `410 Expired`
  ERROR event per watched collection (as an API server does for a too-old
  resourceVersion: the client lists again, nothing is shown as broken).
- **API server stopped**: SIGTERM of the lab's API server, then started again with the
  same command line (a fresh cluster with a new token; the backend reloads the
  kubeconfig by itself).

A black-holed pod was once a known gap (the diagnosis could only say "pods Running,
calico-node Running and the fabric looks healthy"): verify's cross-rack ping check now
traces a failing pair (docs/trace.md) and names the black-hole route on the pod's node,
and the test asserts it.

Regenerate with
`FABRICTUI_FAULT_TABLE=docs/fault-matrix.md pytest -s tests/lab/test_fault_matrix_rehearsal.py`
(root, frr, openssh-server, tcpdump, kubectl).
"""


def problem_of(subtitle: object, limit: int = 90) -> str:
    """The problem part of a pane's subtitle ("3s ago | nodes: ..."), shortened."""
    text = str(subtitle).split(" | ", 1)[-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record(
    fault: str,
    sees: str,
    seen: float,
    recovered: float | None,
    note: str = "",
    traced: str = "—",
) -> None:
    RESULTS.append((fault, sees, seen, recovered, note, traced))
    back = "-" if recovered is None else f"{recovered:.2f} s"
    print(f"\n{fault}: seen within {seen:.2f} s, recovered in {back} {note}\n  trace: {traced}")


async def trace_across(
    app: FabricApp, src_node: str | None = None, dst_node: str | None = None
) -> dict:
    """A path trace from a pod on rack 2 (or on `src_node`) to one on rack 1 (or on
    `dst_node`), run while the fault is on: its JSON, or {"error": ...} when it cannot
    start."""
    from fabrictui.actions.trace.run import run_trace
    from fabrictui.backends.base import BackendError

    shape = app.backend.shape()
    pods = nginx(app)
    src = next(p for p in pods if (p.node == src_node if src_node else shape.rack_of(p.node) == 2))
    dst = next(p for p in pods if (p.node == dst_node if dst_node else shape.rack_of(p.node) == 1))
    try:
        result = await run_trace(app.backend, lambda _p: None, src.key, dst.key, 2, timeout=5.0)
    except BackendError as err:
        return {"error": str(err)}
    return result.to_json()


def trace_text(out: dict) -> str:
    if "error" in out:
        return f"cannot start: {out['error']}"
    if out["delivered"]:
        unseen = sorted({h["host"] for h in out["hops"] if h["state"] == "unobserved"})
        return f"delivered via {out['branch']}" + (
            f"; not observed on {', '.join(unseen)}" if unseen else ""
        )
    lost = out["lost_at"]
    where = f" at {lost['host']} {lost['interface']}" if lost else ""
    return f"not delivered{where}: {out['cause']}"


# -- the app, recording what each pane showed and when ------------------------------------


class RecordingApp(FabricApp):
    """The real app; remembers every change of each pane's subtitle and stale mark."""

    CSS_PATH = str(Path(fabrictui.app.__file__).parent / FabricApp.CSS_PATH)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[float, str, str, bool]] = []  # (monotonic, pane, subtitle, stale)
        self._shown: dict[str, tuple[str, bool]] = {}

    def _tick(self) -> None:
        super()._tick()
        if not self.screen_stack:
            return
        for pane_id in ("pane-vms", "pane-fabric", "pane-kube", "pane-overlay"):
            widget = pane(self, pane_id)
            state = (str(widget.border_subtitle), widget.has_class("-stale"))
            if self._shown.get(pane_id) != state:
                self._shown[pane_id] = state
                self.seen.append((time.monotonic(), pane_id, *state))

    def showed(self, pane_id: str, since: float, needle: str) -> bool:
        """The pane was marked with a problem containing `needle` after `since`."""
        return any(
            at >= since and p == pane_id and stale and needle in subtitle
            for at, p, subtitle, stale in self.seen
        )


def fault_app(
    lab_dir: Path, kubeconfig: str | None = None, backend: LabBackend | None = None
) -> RecordingApp:
    settings = Settings(fabric_poll_seconds=POLL, host_poll_seconds=POLL, ping_count=2)
    return RecordingApp(backend or open_lab(lab_dir, kubeconfig), settings=settings)


async def until(pilot, condition: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until `condition` holds (the app running meanwhile)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout:.0f} s: {what}"
        await pilot.pause(0.05)
    return time.monotonic() - started


async def still_fine(app: RecordingApp, pilot) -> None:
    """No traceback, keys handled, every feed alive."""
    assert_no_traceback(app)
    await assert_responsive(app, pilot)
    assert feeds_alive(app) == FEEDS, feeds_alive(app)


# -- reading the fabric as the app shows it ------------------------------------------------


def session_states(app: FabricApp) -> dict[tuple[str, str], str]:
    return {
        (r.switch, p.short_hostname or p.neighbor): p.state
        for r in app.state.readings.values()
        if r.summary is not None and r.switch.startswith("leaf")
        for p in r.summary.peers
    }


def fabric_healthy(app: FabricApp) -> bool:
    states = session_states(app)
    return (
        len(states) == 4
        and all(s == "Established" for s in states.values())
        and all(app.state.readings[s].error is None for s in SWITCHES if s in app.state.readings)
        and "problem" not in pane_text(app, "pane-fabric")
        and not pane(app, "pane-fabric").has_class("-stale")
    )


# -- lab processes ---------------------------------------------------------------------------


def ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


# ==========================================================================================
# (a) a spine's bgpd stopped


async def test_a_spine_bgpd_killed_and_restarted(lab_dir: Path) -> None:
    from fabrictui.lab import frr

    app = fault_app(lab_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await until(pilot, lambda: fabric_healthy(app), 30, "healthy fabric")
        record_ = process_record(lab_dir, "bgpd", "spine-sw1")
        lab_id = lab_state(lab_dir)["lab_id"]
        os.kill(record_["pid"], signal.SIGKILL)
        wait_gone(record_["pid"])
        try:

            def shown() -> bool:
                states = session_states(app)
                down = all(states.get((leaf, "spine-sw1")) != "Established" for leaf in LEAVES)
                text = pane_text(app, "pane-fabric")
                return down and "session to spine-sw1" in text and "bgpd is not running" in text

            seen = await until(pilot, shown, ONE_REFRESH + 10, "bgpd down shown")
            others = session_states(app)
            assert others[("leaf1", "spine-sw2")] == "Established", others
            assert others[("leaf2", "spine-sw2")] == "Established", others
            traced = await trace_across(app)  # the routes via spine-sw1 are gone: the other
            assert traced.get("delivered") and traced["branch"] == "spine-sw2", traced
            await still_fine(app, pilot)
        finally:  # bgpd back in any case: the next faults need a whole fabric
            respawn(lab_dir, record_, frr.daemon_argv(lab_id, "spine-sw1", "bgpd"))
        recovered = await until(pilot, lambda: fabric_healthy(app), 60, "sessions back")
        await still_fine(app, pilot)
    assert seen < ONE_REFRESH, seen
    sees = 'both leaves\' sessions to spine-sw1 named as problems; spine-sw1: "bgpd is not running"'
    record("spine-sw1 bgpd killed (SIGKILL)", sees, seen, recovered, "recovery: bgpd started again",
           trace_text(traced))  # fmt: skip


# ==========================================================================================
# (b) a leaf uplink down


async def test_b_leaf_uplink_down_and_up(lab_dir: Path) -> None:
    app = fault_app(lab_dir)
    ns = namespace(lab_dir, "leaf1")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await until(pilot, lambda: fabric_healthy(app), 30, "healthy fabric")
        try:
            ip("-n", ns, "link", "set", "dev", "swp51", "down")  # leaf1 -> spine-sw1

            def shown() -> bool:
                text = pane_text(app, "pane-fabric")
                down = session_states(app).get(("leaf1", "spine-sw1")) != "Established"
                return down and "leaf1: session to spine-sw1" in text

            seen = await until(pilot, shown, ONE_REFRESH + 10, "uplink down shown")
            states = session_states(app)
            assert states[("leaf1", "spine-sw2")] == "Established", states
            assert states[("leaf2", "spine-sw1")] == "Established", states
            traced = await trace_across(app)  # spine-sw1 no longer reaches leaf1
            assert traced.get("delivered") and traced["branch"] == "spine-sw2", traced
            await still_fine(app, pilot)
        finally:
            ip("-n", ns, "link", "set", "dev", "swp51", "up")
        recovered = await until(pilot, lambda: fabric_healthy(app), 60, "session back")
        await still_fine(app, pilot)
    assert seen < ONE_REFRESH, seen
    sees = 'fabric pane: "leaf1: session to spine-sw1 (172.16.0.0) is ..." as a problem'
    record("leaf1 uplink swp51 (to spine-sw1) down", sees, seen, recovered, "recovery: link up",
           trace_text(traced))  # fmt: skip


# ==========================================================================================
# (c) a switch's SSH endpoint refusing, then hanging


class Tarpit:
    """Accepts TCP on 127.0.0.1:port and never says a word."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)

        self.server = await asyncio.start_server(hold, "127.0.0.1", self.port, reuse_address=True)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            await self.server.wait_closed()


def vm_state(app: FabricApp, host: str) -> str:
    return next((str(h.state) for h in app.state.hosts if h.name == host), "")


def vm_row(app: FabricApp, host: str) -> str:
    """The host's row in the VMs pane, as drawn."""
    rows = pane_text(app, "pane-vms").splitlines()
    return next((row for row in rows if row.startswith(f"{host} ")), "")


async def test_c_switch_ssh_refusing_then_hanging(lab_dir: Path) -> None:
    app = fault_app(lab_dir)
    port = ssh_port(lab_dir, "leaf2")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await until(pilot, lambda: fabric_healthy(app), 30, "healthy fabric")
        old = kill_sshd(lab_dir, "leaf2")
        tarpit = Tarpit(port)
        try:
            injected = time.monotonic()

            def refused() -> bool:
                reading = app.state.readings.get("leaf2")
                return (
                    reading is not None
                    and reading.error is not None
                    and reading.fetched_at >= time.time() - (time.monotonic() - injected)
                    and "leaf2" in pane_text(app, "pane-fabric")
                )

            seen_refused = await until(pilot, refused, ONE_REFRESH + 5, "leaf2 refusing shown")
            refused_text = app.state.readings["leaf2"].error
            assert "\n" not in refused_text and "Traceback" not in refused_text
            await until(pilot, lambda: vm_state(app, "leaf2") == "unreachable", 10, "VM pane")
            # the spines still see its sessions: the pane says it runs, only SSH is cut
            await until(pilot, lambda: "running, no SSH" in vm_row(app, "leaf2"), 10, "VM pane")
            for other in ("spine-sw1", "spine-sw2", "leaf1"):
                assert app.state.readings[other].error is None, app.state.readings[other].error
            # the data plane is whole; only leaf2's own ports cannot be watched
            traced = await trace_across(app)
            assert traced.get("delivered"), traced
            assert "leaf2" in trace_text(traced).partition("not observed on")[2], traced
            await still_fine(app, pilot)

            # now the port accepts TCP and never answers
            await tarpit.start()
            hung_since = time.time()

            def hanging() -> bool:
                reading = app.state.readings.get("leaf2")
                return (
                    reading is not None
                    and reading.error is not None
                    and reading.fetched_at >= hung_since
                    and reading.error != refused_text
                )

            seen_hung = await until(pilot, hanging, 30, "leaf2 hanging shown")
            hung_text = app.state.readings["leaf2"].error
            assert "\n" not in hung_text
            for other in ("spine-sw1", "spine-sw2", "leaf1"):  # not held up by leaf2
                assert app.state.readings[other].error is None, app.state.readings[other].error
                assert app.state.readings[other].fetched_at >= hung_since
            await still_fine(app, pilot)
        finally:
            await tarpit.close()
            restart_sshd(lab_dir, old)
        recovered = await until(pilot, lambda: fabric_healthy(app), 60, "leaf2 answering")
        await until(pilot, lambda: vm_state(app, "leaf2") == "running", 30, "VM pane running")
        await still_fine(app, pilot)
    assert seen_refused < ONE_REFRESH, seen_refused
    assert seen_hung < SSH_TIMEOUT + ONE_REFRESH, seen_hung
    refusing = (
        f'leaf2 error in the fabric pane ("{problem_of(refused_text)}"), VM pane: "running, no'
        ' SSH" (the spines see its sessions Established)'
    )
    record("leaf2 sshd killed (port refuses)", refusing, seen_refused, None, "then hung (next row)",
           trace_text(traced))  # fmt: skip
    hanging_sees = f'leaf2 error ("{problem_of(hung_text)}"), the other switches on time'
    note = "recovery: sshd restarted; a hang is only known by its timeout"
    record("leaf2 SSH port accepts TCP, never answers", hanging_sees, seen_hung, recovered, note)


async def test_c2_switch_management_path_cut(lab_dir: Path) -> None:
    """spine-sw1's management SSH black-holed (its sshd and sessions stopped: the port takes
    TCP, nothing answers, no reset) while the fabric stays whole: the app must say the
    switch runs and only its management path is cut, never that a spine is down."""
    app = fault_app(lab_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await until(pilot, lambda: fabric_healthy(app), 30, "healthy fabric")
        with management_ssh_cut(lab_dir, "spine-sw1"):
            # a silent path is known only by timeouts: the open session's keepalives, then
            # a new connection's 5 s, then the next VM poll
            seen = await until(
                pilot, lambda: "running, no SSH" in vm_row(app, "spine-sw1"), 60, "VM pane"
            )
            row = vm_row(app, "spine-sw1")
            assert "unreachable" not in row, row
            host = next(h for h in app.state.hosts if h.name == "spine-sw1")
            view = app.state.management_view(host)
            assert view is not None and view.alive, view
            assert "its sessions to leaf1 and leaf2 are Established" in view.says, view
            states = session_states(app)
            assert all(states[(leaf, "spine-sw1")] == "Established" for leaf in LEAVES), states
            traced = await trace_across(app)  # the data plane is whole
            assert traced.get("delivered"), traced
            await still_fine(app, pilot)
        recovered = await until(
            pilot,
            lambda: vm_state(app, "spine-sw1") == "running" and fabric_healthy(app),
            60,
            "spine-sw1 answering again",
        )
        await still_fine(app, pilot)
    sees = (
        'VM pane: spine-sw1 "running, no SSH" (its SSH column: management SSH not answering;'
        " its sessions to leaf1 and leaf2 are Established as they see them); fabric pane:"
        " its own reading times out, the leaves' sessions to it Established"
    )
    note = "recovery: sshd resumed (SIGCONT); seen = keepalives + a 5 s connect + a VM poll"
    record("spine-sw1 management path cut (sshd stopped: no answer, no reset)", sees, seen,
           recovered, note, trace_text(traced))  # fmt: skip


# ==========================================================================================
# (d) a node's tcpdump killed mid-stream, (e) the capture host disappearing

CAPTURE_NODE = "k8s-node-l2-1"


@contextlib.asynccontextmanager
async def traffic_from(lab_dir: Path, node: str):
    """Pings between the nginx pod on `node` and one on another rack, in the background:
    VXLAN frames on `node`'s eth0 for the overlay to show. The ping goes from the other
    pod: nginx:1.17 has no ping, so it runs from the pod's node over SSH, and the tests
    that stop `node`'s sshd must not stop their traffic with it."""
    backend = open_lab(lab_dir)
    pods = [p for p in await backend.list_pods("space1") if p.running]
    targets = [p for p in pods if p.node == node]
    assert targets, [(p.name, p.node, p.status) for p in pods]
    target = targets[0]
    source = next(p for p in pods if p.node and p.node[:11] != node[:11] and p.ip)
    assert target.ip
    task = asyncio.create_task(backend.ping(source, target.ip, count=600, timeout=600))
    try:
        yield source, target
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await backend.close()


def frames_from(app: FabricApp, node: str, since: float) -> int:
    return sum(
        1 for f in app.state.overlay.buffer if f.node == node and f.is_vxlan and f.time >= since
    )


def overlay_clean(app: FabricApp) -> bool:
    return "capture" not in app.state.problems and not pane(app, "pane-overlay").has_class("-stale")


async def test_d_tcpdump_killed_mid_stream(lab_dir: Path) -> None:
    app = fault_app(lab_dir)
    ns = namespace(lab_dir, CAPTURE_NODE)
    async with app.run_test(size=(160, 48)) as pilot, traffic_from(lab_dir, CAPTURE_NODE):
        await loaded(app, pilot)
        start = time.time()
        await until(pilot, lambda: frames_from(app, CAPTURE_NODE, start) > 0, 20, "frames")
        before = processes_in(ns, ("tcpdump",))
        assert len(before) == 1, before
        for pid, _ in before:
            os.kill(pid, signal.SIGKILL)
        killed_at, injected = time.time(), time.monotonic()

        seen = await until(
            pilot,
            lambda: app.showed("pane-overlay", injected, CAPTURE_NODE),
            ONE_REFRESH,
            "capture error shown in the overlay pane",
        )
        problem = next(s for at, p, s, stale in app.seen if p == "pane-overlay" and
                       at >= injected and CAPTURE_NODE in s)  # fmt: skip
        assert "capture" in problem, problem
        traced = await trace_across(app, src_node=CAPTURE_NODE)  # its own tcpdumps: unaffected
        assert traced.get("delivered") and not trace_text(traced).count("not observed"), traced
        await still_fine(app, pilot)

        def capturing_again() -> bool:
            now = processes_in(ns, ("tcpdump",))
            return (
                len(now) == 1
                and now[0][0] not in {pid for pid, _ in before}
                and frames_from(app, CAPTURE_NODE, killed_at + 0.5) > 0
                and overlay_clean(app)
            )

        recovered = await until(pilot, capturing_again, 30, "capture restarted by itself")
        await still_fine(app, pilot)
    sees = f'overlay pane: "{problem_of(problem)}"'
    note = "restarts by itself (new tcpdump, frames again)"
    record(f"{CAPTURE_NODE}: tcpdump killed mid-stream", sees, seen, recovered, note,
           trace_text(traced))  # fmt: skip


async def test_e_capture_host_disappears(lab_dir: Path) -> None:
    app = fault_app(lab_dir)
    ns = namespace(lab_dir, CAPTURE_NODE)
    async with app.run_test(size=(160, 48)) as pilot, traffic_from(lab_dir, CAPTURE_NODE):
        await loaded(app, pilot)
        start = time.time()
        await until(pilot, lambda: frames_from(app, CAPTURE_NODE, start) > 0, 20, "frames")
        old = kill_sshd(lab_dir, CAPTURE_NODE)  # its sessions (and the tcpdump) go too
        injected = time.monotonic()
        try:
            seen = await until(
                pilot,
                lambda: app.showed("pane-overlay", injected, CAPTURE_NODE),
                ONE_REFRESH,
                "capture loss shown in the overlay pane",
            )
            problem = next(s for at, p, s, stale in app.seen if p == "pane-overlay" and
                           at >= injected and CAPTURE_NODE in s)  # fmt: skip
            await until(pilot, lambda: vm_state(app, CAPTURE_NODE) == "unreachable", 10, "VM")
            # its kubelet still reports Ready: the VM pane says the node runs, SSH is cut
            await until(
                pilot, lambda: "running, no SSH" in vm_row(app, CAPTURE_NODE), 15, "VM pane"
            )
            vm_seen = time.monotonic() - injected
            # its pods still answer, but a probe from them needs the node: nginx:1.17 has
            # no ping, and the node-side probe goes over the sshd that is gone (issue 25)
            unprobed = await trace_across(app, src_node=CAPTURE_NODE)
            assert unprobed.get("probed") is False and unprobed.get("cause") is None, unprobed
            assert f"{CAPTURE_NODE}: ssh refused" in unprobed["ping"], unprobed
            # towards it the probe goes (from a node that answers); what the trace cannot
            # do is watch that node's interfaces
            traced = await trace_across(app, src_node="k8s-node-l1-2", dst_node=CAPTURE_NODE)
            assert traced.get("delivered"), traced
            assert CAPTURE_NODE in trace_text(traced).partition("not observed on")[2], traced
            await still_fine(app, pilot)
        finally:
            restart_sshd(lab_dir, old)
        back_at = time.time()

        def capturing_again() -> bool:
            return (
                len(processes_in(ns, ("tcpdump",))) == 1
                and frames_from(app, CAPTURE_NODE, back_at) > 0
                and overlay_clean(app)
            )

        recovered = await until(pilot, capturing_again, 45, "capture back by itself")
        await until(pilot, lambda: vm_state(app, CAPTURE_NODE) == "running", 10, "VM running")
        await still_fine(app, pilot)
    record(f"{CAPTURE_NODE}: sshd killed (capture host gone)", f"overlay pane: "
           f"\"{problem_of(problem)}\"; VM pane: \"running, no SSH\" (seen within "
           f"{vm_seen:.2f} s: the API says it is Ready)", seen, recovered,
           "recovery: sshd restarted; capture retries with backoff",
           trace_text(traced))  # fmt: skip


# ==========================================================================================
# (g) calico-node stopped on one node, (h) a pod black-holed


def kubectl(lab_dir: Path, *argv: str) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(lab_dir / "kubeconfig"), *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


CRASHED = {
    "status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [
            {
                "name": "calico-node",
                "ready": False,
                "started": False,
                "restartCount": 3,
                "image": "calico/node",
                "imageID": "",
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 40s restarting failed container=calico-node",
                    }
                },
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
            }
        ],
    }
}


async def run_verify(app: FabricApp, pilot) -> str:
    await pilot.press("V")
    await finish_action(app, pilot)
    assert app.screen.id == "verify-report"
    title = str(app.screen.query_one("#report-title").render())
    body = str(app.screen.query_one("#report-body").render())
    await pilot.press("escape")
    return title + "\n" + body


def calico_pod(app: FabricApp, node: str):
    return next(
        (p for p in app.state.kube_state()[1]
         if p.namespace == "kube-system" and p.name.startswith("calico-node-") and p.node == node),
        None,
    )  # fmt: skip


async def test_g_calico_node_stopped_on_one_node(lab_dir: Path) -> None:
    node = "k8s-node-l2-2"
    app = fault_app(lab_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await until(pilot, lambda: (p := calico_pod(app, node)) and p.running, 20, "calico")
        name = calico_pod(app, node).name
        # what a kubelet reports when the container keeps crashing
        try:
            kubectl(lab_dir, "-n", "kube-system", "patch", "pod", name, "--subresource=status",
                    "--type=merge", "-p", json.dumps(CRASHED))  # fmt: skip
            seen = await until(
                pilot,
                lambda: (
                    (p := calico_pod(app, node)) is not None
                    and not p.running
                    and "CrashLoopBackOff" in pane_text(app, "pane-kube")
                ),
                ONE_REFRESH,
                "calico-node CrashLoopBackOff in the Kubernetes pane",
            )
            report = await run_verify(app, pilot)
            assert "lab NOT healthy" in report, report
            causes = [line for line in report.splitlines() if "cause:" in line]
            assert any(node in line and "calico-node" in line for line in causes), report
            # a crash-looping calico-node leaves the routes it programmed: traffic still flows
            traced = await trace_across(app, src_node=node)
            assert traced.get("delivered"), traced
            await still_fine(app, pilot)
        finally:  # a new calico-node in any case: the next faults need a healthy cluster
            kubectl(lab_dir, "-n", "kube-system", "delete", "pod", name)  # the DaemonSet
        recovered = await until(
            pilot,
            lambda: (p := calico_pod(app, node)) is not None and p.name != name and p.running,
            30,
            "a new calico-node Running on the node",
        )
        report = await run_verify(app, pilot)
        assert f"{6 + len(APP_CHECKS)}/{6 + len(APP_CHECKS)} checks pass" in report, report
        await still_fine(app, pilot)
    record(f"calico-node on {node} crash-looping", "CrashLoopBackOff in the Kubernetes pane; "
           f"verify: cause names calico-node on {node}", seen, recovered,
           "recovery: pod deleted, DaemonSet starts a new one", trace_text(traced))  # fmt: skip


async def test_h_pod_black_holed(lab_dir: Path) -> None:
    app = fault_app(lab_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await until(pilot, lambda: len(nginx(app)) == 4, 20, "4 nginx pods")
        victim = next(p for p in nginx(app) if p.node == "k8s-node-l1-2")
        assert victim.ip and victim.node
        node_ns = namespace(lab_dir, victim.node)
        original = subprocess.run(
            ["ip", "-n", node_ns, "route", "show", f"{victim.ip}/32"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert original and "dev" in original, original
        ip("-n", node_ns, "route", "replace", "blackhole", f"{victim.ip}/32")
        try:
            started = time.monotonic()
            matrix = await ping_matrix(app, pilot)
            seen = time.monotonic() - started
            failing = {pair for pair, result in matrix.results.items() if not result.ok}
            involved = {pair for pair in matrix.results if victim.key in pair}
            assert failing == involved, (failing, involved)  # exactly the victim's pairs
            diagnosis = str(matrix.query_one("#matrix-diagnosis").render())
            assert victim.ip in diagnosis, diagnosis
            await pilot.press("escape")
            report = await run_verify(app, pilot)
            assert "lab NOT healthy" in report and victim.ip in report, report
            traced = await trace_across(app, dst_node=victim.node)
            assert not traced["delivered"] and traced["lost_at"]["host"] == victim.node, traced
            assert "black-hol" in traced["cause"] and victim.ip in traced["cause"], traced
            await still_fine(app, pilot)
        finally:
            ip("-n", node_ns, "route", "replace", *original)
        started = time.monotonic()
        matrix = await ping_matrix(app, pilot)
        recovered = time.monotonic() - started
        assert all(r.ok for r in matrix.results.values()), matrix.results
        await pilot.press("escape")
        await still_fine(app, pilot)
    record(f"pod {victim.name} ({victim.node}) black-holed", f"ping matrix: {len(failing)} of "
           f"12 pairs fail, all through {victim.ip}; verify's trace names the black-hole route",
           seen, recovered,
           "both times: one ping mesh (P); recovery: route restored",
           trace_text(traced))  # fmt: skip
    # verify's trace of a failing pair reads the node's route: the cause names the black hole
    assert "black-hol" in report, report


def nginx(app: FabricApp) -> list:
    return [p for p in app.state.kube_state()[1] if p.namespace == "space1" and p.running]


async def ping_matrix(app: FabricApp, pilot) -> PingMatrixScreen:
    await pilot.press("P")
    await finish_action(app, pilot)
    assert isinstance(app.screen, PingMatrixScreen)
    return app.screen


# ==========================================================================================
# (f) the Kubernetes API: 500s and a watch 410 (through a proxy), then stopped for real


@contextlib.asynccontextmanager
async def proxied_app(lab_dir: Path, tmp_path: Path):
    proxy = KubeProxy(lab_dir / "kubeconfig")
    await proxy.start()
    try:
        kubeconfig = proxy.write_kubeconfig(tmp_path / "proxy-kubeconfig")
        # opening the lab asks the kubeconfig's server (the proxy, on this very loop) whether
        # it answers, with a blocking request: from a thread, so the proxy can answer it
        backend = await asyncio.to_thread(open_lab, lab_dir, str(kubeconfig))
        yield proxy, fault_app(lab_dir, backend=backend)
    finally:
        await proxy.close()


def kube_clean(app: FabricApp) -> bool:
    return (
        not {"nodes", "pods"} & set(app.state.problems)
        and not pane(app, "pane-kube").has_class("-stale")
        and len(app.state.kube_state()[0]) == len(NODES)
    )


async def test_f1_kube_api_answers_500(lab_dir: Path, tmp_path: Path) -> None:
    async with (
        proxied_app(lab_dir, tmp_path) as (proxy, app),
        app.run_test(size=(160, 48)) as pilot,
    ):
        await loaded(app, pilot)
        await until(pilot, lambda: kube_clean(app), 20, "Kubernetes pane current")
        shown_nodes = len(app.state.kube_state()[0])
        injected = proxy.set_mode("500")
        seen = await until(
            pilot,
            lambda: app.showed("pane-kube", injected, "500"),
            ONE_REFRESH,
            "500 shown in the Kubernetes pane",
        )
        problem = problem_of(pane(app, "pane-kube").border_subtitle)
        assert len(app.state.kube_state()[0]) == shown_nodes  # last known data kept, marked
        traced = await trace_across(app)  # the probe runs through the API: it says so
        assert "500" in traced.get("error", ""), traced
        await still_fine(app, pilot)
        cleared = proxy.set_mode("pass")
        recovered = await until(pilot, lambda: kube_clean(app), 60, "watches back")
        await still_fine(app, pilot)
        served = [r.status for r in proxy.requests if r.at >= injected and r.at < cleared]
        assert served and set(served) == {500}, served
    record("Kubernetes API answers 500 to everything", f"Kubernetes pane marked: "
           f"\"{problem}\"", seen, recovered,
           "recovery: API answers again; watches retry with backoff",
           trace_text(traced))  # fmt: skip


async def test_f2_kube_watch_410_gone(lab_dir: Path, tmp_path: Path) -> None:
    async with (
        proxied_app(lab_dir, tmp_path) as (proxy, app),
        app.run_test(size=(160, 48)) as pilot,
    ):
        await loaded(app, pilot)
        await until(pilot, lambda: kube_clean(app), 20, "Kubernetes pane current")
        injected = proxy.set_mode("gone")

        def relisted(path: str) -> bool:
            gone = [r for r in proxy.requests if r.at >= injected and r.status == 410
                        and r.path == path]  # fmt: skip
            return bool(gone) and any(
                r.at > gone[0].at and not r.watch and r.path == path and r.status == 200
                for r in proxy.requests
            )

        seen = await until(
            pilot,
            lambda: relisted("/api/v1/nodes") and relisted("/api/v1/pods"),
            ONE_REFRESH + 2,
            "both watches answered 410 and listed again",
        )
        # a change made after the 410 reaches the pane: the watch really resumed
        scale = ("-n", "space1", "scale", "deployment/nginx-deployment")
        kubectl(lab_dir, *scale, "--replicas=5")
        await until(pilot, lambda: len(nginx(app)) == 5, 20, "5th pod shown after the 410")
        kubectl(lab_dir, *scale, "--replicas=4")
        await until(pilot, lambda: len(nginx(app)) == 4, 20, "back to 4 pods")
        assert kube_clean(app)
        assert not app.showed("pane-kube", injected, "410"), app.seen
        await still_fine(app, pilot)
    record("a watch answered 410 Gone (Expired)", "nothing alarming: nodes and pods listed "
           "again, later changes shown", seen, None,
           "seen = until both collections were re-listed; pane never marked")  # fmt: skip


async def test_f3_kube_api_stopped_and_restarted(lab_dir: Path) -> None:
    """Last: a restarted lab API server starts a fresh cluster (nodes NotReady again,
    new token and CA in the kubeconfig, which the backend reloads by itself)."""
    old = process_record(lab_dir, "kubeapi", None)
    argv = Path(f"/proc/{old['pid']}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    port = lab_state(lab_dir)["ports"]["kube"]
    app = fault_app(lab_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await until(pilot, lambda: kube_clean(app), 20, "Kubernetes pane current")
        os.kill(old["pid"], signal.SIGTERM)
        wait_gone(old["pid"], 20)
        injected = time.monotonic()
        seen = await until(
            pilot,
            lambda: app.showed("pane-kube", injected, "nodes"),
            ONE_REFRESH,
            "API loss shown in the Kubernetes pane",
        )
        problem = problem_of(pane(app, "pane-kube").border_subtitle)
        await still_fine(app, pilot)
        for other in ("pane-fabric", "pane-vms"):  # the rest of the app carries on
            assert not pane(app, other).has_class("-stale"), pane_text(app, other)
        traced = await trace_across(app)
        assert traced.get("error"), traced

        respawn(lab_dir, old, [a.decode() for a in argv])
        restarted = time.monotonic()
        while not kube_version_answers(port):
            assert time.monotonic() - restarted < 20, "API server did not come back"
            await pilot.pause(0.1)
        recovered = await until(pilot, lambda: kube_clean(app), 60, "Kubernetes pane back")
        await still_fine(app, pilot)
    sees = f'Kubernetes pane marked: "{problem}"'
    note = "recovery: server restarted (fresh cluster, new token: kubeconfig reloaded)"
    record(
        "Kubernetes API server stopped (SIGTERM)", sees, seen, recovered, note, trace_text(traced)
    )
    # the lab is handed on as it was taken (the shared lab's next module would otherwise find
    # a fresh cluster and wait for a whole new lab): Calico and nginx again
    await prepare_workload(lab_dir)


async def test_z_nothing_left_running_after_the_faults(lab_dir: Path) -> None:
    """Every app above has quit: no tcpdump or ping of ours is left in any namespace of
    the lab, whatever was killed under it."""
    deadline = time.monotonic() + 10
    while True:
        left = {ns: procs for ns in lab_namespaces(lab_dir)
                if (procs := processes_in(ns, ("tcpdump", "ping")))}  # fmt: skip
        if not left:
            break
        assert time.monotonic() < deadline, left
        await asyncio.sleep(0.1)
