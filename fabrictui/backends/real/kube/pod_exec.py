"""A command in a pod through the API's exec, its output read to the end or a deadline:
what a ping from a pod and `birdcl` in calico-node both are. Runs in a worker thread
(blocking websocket reads), with the API client the caller's thread holds."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Any

from fabrictui.backends.real.kube.config import one_line
from fabrictui.model import KubePod, PingResult
from fabrictui.parsers import ParseError
from fabrictui.parsers.missing import missing_program
from fabrictui.parsers.mtu import note_too_big
from fabrictui.parsers.ping import parse_ping_output

STATUS_CHANNEL = 3  # the exec's Status: exit code, or why the runtime could not start it


@dataclass(frozen=True, slots=True)
class ExecOutput:
    stdout: str
    stderr: str
    finished: bool
    status: str  # the Status JSON of the status channel ("" when none came)


def run_in_pod(
    api: Any,
    namespace: str,
    pod: str,
    command: list[str],
    timeout: float,
    *,
    container: str | None = None,
    request_timeout: float | None = None,
    cancelled: threading.Event | None = None,
) -> tuple[str, str, bool]:
    """Run `command` in `namespace/pod`: (stdout, stderr, finished). Not finished when
    `timeout` passed first, or `cancelled` was set (the stream is closed at once)."""
    out = exec_in_pod(
        api, namespace, pod, command, timeout,
        container=container, request_timeout=request_timeout, cancelled=cancelled,
    )  # fmt: skip
    return out.stdout, out.stderr, out.finished


def exec_in_pod(
    api: Any,
    namespace: str,
    pod: str,
    command: list[str],
    timeout: float,
    *,
    container: str | None = None,
    request_timeout: float | None = None,
    cancelled: threading.Event | None = None,
) -> ExecOutput:
    """`run_in_pod` with the status channel too: containerd words a program the image
    lacks there, not on stdout or stderr."""
    from kubernetes import client
    from kubernetes.stream import stream

    # stream() swaps the ApiClient's call_api for a websocket one while it opens the
    # exec: on the shared client that races with the other threads (concurrent pings,
    # lists, watches), which then go out as websockets and fail ("Handshake status 200
    # OK"). Each exec gets a client of its own, with the same configuration.
    exec_client = client.ApiClient(api.configuration)
    options: dict[str, Any] = {}
    if container is not None:
        options["container"] = container
    if request_timeout is not None:
        options["_request_timeout"] = request_timeout
    try:
        ws = stream(
            client.CoreV1Api(exec_client).connect_get_namespaced_pod_exec,
            pod,
            namespace,
            command=command,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
            **options,
        )
        out: list[str] = []
        err: list[str] = []
        status: list[str] = []
        deadline = time.monotonic() + timeout
        try:
            while ws.is_open() and time.monotonic() < deadline:
                if cancelled is not None and cancelled.is_set():
                    break
                ws.update(timeout=min(0.5, max(0.0, deadline - time.monotonic())))
                if ws.peek_stdout():
                    out.append(ws.read_stdout())
                if ws.peek_stderr():
                    err.append(ws.read_stderr())
                if ws.peek_channel(STATUS_CHANNEL):
                    status.append(ws.read_channel(STATUS_CHANNEL))
            finished = not ws.is_open()
            with contextlib.suppress(Exception):  # anything left after the close
                out.append(ws.read_stdout(timeout=0))
                err.append(ws.read_stderr(timeout=0))
                status.append(ws.read_channel(STATUS_CHANNEL, timeout=0))
        finally:
            ws.close()
    finally:
        exec_client.close()
    return ExecOutput("".join(out), "".join(err), finished, "".join(status))


def unprobed_if_missing(pod: KubePod, target_ip: str, *texts: str) -> PingResult | None:
    """A ping that never ran because the pod's image has no such program ("no ping in image
    nginx:1.17"): not probed, never a loss. None when `texts` name no missing program."""
    program = missing_program(*texts)
    if program is None:
        return None
    why = f"no {program.rsplit('/', 1)[-1]} in image {pod.image or 'of ' + pod.key}"
    return PingResult.unprobed(pod.key, target_ip, why)


def unprobed_without_df(pod: KubePod, target_ip: str, *texts: str) -> PingResult | None:
    """A DF probe the pod's ping could not send because it has no `-M` (busybox's ping
    does not: it prints its usage): not probed here, so the node's ping is tried next."""
    words = "\n".join(texts)
    if "-M" not in words and "invalid option" not in words and "unrecognized option" not in words:
        return None
    why = f"ping in image {pod.image or 'of ' + pod.key} has no -M (busybox ping has none)"
    return PingResult.unprobed(pod.key, target_ip, why)


def ping_result(
    pod: KubePod, target_ip: str, output: ExecOutput, timeout: float, df: bool
) -> PingResult:
    """What a ping run by exec in `pod` printed, as a PingResult: not probed when the image
    has no ping (or, for a DF probe, no `-M`), failed when its words cannot be read."""
    stdout, stderr, timed_out = output.stdout, output.stderr, not output.finished
    try:
        stats = parse_ping_output(stdout)
    except ParseError as exc:
        unprobed = unprobed_if_missing(pod, target_ip, stdout, stderr, output.status) or (
            unprobed_without_df(pod, target_ip, stdout, stderr) if df else None
        )
        if unprobed is not None:  # the image has no ping (or no -M): not a network fault
            return unprobed
        why = one_line(stderr, 120) or one_line(exc, 120)
        if timed_out:
            why = f"timed out after {timeout:g}s"
        return PingResult.failed(pod.key, target_ip, why)
    result = stats.as_result(pod.key, target_ip)
    if timed_out and result.error is None and not stats.complete:
        result = dataclasses.replace(result, error=f"timed out after {timeout:g}s")
    return note_too_big(result, f"{stdout}\n{stderr}") if df else result
