"""BGP mode end to end on the rehearsal lab (issue 11): real FRR on the switches, a real
BIRD 1.6 in every node's namespace, the kernel forwarding pod traffic natively; the
migration there and back measured by a continuous ping; nothing left behind, also after
`lab down`. Everything fabrictui talks to is on 127.0.0.1; lab addresses exist only inside
the lab's namespaces."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.actions.change.bgp_mode import deploy_mode, migrate
from fabrictui.actions.change.scale import scale_workload
from fabrictui.actions.progress import Progress
from fabrictui.actions.routes import read_routes
from fabrictui.actions.verify.apps import APP_CHECKS
from fabrictui.actions.verify.run import verify
from fabrictui.lab.bird import bird_dir
from tests._rehearsal_tui import open_lab, rehearsal_lab
from tests._require import require

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def ignore(_progress: Progress) -> None:
    pass


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(os.geteuid() == 0, "the rehearsal lab needs root")
    require("/usr/sbin/bird", "BIRD 1.6 (Debian's bird package) is not installed")
    with rehearsal_lab(tmp_path_factory.mktemp("bgp") / "lab") as directory:
        yield directory


def birds(lab_id: str) -> list[str]:
    """Command lines of the BIRD daemons of this lab still running."""
    out = subprocess.run(["pgrep", "-a", "-x", "bird"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if f"ftl-{lab_id}-" in line]


def leaf_config(lab_dir: Path, leaf: str) -> str:
    return subprocess.run(
        ["ssh", "-F", str(lab_dir / "ssh_config"), leaf, "vtysh", "-c", "'show running-config'"],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout  # fmt: skip


def fabrictui(lab_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """The command a user types, from a directory that is not the lab's."""
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args, "--lab", str(lab_dir)],
        capture_output=True, text=True, timeout=240, cwd=lab_dir.parent, check=False,
    )  # fmt: skip


def test_bgp_mode_deploys_from_the_command_line_on_a_fresh_lab(lab_dir: Path) -> None:
    """`fabrictui deploy-calico --mode bgp --yes` on a lab nothing has polled yet: the plan
    is made in each switch's own language (it once sent FRR's words to the lab's NCLU
    switches, which failed at `configure`), and the way back to VXLAN runs the same way."""
    import json

    lab_id = json.loads((lab_dir / "inventory.json").read_text())["lab_id"]
    there = fabrictui(lab_dir, "deploy-calico", "--mode", "bgp", "--yes")
    assert there.returncode == 0, there.stdout[-1500:] + there.stderr[-1500:]
    assert "5 nodes peer with 2 leaves" in there.stdout
    assert len(birds(lab_id)) == 5
    assert "bgp listen range 10.0.101.0/24 peer-group calico" in leaf_config(lab_dir, "leaf1")

    back = fabrictui(lab_dir, "deploy-calico", "--mode", "vxlan", "--yes")
    assert back.returncode == 0, back.stdout[-1500:] + back.stderr[-1500:]
    assert birds(lab_id) == []
    assert "listen range" not in leaf_config(lab_dir, "leaf1")


async def test_bgp_mode_there_and_back(lab_dir: Path) -> None:
    import json

    lab_id = json.loads((lab_dir / "inventory.json").read_text())["lab_id"]
    backend = open_lab(lab_dir)
    await backend.start()
    try:
        assert (await deploy_mode(backend, ignore, "vxlan", timeout=120)).ok
        assert (await scale_workload(backend, ignore, replicas=4)).ok
        assert await backend.calico_mode() == "vxlan"

        result, there = await migrate(backend, ignore, "bgp", timeout=60)
        assert result.ok, result.summary
        assert there is not None and there.probes >= 10
        assert there.last_before is not None and there.first_after is not None
        print("to BGP:", *there.lines(), sep="\n  ")
        assert await backend.calico_mode() == "bgp"
        assert len(birds(lab_id)) == 5
        checks = await verify(backend, ignore)
        assert {c.name: c.cause for c in checks if not c.passed} == {}
        assert len(checks) == 8 + len(APP_CHECKS)
        report = await read_routes(backend)
        assert report.mode == "bgp" and not report.missing and not report.errors
        across = [r for r in report.rows if r.switch == "leaf2" and r.owner == "k8s-node-l1-1"]
        assert across and across[0].route is not None and across[0].route.ecmp == 2
        assert "bgp listen range 10.0.101.0/24 peer-group calico" in leaf_config(lab_dir, "leaf1")

        result, back = await migrate(backend, ignore, "vxlan", timeout=60)
        assert result.ok, result.summary
        assert back is not None
        print("back to VXLAN:", *back.lines(), sep="\n  ")
        assert await backend.calico_mode() == "vxlan"
        assert birds(lab_id) == []
        assert not any(Path("/var/run/frr").glob(f"ftl-{lab_id}-*-bird"))
        assert "listen range" not in leaf_config(lab_dir, "leaf1")
        assert "peer-group" not in leaf_config(lab_dir, "leaf2")
        checks = await verify(backend, ignore)
        assert [c.passed for c in checks] == [True] * (6 + len(APP_CHECKS))

        # BGP mode once more, then the lab goes down with it (the fixture): nothing stays
        assert (await deploy_mode(backend, ignore, "bgp", timeout=60)).ok
        assert len(birds(lab_id)) == 5
    finally:
        await backend.close()


