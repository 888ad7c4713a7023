"""An independent client agrees: the stock kubectl against the lab's API subset.

The server runs in a thread with the reference lab's five Kubernetes hosts and
the memory data plane, so no root is needed; kubectl uses the kubeconfig the
server wrote. This is the seed's workflow step by step.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fabrictui.lab.kubeapi.harness import ServerThread
from tests._paths import CALICO_MANIFEST_1_15
from tests._require import require

MANIFEST = CALICO_MANIFEST_1_15  # the lab claims the seed's 1.15: v1beta1 CRDs
WORKERS = {"k8s-node-l1-1", "k8s-node-l1-2", "k8s-node-l2-1", "k8s-node-l2-2"}
MASTER = "k8s-master-l1-1"

DEMO = {
    "namespace.yaml": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "space1"}},
    "deployment.yaml": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "namespace": "space1"},
        "spec": {
            "selector": {"matchLabels": {"app": "nginx"}},
            "replicas": 1,
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.17", "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    },
    "service.yaml": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "nginx-service", "namespace": "space1"},
        "spec": {
            "selector": {"app": "nginx"},
            "ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}],
        },
    },
}


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path) -> None:
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(cache),
            "KUBECONFIG": str(kubeconfig),
        }
        self.cache = cache

    def run(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", "--cache-dir", str(self.cache / "kube-cache"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr}"
            )
        return result

    def __call__(self, *args: str) -> str:
        return self.run(*args).stdout


def table(text: str) -> list[dict[str, str]]:
    """kubectl's column output as dicts (columns are separated by 2+ spaces)."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True)) for line in lines[1:]]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[ServerThread]:
    require("kubectl")
    with ServerThread(tmp_path / "lab") as server:
        yield server


@pytest.fixture
def kubectl(lab: ServerThread, tmp_path: Path) -> Kubectl:
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(lab.kubeconfig, home)


def test_get_nodes_wide_before_calico(kubectl: Kubectl) -> None:
    out = kubectl("get", "nodes", "-o", "wide")
    header = out.splitlines()[0].split()
    assert header == [
        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
        "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME",
    ]  # fmt: skip
    rows = {r["NAME"]: r for r in table(out)}
    assert set(rows) == WORKERS | {MASTER}
    assert {r["STATUS"] for r in rows.values()} == {"NotReady"}
    assert rows[MASTER]["ROLES"] == "master"
    assert {rows[w]["ROLES"] for w in WORKERS} == {"<none>"}
    assert {r["VERSION"] for r in rows.values()} == {"v1.15.2"}
    assert rows["k8s-node-l1-2"]["INTERNAL-IP"] == "10.0.101.102"
    pods = table(kubectl("get", "pods", "-n", "kube-system"))
    coredns = [p for p in pods if p["NAME"].startswith("coredns-")]
    assert len(coredns) == 2 and {p["STATUS"] for p in coredns} == {"Pending"}
    etcd = next(p for p in pods if p["NAME"] == f"etcd-{MASTER}")
    assert (etcd["READY"], etcd["STATUS"]) == ("1/1", "Running")


def test_seed_workflow(kubectl: Kubectl, tmp_path: Path) -> None:
    applied = kubectl("apply", "-f", str(MANIFEST)).splitlines()
    assert "configmap/calico-config created" in applied
    assert "daemonset.apps/calico-node created" in applied
    assert "deployment.apps/calico-kube-controllers created" in applied
    assert (
        "customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org created"
        in applied
    )
    kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=30s")
    nodes = table(kubectl("get", "nodes"))
    assert len(nodes) == 5 and {n["STATUS"] for n in nodes} == {"Ready"}
    kubectl(
        "wait", "--for=condition=Ready", "pods", "-l", "k8s-app=calico-node",
        "-n", "kube-system", "--timeout=30s",
    )  # fmt: skip
    again = kubectl("apply", "-f", str(MANIFEST)).splitlines()
    assert again and all(line.endswith(" unchanged") for line in again), again

    demo = tmp_path / "demo"
    demo.mkdir()
    for name, doc in DEMO.items():
        (demo / name).write_text(yaml.safe_dump(doc))
    assert (
        kubectl("apply", "-f", str(demo / "namespace.yaml")).strip() == "namespace/space1 created"
    )
    assert (
        kubectl("apply", "-f", str(demo / "deployment.yaml")).strip()
        == "deployment.apps/nginx-deployment created"
    )
    assert (
        kubectl("apply", "-f", str(demo / "service.yaml")).strip()
        == "service/nginx-service created"
    )
    scaled = kubectl("scale", "deployment/nginx-deployment", "--replicas=4", "-n", "space1")
    assert scaled.strip() == "deployment.apps/nginx-deployment scaled"
    kubectl("rollout", "status", "deployment/nginx-deployment", "-n", "space1", "--timeout=30s")

    out = kubectl("get", "pods", "-n", "space1", "-o", "wide")
    assert out.splitlines()[0].split() == [
        "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
        "READINESS", "GATES",
    ]  # fmt: skip
    pods = table(out)
    assert len(pods) == 4
    assert {p["STATUS"] for p in pods} == {"Running"} and {p["READY"] for p in pods} == {"1/1"}
    assert {p["NODE"] for p in pods} == WORKERS  # 4 pods on 4 distinct workers
    assert all(p["IP"].startswith("10.") for p in pods)

    everything = kubectl("get", "pods", "-A", "-o", "wide")
    assert everything.splitlines()[0].split()[:3] == ["NAMESPACE", "NAME", "READY"]
    rows = table(everything)
    calico = [r for r in rows if r["NAME"].startswith("calico-node-")]
    assert len(calico) == 5 and {r["STATUS"] for r in calico} == {"Running"}
    assert {r["NAMESPACE"] for r in rows} == {"kube-system", "space1"}

    sender = next(p for p in pods if p["NODE"] == "k8s-node-l2-1")
    target = next(p for p in pods if p["NODE"] == "k8s-node-l1-2")
    hello = kubectl("exec", sender["NAME"], "-n", "space1", "--", "echo", "hello", "from", "pod")
    assert hello == "hello from pod\n"
    # as in the seed, the nginx image has no ping (its author ran apt install iputils-ping,
    # which this lab, like one without internet, cannot): the runtime's own words, exit 126
    ping = kubectl.run(
        "exec", sender["NAME"], "-n", "space1", "--", "ping", "-c", "3", target["IP"],
        check=False,
    )  # fmt: skip
    assert ping.returncode == 126, ping
    assert 'exec: \\"ping\\": executable file not found in $PATH' in ping.stdout, ping
    assert "command terminated with exit code 126" in ping.stderr

    described = kubectl("describe", "pod", sender["NAME"], "-n", "space1")
    story = [line.split()[1] for line in described.split("Events:")[1].splitlines()[3:] if line]
    assert story[:1] == ["Scheduled"] and story[-1] == "Started", story
    events = table(kubectl("get", "events", "-n", "space1"))
    assert {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Started"} <= {
        e["REASON"] for e in events
    }
    services = table(kubectl("get", "svc", "-n", "space1"))
    assert services[0]["NAME"] == "nginx-service" and services[0]["PORT(S)"] == "80/TCP"
    kubectl("scale", "deployment/nginx-deployment", "--replicas=1", "-n", "space1")
    kubectl("rollout", "status", "deployment/nginx-deployment", "-n", "space1", "--timeout=30s")
    assert len(table(kubectl("get", "pods", "-n", "space1"))) == 1


