"""A probe from the pod's own network namespace, entered from its node over SSH.

For a pod whose image has no ping (the seed's nginx:1.17), nothing is installed: the
node's container runtime says which process holds the pod's sandbox, and the node's own
ping runs in that process's network namespace:

    crictl pods --namespace NS --name NAME --state ready -q     (containerd, CRI-O)
    crictl inspectp -o go-template --template '{{.info.pid}}' ID
  or, on a Docker node (the seed's Kubernetes 1.15):
    docker ps -q --filter label=io.kubernetes.pod.namespace=NS
                 --filter label=io.kubernetes.pod.name=NAME
                 --filter label=io.kubernetes.docker.type=podsandbox
    docker inspect --format '{{.State.Pid}}' ID
  then
    nsenter -t PID -n ping -c COUNT -W 1 [-M do] [-s SIZE] TARGET   (-M do: path MTU)

The echo leaves from the pod's address and interface, crosses the same path, and the
trace and the transit table correlate it as any other. Every command is an argument list
(the SSH layer quotes it) and is written to the audit log before it runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re

from fabrictui import audit
from fabrictui.backends.base import DEFAULT_PING_SIZE, BackendError, ToolMissing, Unreachable
from fabrictui.backends.real.capture import CAPTURE_WRAPPER
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.backends.real.ssh import SshPool
from fabrictui.backends.real.ssh.process import decode_text
from fabrictui.model import KubePod, PingResult
from fabrictui.parsers import ParseError
from fabrictui.parsers.missing import missing_program
from fabrictui.parsers.mtu import note_too_big
from fabrictui.parsers.ping import parse_ping_output

# (node, pod uid) -> the pid holding its sandbox, as the runtime said: asked once per pod,
# not before every probe (two SSH round trips less; a mesh probes each pod 3 times).
_SANDBOX_PIDS: dict[tuple[str, str], int] = {}
MAX_REMEMBERED = 10_000
PID_LINE = re.compile(r"^\s*(\d{1,9})\s*$", re.MULTILINE)
STEP_TIMEOUT = 10.0  # seconds for each runtime question


async def _ask(pool: SshPool, node: str, argv: list[str], sudo: bool) -> str:
    """stdout of `argv` on `node`; ToolMissing when the node lacks the program."""
    audit.record_call(f"on {node}: {' '.join(argv)}")
    result = await pool.run(node, argv, STEP_TIMEOUT, sudo=sudo)
    missing = missing_program(result.stderr, result.stdout)
    if missing is not None and not result.ok:
        raise ToolMissing(node, missing.rsplit("/", 1)[-1])
    if not result.ok:
        why = (result.stderr or result.stdout).strip().splitlines()
        raise BackendError(f"{node}: {argv[0]} {argv[1]}: {why[0] if why else 'failed'}")
    return result.stdout


def ssh_why(message: str) -> str:
    """ "ssh refused" for a node whose sshd turns connections away, else SSH's own words."""
    lowered = message.lower()
    if "refused" in lowered or "connect call failed" in lowered:
        return "ssh refused"
    return f"ssh: {message.split(': ', 1)[-1]}"


def capture_argv_for(argv: list[str]) -> list[str]:
    """`argv` under the wrapper that ends it when the channel closes, as one argv."""
    return ["sh", "-c", CAPTURE_WRAPPER, "sh", *argv]


async def sandbox_pid(pool: SshPool, pod: KubePod, sudo: bool) -> int:
    """The pid holding `pod`'s network namespace on its node, from its container runtime."""
    node = pod.node or ""
    tried: list[str] = []
    for ask_id, ask_pid in (
        (
            ["crictl", "pods", "--namespace", pod.namespace, "--name", pod.name, "--state",
             "ready", "-q"],
            ["crictl", "inspectp", "-o", "go-template", "--template", "{{.info.pid}}"],
        ),
        (
            ["docker", "ps", "-q", "--filter", f"label=io.kubernetes.pod.namespace={pod.namespace}",
             "--filter", f"label=io.kubernetes.pod.name={pod.name}",
             "--filter", "label=io.kubernetes.docker.type=podsandbox"],
            ["docker", "inspect", "--format", "{{.State.Pid}}"],
        ),
    ):  # fmt: skip
        try:
            ids = (await _ask(pool, node, ask_id, sudo)).split()
            if not ids:
                tried.append(f"{ask_id[0]}: no ready sandbox of {pod.key}")
                continue
            found = PID_LINE.search(await _ask(pool, node, [*ask_pid, ids[0]], sudo))
        except ToolMissing as err:
            tried.append(f"no {err.program}")
            continue
        except Unreachable as err:  # no runtime to ask: say it once, in SSH's terms
            raise Unreachable(f"{node}: {ssh_why(str(err))}") from None
        except BackendError as err:
            tried.append(str(err).removeprefix(f"{node}: "))
            continue
        if found and int(found.group(1)) > 0:
            return int(found.group(1))
        tried.append(f"{ask_id[0]}: no pid for {pod.key}'s sandbox")
    raise BackendError(f"{node}: {'; '.join(tried)}")


