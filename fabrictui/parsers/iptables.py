"""`iptables-save -t nat` -> the rules kube-proxy's iptables mode keeps for Services.

kube-proxy sends a pod's packet to a ClusterIP through `PREROUTING -j KUBE-SERVICES`, then
one rule per service port `-A KUBE-SERVICES -d CLUSTERIP/32 -p tcp --dport PORT -j
KUBE-SVC-...`, whose chain DNATs to an endpoint (`KUBE-SEP-...`, chosen with the statistic
module). This reads just enough to say whether a node has that path for ip:port, and where
it leads."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from fabrictui.parsers import ParseError


@dataclass(frozen=True, slots=True)
class NatRule:
    chain: str
    args: tuple[str, ...]

    def option(self, name: str) -> str | None:
        """The value after `name` (`-d`, `--dport`, `-j`, `--to-destination`), if any."""
        for index, arg in enumerate(self.args[:-1]):
            if arg == name:
                return self.args[index + 1]
        return None


@dataclass(frozen=True, slots=True)
class NatTable:
    chains: tuple[str, ...]
    rules: tuple[NatRule, ...] = field(default=())

    def in_chain(self, chain: str) -> list[NatRule]:
        return [r for r in self.rules if r.chain == chain]

    def jumps(self, chain: str, target: str) -> bool:
        return any(r.option("-j") == target for r in self.in_chain(chain))

    def service_chain(self, ip: str, port: int, protocol: str = "tcp") -> str | None:
        """The chain KUBE-SERVICES sends ip:port to, when it does."""
        for rule in self.in_chain("KUBE-SERVICES"):
            dest = (rule.option("-d") or "").removesuffix("/32")
            same_proto = (rule.option("-p") or "tcp").lower() == protocol.lower()
            if dest == ip and rule.option("--dport") == str(port) and same_proto:
                return rule.option("-j")
        return None

    def destinations(self, chain: str, _seen: frozenset[str] = frozenset()) -> list[str]:
        """The ip:port a service chain DNATs to, through its endpoint chains."""
        found: list[str] = []
        for rule in self.in_chain(chain):
            target = rule.option("-j")
            if target == "DNAT" and rule.option("--to-destination"):
                found.append(str(rule.option("--to-destination")))
            elif target and target.startswith("KUBE-SEP-") and target not in _seen:
                found += self.destinations(target, _seen | {chain})
        return found


def parse_nat_table(text: str) -> NatTable:
    """The nat table of an `iptables-save` output; ParseError when it has none."""
    chains: list[str] = []
    rules: list[NatRule] = []
    inside = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line == "*nat":
            inside = True
            continue
        if not inside or not line or line.startswith("#"):
            continue
        if line == "COMMIT":
            return NatTable(tuple(chains), tuple(rules))
        if line.startswith(":"):
            chains.append(line[1:].split()[0] if line[1:].split() else "")
            continue
        if line.startswith("-A "):
            try:
                words = shlex.split(line)
            except ValueError as err:
                raise ParseError(f"iptables-save line {number}: {err}") from None
            if len(words) < 2 or not words[1]:
                raise ParseError(f"iptables-save line {number}: -A without a chain")
            rules.append(NatRule(words[1], tuple(words[2:])))
            continue
        if line.startswith("*"):
            break
        raise ParseError(f"iptables-save line {number}: unexpected {line[:40]!r}")
    if not inside:
        raise ParseError("iptables-save: no nat table in the output")
    raise ParseError("iptables-save: the nat table does not end with COMMIT")