def test_exec_exit_code_and_stdin(kubectl: Kubectl, lab: ServerThread) -> None:
    kubectl("apply", "-f", str(MANIFEST))
    kubectl(
        "wait", "--for=condition=Ready", "pods", "-l", "k8s-app=kube-dns",
        "-n", "kube-system", "--timeout=30s",
    )  # fmt: skip
    pod = table(kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns"))[0]["NAME"]
    failed = kubectl.run("exec", pod, "-n", "kube-system", "--", "false", check=False)
    assert failed.returncode == 1
    refused = kubectl.run("exec", pod, "-n", "kube-system", "--", "nc", "-l", check=False)
    assert refused.returncode == 127 and "not run outside a lab namespace" in refused.stderr
    echoed = subprocess.run(
        ["kubectl", "--cache-dir", str(kubectl.cache / "kube-cache"),
         "exec", "-i", pod, "-n", "kube-system", "--", "cat"],
        env=kubectl.env, input="via stdin\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert echoed.returncode == 0 and echoed.stdout == "via stdin\n"


def test_wrong_token_is_refused(kubectl: Kubectl, lab: ServerThread, tmp_path: Path) -> None:
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "not-the-token"
    wrong = tmp_path / "wrong-kubeconfig"
    wrong.write_text(yaml.safe_dump(config))
    result = Kubectl(wrong, kubectl.cache).run("get", "nodes", check=False)
    assert result.returncode != 0
    assert "Unauthorized" in result.stderr or "must be logged in" in result.stderr


def test_api_resources_and_get_one(kubectl: Kubectl) -> None:
    resources = kubectl("api-resources", "--no-headers")
    for needle in ("deployments", "daemonsets", "customresourcedefinitions", "pods", "nodes"):
        assert re.search(rf"^{needle}\s", resources, re.M), needle
    one = table(kubectl("get", "node", MASTER))
    assert [r["NAME"] for r in one] == [MASTER]
    as_yaml = yaml.safe_load(kubectl("get", "node", MASTER, "-o", "yaml"))
    assert as_yaml["kind"] == "Node" and as_yaml["metadata"]["name"] == MASTER
    missing = kubectl.run("get", "pod", "nope", "-n", "default", check=False)
    assert missing.returncode == 1 and 'pods "nope" not found' in missing.stderr


def test_protobuf_bodies_are_refused_with_a_way_out(kubectl: Kubectl) -> None:
    # kubectl create/run send protobuf bodies, which the lab API does not read
    created = kubectl.run("create", "namespace", "made-by-create", check=False)
    assert created.returncode != 0 and "use kubectl apply -f" in created.stderr
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "made-by-apply"}}
    applied = subprocess.run(
        ["kubectl", "--cache-dir", str(kubectl.cache / "kube-cache"), "apply", "-f", "-"],
        env=kubectl.env, input=yaml.safe_dump(doc), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert applied.returncode == 0 and "namespace/made-by-apply created" in applied.stdout


def test_server_dry_run_changes_nothing(kubectl: Kubectl) -> None:
    out = kubectl("delete", "pod", f"etcd-{MASTER}", "-n", "kube-system", "--dry-run=server")
    assert "deleted (server dry run)" in out
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dry"}}
    dry = subprocess.run(
        ["kubectl", "--cache-dir", str(kubectl.cache / "kube-cache"), "apply", "-f", "-",
         "--dry-run=server"],
        env=kubectl.env, input=yaml.safe_dump(doc), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert dry.returncode == 0 and "(server dry run)" in dry.stdout
    names = {r["NAME"] for r in table(kubectl("get", "pods", "-n", "kube-system"))}
    assert f"etcd-{MASTER}" in names
    assert "dry" not in {r["NAME"] for r in table(kubectl("get", "namespaces"))}