async def ping_from_node(
    pool: SshPool,
    pod: KubePod,
    target_ip: str,
    count: int,
    timeout: float,
    size: int | None,
    sudo: bool,
    df: bool = False,
) -> PingResult:
    """The node's ping in the pod's network namespace (`via` "node"), with `-M do` when
    `df`. Raises BackendError (ToolMissing for a missing program, Unreachable for SSH)
    when it cannot run."""
    node = pod.node
    if not node:
        raise BackendError(f"{pod.key} is on no node")
    if node not in pool.targets:
        raise BackendError(f"{node}: no SSH endpoint")
    key = (node, pod.uid or pod.key)
    pid = _SANDBOX_PIDS.get(key)
    if pid is None:
        pid = await sandbox_pid(pool, pod, sudo)
        if len(_SANDBOX_PIDS) >= MAX_REMEMBERED:
            _SANDBOX_PIDS.clear()
        _SANDBOX_PIDS[key] = pid
    else:
        try:
            return await _ping_in(pool, node, pod, pid, target_ip, count, timeout, size, sudo, df)
        except BackendError:  # the sandbox may have gone (a new pod by that name): ask again
            _SANDBOX_PIDS.pop(key, None)
            return await ping_from_node(pool, pod, target_ip, count, timeout, size, sudo, df)
    return await _ping_in(pool, node, pod, pid, target_ip, count, timeout, size, sudo, df)


async def _ping_in(
    pool: SshPool,
    node: str,
    pod: KubePod,
    pid: int,
    target_ip: str,
    count: int,
    timeout: float,
    size: int | None,
    sudo: bool,
    df: bool = False,
) -> PingResult:
    sized = [] if size is None else ["-s", str(int(size))]
    sized = ["-M", "do", *sized] if df else sized  # don't fragment: the path MTU probe
    argv = ["nsenter", "-t", str(pid), "-n", "ping", "-c", str(int(count)), "-W", "1", *sized]
    argv.append(target_ip)
    audit.record_call(f"on {node} for {pod.key}: {' '.join(argv)}")
    stdout, stderr, finished = await _run_ending_with_channel(pool, node, argv, timeout, sudo)
    try:
        stats = parse_ping_output(stdout)
    except ParseError:
        missing = missing_program(stderr, stdout)
        if missing is not None:
            raise ToolMissing(node, missing.rsplit("/", 1)[-1]) from None
        why = (stderr or stdout).strip().splitlines()
        if not finished:
            why = [f"timed out after {timeout:g}s"]
        raise BackendError(f"{node}: nsenter: {why[0] if why else 'no output'}") from None
    result = dataclasses.replace(stats.as_result(pod.key, target_ip), via="node")
    if not finished and result.error is None and not stats.complete:
        result = dataclasses.replace(result, error=f"timed out after {timeout:g}s")
    return note_too_big(result, f"{stdout}\n{stderr}") if df else result


async def _run_ending_with_channel(
    pool: SshPool, node: str, argv: list[str], timeout: float, sudo: bool
) -> tuple[str, str, bool]:
    """Run `argv` under the capture's wrapper, which ends it when the SSH channel closes:
    a probe cancelled here (`x`, `q`, a timeout) leaves no ping running on the node.
    Returns stdout, stderr (without the wrapper's pid line) and whether it finished."""
    process = await pool.open_stream(node, capture_argv_for(argv), sudo=sudo)
    finished = False
    try:
        async with asyncio.timeout(timeout):
            out, err = await asyncio.gather(process.stdout.read(), process.stderr.read())
            finished = True
    except TimeoutError:
        out, err = b"", b""
    finally:
        await process.close()
    text = decode_text(err)
    lines = [line for line in text.splitlines() if not line.startswith("fabrictui-pid ")]
    return decode_text(out), "\n".join(lines), finished


# Why the third method was not tried: fabrictui adds no debug container to a pod (it would
# change the pod for good) unless a later version is asked to in so many words.
EPHEMERAL_WHY = "ephemeral containers: not allowed by settings"


async def probe_by_any_method(
    kube: KubeClient,
    pool: SshPool,
    pod: KubePod,
    target_ip: str,
    count: int,
    timeout: float,
    size: int,
    sudo: bool,
    df: bool = False,
) -> PingResult:
    """The pod's own ping (`-s SIZE` but at ping's default; `-M do` when `df`) when its image
    has one; else the same probe from the node; else "not probed", naming each method and
    why."""
    sized = None if size == DEFAULT_PING_SIZE else size
    pod_probe = await kube.ping(pod, target_ip, count, timeout, size=sized, df=df)
    if pod_probe.not_probed is None:  # the image had the program (it may still have failed)
        return pod_probe
    try:
        return await ping_from_node(pool, pod, target_ip, count, timeout, sized, sudo, df)
    except BackendError as err:
        node_why = str(err)
    why = f"{pod_probe.not_probed}; {node_why}; {EPHEMERAL_WHY}"
    return PingResult.unprobed(pod.key, target_ip, why, via="node")
