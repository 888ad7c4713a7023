"""Network policy on the rehearsal lab (issue 19): the healthy lab passes verify's "network
policy" check; a deny-all-ingress NetworkPolicy applied with kubectl is rendered into real
iptables rules in the nodes' namespaces, so verify's cross-rack ping really fails, the
"network policy" check fails naming the policy, and the deny rule's counter on the node
grows during its probe; the ping check's cause names it too. Deleted, everything passes
and the nodes hold no rule of it. Timed: the check's share of verify is printed."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fabrictui.actions.policy.check import check_policy
from fabrictui.actions.trace.run import run_trace
from fabrictui.actions.verify.diagnose import take_snapshot
from fabrictui.backends.base import DemoWorkload
from fabrictui.model import CheckResult
from tests._lab_faults import namespace
from tests._rehearsal_tui import open_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all-ingress
  namespace: space1
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""
NODES = ("k8s-node-l1-1", "k8s-node-l1-2", "k8s-node-l2-1", "k8s-node-l2-2")


def kubectl(lab_dir: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(lab_dir / "kubeconfig"), *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def verify(lab_dir: Path) -> tuple[int, dict, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", "verify", "--lab", str(lab_dir), "--json"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), took


def by_name(out: dict) -> dict[str, dict]:
    return {c["name"]: c for c in out["checks"]}


async def _trace_cause(lab_dir: Path, src: str, dst: str) -> tuple[str | None, tuple[str, ...]]:
    backend = open_lab(lab_dir)
    try:
        traced = await run_trace(backend, lambda _: None, src, dst, count=1, timeout=3.0)
        return traced.cause, traced.evidence
    finally:
        await backend.close()


async def _timed(lab_dir: Path) -> tuple[float, CheckResult]:
    backend = open_lab(lab_dir)
    try:
        snap = await take_snapshot(backend)
        started = time.monotonic()
        result = await check_policy(backend, snap, DemoWorkload(), lambda _: None)
        return time.monotonic() - started, result
    finally:
        await backend.close()


def timed_check(lab_dir: Path) -> tuple[float, CheckResult]:
    """The "network policy" check alone, on a snapshot taken before: seconds and result."""
    return asyncio.run(_timed(lab_dir))


def filter_rules(lab_dir: Path, node: str) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", namespace(lab_dir, node), "iptables-save", "-c", "-t", "filter"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip


def wait_rules(lab_dir: Path, present: bool, timeout: float = 20.0) -> float:
    started = time.monotonic()
    while True:
        found = all("space1/deny-all-ingress" in filter_rules(lab_dir, n) for n in NODES)
        # gone: the rules, and the chains that held them (removed a step later)
        gone = not any("ftui-p" in filter_rules(lab_dir, n) for n in NODES)
        if (present and found) or (not present and gone):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"rules {'not written' if present else 'left'}"
        time.sleep(0.2)


def test_deny_policy_is_dropped_by_the_kernel_and_named(lab_dir: Path) -> None:
    assert not [n for n in NODES if "ftui-p" in filter_rules(lab_dir, n)]
    code, healthy, took_healthy = verify(lab_dir)
    assert code == 0, healthy
    check = by_name(healthy)["network policy"]
    assert check["state"] == "pass" and check["evidence"][0] == "0 policies read", check

    check_healthy, result = timed_check(lab_dir)
    assert result.passed, result
    kubectl(lab_dir, "apply", "-f", "-", stdin=POLICY)
    listed = kubectl(lab_dir, "get", "networkpolicies", "-n", "space1").splitlines()
    assert listed[0].split() == ["NAME", "POD-SELECTOR", "AGE"], listed  # as kubectl shows it
    assert listed[1].split()[:2] == ["deny-all-ingress", "<none>"], listed
    rendered = wait_rules(lab_dir, present=True)
    try:
        code, out, took = verify(lab_dir)
        assert code == 1, out
        checks = by_name(out)
        policy = checks["network policy"]
        assert policy["state"] == "fail", policy
        assert policy["cause"].startswith("NetworkPolicy space1/deny-all-ingress selects "), policy
        assert "for ingress and no rule allows" in policy["cause"], policy
        grew = [e for e in policy["evidence"] if "during one probe" in e]
        assert grew, policy["evidence"]
        counts = [int(m.group(1)) for e in grew if (m := re.search(r"\+(\d+) during", e))]
        assert max(counts) >= 1, grew
        ping = checks["cross-rack ping"]
        assert ping["state"] == "fail", ping
        assert "NetworkPolicy space1/deny-all-ingress" in ping["cause"], ping
        check_denied, result = timed_check(lab_dir)
        assert not result.passed and result.observed, result
        # the path trace of the pair verify pinged names the policy too
        pair = re.search(r"allows (space1/\S+) -> (space1/\S+)", policy["cause"])
        assert pair is not None, policy["cause"]
        src, dst = pair.groups()
        cause, evidence = asyncio.run(_trace_cause(lab_dir, src, dst))
        assert cause is not None and cause.startswith("NetworkPolicy space1/deny-all-ingress")
        assert any(e.startswith("where it went dark: ") for e in evidence), evidence
    finally:
        kubectl(lab_dir, "delete", "networkpolicy", "-n", "space1", "deny-all-ingress")
    removed = wait_rules(lab_dir, present=False)
    # no policy left: the nodes hold nothing of ours (no chain, no jump from FORWARD)
    assert not [n for n in NODES if "ftui-p" in filter_rules(lab_dir, n)]
    code, again, took_again = verify(lab_dir)
    assert code == 0, again
    print(
        f"\nverify healthy {took_healthy:.1f} s; with the deny policy {took:.1f} s; after "
        f"delete {took_again:.1f} s; rules written {rendered:.1f} s after apply, removed "
        f"{removed:.1f} s after delete; counter +{max(counts)}; the check alone: "
        f"{check_healthy * 1000:.0f} ms healthy, {check_denied:.2f} s denied (with its probe)"
    )


CALICO_POLICY = """
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata:
  name: no-ping-to-nginx
spec:
  order: 10
  selector: app == 'nginx'
  types: [Ingress]
  ingress:
  - action: Deny
    protocol: ICMP
  - action: Allow
"""


def test_calico_global_policy_denies_icmp_only(lab_dir: Path) -> None:
    """Calico's own kind, from calico.yaml's CRD: its Deny rule is the one named, the pings
    die on its counted rule, and the nginx port stays open (rule 2 allows)."""
    kubectl(lab_dir, "apply", "-f", "-", stdin=CALICO_POLICY)
    try:
        started = time.monotonic()
        while "no-ping-to-nginx" not in filter_rules(lab_dir, NODES[0]):
            assert time.monotonic() - started < 20, "the Calico policy was not rendered"
            time.sleep(0.2)
        code, out, _ = verify(lab_dir)
        assert code == 1, out
        policy = by_name(out)["network policy"]
        assert policy["cause"].startswith(
            "GlobalNetworkPolicy no-ping-to-nginx ingress rule 1 (Deny) denies space1/"
        ), policy
        assert not [e for e in policy["evidence"] if "TCP/80: DENIED" in e], policy
        grew = [e for e in policy["evidence"] if re.search(r"\+[1-9]\d* during one probe", e)]
        assert grew and "ingress rule 1 (Deny)" in grew[0], policy["evidence"]
    finally:
        kubectl(
            lab_dir, "delete", "globalnetworkpolicies.crd.projectcalico.org", "no-ping-to-nginx"
        )
    code, out, _ = verify(lab_dir)
    assert code == 0, out
