"""Services on the rehearsal lab (issue 19): the lab API keeps nginx-service's Endpoints,
every node's nat table carries kube-proxy's rules for its ClusterIP, and a connect from a
pod to ClusterIP:80 really crosses the fabric to an nginx pod's listener. verify, as a user
runs it (`python -m fabrictui.cli verify --json --lab DIR`), passes the healthy lab, names
each fault (a selector that matches no pod; a node whose KUBE-SERVICES jump for the
ClusterIP was deleted), both injected from the lab's fault palette, and passes again once
the fault is cleared. Timings are printed (pytest -s)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from fabrictui.parsers.iptables import parse_nat_table
from tests._rehearsal_tui import open_lab
from tests.lab.apps._tools import iptables_save, verify_check, wait

pytestmark = [pytest.mark.lab, pytest.mark.slow]
CHECK = "nginx-service"
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def timings() -> Iterator[None]:
    yield
    for name, seconds in TIMES.items():
        print(f"services check timing: {name}: {seconds:.2f} s")


def dnat_targets(lab_dir: Path, node: str, ip: str) -> list[str]:
    """Where the node's KUBE-SERVICES rule for ip:80 DNATs to ([] when it has none)."""
    table = parse_nat_table(iptables_save(lab_dir, node, "nat"))
    chain = table.service_chain(ip, 80)
    return sorted(table.destinations(chain)) if chain else []


def test_healthy_then_each_fault_named_then_cleared(lab_dir: Path, core: client.CoreV1Api) -> None:
    svc = core.read_namespaced_service("nginx-service", "space1")
    ip = svc.spec.cluster_ip
    pods = core.list_namespaced_pod("space1").items
    nodes = sorted({p.spec.node_name for p in pods})

    def ep_count() -> int:
        ep = core.read_namespaced_endpoints("nginx-service", "space1")
        return sum(len(s.addresses or []) for s in ep.subsets or [])

    wait(lambda: ep_count() == 4, what="4 ready endpoints")
    targets = sorted(f"{p.status.pod_ip}:80" for p in pods)
    wait(
        lambda: all(dnat_targets(lab_dir, n, ip) == targets for n in nodes),
        what="kube-proxy rules to the 4 pods on every node",
    )
    assert parse_nat_table(iptables_save(lab_dir, nodes[0], "nat")).jumps(
        "PREROUTING", "KUBE-SERVICES"
    )

    code, checks = verify_check(lab_dir, CHECK, "healthy", TIMES)
    assert checks[CHECK]["state"] == "pass", checks[CHECK]
    assert code == 0, {n: c["cause"] for n, c in checks.items() if not c["passed"]}
    assert any("to ClusterIP" in e and "connected" in e for e in checks[CHECK]["evidence"])

    # the faults come from the lab's fault palette, as a user injects them in the TUI
    runner = asyncio.Runner()
    backend = open_lab(lab_dir)
    try:
        ids = {f.id for f in backend.faults()}
        assert "service-no-endpoints:space1/nginx-service" in ids
        assert {f"drop-service-rule:{n}" for n in nodes} <= ids

        # fault 1: the selector changed to a label no pod has
        runner.run(backend.set_fault("service-no-endpoints:space1/nginx-service", True))
        wait(lambda: ep_count() == 0, what="empty endpoints")
        code, checks = verify_check(lab_dir, CHECK, "no endpoints", TIMES)
        assert code == 1 and checks[CHECK]["state"] == "fail"
        assert checks[CHECK]["cause"] == (
            "no endpoints: the selector app=nginx-typo matches no pod in space1"
        )
        runner.run(backend.set_fault("service-no-endpoints:space1/nginx-service", False))
        wait(lambda: ep_count() == 4, what="endpoints back")
        wait(lambda: all(dnat_targets(lab_dir, n, ip) == targets for n in nodes), what="rules")
        code, checks = verify_check(lab_dir, CHECK, "no endpoints cleared", TIMES)
        assert checks[CHECK]["state"] == "pass", checks[CHECK]

        # fault 2: the ClusterIP's jump deleted on every node a pod of the check may send from
        for node in nodes:
            runner.run(backend.set_fault(f"drop-service-rule:{node}", True))
            assert dnat_targets(lab_dir, node, ip) == []
        code, checks = verify_check(lab_dir, CHECK, "missing node rule", TIMES)
        assert code == 1 and checks[CHECK]["state"] == "fail", checks[CHECK]
        cause = checks[CHECK]["cause"]
        assert cause.startswith(f"no kube-proxy rule for {ip}:80 on k8s-node-"), cause
        assert cause.endswith("(the sending node)")
        for node in nodes:
            runner.run(backend.set_fault(f"drop-service-rule:{node}", False))
            assert dnat_targets(lab_dir, node, ip) == targets
        code, checks = verify_check(lab_dir, CHECK, "missing node rule cleared", TIMES)
        assert checks[CHECK]["state"] == "pass", checks[CHECK]
    finally:
        runner.run(backend.close())
        runner.close()

    # kube-proxy follows the endpoints: scaled to 2, two DNAT targets; back to 4, four
    apps = client.AppsV1Api(core.api_client)
    for replicas in (2, 4):
        apps.patch_namespaced_deployment_scale(
            "nginx-deployment", "space1", {"spec": {"replicas": replicas}}
        )
        wait(lambda n=replicas: ep_count() == n, timeout=60, what=f"{replicas} endpoints")
        wait(
            lambda n=replicas: all(len(dnat_targets(lab_dir, node, ip)) == n for node in nodes),
            what=f"rules to {replicas} endpoints",
        )
