"""Small wrappers over `ip` (iproute2). Every call is an argv list, never a shell string."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterable, Sequence

IP = "ip"
NETNS_DIR = "/var/run/netns"
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.:/@,+=-]+$")


class NetnsError(RuntimeError):
    """An `ip` command failed; the message is iproute2's own, on one line."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run_ip(
    args: Sequence[str], netns: str | None = None, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [IP]
    if netns is not None:
        argv += ["-n", netns]
    argv += list(args)
    done = subprocess.run(argv, input=input_text, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NetnsError(f"{' '.join(argv[:6])}: {_one_line(done.stderr) or 'failed'}")
    return done


def batch_text(commands: Iterable[Sequence[str]]) -> str:
    """`ip -batch` input: one command per line. Tokens are checked instead of quoted, since
    iproute2's batch tokenizer is not a shell."""
    lines = []
    for command in commands:
        for token in command:
            if not _SAFE_TOKEN.match(token):
                raise ValueError(f"unsafe token for ip -batch: {token!r}")
        lines.append(" ".join(command))
    return "\n".join(lines) + "\n"


def run_batch(
    commands: Iterable[Sequence[str]], netns: str | None = None, force: bool = False
) -> None:
    """All commands in one `ip` process; with force, go on past a failing line (iproute2
    still reports the failure)."""
    text = batch_text(commands)
    if text.strip():
        run_ip([*(["-force"] if force else []), "-batch", "-"], netns=netns, input_text=text)


def start_batch(commands: Iterable[Sequence[str]], netns: str | None = None) -> BatchJob:
    """Start `ip -batch` without waiting, so many namespaces can be configured in parallel."""
    return BatchJob(batch_text(commands), netns)


class BatchJob:
    def __init__(self, text: str, netns: str | None) -> None:
        argv = [IP] + (["-n", netns] if netns else []) + ["-batch", "-"]
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._text = text

    def wait(self) -> None:
        _, err = self.proc.communicate(self._text)
        if self.proc.returncode != 0:
            raise NetnsError(f"{' '.join(self.argv)}: {_one_line(err) or 'failed'}")


def exec_argv(netns: str, argv: Sequence[str]) -> list[str]:
    """argv that runs `argv` inside `netns` (ip netns exec execs it: same pid)."""
    return [IP, "netns", "exec", netns, *argv]


def list_netns() -> list[str]:
    done = run_ip(["netns", "list"])
    names = []
    for line in done.stdout.splitlines():
        if line.strip():
            names.append(line.split()[0])
    return names


def netns_exists(name: str) -> bool:
    return name in list_netns()


def netns_pids(name: str) -> list[int]:
    try:
        done = run_ip(["netns", "pids", name])
    except NetnsError:
        return []
    return [int(tok) for tok in done.stdout.split() if tok.isdigit()]


def delete_netns(name: str) -> None:
    run_ip(["netns", "delete", name])


def delete_all(names: Sequence[str]) -> None:
    """Delete namespaces (their interfaces go with them); ones already gone are fine."""
    if not names:
        return
    with contextlib.suppress(NetnsError):  # some were gone already: see what is left
        run_batch([["netns", "delete", name] for name in names], force=True)
    left = sorted(set(names) & set(list_netns()))
    for name in left:
        delete_netns(name)


def sysctl_argv(netns: str, settings: dict[str, str]) -> list[str]:
    return exec_argv(netns, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings.items())])


def links(netns: str | None = None) -> list[str]:
    """Interface names in a namespace (the host's when None)."""
    done = run_ip(["-o", "link", "show"], netns=netns)
    names = []
    for line in done.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@")[0])
    return names
