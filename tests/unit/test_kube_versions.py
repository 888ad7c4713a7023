"""Which Calico, applied how, on which Kubernetes (issue 18, section 1).

The choice is made from what a server says about itself: recorded discovery documents of
real servers (tests/data/discovery/README.md says where each comes from), then the
rehearsal lab's own API server claiming 1.15.2 or 1.29.0, in-process, driven by the real
client.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fabrictui import audit
from fabrictui.actions.change.manifest import checked_manifest, plan_manifest
from fabrictui.actions.change.plans import plan_deploy_calico_on
from fabrictui.actions.verify.checks import check_calico
from fabrictui.backends.base import BackendError
from fabrictui.backends.demo.backend import DemoBackend
from fabrictui.backends.demo.objects import CALICO_IMAGE_TAG
from fabrictui.backends.real.kube.calico_bgp import mode_of_installations
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.intent.manifest_check import ManifestError, check_documents, read_manifest
from fabrictui.intent.releases import (
    CREATE_OR_REPLACE,
    SERVER_SIDE_APPLY,
    NoFittingRelease,
    ServerFacts,
    choose_apply_method,
    choose_release,
    facts_from_documents,
)
from fabrictui.lab.kubeapi.harness import ServerThread
from fabrictui.model import KubeNode, KubePod
from tests._paths import CALICO_MANIFEST, CALICO_MANIFEST_1_15, TEST_DATA

DISCOVERY = TEST_DATA / "discovery"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((DISCOVERY / name).read_text())


def facts(git_version: str, apis: str, drop: tuple[str, ...] = ()) -> ServerFacts:
    groups = recorded(apis)
    for group in groups["groups"]:
        group["versions"] = [v for v in group["versions"] if v["groupVersion"] not in drop]
    version = {"major": "1", "minor": git_version.split(".")[1] + "+", "gitVersion": git_version}
    return facts_from_documents(version, recorded("k8s-1.31-api.json"), groups)


# -- the choice, from recorded discovery ---------------------------------------------------


def test_a_1_15_server_gets_the_seed_era_calico_created_or_replaced() -> None:
    server = facts("v1.15.2", "k8s-1.15-apis.json")
    assert server.serves("apiextensions.k8s.io/v1beta1")
    assert not server.serves("apiextensions.k8s.io/v1")
    choice = choose_release(server)
    assert choice.release.version == "v3.10.1"
    assert choice.release.manifest == "calico-vxlan-v3.10.yaml"
    assert "documented for Kubernetes 1.14-1.16" in choice.why
    method = choose_apply_method(server)
    assert method.name == CREATE_OR_REPLACE
    assert "no server-side apply" in method.why


def test_a_recorded_1_31_server_gets_current_calico_by_server_side_apply() -> None:
    server = facts("v1.31.0", "k8s-1.31-apis.json")
    assert not server.serves("apiextensions.k8s.io/v1beta1")  # gone since 1.22
    choice = choose_release(server)
    assert choice.release.version == "v3.26.4"
    assert "newer than Calico v3.26.4's documented 1.24-1.28" in choice.why
    assert "serves every API the manifest uses" in choice.why
    assert choose_apply_method(server).name == SERVER_SIDE_APPLY


def test_distribution_versions_are_read_from_git_version() -> None:
    server = facts("v1.29.0-eks-5e0fdde", "k8s-1.31-apis.json")
    assert server.version == (1, 29, 0)
    assert choose_release(server).release.version == "v3.26.4"


def test_too_new_a_server_is_refused_naming_the_versions() -> None:
    server = facts("v1.40.0", "k8s-1.31-apis.json", drop=("apps/v1",))
    with pytest.raises(NoFittingRelease) as refused:
        choose_release(server)
    text = str(refused.value)
    assert "newer than every bundled manifest" in text and "apps/v1" in text
    assert "Calico v3.10.1 (Kubernetes 1.14-1.16)" in text
    assert "Calico v3.26.4 (Kubernetes 1.24-1.28)" in text
    assert "nothing applied" in text and "--manifest FILE" in text


@pytest.mark.parametrize(
    ("git_version", "where"), [("v1.12.10", "older than"), ("v1.20.4", "between the ranges")]
)
def test_servers_outside_every_range_are_refused(git_version: str, where: str) -> None:
    with pytest.raises(NoFittingRelease, match=where):
        choose_release(facts(git_version, "k8s-1.15-apis.json"))


def test_a_server_in_range_that_lacks_an_api_is_refused() -> None:
    server = facts("v1.15.2", "k8s-1.15-apis.json", drop=("apiextensions.k8s.io/v1beta1",))
    with pytest.raises(NoFittingRelease, match=r"does not serve apiextensions\.k8s\.io/v1beta1"):
        choose_release(server)


# -- a manifest of the lab's own, checked whole --------------------------------------------


def test_bad_yaml_names_the_document() -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: [\n"
    with pytest.raises(ManifestError, match=r"document 2 \(line 6\): bad YAML"):
        read_manifest(text, "own.yaml")
    with pytest.raises(ManifestError, match="document 1: a list, not an object"):
        read_manifest("- 1\n- 2\n", "own.yaml")
    with pytest.raises(ManifestError, match="no Kubernetes object"):
        read_manifest("---\n# nothing\n", "own.yaml")


def test_v1_crds_on_1_15_and_unknown_kinds_are_refused_by_index() -> None:
    server = facts("v1.15.2", "k8s-1.15-apis.json")
    docs = read_manifest(CALICO_MANIFEST.read_text(), "calico.yaml")
    problems = check_documents(docs, server)
    assert len(problems) == 14  # every CRD, nothing else
    assert problems[0].startswith(
        "document 2 (CustomResourceDefinition bgpconfigurations.crd.projectcalico.org): "
        "API version apiextensions.k8s.io/v1 is not served by Kubernetes v1.15.2 "
        "(it serves apiextensions.k8s.io/v1beta1)"
    )
    assert check_documents(read_manifest(CALICO_MANIFEST_1_15.read_text(), "x"), server) == []
    apps = recorded("k8s-1.31-apis__apps__v1.json")
    kinds = frozenset(r["kind"] for r in apps["resources"] if "/" not in r["name"])
    newer = facts("v1.31.0", "k8s-1.31-apis.json")
    newer = ServerFacts(newer.version, newer.git_version, newer.group_versions, {"apps/v1": kinds})
    odd = [{"apiVersion": "apps/v1", "kind": "DeamonSet", "metadata": {"name": "x"}},
           {"apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": {"name": "p"}},
           {"apiVersion": "v1", "kind": "ConfigMap"}]  # fmt: skip
    assert check_documents(odd, newer) == [
        "document 1 (DeamonSet x): unknown kind DeamonSet in apps/v1 on Kubernetes v1.31.0",
        "document 2 (IPPool p): projectcalico.org/v3 is calicoctl's API, not served by "
        "Kubernetes v1.31.0: write it as crd.projectcalico.org/v1 or apply it with calicoctl",
        "document 3: no metadata.name",
    ]


def test_kinds_the_manifests_own_crds_define_are_known() -> None:
    server = facts("v1.15.2", "k8s-1.15-apis.json")
    crd = read_manifest(CALICO_MANIFEST_1_15.read_text(), "x")[1:15]
    pool = {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool", "metadata": {"name": "p"}}
    odd = {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPol", "metadata": {"name": "q"}}
    assert check_documents([*crd, pool], server) == []
    assert check_documents([pool], server)[0].endswith(
        "API version crd.projectcalico.org/v1 is not served by Kubernetes v1.15.2"
    )
    assert (
        "kind IPPol is not defined by the manifest's CRDs"
        in check_documents([*crd, odd], server)[0]
    )


# -- the Tigera operator's Calico is Calico ------------------------------------------------


def test_calico_installed_by_the_operator_is_recognised() -> None:
    nodes = tuple(KubeNode(n, True, (), 0.0, "v1.29.0", "10.0.101.101") for n in ("a", "b"))
    pods = (
        *(
            KubePod("calico-system", f"calico-node-{n}", 1, 1, "Running", 0, 0.0,
                    "10.0.101.101", n, owner="calico-node")
            for n in ("a", "b")
        ),
        KubePod("calico-system", "calico-kube-controllers-7d-x1", 1, 1, "Running", 0, 0.0,
                "10.64.0.2", "a", owner="calico-kube-controllers"),
    )  # fmt: skip
    snap = SimpleNamespace(nodes=nodes, pods=pods, errors=())
    result = check_calico(snap)  # type: ignore[arg-type]
    assert result.passed, result.cause
    vxlan = {"spec": {"calicoNetwork": {"ipPools": [{"encapsulation": "VXLANCrossSubnet"}]}}}
    native = {"spec": {"calicoNetwork": {"ipPools": [{"encapsulation": "None"}]}}}
    assert mode_of_installations([vxlan]) == "vxlan"
    assert mode_of_installations([native]) == "bgp"
    assert mode_of_installations([{"spec": {}}]) == "ipip"  # the operator's default pool
    assert mode_of_installations([]) is None


# -- the rehearsal API, faithful to the version it claims ----------------------------------


@pytest.fixture(params=["1.15.2", "1.29.0"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(tmp_path / "lab", kube_version=request.param) as srv:
        yield srv


def _http(srv: ServerThread, method: str, path: str, body: bytes = b"", ctype: str = "") -> int:
    import ssl

    ctx = ssl.create_default_context(cafile=str(srv.lab_dir / "kubeapi" / "ca.crt"))
    ctx.check_hostname = False  # the lab's certificate names 127.0.0.1, not the URL's host
    req = urllib.request.Request(srv.url + path, data=body or None, method=method)
    req.add_header("Authorization", f"Bearer {srv.token}")
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


def test_the_lab_serves_what_its_version_serves(server: ServerThread) -> None:
    old = server.cluster.profile.version == "v1.15.2"
    assert _http(server, "GET", "/apis/apiextensions.k8s.io/v1beta1") == (200 if old else 404)
    assert _http(server, "GET", "/apis/apiextensions.k8s.io/v1") == (404 if old else 200)
    assert _http(server, "GET", "/apis/policy/v1beta1") == (200 if old else 404)
    ns = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
    status = _http(server, "PATCH", "/api/v1/namespaces/a?fieldManager=t", ns.encode(),
                   "application/apply-patch+yaml")  # fmt: skip
    assert status == (415 if old else 201)  # no server-side apply before 1.16
    nodes = server.cluster.store.list("nodes")
    assert {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes} == {
        server.cluster.profile.version
    }


def test_the_real_client_deploys_the_fitting_calico(server: ServerThread, tmp_path: Path) -> None:
    old = server.cluster.profile.version == "v1.15.2"
    calls: list[str] = []

    async def run() -> tuple[list[str], list[str], list[str]]:
        kube = KubeClient(server.kubeconfig)
        try:
            first = await kube.apply_calico()
            again = await kube.apply_calico()
            preview = await kube.preview_objects(
                read_manifest(
                    CALICO_MANIFEST_1_15.read_text() if old else CALICO_MANIFEST.read_text(), "m"
                )
            )
            return first, again, preview
        finally:
            await kube.close()

    original = audit.record_call
    audit.record_call = calls.append  # type: ignore[assignment]
    try:
        first, again, preview = asyncio.run(run())
    finally:
        audit.record_call = original  # type: ignore[assignment]
    crd = server.cluster.store.get(
        "customresourcedefinitions.apiextensions.k8s.io", "", "ippools.crd.projectcalico.org"
    )
    assert crd is not None
    assert crd["apiVersion"] == (
        "apiextensions.k8s.io/v1beta1" if old else "apiextensions.k8s.io/v1"
    )
    assert len(first) == 23 and all(line.endswith(" created") for line in first)
    assert all(line.endswith(" unchanged") for line in again)  # idempotent either way
    assert all(line.endswith(": exists, unchanged") for line in preview)
    ds = server.cluster.store.get("daemonsets.apps", "kube-system", "calico-node")
    image = ds["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith("v3.10.1" if old else "v3.26.4")
    if old:
        assert calls[0].startswith("POST (create; no server-side apply: field ownership not")
        assert not any("server-side apply, fieldManager" in c for c in calls)
    else:
        assert all(c.startswith("PATCH (server-side apply, fieldManager=fabrictui)") for c in calls)


def test_a_changed_object_is_replaced_where_there_is_no_server_side_apply(tmp_path: Path) -> None:
    own = tmp_path / "own.yaml"
    pool = {
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "IPPool",
        "metadata": {"name": "extra"},
        "spec": {"cidr": "10.96.0.0/16", "vxlanMode": "Always"},
    }
    with ServerThread(tmp_path / "lab") as srv:

        async def run() -> list[list[str]]:
            kube = KubeClient(srv.kubeconfig)
            try:
                await kube.apply_calico()
                own.write_text(json.dumps(pool))
                plans = [await plan_manifest(_Backend(kube), own)]
                first = await kube.apply_objects([pool])
                pool["spec"]["vxlanMode"] = "Never"
                own.write_text(json.dumps(pool))
                plans.append(await plan_manifest(_Backend(kube), own))
                second = await kube.apply_objects([pool])
                return [*plans, first, second]
            finally:
                await kube.close()

        plan_new, plan_change, first, second = asyncio.run(run())
        stored = srv.cluster.store.get("ippools.crd.projectcalico.org", "", "extra")
    assert plan_new[0].endswith("1 new, 0 would change, 0 unchanged")
    assert "ippool.crd.projectcalico.org/extra: new" in plan_new
    assert "ippool.crd.projectcalico.org/extra: exists, would change" in plan_change
    assert first == ["ippool.crd.projectcalico.org/extra created"]
    assert second == ["ippool.crd.projectcalico.org/extra configured"]
    assert stored is not None and stored["spec"]["vxlanMode"] == "Never"


class _Backend:
    """The two calls the manifest plan makes, straight on a KubeClient."""

    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube

    async def server_facts(self, group_versions: Any = ()) -> ServerFacts:
        return await self.kube.server_facts(group_versions)

    async def preview_objects(self, docs: Any) -> list[str]:
        return await self.kube.preview_objects(docs)


# -- the demo lab says which version it claims, and follows the same rules ------------------


async def test_the_demo_lab_claims_1_15_and_plans_as_a_real_one() -> None:
    demo = DemoBackend("fresh")
    server = await demo.server_facts()
    assert server.git_version == "v1.15.2"
    plan = await plan_deploy_calico_on(demo)
    assert plan[0] == (
        "will apply 23 objects: 1 configmap, 14 customresourcedefinitions, 2 serviceaccounts, "
        "2 clusterroles, 2 clusterrolebindings, 1 daemonset, 1 deployment"
    )
    assert plan[1] == "Kubernetes v1.15.2: Calico v3.10.1 is documented for Kubernetes 1.14-1.16"
    assert plan[2].startswith("by create-or-replace:")
    assert choose_release(server).release.version == CALICO_IMAGE_TAG  # its pods' images
    with pytest.raises(
        BackendError, match=r"apiextensions\.k8s\.io/v1 is not served by Kubernetes"
    ):
        await checked_manifest(demo, CALICO_MANIFEST)


def test_without_server_side_apply_a_partial_object_changes_only_its_fields(
    tmp_path: Path,
) -> None:
    """BGP mode applies a Node with one annotation: on 1.15 that must not wipe the node's
    labels and taints (a PUT of the document would)."""
    node = "k8s-node-l1-1"
    doc = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node, "annotations": {"projectcalico.org/ASNumber": "65101"}},
    }
    with ServerThread(tmp_path / "lab") as srv:

        async def run() -> list[str]:
            kube = KubeClient(srv.kubeconfig)
            try:
                return await kube.apply_objects([doc]) + await kube.apply_objects([doc])
            finally:
                await kube.close()

        lines = asyncio.run(run())
        stored = srv.cluster.store.get("nodes", "", node)
    assert lines == [f"node/{node} configured", f"node/{node} unchanged"]
    assert stored is not None
    assert stored["metadata"]["annotations"]["projectcalico.org/ASNumber"] == "65101"
    assert stored["metadata"]["labels"]["kubernetes.io/hostname"] == node
    assert stored["spec"]["taints"]
