"""`iptables-save` output: the filter rules with their counters (`-c`, what network policy
reads) and the nat table's Service paths (what kube-proxy's iptables mode keeps).

Tables open with `*name` and close with `COMMIT`; chain lines read `:NAME POLICY [p:b]`;
a rule line reads `[packets:bytes] -A CHAIN match... -j TARGET` with `-c`, `-A CHAIN ...`
without. kube-proxy sends a pod's packet to a ClusterIP through `PREROUTING -j
KUBE-SERVICES`, then one rule per service port `-A KUBE-SERVICES -d CLUSTERIP/32 -p tcp
--dport PORT -j KUBE-SVC-...`, whose chain DNATs to an endpoint (`KUBE-SEP-...`, chosen
with the statistic module). A line that is none of these is a ParseError naming it."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from fabrictui.parsers import ParseError

_COUNTED = re.compile(r"^\[(\d{1,20}):(\d{1,20})\]\s+-A\s+(\S+)(.*)$")  # counters are u64


def _words(text: str, number: int) -> list[str]:
    """A rule's words as the shell would split them (comments are quoted)."""
    try:
        return shlex.split(text)
    except ValueError:
        raise ParseError(f"iptables-save line {number}: unbalanced quotes") from None


def _option(args: tuple[str, ...], name: str) -> str | None:
    """The value after `name` (`-d`, `--dport`, `-j`, `--to-destination`), if any."""
    for index, arg in enumerate(args[:-1]):
        if arg == name:
            return args[index + 1]
    return None


# -- counted rules (iptables-save -c) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IptRule:
    table: str
    chain: str
    packets: int
    bytes: int
    spec: str  # the rule's matches and target, as iptables-save wrote them
    comment: str = ""  # the `-m comment --comment` text, if any
    target: str = ""


def parse_iptables_save(text: str) -> list[IptRule]:
    """Every counted rule of every table in an `iptables-save -c` output."""
    rules: list[IptRule] = []
    table = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT" or line.startswith(":"):
            continue
        if line.startswith("*"):
            table = line[1:]
            continue
        m = _COUNTED.match(line)
        if m is None:
            raise ParseError(f"iptables-save line {number}: not a counted rule: {line[:60]!r}")
        args = tuple(_words(m.group(4), number))
        comment = _option(args, "--comment") or ""
        target = _option(args, "-j") or _option(args, "-g") or ""
        rules.append(
            IptRule(table, m.group(3), int(m.group(1)), int(m.group(2)),
                    m.group(4).strip(), comment, target)
        )  # fmt: skip
    return rules


# -- the nat table's Service paths -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NatRule:
    chain: str
    args: tuple[str, ...]

    def option(self, name: str) -> str | None:
        return _option(self.args, name)


@dataclass(frozen=True, slots=True)
class EndpointPick:
    """One KUBE-SEP- chain of a service chain: the share of new connections sent to it and
    where it DNATs them (None: the chain has no DNAT)."""

    chain: str
    share: float
    to: str | None


@dataclass(frozen=True, slots=True)
class ServicePath:
    chain: str  # the KUBE-SVC- chain
    comment: str  # the KUBE-SERVICES rule's comment (kube-proxy writes `ns/name:port ...`)
    picks: tuple[EndpointPick, ...]
    hooks: tuple[str, ...]  # built-in chains jumping to KUBE-SERVICES

    @property
    def targets(self) -> list[str]:
        return [p.to for p in self.picks if p.to]


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
                return rule.option("-j") or None  # `-j ""` jumps nowhere: no chain
        return None

    def hooked(self) -> list[str]:
        """The built-in chains that jump to KUBE-SERVICES (a pod's packet needs PREROUTING)."""
        return [h for h in ("PREROUTING", "OUTPUT") if self.jumps(h, "KUBE-SERVICES")]

    def service_path(self, ip: str, port: int, protocol: str = "tcp") -> ServicePath | None:
        """kube-proxy's rule for ip:port followed: KUBE-SERVICES -> its KUBE-SVC- chain ->
        each KUBE-SEP- chain it may pick (with the statistic module's odds) -> the DNAT
        target; None when KUBE-SERVICES has no rule for ip:port."""
        chain = self.service_chain(ip, port, protocol)
        if chain is None:
            return None
        comment = next(
            (r.option("--comment") or "" for r in self.in_chain("KUBE-SERVICES")
             if r.option("-j") == chain),
            "",
        )  # fmt: skip
        picks: list[EndpointPick] = []
        left = 1.0  # the share of new connections not yet taken by an earlier rule
        for rule in self.in_chain(chain):
            target = rule.option("-j") or ""
            if not target.startswith("KUBE-SEP-"):
                continue
            odds = rule.option("--probability")
            try:
                chance = float(odds) if odds is not None else 1.0
            except ValueError:
                raise ParseError(f"{chain}: probability {odds!r} is not a number") from None
            if not 0.0 <= chance <= 1.0:  # also NaN
                raise ParseError(f"{chain}: probability {odds!r} is not between 0 and 1")
            share = left * chance
            left -= share
            dnat = self.destinations(target, frozenset({chain}))
            picks.append(EndpointPick(target, share, dnat[0] if dnat else None))
        return ServicePath(chain, comment, tuple(picks), tuple(self.hooked()))

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
            words = _words(line, number)
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


def reject_rule(rules: list[IptRule], ip: str, port: int, protocol: str = "tcp") -> IptRule | None:
    """kube-proxy's REJECT for ip:port in the filter table's KUBE-SERVICES (a Service without
    endpoints: `-d IP/32 -p tcp -m comment --comment "NS/NAME:PORT has no endpoints" -m tcp
    --dport PORT -j REJECT --reject-with icmp-port-unreachable`), when there is one."""
    for rule in rules:
        if rule.table != "filter" or rule.chain != "KUBE-SERVICES" or rule.target != "REJECT":
            continue
        args = tuple(shlex.split(rule.spec))
        dest = (_option(args, "-d") or "").removesuffix("/32")
        proto = (_option(args, "-p") or "tcp").lower()
        if dest == ip and _option(args, "--dport") == str(port) and proto == protocol.lower():
            return rule
    return None