async def test_the_overlay_capture_shows_native_pod_traffic(lab_dir: Path) -> None:
    """In BGP mode (left on by the test above, deployed here if not), the capture the app
    runs on a node (`open_capture(node)`, the capture feed's call: the one filter for both
    modes, real tcpdump under its wrapper over SSH) yields a cross-rack pod ping as native
    frames between the two pod IPs, which the line format names by pod."""
    import asyncio
    import contextlib

    from fabrictui.capture.format import frame_to_line, shorten_name
    from fabrictui.capture.pcap import PcapStreamDecoder
    from fabrictui.model import VxlanFrame, is_native
    from fabrictui.render.frames import frame_two_lines

    backend = open_lab(lab_dir)
    await backend.start()
    try:
        if await backend.calico_mode() != "bgp":
            assert (await deploy_mode(backend, ignore, "bgp", timeout=120)).ok
            assert (await scale_workload(backend, ignore, replicas=4)).ok
        pods = [p for p in await backend.list_pods("space1") if p.running and p.ip]
        shape = backend.shape()
        src = next(p for p in pods if shape.rack_of(p.node) == 2)
        dst = next(p for p in pods if shape.rack_of(p.node) == 1)
        assert src.node and src.ip and dst.ip
        stream = await backend.open_capture(src.node)
        frames: list[VxlanFrame] = []

        async def read() -> None:
            decoder = PcapStreamDecoder(node=src.node or "")
            async for chunk in stream.chunks():
                frames.extend(decoder.feed(chunk))

        reader = asyncio.create_task(read())
        try:
            await asyncio.sleep(2.0)  # tcpdump attached (over ssh, sudo) before the echoes
            result = await backend.ping(src, dst.ip, count=5, timeout=20)
            await asyncio.sleep(0.5)  # the last reply's frame
        finally:
            await stream.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, timeout=5.0)
            reader.cancel()
        assert result.ok, result
        assert not any(f.is_vxlan for f in frames), frames[:3]
        native = [
            f for f in frames if is_native(f) and {f.inner_src, f.inner_dst} == {src.ip, dst.ip}
        ]
        requests = [
            f for f in native if (f.inner_src, f.inner_dst, f.icmp_type) == (src.ip, dst.ip, 8)
        ]
        replies = [
            f for f in native if (f.inner_src, f.inner_dst, f.icmp_type) == (dst.ip, src.ip, 0)
        ]
        # all of them but the first, should tcpdump attach a moment late
        assert len(requests) >= 4 and len(replies) >= 4, frames
        assert all(
            f.proto == "ICMP" and f.icmp_id is not None and f.node == src.node for f in native
        )
        names = {p.ip: p.name for p in pods if p.ip}
        line = frame_to_line(requests[0], names)
        assert line.split(" ", 1)[1].startswith(
            f"native on {src.node}  {shorten_name(src.name)}({src.ip}) > "
            f"{shorten_name(dst.name)}({dst.ip}) ICMP echo request id "
        ), line
        narrow = frame_two_lines(replies[0], names)[1]
        pair = f"  {dst.short_name}({dst.ip}) > {src.short_name}({src.ip}) ICMP echo reply id "
        assert narrow.startswith(pair), narrow
        print("native on the wire:", line, *frame_two_lines(replies[0], names), sep="\n  ")
    finally:
        await backend.close()


