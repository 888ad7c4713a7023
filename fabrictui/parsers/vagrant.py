"""Vagrant output -> plain data.

- `parse_machine_readable_status`: `vagrant status --machine-readable`, one
  record a line, `timestamp,target,type,data...`; Vagrant writes a comma inside
  data as `%!(VAGRANT_COMMA)` and a newline as the two characters `\\n`.
- `machine_readable_error`: Vagrant's own message from a failed command's
  `--machine-readable` output (its `error-exit` / `ui,error` records).
- `parse_ssh_config`: `vagrant ssh-config`, which prints one `Host` block per
  machine in one go (the same syntax as ssh_config(5)). It is fabrictui's one
  ssh_config parser: the SSH backend turns its result into connection targets.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from fabrictui.model import VmState
from fabrictui.parsers import ParseError

__all__ = [
    "MachineStatus",
    "SshHostConfig",
    "decode_machine_readable",
    "machine_readable_error",
    "parse_machine_readable",
    "parse_machine_readable_status",
    "parse_ssh_config",
]

_RECORD = re.compile(r"(\d{1,20}),([^,]*),([^,]+)(?:,(.*))?", re.ASCII | re.DOTALL)
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}", re.ASCII)
_STATE = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)


class MachineStatus(NamedTuple):
    name: str
    state: str  # as Vagrant spells it: "running", "not_created", "poweroff", ...
    provider: str  # "virtualbox", "libvirt", ... ("" when Vagrant did not say)

    @property
    def vm_state(self) -> VmState:
        try:
            return VmState(self.state)
        except ValueError:
            return VmState.UNKNOWN


class Record(NamedTuple):
    timestamp: int
    target: str
    type: str
    data: tuple[str, ...]


def decode_machine_readable(value: str) -> str:
    """Undo Vagrant's escapes in one data field."""
    return value.replace("%!(VAGRANT_COMMA)", ",").replace("\\n", "\n")


def parse_machine_readable(text: str) -> list[Record]:
    """All records of `--machine-readable` output. Lines that are not records
    (plugin or Ruby warnings mixed into the stream) are skipped; output with no
    record at all is a ParseError."""
    if not isinstance(text, str):
        raise ParseError(f"vagrant output must be text, not {type(text).__name__}")
    records = []
    for line in text.splitlines():
        match = _RECORD.fullmatch(line.strip("\r"))
        if not match:
            continue
        timestamp, target, kind, rest = match.groups()
        data = tuple(decode_machine_readable(f) for f in rest.split(",")) if rest else ()
        records.append(Record(int(timestamp), target, kind, data))
    if not records:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        raise ParseError(f"not vagrant machine-readable output ({first[:60]!r})")
    return records


def machine_readable_error(text: str) -> str | None:
    """Vagrant's own words for why a `--machine-readable` command failed.

    The message of the `error-exit` record (else of the last `ui,error` one),
    escapes decoded, on one line. None when the output holds neither or is not
    machine-readable output at all: the caller then says what it knows itself.
    """
    try:
        records = parse_machine_readable(text)
    except ParseError:
        return None
    exits = [r for r in records if r.type == "error-exit" and r.data]
    errors = [r for r in records if r.type == "ui" and r.data[:1] == ("error",)]
    if exits:
        message = exits[-1].data[-1]
    elif errors:
        message = ",".join(errors[-1].data[1:])
    else:
        return None
    return " ".join(message.split()) or None


def _raise_on_error_exit(records: list[Record]) -> None:
    for record in records:
        if record.type == "error-exit":
            message = record.data[-1] if record.data else "unknown error"
            one_line = " ".join(message.split()) or "unknown error"
            kind = record.data[0] if len(record.data) > 1 else "error"
            raise ParseError(f"vagrant failed ({kind[:80]}): {one_line[:200]}")


