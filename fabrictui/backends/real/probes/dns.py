"""A name resolved from a pod through the cluster DNS, by the methods and in the order of
the ping probe (node.py, issue 25), with nothing installed (docs/dns.md):

1. the pod's own resolver, through the API's exec: `timeout T getent hosts NAME` (libc's:
   the pod's resolv.conf, search list and ndots apply; exit 2: no address, 124: timed out);
   where the image has no getent, `dig +search +time=T +tries=1 NAME` (its status says
   NXDOMAIN or SERVFAIL);
2. from the pod's node over SSH, getent in the pod's sandbox's network AND mount namespaces
   (the mount namespace is where the pod's resolv.conf is):
   `sh -c 'timeout T nsenter -t PID -n -m getent hosts NAME; echo fabrictui-exit=$?'`,
   timed on the node (`date +%s%N`), so the SSH round trip is not counted. On a node whose
   sandbox is a pause container, its mount namespace has no getent: the method says so;
3. an ephemeral debug container: not allowed by settings (node.EPHEMERAL_WHY).

Every command is audited before it runs. `DnsProbeReal` is mixed into RealLabBackend."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from fabrictui import audit
from fabrictui.backends.base import BackendError, ToolMissing
from fabrictui.backends.real.kube.pod_exec import ExecOutput, exec_in_pod
from fabrictui.backends.real.probes.node import (
    _SANDBOX_PIDS,
    EPHEMERAL_WHY,
    _run_ending_with_channel,
    sandbox_pid,
)
from fabrictui.backends.real.probes.tcp import _exit_code
from fabrictui.model import DnsLookup, KubePod
from fabrictui.parsers import ParseError
from fabrictui.parsers.dns import parse_dig, parse_getent_hosts
from fabrictui.parsers.missing import missing_program

if TYPE_CHECKING:
    from fabrictui.backends.real.kube.client import KubeClient
    from fabrictui.backends.real.ssh import SshPool

NOT_FOUND_EXIT, TIMEOUT_EXIT = 2, 124  # getent: no such key; coreutils timeout: ran out
NO_ADDRESS = "no address (getent: not found)"
# $0 pid, $1 name, $2 seconds: passed as arguments, nothing quoted into the script
NODE_GETENT = (
    's=$(date +%s%N); timeout "$2" nsenter -t "$0" -n -m getent hosts "$1"; e=$?; '
    'echo "fabrictui-exit=$e fabrictui-ns=$(( $(date +%s%N) - s ))"'
)
MARK = re.compile(r"fabrictui-exit=(\d+) fabrictui-ns=(\d+)")


def _getent_result(pod: KubePod, name: str, code: int | None, out: str, ms: float,
                   via: str) -> DnsLookup:  # fmt: skip
    if code == TIMEOUT_EXIT or code is None:
        return DnsLookup(pod.key, name, elapsed_ms=ms, error="timed out", via=via)
    if code == NOT_FOUND_EXIT:
        return DnsLookup(pod.key, name, elapsed_ms=ms, error=NO_ADDRESS, via=via)
    if code != 0:
        raise BackendError(f"getent hosts {name}: exit code {code}")
    try:
        entries = parse_getent_hosts(out)
    except ParseError as err:
        raise BackendError(str(err)) from None
    if not entries:
        return DnsLookup(pod.key, name, elapsed_ms=ms, error=NO_ADDRESS, via=via)
    addresses = tuple(dict.fromkeys(e.address for e in entries))
    return DnsLookup(pod.key, name, addresses, entries[0].name, ms, via=via)


async def _exec(kube: KubeClient, pod: KubePod, command: list[str], timeout: float) -> ExecOutput:
    audit.record_call(f"exec in {pod.key}: {' '.join(command)}")

    def run(api: object) -> object:
        return exec_in_pod(api, pod.namespace, pod.name, command, timeout + 2,
                           request_timeout=kube._timeout())  # fmt: skip

    return await kube._call(f"exec in {pod.key}", run, extra=timeout + 2)


def _no(program: str, pod: KubePod) -> str:
    return f"no {program.rsplit('/', 1)[-1]} in image {pod.image or 'of ' + pod.key}"


async def _from_pod(kube: KubeClient, pod: KubePod, name: str, timeout: float) -> DnsLookup:
    """getent in the pod, else dig; `not_probed` says which programs the image lacks."""
    lacking: list[str] = []
    for program, command in (
        ("getent", ["timeout", f"{timeout:g}", "getent", "hosts", name]),
        ("dig", ["dig", "+search", f"+time={max(1, int(timeout))}", "+tries=1", name]),
    ):
        started = time.monotonic()
        try:
            out = await _exec(kube, pod, command, timeout)
        except BackendError as exc:
            missing = missing_program(str(exc))
            if missing is None:
                raise
            lacking.append(_no(missing, pod))
            continue
        missing = missing_program(out.stdout, out.stderr, out.status)
        if missing is not None:
            lacking.append(_no(missing, pod))
            continue
        ms = (time.monotonic() - started) * 1000
        if program == "getent":
            code = _exit_code(out.status) if out.finished else None
            return _getent_result(pod, name, code, out.stdout, ms, "pod")
        return _dig_result(pod, name, out.stdout, ms)
    return DnsLookup(pod.key, name, via="pod", not_probed="; ".join(lacking))


def _dig_result(pod: KubePod, name: str, out: str, ms: float) -> DnsLookup:
    try:
        answer = parse_dig(out)
    except ParseError as err:
        raise BackendError(str(err)) from None
    took = float(answer.query_ms) if answer.query_ms is not None else ms
    if answer.timed_out:
        return DnsLookup(pod.key, name, elapsed_ms=ms, error="timed out", via="pod", program="dig")
    if answer.status != "NOERROR" or not answer.addresses:
        error = answer.status if answer.status != "NOERROR" else "no address (NOERROR, no A record)"
        return DnsLookup(pod.key, name, elapsed_ms=took, error=error, via="pod", program="dig")
    return DnsLookup(pod.key, name, answer.addresses, answer.name, took, via="pod", program="dig")


async def _from_node(pool: SshPool, pod: KubePod, name: str, timeout: float,
                     sudo: bool) -> DnsLookup:  # fmt: skip
    node = pod.node
    if not node:
        raise BackendError(f"{pod.key} is on no node")
    if node not in pool.targets:
        raise BackendError(f"{node}: no SSH endpoint")
    key = (node, pod.uid or pod.key)
    for attempt in (1, 2):
        pid = _SANDBOX_PIDS.get(key) or await sandbox_pid(pool, pod, sudo)
        _SANDBOX_PIDS[key] = pid
        argv = ["sh", "-c", NODE_GETENT, str(pid), name, f"{timeout:g}"]
        audit.record_call(f"on {node} for {pod.key}: {' '.join(argv)}")
        stdout, stderr, finished = await _run_ending_with_channel(
            pool, node, argv, timeout + 5, sudo
        )
        found = MARK.search(stdout)
        if not finished:
            return DnsLookup(pod.key, name, elapsed_ms=timeout * 1000, error="timed out")
        if found is None:
            missing = missing_program(stderr)
            if missing is not None:
                raise ToolMissing(node, missing.rsplit("/", 1)[-1])
            why = (stderr or stdout).strip().splitlines()
            raise BackendError(f"{node}: {why[0] if why else 'no output'}")
        code, ms = int(found.group(1)), int(found.group(2)) / 1e6
        if code in (0, NOT_FOUND_EXIT, TIMEOUT_EXIT):
            return _getent_result(pod, name, code, stdout[: found.start()], ms, "node")
        lowered = stderr.lower()
        if "failed to execute getent" in lowered:
            raise BackendError(f"{node}: no getent in {pod.key}'s sandbox (its mount namespace)")
        if attempt == 1 and "nsenter" in lowered:  # the sandbox may be gone: ask again
            _SANDBOX_PIDS.pop(key, None)
            continue
        why = stderr.strip().splitlines()
        raise BackendError(f"{node}: {why[0] if why else f'exit code {code}'}")
    raise AssertionError("unreachable")


async def resolve_by_any_method(kube: KubeClient, pool: SshPool, pod: KubePod, name: str,
                                timeout: float, sudo: bool) -> DnsLookup:  # fmt: skip
    """The pod's own getent (or dig); else the node's getent in the pod's namespaces; else
    not probed, naming each method and why."""
    own = await _from_pod(kube, pod, name, timeout)
    if own.not_probed is None:
        return own
    try:
        return await _from_node(pool, pod, name, timeout, sudo)
    except BackendError as err:
        node_why = str(err)
    why = f"{own.not_probed}; {node_why}; {EPHEMERAL_WHY}"
    return DnsLookup(pod.key, name, via="node", not_probed=why)


async def read_resolv_conf(kube: KubeClient, pool: SshPool, pod: KubePod, sudo: bool) -> str:
    """The pod's /etc/resolv.conf: `cat` in the pod, else from its node in the sandbox's
    mount namespace."""
    out = None
    try:
        out = await _exec(kube, pod, ["cat", "/etc/resolv.conf"], 5.0)
    except BackendError as exc:
        if missing_program(str(exc)) is None:
            raise
    if out is not None and missing_program(out.stdout, out.stderr, out.status) is None:
        if _exit_code(out.status) == 0:
            return out.stdout
        raise BackendError(f"cat /etc/resolv.conf in {pod.key}: {out.stderr.strip() or 'failed'}")
    node = pod.node or ""
    if node not in pool.targets:
        raise BackendError(f"{pod.key}: no cat in the image and no SSH endpoint for {node}")
    pid = _SANDBOX_PIDS.get((node, pod.uid or pod.key)) or await sandbox_pid(pool, pod, sudo)
    argv = ["nsenter", "-t", str(pid), "-m", "cat", "/etc/resolv.conf"]
    audit.record_call(f"on {node} for {pod.key}: {' '.join(argv)}")
    result = await pool.run(node, argv, 10.0, sudo=sudo)
    if not result.ok:
        why = (result.stderr or result.stdout).strip().splitlines()
        raise BackendError(f"{node}: nsenter: {why[0] if why else 'failed'}")
    return result.stdout


class DnsProbeReal:
    """The LabBackend calls of the DNS check, mixed into RealLabBackend."""

    kube: KubeClient
    pool: SshPool
    capture_sudo: bool

    if TYPE_CHECKING:  # RealLabBackend's

        async def _ensure_kube(self) -> None: ...

    async def resolve(self, pod: KubePod, name: str, timeout: float) -> DnsLookup:
        await self._ensure_kube()
        return await resolve_by_any_method(
            self.kube, self.pool, pod, name, timeout, self.capture_sudo
        )

    async def pod_resolv_conf(self, pod: KubePod) -> str:
        await self._ensure_kube()
        return await read_resolv_conf(self.kube, self.pool, pod, self.capture_sudo)
