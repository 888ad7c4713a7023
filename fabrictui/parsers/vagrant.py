"""Vagrant output -> plain data.

- `parse_machine_readable_status`: `vagrant status --machine-readable`, one
  record a line, `timestamp,target,type,data...`; Vagrant writes a comma inside
  data as `%!(VAGRANT_COMMA)` and a newline as the two characters `\\n`.
- `parse_ssh_config`: `vagrant ssh-config`, which prints one `Host` block per
  machine in one go (the same syntax as ssh_config(5)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from fabrictui.model import VmState
from fabrictui.parsers import ParseError

__all__ = [
    "MachineStatus",
    "SshHostConfig",
    "decode_machine_readable",
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

    def option(self, keyword: str) -> str | None:
        keyword = keyword.lower()
        return next((value for key, value in self.options if key == keyword), None)


def _split_args(text: str, lineno: int) -> list[str]:
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
        raise ParseError(f"line {lineno}: unterminated quote")
    if has_token:
        args.append("".join(current))
    return args


_KEYWORD = re.compile(r"\s*([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+|$)(.*)", re.ASCII | re.DOTALL)


def parse_ssh_config(text: str) -> dict[str, SshHostConfig]:
    """Host blocks of `vagrant ssh-config` output, keyed by host name."""
    if not isinstance(text, str):
        raise ParseError(f"ssh config must be text, not {type(text).__name__}")
    blocks: list[tuple[list[str], dict[str, list[str]], list[tuple[str, str]]]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _KEYWORD.fullmatch(line)
        if not match:
            raise ParseError(f"line {lineno}: {line[:60]!r} is not an ssh_config option")
        keyword, rest = match.group(1).lower(), match.group(2)
        args = _split_args(rest, lineno)
        if keyword == "host":
            if not args:
                raise ParseError(f"line {lineno}: Host without a name")
            for name in args:
                if not _NAME.fullmatch(name):
                    raise ParseError(f"line {lineno}: {name[:60]!r} is not a host name")
            blocks.append((args, {}, []))
            continue
        if not blocks:
            raise ParseError(f"line {lineno}: {match.group(1)} before any Host line")
        if not args:
            raise ParseError(f"line {lineno}: {match.group(1)} without a value")
        _, values, others = blocks[-1]
        values.setdefault(keyword, []).append(" ".join(args) if keyword in _WHOLE else args[0])
        others.append((keyword, " ".join(args)))
    if not blocks:
        raise ParseError("no Host blocks in ssh config")

    result: dict[str, SshHostConfig] = {}
    for names, values, others in blocks:
        for name in names:
            if name in result:
                continue  # ssh uses the first match
            result[name] = _host_config(name, values, others)
    return result


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


def _host_config(
    name: str, values: dict[str, list[str]], others: list[tuple[str, str]]
) -> SshHostConfig:
    def first(keyword: str) -> str | None:
        found = values.get(keyword)
        return found[0] if found else None

    port_text = first("port")
    port = None
    if port_text is not None:
        if not (
            port_text.isascii()
            and port_text.isdigit()
            and len(port_text) <= 5
            and 0 < int(port_text) < 65536
        ):
            raise ParseError(f"{name}: Port {port_text[:20]!r} is not a TCP port")
        port = int(port_text)
    identities_only = first("identitiesonly")
    if identities_only is not None and identities_only.lower() not in ("yes", "no"):
        raise ParseError(f"{name}: IdentitiesOnly {identities_only[:20]!r} is not yes/no")
    return SshHostConfig(
        host=name,
        hostname=first("hostname"),
        port=port,
        user=first("user"),
        identity_files=tuple(values.get("identityfile", ())),
        user_known_hosts_file=first("userknownhostsfile"),
        strict_host_key_checking=first("stricthostkeychecking"),
        identities_only=None if identities_only is None else identities_only.lower() == "yes",
        proxy_jump=first("proxyjump"),
        proxy_command=first("proxycommand"),
        options=tuple((k, v) for k, v in others if k not in _KNOWN),
    )
