"""BGP mode on real labs (Vagrant, inventory, rehearsal): what `RealLabBackend` needs
beyond the VXLAN scenario, kept apart so each module stays readable.

- switches: routes (`vtysh -c 'show ip route json'`, the same JSON on FRR and every Cumulus
  release) and configuration in the switch's own language (NCLU `net add ...` then
  `net commit` where `net` exists, else one vtysh session of `-c` lines);
- nodes: BIRD's `show protocols`, through an exec into the node's calico-node pod on a
  real cluster, over SSH where the lab runs BIRD on the node itself (the rehearsal lab);
- the cluster: Calico's mode from its IPPools, server-side apply and delete of the
  BGP-mode objects.

Every remote command goes through the SSH pool or the Kubernetes client, so it lands in
the audit log like every other one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fabrictui import deadlines
from fabrictui.backends.base import BackendError
from fabrictui.backends.real.kube import calico_bgp
from fabrictui.intent.releases import ServerFacts
from fabrictui.parsers import ParseError
from fabrictui.parsers.bird import BirdProtocol, parse_protocols
from fabrictui.parsers.routes import Route, parse_routes

if TYPE_CHECKING:
    from fabrictui.backends.real.inventory import HostMeta, Inventory
    from fabrictui.backends.real.kube.client import KubeClient
    from fabrictui.backends.real.ssh import SshPool
    from fabrictui.backends.real.switches import SwitchReader

BIRD_SOCKET = "/var/run/calico/bird.ctl"  # calico-node's BIRD control socket
ROUTES_JSON = ("vtysh", "-c", "show ip route json")


def birdc_argv() -> list[str]:
    """BIRD 1.6's client on calico-node's socket (`birdcl` in calico/node, `birdc` in
    Debian's bird package: the same protocol, the same output)."""
    return ["birdcl", "-s", BIRD_SOCKET, "show", "protocols"]


def vtysh_config_argv(lines: list[str]) -> list[str]:
    """One vtysh run of configuration lines (`configure terminal` ... `end`, `write`)."""
    argv = ["vtysh"]
    for line in lines:
        argv += ["-c", line.strip()]
    return argv


class BgpModeReal:
    """Mixed into `RealLabBackend`: uses its pool, switch reader, kube client and hosts."""

    kind: str
    pool: SshPool
    switches: SwitchReader
    kube: KubeClient
    inventory: Inventory | None
    _metas: list[HostMeta]

    async def _ensure_kube(self) -> None:  # provided by RealLabBackend
        raise NotImplementedError

    def _first_line(self, host: str, stdout: str, stderr: str) -> str:
        for text in (stderr, stdout):
            for line in text.splitlines():
                if line.strip():
                    return f"{host}: {line.strip()[:160]}"
        return f"{host}: no output"

    # -- switches ---------------------------------------------------------------------

    async def switch_dialect(self, switch: str) -> str:
        # detected here, not read from what a poll left: a command-line deploy plans before
        # any poll ran, and a plan in FRR's words sent to an NCLU switch fails at its first line
        platform = await self.switches.detect(switch)
        return "nclu" if platform.name == "nclu" else "vtysh"

    async def switch_routes(self, switch: str) -> list[Route]:
        if switch not in self.pool.targets:
            raise BackendError(f"{switch}: no SSH endpoint")
        platform = await self.switches.detect(switch)
        result = await self.pool.run(
            switch, list(ROUTES_JSON), deadlines.current().ssh_command, sudo=platform.sudo
        )
        if not result.ok:
            raise BackendError(self._first_line(switch, result.stdout, result.stderr))
        try:
            return parse_routes(result.stdout)
        except ParseError as err:
            raise BackendError(f"{switch}: show ip route json: {err}") from None

    async def configure_switch(self, switch: str, lines: list[str]) -> list[str]:
        platform = await self.switches.detect(switch)
        said: list[str] = []
        if await self.switch_dialect(switch) == "nclu":
            for line in lines:
                result = await self.pool.run(switch, line.split(), 60.0, sudo=platform.sudo)
                if not result.ok:
                    raise BackendError(self._first_line(switch, result.stdout, result.stderr))
                said.append(f"{switch}: {line}: ok")
            return said
        result = await self.pool.run(switch, vtysh_config_argv(lines), 30.0, sudo=platform.sudo)
        # vtysh prints nothing on success; any line it prints is a complaint
        complaint = (result.stdout + result.stderr).strip()
        if not result.ok or complaint:
            raise BackendError(self._first_line(switch, result.stdout, result.stderr))
        return [f"{switch}: vtysh: {len(lines)} lines applied"]

    # -- nodes ------------------------------------------------------------------------

    def _bird_over_ssh(self, node: str) -> bool:
        """The rehearsal lab runs BIRD on the node itself (no calico-node container)."""
        return self.kind == "rehearsal" and node in self.pool.targets

    async def node_bgp_status(self, node: str) -> list[BirdProtocol]:
        if self._bird_over_ssh(node):
            result = await self.pool.run(
                node, birdc_argv(), deadlines.current().ssh_command, sudo=True
            )
            text, ok, err = result.stdout, result.ok, result.stderr
        else:
            await self._ensure_kube()
            text, err, ok = await calico_bgp.exec_in_calico_node(
                self.kube, node, birdc_argv(), deadlines.current().ssh_command
            )
        if not ok and not text.strip():
            raise BackendError(self._first_line(node, text, err))
        try:
            return parse_protocols(text)
        except ParseError as exc:
            raise BackendError(f"{node}: BIRD: {exc}") from None

    # -- the cluster -----------------------------------------------------------------------

    async def calico_mode(self) -> str | None:
        await self._ensure_kube()
        return await calico_bgp.calico_mode(self.kube)

    async def apply_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        await self._ensure_kube()
        return await self.kube.apply_objects(docs)

    async def server_facts(self, group_versions: Sequence[str] = ()) -> ServerFacts:
        await self._ensure_kube()
        return await self.kube.server_facts(group_versions)

    async def preview_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        await self._ensure_kube()
        return await self.kube.preview_objects(docs)

    async def delete_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        await self._ensure_kube()
        return await calico_bgp.delete_objects(self.kube, docs)
