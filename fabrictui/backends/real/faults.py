"""The faults a rehearsal lab can be given from the command palette (BGP shut down on a
spine, a leaf uplink cut, a leaf port's MTU set too small; a node's kubelet stopped and a
lossy rack pair in `node_faults.py`): a real lab is never broken on
purpose, so only a lab whose kind is "rehearsal" has any. Mixed into `RealLabBackend`, whose
pool and inventory it uses.

`mtu:<leaf>:<port>` sets the port's MTU to 1400 (`ip link set dev PORT mtu 1400`), so the
kernel itself drops what is larger: a veth drops a frame bigger than the receiving end's MTU
without a word, a bridge will not send one out of a port too small for it, and a routed port
answers a DF packet with ICMP "frag needed". Clearing it sets the lab's 1500 back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabrictui.backends.base import BackendError, DemoWorkload
from fabrictui.backends.real.inventory import Inventory
from fabrictui.backends.real.node_faults import node_fault_specs, set_node_fault
from fabrictui.backends.real.service_faults import set_service_fault
from fabrictui.backends.real.ssh import SshPool
from fabrictui.model import Fault, Role

FAULT_MTU = 1400  # fits pings of the default size, not a full 1450-byte pod packet + VXLAN
LAB_MTU = 1500  # what the rehearsal lab gives every cable
COREDNS_REPLICAS = 2  # kubeadm's


class RehearsalFaults:
    kind: str
    pool: SshPool
    inventory: Inventory | None
    _active_faults: set[str]

    if TYPE_CHECKING:  # RealLabBackend's

        async def deployment_replicas(self, namespace: str, name: str) -> int | None: ...

        async def scale_deployment(self, namespace: str, name: str, replicas: int) -> None: ...

    def _fault_specs(self) -> dict[str, tuple[str, Fault]]:
        """fault id -> (host the fault runs on, Fault)."""
        inv = self.inventory
        if inv is None or self.kind != "rehearsal":
            return {}
        specs: dict[str, tuple[str, Fault]] = {}
        for meta in inv.hosts:
            if meta.role is Role.SPINE:
                fid = f"stop-bgp:{meta.name}"
                title = f"Shut down BGP on {meta.name} (bgp shutdown)"
                specs[fid] = (meta.name, Fault(fid, title))
        roles = {m.name: m.role for m in inv.hosts}
        for link in inv.links:
            ends = [(link.get("a"), link.get("a_port")), (link.get("b"), link.get("b_port"))]
            leaf = next((e for e in ends if roles.get(str(e[0])) is Role.LEAF), None)
            spine = next((e for e in ends if roles.get(str(e[0])) is Role.SPINE), None)
            if leaf is None or spine is None or not leaf[1]:
                continue
            fid = f"cut-uplink:{leaf[0]}:{spine[0]}"
            title = f"Cut uplink {leaf[0]} - {spine[0]} ({leaf[0]} {leaf[1]} down)"
            specs[fid] = (str(leaf[0]), Fault(fid, title))
        for link in inv.links:
            ends = [(link.get("a"), link.get("a_port")), (link.get("b"), link.get("b_port"))]
            leaf = next((e for e in ends if roles.get(str(e[0])) is Role.LEAF), None)
            other = next((e for e in ends if e is not leaf), None)
            if leaf is None or other is None or not leaf[1] or roles.get(str(other[0])) is None:
                continue
            fid = f"mtu:{leaf[0]}:{leaf[1]}"
            title = f"MTU {FAULT_MTU} on {leaf[0]} {leaf[1]} (the port facing {other[0]})"
            specs[fid] = (str(leaf[0]), Fault(fid, title))
        wl = DemoWorkload()  # the Service faults (service_faults.py)
        fid = f"service-no-endpoints:{wl.namespace}/{wl.service}"
        specs[fid] = ("", Fault(fid, f"Service {wl.namespace}/{wl.service} selects no pod"))
        # the cluster DNS down as operators meet it: CoreDNS scaled to 0 (docs/dns.md)
        specs["dns-down"] = ("", Fault("dns-down", "CoreDNS scaled to 0 (cluster DNS down)"))
        for meta in inv.hosts:
            if meta.role.is_k8s:
                fid = f"drop-service-rule:{meta.name}"
                title = f"Delete {wl.service}'s kube-proxy rule on {meta.name}"
                specs[fid] = (meta.name, Fault(fid, title))
        specs.update(node_fault_specs(inv))  # the map's: stop-kubelet, lossy-racks
        return specs

    def faults(self) -> list[Fault]:
        return [
            Fault(f.id, f.title, active=f.id in self._active_faults)
            for _, f in self._fault_specs().values()
        ]

    async def set_fault(self, fault_id: str, active: bool) -> None:
        specs = self._fault_specs()
        if fault_id not in specs:
            raise BackendError(f"{self.kind} lab has no fault {fault_id!r}")
        host, _ = specs[fault_id]
        kind = fault_id.split(":", 1)[0]
        if kind == "dns-down":
            await self._scale_coredns(active)
            (self._active_faults.add if active else self._active_faults.discard)(fault_id)
            return
        if kind in ("stop-kubelet", "lossy-racks"):
            await set_node_fault(self, fault_id, active)
            (self._active_faults.add if active else self._active_faults.discard)(fault_id)
            return
        if kind in ("service-no-endpoints", "drop-service-rule"):
            saved = self.__dict__.setdefault("_service_faults_saved", {})
            await set_service_fault(self, fault_id, active, saved)
            (self._active_faults.add if active else self._active_faults.discard)(fault_id)
            return
        if kind == "stop-bgp":
            asn = self.inventory.host(host).asn if self.inventory else None
            if asn is None:
                raise BackendError(f"{host}: AS number unknown, cannot shut BGP down")
            command = "bgp shutdown" if active else "no bgp shutdown"
            argv = ["vtysh", "-c", "configure terminal", "-c", f"router bgp {asn}", "-c", command]
        elif kind == "mtu":
            port = fault_id.split(":")[2]
            argv = ["ip", "link", "set", "dev", port, "mtu", str(FAULT_MTU if active else LAB_MTU)]
        else:
            leaf, spine = fault_id.split(":")[1:3]
            port = self._uplink_port(leaf, spine)
            argv = ["ip", "link", "set", "dev", port, "down" if active else "up"]
        result = await self.pool.run(host, argv, sudo=True)
        if not result.ok:
            why = (result.stderr or result.stdout).strip().splitlines()
            raise BackendError(f"{host}: {fault_id}: {why[0] if why else 'failed'}")
        if active:
            self._active_faults.add(fault_id)
        else:
            self._active_faults.discard(fault_id)

    async def _scale_coredns(self, down: bool) -> None:
        """`kubectl -n kube-system scale deployment coredns --replicas=0`, and back to what
        it had (kubeadm's 2 when that is not known)."""
        saved = self.__dict__.setdefault("_coredns_replicas", {})
        if down:
            had = await self.deployment_replicas("kube-system", "coredns")
            if had is None:
                raise BackendError("deployment kube-system/coredns does not exist")
            saved.setdefault("replicas", had or COREDNS_REPLICAS)
            await self.scale_deployment("kube-system", "coredns", 0)
        else:
            replicas = saved.pop("replicas", COREDNS_REPLICAS)
            await self.scale_deployment("kube-system", "coredns", replicas)

    def _uplink_port(self, leaf: str, spine: str) -> str:
        assert self.inventory is not None
        for link in self.inventory.links:
            if link.get("a") == leaf and link.get("b") == spine:
                return str(link["a_port"])
            if link.get("b") == leaf and link.get("a") == spine:
                return str(link["b_port"])
        raise BackendError(f"no link between {leaf} and {spine}")
