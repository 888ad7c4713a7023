"""A TCP connect from a pod to ip:port (a Service's ClusterIP, an endpoint), by the methods
and in the order of the ping probe (nodeprobe.py):

1. the pod's own curl, through the API's exec: `curl -sS -o /dev/null --connect-timeout T
   http://IP:PORT/` (exit 7: refused, 28: timed out; any other exit came after the
   handshake, so the connection opened);
2. from the pod's node over SSH, in the pod's network namespace, with what a CentOS 7 node
   has: `nsenter -t PID -n timeout T bash -c 'exec 3<>/dev/tcp/IP/PORT'` (exit 124: timed
   out; bash's "Connection refused": refused);
3. an ephemeral debug container: not allowed by settings (nodeprobe.EPHEMERAL_WHY).

Only the handshake (and, with curl, one GET) is sent; every command is audited first."""

from __future__ import annotations

import ipaddress
import json
import re
import time

from fabrictui import audit
from fabrictui.backends.base import BackendError, ToolMissing
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.backends.real.kube.pod_exec import exec_in_pod
from fabrictui.backends.real.probes.node import (
    _SANDBOX_PIDS,
    EPHEMERAL_WHY,
    _run_ending_with_channel,
    sandbox_pid,
)
from fabrictui.backends.real.ssh import SshPool
from fabrictui.model import KubePod, TcpProbe
from fabrictui.parsers.missing import missing_program

CURL_REFUSED, CURL_TIMEOUT = 7, 28
TIMEOUT_EXIT = 124  # coreutils timeout(1): the command ran out of time
# $0, $1, $2: address, port, seconds, passed as arguments (nothing is quoted into the script);
# the exit code is printed, so a timeout (124) is told from a refusal (1, with bash's words)
DEV_TCP = 'timeout "$2" bash -c \'exec 3<>"/dev/tcp/$0/$1"\' "$0" "$1"; echo "fabrictui-exit=$?"'
EXIT_LINE = re.compile(r"fabrictui-exit=(\d+)")


def _exit_code(status: str) -> int | None:
    """The exit code in an exec's status channel (0 on Success, None when unreadable)."""
    try:
        data = json.loads(status) if status else {}
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("status") == "Success":
        return 0
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    for cause in details.get("causes") or []:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", ""))
            except ValueError:
                return None
    return None


async def _from_pod(kube: KubeClient, pod: KubePod, ip: str, port: int, timeout: float) -> TcpProbe:
    url = f"http://{ip}:{port}/" if ":" not in ip else f"http://[{ip}]:{port}/"
    command = ["curl", "-sS", "-o", "/dev/null", "--connect-timeout", f"{timeout:g}", url]
    audit.record_call(f"exec in {pod.key}: {' '.join(command)}")
    started = time.monotonic()

    def run(api: object) -> object:
        return exec_in_pod(api, pod.namespace, pod.name, command, timeout + 2,
                           request_timeout=kube._timeout())  # fmt: skip

    try:
        out = await kube._call(f"exec in {pod.key}", run, extra=timeout + 2)
    except BackendError as exc:
        missing = missing_program(str(exc))
        if missing is None:
            raise
        return TcpProbe(pod.key, ip, port, False, via="pod", not_probed=_no(missing, pod))
    missing = missing_program(out.stdout, out.stderr, out.status)
    if missing is not None:
        return TcpProbe(pod.key, ip, port, False, via="pod", not_probed=_no(missing, pod))
    elapsed = (time.monotonic() - started) * 1000
    code = _exit_code(out.status)
    if code is None or not out.finished:
        return TcpProbe(pod.key, ip, port, False, elapsed, "timed out", via="pod")
    if code == CURL_REFUSED:
        return TcpProbe(pod.key, ip, port, False, elapsed, "refused", via="pod")
    if code == CURL_TIMEOUT:
        return TcpProbe(pod.key, ip, port, False, elapsed, "timed out", via="pod")
    return TcpProbe(pod.key, ip, port, True, elapsed, via="pod")


def _no(program: str, pod: KubePod) -> str:
    return f"no {program.rsplit('/', 1)[-1]} in image {pod.image or 'of ' + pod.key}"


async def _from_node(
    pool: SshPool, pod: KubePod, ip: str, port: int, timeout: float, sudo: bool
) -> TcpProbe:
    node = pod.node
    if not node:
        raise BackendError(f"{pod.key} is on no node")
    if node not in pool.targets:
        raise BackendError(f"{node}: no SSH endpoint")
    key = (node, pod.uid or pod.key)
    pid = _SANDBOX_PIDS.get(key) or await sandbox_pid(pool, pod, sudo)
    _SANDBOX_PIDS[key] = pid
    argv = ["nsenter", "-t", str(pid), "-n", "bash", "-c", DEV_TCP, ip, str(port), f"{timeout:g}"]
    audit.record_call(f"on {node} for {pod.key}: {' '.join(argv)}")
    started = time.monotonic()
    stdout, stderr, finished = await _run_ending_with_channel(pool, node, argv, timeout + 5, sudo)
    elapsed = (time.monotonic() - started) * 1000
    missing = missing_program(stderr)
    if missing is not None:
        raise ToolMissing(node, missing.rsplit("/", 1)[-1])
    lowered = stderr.lower()
    if "refused" in lowered:
        return TcpProbe(pod.key, ip, port, False, elapsed, "refused")
    if "no route" in lowered or "unreachable" in lowered:
        return TcpProbe(pod.key, ip, port, False, elapsed, "no route to host")
    found = EXIT_LINE.search(stdout)
    if not finished or (found and int(found.group(1)) == TIMEOUT_EXIT):
        return TcpProbe(pod.key, ip, port, False, elapsed, "timed out")
    if found and int(found.group(1)) == 0:
        return TcpProbe(pod.key, ip, port, True, elapsed)
    why = (stderr or stdout).strip().splitlines()
    raise BackendError(f"{node}: nsenter: {why[0] if why else 'no output'}")


async def tcp_probe_by_any_method(
    kube: KubeClient, pool: SshPool, pod: KubePod, ip: str, port: int, timeout: float, sudo: bool
) -> TcpProbe:
    """The pod's own curl; else the node's bash in the pod's namespace; else not probed,
    naming each method and why."""
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise BackendError(f"tcp probe: {ip!r} is not an IP address") from None
    own = await _from_pod(kube, pod, ip, port, timeout)
    if own.not_probed is None:
        return own
    try:
        return await _from_node(pool, pod, ip, port, timeout, sudo)
    except BackendError as err:
        node_why = str(err)
    why = f"{own.not_probed}; {node_why}; {EPHEMERAL_WHY}"
    return TcpProbe(pod.key, ip, port, False, via="node", not_probed=why)
