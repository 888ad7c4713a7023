"""The session layer without a screen: the state, the feed supervisor and the
action runner, driven by a scripted lab."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import pytest

from fabrictui import audit
from fabrictui.actions.progress import ActionResult, Progress
from fabrictui.backends.base import BackendError
from fabrictui.model import Host, KubeNode, KubePod, LabInfo, Role, VmState, WatchEvent
from fabrictui.session import feeds as feeds_module
from fabrictui.session.audited import ActionSpec, outcome
from fabrictui.session.feeds import Changed, Failed, FeedCrashed, FeedSupervisor
from fabrictui.session.runner import ActionRunner
from fabrictui.session.state import LabState
from tests.fake_backend import FakeBackend


def pod(name: str, ip: str | None, node: str | None = "k8s-node-l1-1", ns: str = "space1"):
    return KubePod(ns, name, 1, 1, "Running", 0, 0.0, ip, node)


def new_state() -> LabState:
    return LabState(LabInfo(name="t", kind="test"), time.time, poll_seconds={"fabric": 2.0})


async def until(condition, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.02)


# -- LabState -----


def test_pod_changes_name_only_what_changed_since_the_last_reader():
    state = new_state()
    state.apply_pod_events([WatchEvent("RELIST", items=(pod("a", "10.64.0.1"),))])
    first = state.take_pod_changes()
    assert first.relisted and not state.take_pod_changes()
    state.apply_pod_events(
        [
            WatchEvent("ADDED", pod("b", None)),
            WatchEvent("MODIFIED", pod("b", "10.64.0.2")),
            WatchEvent("DELETED", pod("a", "10.64.0.1")),
        ]
    )
    changes = state.take_pod_changes()
    assert not changes.relisted
    assert changes.changed == ("space1/b",) and changes.deleted == ("space1/a",)
    assert list(state.pods) == ["space1/b"] and state.pods["space1/b"].ip == "10.64.0.2"


def test_names_by_ip_prefer_the_node_for_host_network_pods_and_follow_changes():
    state = new_state()
    node = KubeNode("k8s-node-l1-1", True, (), 0.0, "v1.15.2", "10.0.101.101")
    state.apply_node_event(WatchEvent("RELIST", items=(node,)))
    state.apply_pod_events(
        [
            WatchEvent(
                "RELIST", items=(pod("calico-node-x", "10.0.101.101"), pod("web", "10.64.0.9"))
            )
        ]
    )
    names = state.names_by_ip()
    assert names["10.0.101.101"] == "k8s-node-l1-1" and names["10.64.0.9"] == "web"
    state.apply_pod_events([WatchEvent("DELETED", pod("web", "10.64.0.9"))])
    assert "10.64.0.9" not in state.names_by_ip()


def test_freshness_marks_polled_sources_stale_and_never_watches():
    state = new_state()
    state.set_readings({})
    state.last_answer["fabric"] -= 10  # older than 3 polls of 2 s
    fabric = state.freshness(("fabric",))
    assert fabric.stale_after == 6.0 and time.time() - fabric.fetched_at > 6.0
    assert state.freshness(("nodes", "pods")).stale_after == float("inf")
    assert state.failed("pods", "connection refused") is True
    assert state.failed("pods", "connection refused") is False  # the same error is no news
    assert state.freshness(("nodes", "pods")).problem == "pods: connection refused"
    state.apply_pod_events([])
    assert state.freshness(("pods",)).problem is None


# -- FeedSupervisor -----


async def test_feeds_fill_the_state_without_a_screen():
    backend = FakeBackend()
    state = LabState(backend.info(), time.time)
    events: list = []
    supervisor = FeedSupervisor(backend, state, events.append, 0.2, 0.2)
    supervisor.start()
    try:
        await until(lambda: state.hosts and state.readings and state.nodes)
        assert supervisor.running() == [
            "bgp",
            "capture",
            "events",
            "fabric",
            "hosts",
            "nodes",
            "pods",
            "services",
        ]
        assert state.capture_nodes == ("k8s-node-l1-1",)
        assert Changed("hosts") in events and Changed("fabric") in events
        analysis = state.session_analysis()
        assert not analysis.problems()
        await backend.pod_events.put(WatchEvent("ADDED", pod("web", "10.64.0.9")))
        await until(lambda: "space1/web" in state.pods)
    finally:
        await supervisor.stop()
    assert supervisor.running() == []


async def test_a_failing_source_is_reported_once_and_recovers():
    backend = FakeBackend()
    backend.fail.add("bgp")
    state = LabState(backend.info(), time.time)
    events: list = []
    supervisor = FeedSupervisor(backend, state, events.append, 0.2, 0.2)
    supervisor.start()
    try:
        await until(lambda: "fabric" in state.readings or state.readings)
        reading = next(iter(state.readings.values()))
        assert reading.error and "connection refused" in reading.error
        backend.fail.discard("bgp")
        await until(lambda: all(r.summary for r in state.readings.values()))
        backend.fail.add("hosts")
        await until(lambda: "hosts" in state.problems, timeout=8)
        failures = [e for e in events if isinstance(e, Failed) and e.source == "hosts"]
        assert failures[0].first and "vagrant: no answer" in failures[0].error
        await asyncio.sleep(1.0)  # more failed polls, the same error: no new "first"
        failures = [e for e in events if isinstance(e, Failed) and e.source == "hosts"]
        assert sum(1 for f in failures if f.first) == 1
    finally:
        await supervisor.stop()


async def test_a_crashing_feed_is_restarted_with_backoff_and_reported_once(monkeypatch):
    monkeypatch.setattr(feeds_module, "RESTART_FIRST", 0.05)
    backend = FakeBackend()
    calls = 0

    async def broken_watch():
        nonlocal calls
        calls += 1
        raise RuntimeError("a bug in the watch")
        yield  # pragma: no cover  (an async generator)

    backend.watch_pods = broken_watch  # type: ignore[method-assign]
    state = LabState(backend.info(), time.time)
    events: list = []
    supervisor = FeedSupervisor(backend, state, events.append, 0.2, 0.2)
    supervisor.start()
    try:
        await until(lambda: calls >= 3)
        crashes = [e for e in events if isinstance(e, FeedCrashed)]
        assert all(c.feed == "pods" for c in crashes)
        assert [c.first for c in crashes[:3]] == [True, False, False]
        assert crashes[0].retry_in < crashes[1].retry_in < crashes[2].retry_in  # backing off
        assert "hosts" in supervisor.running()  # the others carry on
    finally:
        await supervisor.stop()


async def test_stopping_closes_every_capture():
    backend = FakeBackend()
    opened = []
    original = backend.open_capture

    async def tracked(node, interface="eth0", bpf="udp port 4789"):
        stream = await original(node, interface, bpf)
        opened.append(stream)
        return stream

    backend.open_capture = tracked  # type: ignore[method-assign]
    state = LabState(backend.info(), time.time)
    supervisor = FeedSupervisor(backend, state, lambda event: None, 0.2, 0.2)
    supervisor.start()
    await until(lambda: opened)
    await supervisor.stop()
    assert all(stream.closed for stream in opened)
    assert state.capture_nodes == ()


# -- ActionRunner -----


class Port:
    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.lines: list[tuple[str, str]] = []
        self.refusals: list[str] = []
        self.asked: list[tuple[str, list[str]]] = []
        self.status: list[str | None] = []

    def log_action(self, message: str, level: str = "info") -> None:
        self.lines.append((message, level))

    def refused(self, message: str) -> None:
        self.refusals.append(message)

    async def confirm(self, question: str, plan: Sequence[str]) -> bool:
        self.asked.append((question, list(plan)))
        return self.answer

    def show_status(self, running, message="", fraction=None) -> None:
        self.status.append(running)


CHANGE = ActionSpec("scale", "Scale nginx", "space1/nginx", ("a -> b",), True, "Scale?")


async def test_read_only_refuses_a_change_and_audits_the_refusal():
    port = Port()
    runner = ActionRunner("lab1", "--read-only", port)
    ran = []
    assert runner.start(CHANGE, lambda report: ran.append(1)) is None
    assert ran == [] and port.asked == []
    assert port.refusals == ["Scale nginx refused: fabrictui runs read-only (--read-only)"]
    rows = audit.read_audit()
    assert [(r.action, r.result, r.lab) for r in rows] == [("scale", "refused", "lab1")]
    # reading is not a change: allowed
    read = ActionSpec("verify", "Verify")

    async def verify(report):
        return ActionResult(True, "fine")

    run = runner.start(read, verify)
    assert run is not None
    await run.task
    assert audit.read_audit()[-1].result == "ok"


async def test_a_change_asks_first_and_no_changes_nothing():
    port = Port(answer=False)
    runner = ActionRunner("lab1", None, port)
    ran = []

    async def work(report):
        ran.append(1)

    run = runner.start(CHANGE, work)
    await run.task
    assert port.asked == [("Scale?", ["a -> b"])] and ran == []
    assert ("Scale: cancelled, nothing changed", "info") in port.lines
    assert audit.read_audit() == []


async def test_one_action_at_a_time_progress_errors_and_cancel():
    port = Port()
    runner = ActionRunner("lab1", None, port)
    gate = asyncio.Event()

    async def slow(report):
        report(Progress("half way", 0.5))
        await gate.wait()
        return ActionResult(True, "done")

    first = runner.start(CHANGE, slow)
    await until(lambda: ("scale: half way", "info") in port.lines)
    assert runner.start(CHANGE, slow) is None  # busy
    assert ("Scale nginx is still running (x cancels it)", "warn") in port.lines
    assert runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first.task
    assert first.is_cancelled and not runner.busy
    assert audit.read_audit()[-1].result == "cancelled"

    async def broken(report):
        raise BackendError("API server: connection refused")

    run = runner.start(CHANGE, broken)
    await run.task  # the error is logged, not raised
    assert ("scale: API server: connection refused", "error") in port.lines
    assert audit.read_audit()[-1].result == "failed"
    assert port.status[-1] is None  # the status line is back to idle


def test_outcome_reads_every_kind_of_result():
    assert outcome(0) == (True, "exit code 0") and outcome(1)[0] is False
    assert outcome(ActionResult(False, "2 pods Pending")) == (False, "2 pods Pending")


def test_messages_with_snapshots_replace_older_ones():
    from fabrictui.ui.messages import FabricUpdated, HostsUpdated, SourceFailed

    hosts = [Host("leaf1", Role.LEAF, 1, VmState.RUNNING, "fake", "")]
    assert HostsUpdated(hosts).can_replace(HostsUpdated([]))
    assert FabricUpdated({}).can_replace(FabricUpdated({}))
    assert not HostsUpdated(hosts).can_replace(FabricUpdated({}))
    assert not SourceFailed("pods", "x", True).can_replace(SourceFailed("pods", "y", True))


async def test_a_lab_that_cannot_list_its_hosts_is_said_once_in_its_own_words():
    """A Vagrant project whose `vagrant status` fails: the hosts feed says why;
    the fabric and capture panes point there instead of repeating it."""
    backend = FakeBackend()
    backend.fail.add("hosts")
    state = LabState(backend.info(), time.time)
    events: list = []
    supervisor = FeedSupervisor(backend, state, events.append, 0.2, 0.2)
    supervisor.start()
    try:
        await until(lambda: {"hosts", "fabric", "capture"} <= state.problems.keys())
        await asyncio.sleep(0.5)
    finally:
        await supervisor.stop()
    logged = [e for e in events if isinstance(e, Failed) and e.first]
    assert [(e.source, e.error) for e in logged] == [("hosts", "vagrant: no answer")]
    assert state.problems["fabric"] == "cannot list the lab's hosts (see the VM pane)"
    assert not [e for e in events if isinstance(e, FeedCrashed)]


def test_a_status_change_keeps_the_pod_indexes() -> None:
    """The pod-to-node index goes to the capture worker whenever it is rebuilt: a pod
    that only changes status (most watch events) must not rebuild it."""
    import dataclasses

    state = new_state()
    state.set_hosts([Host("n1", Role.WORKER, 1, VmState.RUNNING, "fake", "", address="10.0.0.1")])
    pod = KubePod("ns", "web-1", 1, 1, "Running", 0, 0.0, "10.64.0.2", "n1")
    state.apply_pod_events([WatchEvent("RELIST", items=(pod,))])
    index = state.pod_node_addresses()
    assert index == {"10.64.0.2": "10.0.0.1"}
    state.apply_pod_events([WatchEvent("MODIFIED", obj=dataclasses.replace(pod, restarts=1))])
    assert state.pod_node_addresses() is index
    moved = dataclasses.replace(pod, ip="10.64.0.9")
    state.apply_pod_events([WatchEvent("MODIFIED", obj=moved)])
    assert state.pod_node_addresses() == {"10.64.0.9": "10.0.0.1"}


async def test_a_poll_cancelled_as_its_answer_arrives_ends():
    """Python 3.11's `asyncio.wait_for` returns the answer and drops a cancellation that
    arrives in the same turn as it (fixed in 3.12): the feed then polled on forever and
    `FeedSupervisor.stop()` waited on it for good (two session tests hung that way on a
    loaded machine). Here the poller is cancelled from inside the fetch as it answers."""
    from fabrictui.session.polling import poll_forever

    answers: list[int] = []
    poller: asyncio.Task | None = None

    async def fetch() -> int:
        assert poller is not None
        poller.cancel()
        return len(answers)

    poller = asyncio.create_task(poll_forever(fetch, answers.append, lambda _: None, 0.01, 1.0))
    await asyncio.wait({poller}, timeout=2.0)
    try:
        assert poller.cancelled(), f"still polling after its cancel: {len(answers)} answers"
    finally:
        poller.cancel()  # the next cancel of a broken poll lands between two answers
        with contextlib.suppress(asyncio.CancelledError):
            await poller
