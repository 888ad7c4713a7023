"""What the demo cluster's history reads as in Events and logs. The simulation keeps state,
not history: each Event and log line is told from the state and the simulated times a record
keeps (when a pod was made, its restarts, its node's Calico block, BGP sessions), so that
they agree with the panes at every moment."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fabrictui.backends.demo.objects import NodeRec, PodRec, api_time
from fabrictui.capture.synth import calico_vtep_mac
from fabrictui.constants import KUBE_VERSION

if TYPE_CHECKING:
    from fabrictui.backends.demo.bgp import DemoBgp
    from fabrictui.backends.demo.kube import KubeSim

Obj = dict[str, Any]
FELIX_DOWN = (
    "calico/node is not ready: felix is not ready: Get http://localhost:9099/readiness: "
    "dial tcp 127.0.0.1:9099: connect: connection refused"
)
BIRD_DOWN = (
    "calico/node is not ready: BIRD is not ready: Error querying BIRD: unable to connect to "
    "BIRDv4 socket: dial unix /var/run/calico/bird.ctl: connect: connection refused"
)
CALICO_PID = 57


def event(
    obj: Obj, reason: str, message: str, component: str, t_first: float,
    t_last: float | None = None, count: int = 1, kind: str = "Normal", host: str = "",
) -> Obj:  # fmt: skip
    """A core/v1 Event as a 1.15 recorder writes it (named after the object and a clock)."""
    meta = obj["metadata"]
    source = {"component": component, **({"host": host} if host else {})}
    ref = {"kind": obj["kind"], "name": meta["name"], "uid": meta.get("uid", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{int(t_first * 1e9):x}{len(reason):x}",
            "namespace": meta.get("namespace") or "default",
        },
        "involvedObject": ref,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": api_time(int(t_first)),
        "lastTimestamp": api_time(int(t_last if t_last is not None else t_first)),
        "count": count,
        "type": kind,
    }


def bird_not_ready(kube: KubeSim, bgp: DemoBgp | None, node: str, now: float) -> str | None:
    """The peer a BGP-mode calico-node's readiness names, or None (ready, or not BGP mode)."""
    rec = kube.nodes.get(node)
    if bgp is None or bgp.backend != "bird" or rec is None or not rec.calico_running:
        return None
    if bgp.established(node, now):
        return None
    for ip, _asn, nodes in bgp.peers.values():
        if node in nodes:
            return ip
    return None


def readiness_failure(kube: KubeSim, bgp: DemoBgp | None, pod: PodRec, now: float) -> str:
    """calico-node's readiness probe's words while it fails, else ""."""
    if pod.owner != "calico-node" or pod.node is None:
        return ""
    if pod.node in kube.calico_faulted:
        return FELIX_DOWN
    if bgp is not None and bgp.backend == "bird" and pod.node in bgp.stopped:
        return BIRD_DOWN
    peer = bird_not_ready(kube, bgp, pod.node, now)
    if peer:
        return f"calico/node is not ready: BIRD is not ready: BGP not established with {peer}"
    return ""


def may_warn(kube: KubeSim, bgp: DemoBgp | None, pod: PodRec, now: float) -> bool:
    """Whether pod_events can hold a Warning for `pod` (cheap: the state, no events made)."""
    if pod.node is None:
        return bool(pod.unschedulable)
    looping = pod.owner == "calico-node" and pod.node in kube.calico_faulted
    return bool(pod.restarts and (pod.status != "Running" or looping)) or bool(
        readiness_failure(kube, bgp, pod, now)
    )


def pod_events(kube: KubeSim, bgp: DemoBgp | None, pod: PodRec, now: float) -> list[Obj]:
    obj = pod.api()
    if pod.node is None:
        if pod.unschedulable:
            return [event(obj, "FailedScheduling", pod.unschedulable, "default-scheduler",
                          pod.created, now, kind="Warning")]  # fmt: skip
        return []
    node, t = pod.node, pod.created
    out = [event(obj, "Scheduled", f"Successfully assigned {pod.key} to {node}",
                 "default-scheduler", t)]  # fmt: skip
    if pod.status in ("Pending", "ContainerCreating"):
        return out
    container = obj["spec"]["containers"][0]
    name, image = container["name"], container["image"]
    runs = pod.restarts + 1
    # a crash loop goes on now; other restarts (the control plane's, after a reboot) are old
    last = now if pod.node in kube.calico_faulted and pod.owner == "calico-node" else t + 2
    for reason, message in (
        ("Pulled", f'Container image "{image}" already present on machine'),
        ("Created", f"Created container {name}"),
        ("Started", f"Started container {name}"),
    ):
        out.append(event(obj, reason, message, "kubelet", t + 2, last, runs, host=node))
    looping = pod.owner == "calico-node" and pod.node in kube.calico_faulted
    if pod.restarts and (pod.status != "Running" or looping):  # (its brief runs included)
        out.append(event(obj, "BackOff", "Back-off restarting failed container", "kubelet",
                         t + 4, now, pod.restarts, "Warning", node))  # fmt: skip
    words = readiness_failure(kube, bgp, pod, now)
    if words:
        out.append(event(obj, "Unhealthy", f"Readiness probe failed: {words}", "kubelet",
                         max(t + 3, now - 60), now, 6, "Warning", node))  # fmt: skip
    return out


