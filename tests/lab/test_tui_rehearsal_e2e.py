"""The seed's workflow driven through the TUI's keys (Pilot) against a rehearsal
lab, with only the real backends (`--lab DIR`: SSH to FRR switches, the lab's
Kubernetes API, tcpdump over SSH on the nodes):

deploy Calico → nodes Ready → scale to 4 → ping matrix all green → the overlay
shows real VXLAN (VNI 4096) frames with node and pod names → verify all pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.actions.verify.apps import APP_CHECKS
from fabrictui.render.common import short_name
from fabrictui.ui.screens.ping_matrix import PingMatrixScreen
from tests._rehearsal_tui import (
    NODES,
    assert_no_traceback,
    deploy_and_scale,
    feeds_alive,
    finish_action,
    lab_app,
    loaded,
    log_lines,
    nginx_running,
    pane,
    pane_text,
    rehearsal_lab,
    wait_for,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def leaves_established(app) -> bool:
    leaves = [r for r in app.state.readings.values() if r.switch.startswith("leaf")]
    return bool(leaves) and all(
        r.summary and len(r.summary.peers) == 2 and all(p.established for p in r.summary.peers)
        for r in leaves
    )


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with rehearsal_lab(tmp_path_factory.mktemp("tui-e2e") / "lab") as directory:
        yield directory


async def test_seed_workflow_through_the_keys_on_the_rehearsal_lab(lab_dir: Path) -> None:
    app = lab_app(lab_dir)
    assert app.lab.kind == "rehearsal" and not app.lab.badge  # not the demo lab
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        assert len(app.state.hosts) == 9 and all(str(h.state) == "running" for h in app.state.hosts)
        assert {h.name for h in app.state.hosts} >= set(NODES)
        vms = pane_text(app, "pane-vms")
        assert all(name in vms for name in ("spine-sw1", "leaf2", *NODES)), vms
        for pane_id in ("pane-vms", "pane-fabric", "pane-kube"):  # fresh, with their age
            await wait_for(
                pilot,
                lambda p=pane_id: str(pane(app, p).border_subtitle).startswith("updated "),
                5,
                f"{pane_id} shows the age of its data",
            )
            assert not pane(app, pane_id).has_class("-stale"), pane(app, pane_id).border_subtitle
        assert not any(n.ready for n in app.state.kube_state()[0]), "fresh cluster: NotReady"
        # every leaf has its two sessions, read from FRR over SSH
        await wait_for(pilot, lambda: leaves_established(app), 20, "leaf sessions Established")
        assert {n for n in app.state.readings if n.startswith("leaf")} == {"leaf1", "leaf2"}

        # D, y → calico-node on every node, every node Ready in the Kubernetes pane
        # S, enter, y → 4 nginx pods on 4 distinct workers
        await deploy_and_scale(app, pilot, replicas=4)
        assert any("calico-node" in line for line in log_lines(app)), log_lines(app)
        calico = [
            p for p in app.state.kube_state()[1] if p.namespace == "kube-system" and
            p.name.startswith("calico-node")
        ]  # fmt: skip
        assert len(calico) == len(NODES) and all(p.running for p in calico), calico
        node_rows = pane(app, "pane-kube").query_one("#node-table")
        assert node_rows.row_count == len(NODES)
        assert all("Ready" in " ".join(map(str, node_rows.get_row_at(r)))
                   for r in range(node_rows.row_count))  # fmt: skip
        nginx = nginx_running(app)
        assert len(nginx) == 4 and len({p.node for p in nginx}) == 4, nginx

        # P → the matrix: every one of the 12 pairs answers (real ping through exec)
        await pilot.press("P")
        await finish_action(app, pilot)
        assert isinstance(app.screen, PingMatrixScreen)
        title = str(app.screen.query_one("#matrix-title").render())
        assert "all 12 pairs answer" in title, title
        results = app.screen.results
        assert len(results) == 12 and all(r.ok for r in results.values()), results
        cross = [r for (s, d), r in results.items()
                 if s.split("/")[1] != d.split("/")[1]]  # fmt: skip
        assert all(r.ttl in (62, 63, 64) for r in cross), cross
        matrix = app.screen.query_one("#matrix")
        cells = [str(matrix.get_cell_at((r, c))) for r in range(4) for c in range(1, 5)
                 if r != c - 1]  # fmt: skip
        assert all("ms" in cell for cell in cells), cells
        await pilot.press("escape")

        # the overlay: frames from real tcpdump over SSH, decoded, named
        node_ips = {n.internal_ip: n.name for n in app.state.kube_state()[0]}
        pod_ips = {p.ip: p.name for p in nginx}
        await wait_for(
            pilot,
            lambda: any(f.is_vxlan and f.inner_src in pod_ips for f in app.state.overlay.buffer),
            15,
            "VXLAN frames of the ping mesh in the overlay buffer",
        )
        vxlan = [f for f in app.state.overlay.buffer if f.is_vxlan and f.inner_src in pod_ips]
        assert all(f.vni == 4096 and f.udp_dst == 4789 and f.flags == 0x08 for f in vxlan)
        assert all(f.outer_src in node_ips and f.outer_dst in node_ips for f in vxlan)
        assert all(f.node == node_ips[f.outer_src] for f in vxlan)  # kept on the sender
        requests = [f for f in vxlan if f.icmp_type == 8]
        assert requests and all(f.length == 148 and f.inner_length == 98 for f in requests)
        assert {f.node for f in vxlan} == {p.node for p in nginx}
        await wait_for(
            pilot,
            lambda: "vni 4096" in "\n".join(app.query_one("#frame-log").lines),
            5,
            "frames drawn",
        )
        text = "\n".join(app.query_one("#frame-log").lines)
        assert "ICMP echo req" in text and "ICMP echo rep" in text
        # outer endpoints by node name, inner ones by pod (short name and IP)
        assert all(f"{short_name(p.name)}({p.ip})" in text for p in nginx), text[-1500:]
        senders = {f.node for f in requests}
        assert all(f" {node} > " in text for node in senders), text[-1500:]
        assert "calico-node-" not in text, "host-network pods must not name node IPs"
        overlay = pane(app, "pane-overlay")
        assert str(overlay.border_subtitle).startswith("updated "), overlay.border_subtitle
        assert not overlay.has_class("-stale"), overlay.border_subtitle
        # both sightings of each cross-node echo matched: real kernels, real tcpdumps on
        # two nodes, clocks of one machine: one-way times under a few ms, nothing lost
        await wait_for(
            pilot,
            lambda: len(app.state.overlay.transit.pairs) >= 6,
            10,
            "frames of the ping mesh seen on both nodes and matched",
        )
        transit = app.state.overlay.transit
        assert all(set(node_ips) >= {p.src, p.dst} for p in transit.pairs), transit
        assert transit.arrived >= 12 and transit.lost == 0, transit
        assert all(0 < (p.best_ms or 0) < 5 for p in transit.pairs if p.arrived), transit
        await pilot.press("f")
        await pilot.pause(1.2)  # redrawn once a second
        table = str(app.query_one("#transit-table").render())
        assert all(node in table for node in {p.node for p in nginx}), table
        await pilot.press("f")

        # V → all checks pass (the mode's six, then the application checks)
        await pilot.press("V")
        await finish_action(app, pilot)
        assert app.screen.id == "verify-report"
        report = str(app.screen.query_one("#report-title").render())
        body = str(app.screen.query_one("#report-body").render())
        assert f"{6 + len(APP_CHECKS)}/{6 + len(APP_CHECKS)} checks pass" in report, (
            report + "\n" + body
        )
        await pilot.press("escape")

        assert_no_traceback(app)
        assert feeds_alive(app) == [
            "bgp",
            "capture",
            "events",
            "fabric",
            "hosts",
            "nodes",
            "pods",
            "services",
        ]
