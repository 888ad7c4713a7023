"""The trace to a Service on the rehearsal lab (issue 19), as a user types it
(`python -m fabrictui.cli trace --json --lab DIR --from POD --to nginx-service`): healthy,
it reads kube-proxy's rule in the sending node's real nat table and traces on to an
endpoint on another node; with the palette's `service-no-endpoints` fault the lab's
kube-proxy writes its REJECT into the filter table and the connect is refused at once
("refused by kube-proxy: no endpoints"); with `drop-service-rule` on the sending node the
trace names the missing rule there. Each fault is cleared and the lab left healthy.
Timings are printed (pytest -s)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kubernetes import client, config

from fabrictui.parsers.iptables import parse_iptables_save, reject_rule
from tests._rehearsal_tui import open_lab
from tests.lab.apps._tools import iptables_save, trace_json, wait

pytestmark = [pytest.mark.lab, pytest.mark.slow]
NO_ENDPOINTS = "service-no-endpoints:space1/nginx-service"


def trace(lab_dir: Path, src: str, label: str) -> tuple[int, dict]:
    code, out, took = trace_json(lab_dir, src, "nginx-service")
    print(f"\nservice trace ({label}): exit {code} in {took:.2f} s: {out['cause']}")
    for step in out["service"]:
        print(f"  {step['state']:<10} {step['step']:<16} {step['text']}")
        for line in step["evidence"]:
            print(f"      {line}")
    return code, out


def reject(lab_dir: Path, node: str, ip: str) -> object:
    """kube-proxy's REJECT for ip:80 in the node's filter table (None: none)."""
    rules = parse_iptables_save(iptables_save(lab_dir, node, "filter", counters=True))
    return reject_rule(rules, ip, 80)


def test_service_trace_healthy_then_each_fault_named(lab_dir: Path) -> None:
    api = config.new_client_from_config(config_file=str(lab_dir / "kubeconfig"))
    core = client.CoreV1Api(api)
    ip = core.read_namespaced_service("nginx-service", "space1").spec.cluster_ip
    pods = sorted(core.list_namespaced_pod("space1").items, key=lambda p: p.metadata.name)
    src, node = pods[0].metadata.name, pods[0].spec.node_name

    def ready() -> int:
        ep = core.read_namespaced_endpoints("nginx-service", "space1")
        return sum(len(s.addresses or []) for s in ep.subsets or [])

    code, out = trace(lab_dir, src, "healthy")
    assert code == 0, out["cause"]
    steps = {s["step"]: s for s in out["service"]}
    assert [s["state"] for s in out["service"]] == ["ok"] * 5, out["service"]
    assert steps["kube-proxy rule"]["text"].startswith(f"{node}: KUBE-SERVICES {ip}:80/tcp -> ")
    assert len(steps["kube-proxy rule"]["evidence"]) == 4  # a KUBE-SEP- chain per endpoint
    assert out["delivered"] and out["dst_node"] not in (None, node) and out["hops"]

    runner = asyncio.Runner()
    backend = open_lab(lab_dir)
    try:
        runner.run(backend.set_fault(NO_ENDPOINTS, True))
        wait(lambda: ready() == 0, what="empty endpoints")
        wait(
            lambda: reject(lab_dir, node, ip) is not None,
            what="kube-proxy's REJECT in the filter table",
        )
        code, out = trace(lab_dir, src, "no endpoints")
        assert code == 1 and out["hops"] == []
        assert out["cause"] == "no endpoints: the selector app=nginx-typo matches no pod in space1"
        proxy = {s["step"]: s for s in out["service"]}["kube-proxy rule"]
        assert "REJECT" in proxy["text"] and "has no endpoints" in proxy["text"]
        (connect,) = proxy["evidence"]
        assert "refused by kube-proxy: no endpoints" in connect, connect
        took = float(connect.split(" in ")[-1].split(" ms")[0])
        assert took < 2900, connect  # refused, before the 3 s connect timeout
        runner.run(backend.set_fault(NO_ENDPOINTS, False))
        wait(lambda: ready() == 4, what="endpoints back")
        wait(
            lambda: reject(lab_dir, node, ip) is None,
            what="the REJECT gone",
        )

        runner.run(backend.set_fault(f"drop-service-rule:{node}", True))
        code, out = trace(lab_dir, src, "rule dropped")
        assert code == 1, out
        assert out["cause"] == f"no kube-proxy rule for {ip}:80 on {node} (the sending node)"
        runner.run(backend.set_fault(f"drop-service-rule:{node}", False))
        code, out = trace(lab_dir, src, "rule back")
        assert code == 0, out["cause"]
    finally:  # the shared lab is left healthy, also when an assertion stopped the test
        for fault in (NO_ENDPOINTS, f"drop-service-rule:{node}"):
            try:
                runner.run(backend.set_fault(fault, False))
            except Exception as err:  # cleanup goes on; the failure is reported
                print(f"clearing {fault}: {err}")
        runner.run(backend.close())
        runner.close()
        api.close()