def node_events(kube: KubeSim, node: NodeRec, now: float) -> list[Obj]:
    obj, t = node.api(), node.created
    out = [event(obj, "Starting", "Starting kubelet.", "kubelet", t, host=node.name)]
    for cond in ("NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"):
        out.append(event(obj, cond, f"Node {node.name} status is now: {cond}", "kubelet", t,
                         host=node.name))  # fmt: skip
    out.append(event(obj, "Starting", "Starting kube-proxy.", "kube-proxy", t + 5,
                     host=node.name))  # fmt: skip
    calico = kube.calico_node_pod(node.name)
    if node.ready:
        when = calico.created + 3 if calico is not None else t + 1
        out.append(event(obj, "NodeReady", f"Node {node.name} status is now: NodeReady",
                         "kubelet", when, host=node.name))  # fmt: skip
    return out


# -- logs ----------------------------------------------------------------------------------


def _calico(t: float, level: str, source: str, message: str) -> str:
    when = datetime.fromtimestamp(t, UTC)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"
    return f"{stamp} [{level}][{CALICO_PID}] {source}: {message}"


def _calico_start(node: NodeRec, t: float) -> list[tuple[float, str]]:
    lines = [
        (t, _calico(t, "INFO", "startup.go 259", "Early log level set to info")),
        (t, _calico(t, "INFO", "startup.go 287", f"Determined node name: {node.name}")),
        (t, _calico(t, "INFO", "startup.go 319", "Checking datastore connection")),
        (t, _calico(t, "INFO", "startup.go 343", "Datastore connection verified")),
        (t, _calico(t, "INFO", "startup.go 605",
                    f"Using autodetected IPv4 address on interface eth1: {node.ip}/24")),
    ]  # fmt: skip
    if node.block is not None:
        t1 = t + 0.6
        tunnel = str(ipaddress.IPv4Network(node.block).network_address)
        mac = calico_vtep_mac(node.name)
        host = f'host="{node.name}"'
        said = [
            ("ipam.go 580", f"Trying affinity for {node.block} {host}"),
            ("ipam.go 155", f"Claimed block {node.block} {host}"),
            ("allocate_ipip_addr.go 179",
             f'Assigned tunnel address to node IP="{tunnel}" type="vxlanTunnelAddress"'),
            ("vxlan_mgr.go 316",
             f'VXLAN tunnel device configured IP="{tunnel}" MAC="{mac}" name="vxlan.calico"'),
            ("int_dataplane.go 1026", "Completed first update to dataplane."),
        ]  # fmt: skip
        lines += [(t1, _calico(t1, "INFO", where, text)) for where, text in said]
    return lines


def pod_log(
    kube: KubeSim, bgp: DemoBgp | None, pod: PodRec, now: float, previous: bool
) -> list[tuple[float, str]]:
    """(time, line) of the container's current (or previous) instance."""
    node = kube.nodes.get(pod.node or "")
    if pod.owner == "calico-node" and node is not None:
        start = pod.created + 2.0
        failing = node.name in kube.calico_faulted
        if previous or failing:  # each run since the fault started, then felix failed
            lines = _calico_start(node, start)
            fail = start + 1.0  # felix gives up a second after it starts
            lines += [
                (fail, _calico(fail, "ERROR", "int_dataplane.go 1033",
                               "Failed to apply dataplane update: felix is not running")),
                (fail, _calico(fail, "WARNING", "health.go 196", "Overall health status "
                               "changed newStatus=&health.HealthReport{Live:false, Ready:false}")),
            ]  # fmt: skip
            if previous:
                lines.append(
                    (fail, _calico(fail, "FATAL", "daemon.go 684", "Exiting: dataplane failed"))
                )
            return lines
        lines = _calico_start(node, start)
        peer = bird_not_ready(kube, bgp, node.name, now)
        if peer:
            t = start + 2.0
            name = "Node_" + peer.replace(".", "_")
            lines += [
                (t, f"bird: {name}: State changed to start"),
                (t, _calico(t, "WARNING", "health.go 196", "Overall health status changed "
                            "newStatus=&health.HealthReport{Live:true, Ready:false}")),
            ]  # fmt: skip
        return lines
    if previous:
        return []
    if pod.owner == "kube-proxy" and node is not None:
        t = pod.created + 1
        klog = datetime.fromtimestamp(t, UTC).strftime("I%m%d %H:%M:%S.000000       1")
        return [
            (t, f"{klog} server_others.go:146] Using iptables Proxier."),
            (t, f"{klog} server.go:534] Version: {KUBE_VERSION}"),
            (t, f"{klog} conntrack.go:52] Setting nf_conntrack_max to 131072"),
            (t, f"{klog} config.go:187] Starting service config controller"),
            (t, f"{klog} config.go:96] Starting endpoints config controller"),
        ]  # fmt: skip
    if pod.owner == "coredns" and pod.status == "Running":
        t = pod.created + 1
        stamp = api_time(int(t))[:-1] + ".000Z"
        return [
            (t, ".:53"),
            (t, f"{stamp} [INFO] CoreDNS-1.3.1"),
            (t, f"{stamp} [INFO] linux/amd64, go1.11.4, 6b56a9c"),
            (t, "CoreDNS-1.3.1"),
            (t, "linux/amd64, go1.11.4, 6b56a9c"),
        ]
    return []  # nginx:1.17 writes nothing until it serves a request