def parse_machine_readable_status(text: str) -> list[MachineStatus]:
    """(name, state, provider) per machine, in Vagrant's order."""
    records = parse_machine_readable(text)
    _raise_on_error_exit(records)
    order: list[str] = []
    seen: set[str] = set()
    states: dict[str, str] = {}
    providers: dict[str, str] = {}
    for record in records:
        if not record.target:
            continue  # ui messages, version checks
        name = record.target
        if not _NAME.fullmatch(name):
            raise ParseError(f"machine name {name[:60]!r} is not a Vagrant machine name")
        if name not in seen:
            seen.add(name)
            order.append(name)
        if record.type == "state" and record.data:
            state = record.data[0]
            if not _STATE.fullmatch(state):
                raise ParseError(f"{name}: state {state[:60]!r} is not a Vagrant state")
            states[name] = state
        elif record.type == "provider-name" and record.data:
            providers[name] = record.data[0]
        elif record.type == "metadata" and record.data[:1] == ("provider",):
            providers.setdefault(name, record.data[1] if len(record.data) > 1 else "")
    if not order:
        raise ParseError("vagrant status lists no machines")
    missing = [name for name in order if name not in states]
    if missing:
        raise ParseError(f"no state for {', '.join(missing[:5])} (output truncated?)")
    return [MachineStatus(name, states[name], providers.get(name, "")) for name in order]


# --- ssh-config -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SshHostConfig:
    host: str
    hostname: str | None = None
    port: int | None = None
    user: str | None = None
    identity_files: tuple[str, ...] = ()
    user_known_hosts_file: str | None = None
    strict_host_key_checking: str | None = None  # "no", "yes", "accept-new", ...
    identities_only: bool | None = None
    proxy_jump: str | None = None
    proxy_command: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # every other option, lower-cased keyword
    # Every file of the UserKnownHostsFile line used (ssh takes several on one line).
    user_known_hosts_files: tuple[str, ...] = field(default=(), compare=False)
    # (lower-cased keyword, line number) of each value used, "host" for the Host line:
    # what an error found later (a user name ssh would refuse) points at.
    lines: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    def option(self, keyword: str) -> str | None:
        keyword = keyword.lower()
        return next((value for key, value in self.options if key == keyword), None)

    def line_of(self, keyword: str) -> int | None:
        """The line the value of `keyword` came from (else the Host line)."""
        lines = dict(self.lines)
        return lines.get(keyword.lower(), lines.get("host"))


def _split_args(text: str, where: str) -> list[str]:
    """ssh_config argument splitting: whitespace separates, double quotes group."""
    args: list[str] = []
    current: list[str] = []
    in_quotes = False
    has_token = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
            has_token = True
        elif char.isspace() and not in_quotes:
            if has_token:
                args.append("".join(current))
                current, has_token = [], False
        else:
            current.append(char)
            has_token = True
    if in_quotes:
        raise ParseError(f"{where}unterminated quote")
    if has_token:
        args.append("".join(current))
    return args


_KEYWORD = re.compile(r"\s*([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+|$)(.*)", re.ASCII | re.DOTALL)
# A Host pattern: a name, or one with ssh's `*` / `?` wildcards, `!` negating it.
_PATTERN = re.compile(r"!?[A-Za-z0-9_*?][A-Za-z0-9_.:*?-]{0,127}", re.ASCII)
# Keywords that change which lines apply to a host; a parser that skipped them
# would hand out settings meant for other hosts.
_UNSUPPORTED = {"match", "include"}


