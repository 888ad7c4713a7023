"""The rehearsal lab's Service faults (issue 19, docs/services.md), for the fault palette:

- `service-no-endpoints:NS/NAME`: the Service's selector patched to a label no pod has
  (`app=<label>-typo`), so its Endpoints empty; cleared by patching the selector back.
- `drop-service-rule:NODE`: the node's `KUBE-SERVICES` jump for the workload Service's
  ClusterIP deleted from its nat table (`iptables -t nat -D`, over SSH), as a kube-proxy that
  stopped syncing leaves a node; cleared by inserting the same rule again.

What each fault took away is kept so that clearing it puts back exactly that."""

from __future__ import annotations

from typing import Any

from fabrictui import audit
from fabrictui.backends.base import BackendError, DemoWorkload
from fabrictui.backends.real.ssh import SshPool
from fabrictui.parsers import ParseError
from fabrictui.parsers.iptables import parse_nat_table

TYPO = "-typo"


async def _patch_selector(kube: Any, namespace: str, name: str, selector: dict[str, str]) -> None:
    from kubernetes import client

    body = {"spec": {"selector": selector}}
    audit.record_call(f"PATCH service {namespace}/{name}: {body}")

    def patch(api: Any) -> None:
        client.CoreV1Api(api).patch_namespaced_service(
            name, namespace, body, _request_timeout=kube._timeout()
        )

    await kube._call(f"patch service {namespace}/{name}", patch)


async def _run(pool: SshPool, node: str, argv: list[str]) -> str:
    audit.record_call(f"on {node}: {' '.join(argv)}")
    result = await pool.run(node, argv, sudo=True)
    if not result.ok:
        why = (result.stderr or result.stdout).strip().splitlines()
        raise BackendError(f"{node}: {argv[0]}: {why[0] if why else 'failed'}")
    return result.stdout


async def set_service_fault(
    backend: Any, fault_id: str, active: bool, saved: dict[str, Any]
) -> None:
    """Inject or clear one Service fault on `backend` (a RealLabBackend of a rehearsal lab)."""
    kind, _, arg = fault_id.partition(":")
    wl = DemoWorkload()
    if kind == "service-no-endpoints":
        namespace, _, name = arg.partition("/")
        if active:
            found = await backend.list_services(namespace)
            svc = next((s for s in found if s.name == name), None)
            if svc is None:
                raise BackendError(f'services "{name}" not found in namespace {namespace}')
            saved[fault_id] = dict(svc.selector)
            broken = {k: v + TYPO for k, v in svc.selector} or {"app": wl.app_label + TYPO}
            await _patch_selector(backend.kube, namespace, name, broken)
        else:
            before = saved.pop(fault_id, None) or {"app": wl.app_label}
            await _patch_selector(backend.kube, namespace, name, before)
        return
    node = arg
    if active:
        svc = next(
            (s for s in await backend.list_services(wl.namespace) if s.name == wl.service), None
        )
        if svc is None or not svc.cluster_ip or not svc.ports:
            raise BackendError(f"{wl.namespace}/{wl.service} has no ClusterIP port to drop")
        text = await _run(backend.pool, node, ["iptables-save", "-t", "nat"])
        try:
            table = parse_nat_table(text)
        except ParseError as err:
            raise BackendError(f"{node}: {err}") from None
        port = svc.ports[0].port
        rule = next(
            (r for r in table.in_chain("KUBE-SERVICES")
             if r.option("-d") in (svc.cluster_ip, f"{svc.cluster_ip}/32")
             and r.option("--dport") == str(port)),
            None,
        )  # fmt: skip
        if rule is None:
            raise BackendError(f"{node}: no kube-proxy rule for {svc.cluster_ip}:{port} to drop")
        await _run(backend.pool, node, ["iptables", "-t", "nat", "-D", "KUBE-SERVICES", *rule.args])
        saved[fault_id] = list(rule.args)
    else:
        args = saved.pop(fault_id, None)
        if args is None:
            return  # nothing of ours to put back (kube-proxy writes it at its next change)
        check = ["iptables", "-t", "nat", "-C", "KUBE-SERVICES", *args]
        try:
            await _run(backend.pool, node, check)
        except BackendError:  # not there again yet: put it back first in the chain
            await _run(backend.pool, node, ["iptables", "-t", "nat", "-I", "KUBE-SERVICES", *args])
