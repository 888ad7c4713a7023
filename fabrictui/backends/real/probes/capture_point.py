"""Where a node's overlay is captured: on the node, or at the leaf port facing it.

The seed's fresh CentOS 7 nodes have no tcpdump; Cumulus and FRR switches ship one. For
a node without tcpdump the same frames, outer headers and all, are captured at the leaf
port that faces it (`leaf2 swp3 facing k8s-node-l2-1`), and the stream says so (`via`
"switch", `point`). Nothing is installed on the node. Whether a node has tcpdump is asked
once (`tcpdump --version`) and remembered for the session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from fabrictui.backends.base import BackendError, ToolMissing
from fabrictui.backends.real.capture import SshCapture, open_ssh_capture
from fabrictui.backends.real.inventory import HostMeta
from fabrictui.backends.real.ssh import SshPool
from fabrictui.parsers.missing import missing_program

# The lab's cables ((host, neighbour) -> host's port) and its hosts, as the trace has them.
Cabling = Callable[[], tuple[Mapping[tuple[str, str], str], Sequence[HostMeta]]]


class CapturePoints:
    def __init__(self, pool: SshPool, sudo: bool, cabling: Cabling) -> None:
        self.pool = pool
        self.sudo = sudo
        self.cabling = cabling
        self.without_tcpdump: set[str] = set()  # nodes found to lack it
        self._checked: set[str] = set()

    async def has_tcpdump(self, node: str) -> bool:
        if node not in self._checked:
            result = await self.pool.run(node, ["tcpdump", "--version"], 10.0, sudo=self.sudo)
            if not result.ok and missing_program(result.stderr, result.stdout) is not None:
                self.without_tcpdump.add(node)
            self._checked.add(node)
        return node not in self.without_tcpdump

    async def open_at_leaf(self, node: str, bpf: str) -> SshCapture:
        """The capture at the switch port facing `node`: its frames as the leaf sees them,
        with the node capture's buffering (not the trace's packet-at-a-time mode)."""
        ports, hosts = self.cabling()
        switches = {h.name for h in hosts if h.role.is_switch}
        facing = sorted((h, i) for (h, n), i in ports.items() if n == node and h in switches)
        if not facing:
            raise ToolMissing(node, "tcpdump", "and no switch port faces it")
        leaf, port = facing[0]
        try:
            stream = await open_ssh_capture(self.pool, leaf, port, bpf, sudo=self.sudo)
        except BackendError as err:
            raise BackendError(f"{node}: no tcpdump; at {leaf} {port}: {err}") from None
        stream.via = "switch"
        stream.point = f"{leaf} {port} facing {node}"
        return stream


def os_release_ids(text: str) -> list[str]:
    """ID and ID_LIKE of an /etc/os-release, lower case ("centos", "rhel", "fedora")."""
    ids: list[str] = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("ID", "ID_LIKE"):
            ids.extend(value.strip().strip("\"'").lower().split())
    return ids


def install_argv(os_release: str, program: str) -> list[str]:
    """The package manager's install command for the node's distribution (the seed's own
    fix, `yum install -y tcpdump` on its CentOS 7 nodes)."""
    ids = os_release_ids(os_release)
    if any(i in ("rhel", "centos", "fedora", "rocky", "almalinux", "amzn") for i in ids):
        return ["yum", "install", "-y", program]
    if any(i in ("debian", "ubuntu") for i in ids):
        return ["apt-get", "install", "-y", program]
    if any(i in ("suse", "sles", "opensuse") for i in ids):
        return ["zypper", "--non-interactive", "install", program]
    raise BackendError(f"no known package manager for {' '.join(ids) or 'this system'}")


async def install_plan(pool: SshPool, node: str, program: str) -> list[str]:
    """The command that would install `program` on `node`, from its /etc/os-release."""
    result = await pool.run(node, ["cat", "/etc/os-release"], 10.0)
    if not result.ok:
        raise BackendError(f"{node}: cannot read /etc/os-release: {result.stderr.strip()}")
    return install_argv(result.stdout, program)


async def install_program(pool: SshPool, node: str, argv: list[str]) -> str:
    """Run the install (with sudo: it changes the node); its last line of output."""
    result = await pool.run(node, argv, 600.0, sudo=True)
    lines = (result.stdout + result.stderr).strip().splitlines()
    if not result.ok:
        raise BackendError(f"{node}: {' '.join(argv)}: {lines[-1] if lines else 'failed'}")
    return lines[-1] if lines else "done"