@dataclass(slots=True)
class _Block:
    patterns: list[str]
    line: int
    entries: list[tuple[str, list[str], int]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return " ".join(self.patterns)

    def matches(self, name: str) -> bool:
        """ssh's rule: some pattern matches and no negated one does (case-blind)."""
        name = name.lower()
        hit = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            if fnmatch.fnmatchcase(name, pattern.lstrip("!").lower()):
                if negated:
                    return False
                hit = True
        return hit


def parse_ssh_config(text: str) -> dict[str, SshHostConfig]:
    """Host blocks of `vagrant ssh-config` output (or an ssh_config(5) file of Host
    blocks), keyed by the host names they list, in the order listed.

    As in ssh, every block whose patterns match a name applies to it and the first
    value found for an option wins (IdentityFile accumulates). Patterns
    (`Host *`, `Host leaf* !leaf9`) give settings, not hosts. Errors name the
    line and the Host block it is in.
    """
    if not isinstance(text, str):
        raise ParseError(f"ssh config must be text, not {type(text).__name__}")
    blocks: list[_Block] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"Host {blocks[-1].label}: line {lineno}: " if blocks else f"line {lineno}: "
        match = _KEYWORD.fullmatch(line)
        if not match:
            raise ParseError(f"{where}{line[:60]!r} is not an ssh_config option")
        spelled, rest = match.group(1), match.group(2)
        keyword = spelled.lower()
        if keyword in _UNSUPPORTED:
            raise ParseError(f"line {lineno}: {spelled} is not supported (use Host blocks)")
        if keyword == "host":
            args = _split_args(rest, f"line {lineno}: ")
            if not args:
                raise ParseError(f"line {lineno}: Host without a name")
            for name in args:
                if not _PATTERN.fullmatch(name):
                    raise ParseError(f"line {lineno}: {name[:60]!r} is not a host name")
            blocks.append(_Block(args, lineno))
            continue
        if not blocks:
            raise ParseError(f"line {lineno}: {spelled} before any Host line")
        args = _split_args(rest, where)
        if not args:
            raise ParseError(f"{where}{spelled} without a value")
        blocks[-1].entries.append((keyword, args, lineno))
    if not blocks:
        raise ParseError("no Host blocks in ssh config")

    names: list[str] = []
    for block in blocks:
        for name in block.patterns:
            if not any(c in name for c in "*?!") and name not in names:
                names.append(name)
    if not names:
        raise ParseError("ssh config names no host (only patterns such as `Host *`)")
    return {
        name: _host_config(
            name,
            [b for b in blocks if b.matches(name)],
            next(b.line for b in blocks if name in b.patterns),
        )
        for name in names
    }


# Options whose whole argument list is one value (a command line, a list).
_WHOLE = {"proxycommand", "proxyjump", "localcommand", "remotecommand", "hostkeyalgorithms"}
_KNOWN = {
    "hostname",
    "port",
    "user",
    "identityfile",
    "userknownhostsfile",
    "stricthostkeychecking",
    "identitiesonly",
    "proxyjump",
    "proxycommand",
}


def _host_config(name: str, blocks: list[_Block], named_at: int) -> SshHostConfig:
    """`name`'s settings from the blocks matching it; `named_at` is the first Host
    line that spells the name out."""
    first_values: dict[str, tuple[list[str], int]] = {}
    identity_files: list[str] = []
    others: list[tuple[str, str]] = []
    for block in blocks:
        for keyword, args, lineno in block.entries:
            first_values.setdefault(keyword, (args, lineno))
            if keyword == "identityfile":
                identity_files.append(args[0])
            elif keyword not in _KNOWN:
                others.append((keyword, " ".join(args)))

    def first(keyword: str) -> str | None:
        found = first_values.get(keyword)
        if found is None:
            return None
        args, _ = found
        return " ".join(args) if keyword in _WHOLE else args[0]

    def where(keyword: str) -> str:
        return f"{name}: line {first_values[keyword][1]}: "

    port_text = first("port")
    port = None
    if port_text is not None:
        if not (
            port_text.isascii()
            and port_text.isdigit()
            and len(port_text) <= 5
            and 0 < int(port_text) < 65536
        ):
            raise ParseError(f"{where('port')}Port {port_text[:20]!r} is not a TCP port")
        port = int(port_text)
    identities_only = first("identitiesonly")
    if identities_only is not None and identities_only.lower() not in ("yes", "no"):
        raise ParseError(
            f"{where('identitiesonly')}IdentitiesOnly {identities_only[:20]!r} is not yes/no"
        )
    known_files = first_values.get("userknownhostsfile", ([], 0))[0]
    lines = [("host", named_at)]
    lines += [(keyword, lineno) for keyword, (_, lineno) in first_values.items()]
    return SshHostConfig(
        host=name,
        hostname=first("hostname"),
        port=port,
        user=first("user"),
        identity_files=tuple(identity_files),
        user_known_hosts_file=first("userknownhostsfile"),
        strict_host_key_checking=first("stricthostkeychecking"),
        identities_only=None if identities_only is None else identities_only.lower() == "yes",
        proxy_jump=first("proxyjump"),
        proxy_command=first("proxycommand"),
        options=tuple(others),
        user_known_hosts_files=tuple(known_files),
        lines=tuple(lines),
    )