async def test_the_tui_matches_native_frames_on_both_nodes(lab_dir: Path) -> None:
    """The app itself in BGP mode: the ping mesh's echoes cross the fabric as plain IP,
    each node's capture sees them, and the capture worker counts each once and matches
    its two sightings through the pods' nodes (one-way time, nothing lost)."""
    from tests._rehearsal_tui import finish_action, lab_app, loaded, wait_for

    app = lab_app(lab_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await wait_for(pilot, lambda: app.state.calico_mode == "bgp", 30, "BGP mode read")
        await wait_for(pilot, lambda: app.feeds.capture_worker is not None, 10, "captures")
        await pilot.pause(2.0)  # tcpdump attached on every node (ssh, sudo)
        await pilot.press("P")
        await finish_action(app, pilot)
        await wait_for(
            pilot, lambda: len(app.state.overlay.transit.pairs) >= 6, 15, "native echoes matched"
        )
        counters, transit = app.state.overlay.counters, app.state.overlay.transit
        assert counters.native > 0 and counters.vxlan == 0, counters
        assert transit.arrived >= 12 and transit.lost == 0, transit
        assert all(0 < (p.best_ms or 0) < 5 for p in transit.pairs if p.arrived), transit
        assert "Pod traffic (native, BGP mode)" in str(app.main.pane(4).border_title)


async def test_a_nodes_bird_stopped_seen_from_both_ends(lab_dir: Path, tmp_path: Path) -> None:
    """Issue 26 in BGP mode: a node's session, read from its real BIRD (`birdcl show
    protocols all`) and from its leaf's real FRR (a dynamic neighbour), links each end to
    the other; with the node's BIRD stopped, as on a node whose calico-node died, the leaf
    has deleted the neighbour (FRR's own words: its log says when and why the session went
    down) and birdcl cannot connect (its words); the
    commands as typed show the readiness probe's words on the node's calico-node and its
    Unhealthy event, and the leaf's session the reason its FRR logged; a recording made
    meanwhile replays the pod's recorded detail (its conditions, the readiness words, the
    last lines of calico-node's log); with BIRD back, all clear."""
    import asyncio
    import contextlib
    import json
    import signal

    from fabrictui.actions.drill import DESCRIBERS
    from fabrictui.backends.base import BackendError
    from fabrictui.lab.bird import start_argv
    from fabrictui.model import WatchEvent
    from fabrictui.session.detail_reads import DetailReads
    from fabrictui.session.record import Recorder
    from fabrictui.session.state import LabState

    lab_id = json.loads((lab_dir / "inventory.json").read_text())["lab_id"]
    netns = f"ftl-{lab_id}-k8s-node-l1-1"
    backend = open_lab(lab_dir)
    await backend.start()
    # the pods as the pods feed sees them, into a recording (issue 26: kubedetail)
    recorder = Recorder(tmp_path / "bird.rec.sqlite", backend.info())
    state = LabState(backend.info(), time.time)
    recorder.attach(state)
    reads = DetailReads(backend, state)

    async def watched() -> None:
        pods = WatchEvent("RELIST", items=tuple(await backend.list_pods()))
        state.apply_pod_events([pods])
        reads.saw_pods(pods)
        await reads.drain()

    async def established(name: str) -> dict[str, str]:
        async with asyncio.timeout(30):
            while True:
                with contextlib.suppress(BackendError):
                    detail = await DESCRIBERS["session"](backend, name, None)
                    session = dict(detail.sections[0].rows)
                    if session["State"].startswith("Established"):
                        return (
                            session
                            | {"name": detail.name}
                            | {f"link {x.kind}": x.name for x in detail.links}
                        )
                await asyncio.sleep(0.5)

    async def calico_ready(ready: bool) -> str:
        """The node's calico-node once its readiness is `ready` (the kubelet's prober runs
        every 10 s, the manifest's periodSeconds); its name."""
        async with asyncio.timeout(35):
            while True:
                pods = await backend.list_pods("kube-system")
                pod = next(
                    p for p in pods if p.name.startswith("calico-node") and p.node == node_name
                )
                if (pod.ready_containers == pod.total_containers) is ready:
                    return pod.name
                await asyncio.sleep(0.5)

    async def typed(*args: str) -> subprocess.CompletedProcess:
        return await asyncio.to_thread(fabrictui, lab_dir, *args)

    node_name = "k8s-node-l1-1"
    words = "calico/node is not ready: BIRD is not ready: "
    try:
        if await backend.calico_mode() != "bgp":
            assert (await deploy_mode(backend, ignore, "bgp", timeout=120)).ok
        node = await established("k8s-node-l1-1/leaf1")
        assert node["name"] == "k8s-node-l1-1/Node_10_0_101_1", node
        assert node["link session"] == "leaf1/10.0.101.101", node
        leaf = await established("leaf1/k8s-node-l1-1")
        assert leaf["name"] == "leaf1/10.0.101.101" and leaf["link node"] == "k8s-node-l1-1"

        await watched()  # all ready: nothing read
        pid = int((bird_dir(netns) / "bird.pid").read_text().strip())
        os.kill(pid, signal.SIGTERM)
        async with asyncio.timeout(20):  # the leaf deletes the neighbour (FRR's words)
            while True:
                detail = await DESCRIBERS["session"](backend, "leaf1/10.0.101.101", None)
                if dict(detail.sections[0].rows)["State"].startswith("not listed"):
                    assert "No such neighbor" in dict(detail.sections[0].rows)["State"]
                    break
                await asyncio.sleep(0.5)
        with pytest.raises(BackendError, match="Unable to connect"):
            await DESCRIBERS["session"](backend, "k8s-node-l1-1/leaf1", None)

        pod = await calico_ready(False)
        described, events, gone = await asyncio.gather(
            typed("describe", "pod", pod, "-n", "kube-system"),
            typed("events", "--for", f"pod/{pod}", "-n", "kube-system"),
            typed("describe", "session", "leaf1/10.0.101.101"),
        )
        # FRR deleted the dynamic neighbour: when and why it went down, from its log (BIRD
        # stopping sends Cease / Administrative Shutdown; FRR 8.4 logs "Neighbor deleted")
        assert gone.returncode == 0, gone.stderr
        assert "not listed: No such neighbor" in gone.stdout, gone.stdout
        assert "Down for:" in gone.stdout, gone.stdout
        assert "Reason:       Neighbor deleted" in gone.stdout, gone.stdout
        assert "received from the peer: Cease / Administrative Shutdown (code 6, subcode 2)" in (
            gone.stdout
        )
        assert described.returncode == 0, described.stderr
        assert words + "Error querying BIRD: unable to connect to BIRDv4 socket" in (
            described.stdout
        ), described.stdout
        assert "ContainersNotReady" in described.stdout
        assert "fabrictui describe session leaf1/10.0.101.101" in described.stdout  # its link
        assert events.returncode == 0, events.stderr
        assert "Unhealthy" in events.stdout and words in events.stdout, events.stdout
        await watched()  # it turned not ready: its detail and log read and recorded
        state.set_warnings(await backend.list_events(None, warnings_only=True))
        recorder.close()
        replayed(tmp_path / "bird.rec.sqlite", pod, words)

        subprocess.run(start_argv(netns), check=True, capture_output=True)  # BIRD back
        await established("k8s-node-l1-1/leaf1")
        await calico_ready(True)
        after, session = await asyncio.gather(
            typed("describe", "pod", pod, "-n", "kube-system", "--json"),
            typed("describe", "session", "leaf1/10.0.101.101"),
        )
        assert after.returncode == 0, after.stderr
        sections = {s["title"]: s for s in json.loads(after.stdout)["sections"]}
        assert sections["Conditions"]["rows"]["Ready"] == "True", sections["Conditions"]
        assert sections["Container calico-node"]["rows"]["Ready"] == "True"
        assert session.returncode == 0 and "State:" in session.stdout, session.stderr
        assert "Established" in session.stdout.split("State:", 1)[1].splitlines()[0]
    finally:
        recorder.close()
        await reads.stop()
        if not any(f"{netns}-bird/" in line for line in birds(lab_id)):
            subprocess.run(start_argv(netns), check=False, capture_output=True)  # back up
        with contextlib.suppress(TimeoutError):
            await established("k8s-node-l1-1/leaf1")
        await backend.close()


def replayed(path: Path, pod: str, words: str) -> None:
    """The replay of the recording at its end: the pod's detail as recorded then."""
    from fabrictui.session.record import Recording
    from fabrictui.session.record.drill import Moment, recorded_detail, recorded_log
    from fabrictui.session.record.replay import ReplayDriver
    from fabrictui.session.state import LabState

    rec = Recording(path)
    try:
        driver = ReplayDriver(rec)
        state = LabState(rec.lab, driver.clock)
        driver.bind(state, lambda event: None)
        driver.seek(rec.end)
        moment = Moment(state, rec, driver.now)
        detail = recorded_detail("pod", pod, "kube-system", moment)
        sections = {s.title: s for s in detail.sections}
        assert dict(sections["Detail as recorded"].rows)["Why"] == "turned not ready"
        ready = dict(sections["Conditions"].rows)["Ready"]
        assert ready.startswith("False (ContainersNotReady"), ready
        assert dict(sections["Container calico-node"].rows)["Ready"] == "False"
        assert any(words in line for line in sections["Probe failures"].lines)
        logged = recorded_log(moment, "kube-system", pod)
        assert logged is not None and logged.log is not None, "no log recorded"
        assert not logged.log.error and 0 < len(logged.log.lines) <= 50, logged.log
    finally:
        rec.close()


def test_lab_down_leaves_no_bird(lab_dir: Path) -> None:
    """`lab down` with BGP mode on (left by the test above) removes every BIRD and its
    files; the fixture's own `down` afterwards is a no-op, as a second `down` is."""
    import json

    from fabrictui.lab.lab import down

    lab_id = json.loads((lab_dir / "inventory.json").read_text())["lab_id"]
    netns = f"ftl-{lab_id}-k8s-node-l1-1"
    down(lab_dir)
    assert birds(lab_id) == []
    assert not bird_dir(netns).exists()
