"""A probe whose program is missing is "not probed", never a loss, a failed pair, a failed
check or a trace's cause (issue 25). The exec answers are the real runtimes' wordings
(tests/data/not_found/messages.json)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from fabrictui.actions.ping.mesh import PingMatrix, ping_mesh
from fabrictui.actions.progress import ignore
from fabrictui.actions.trace.run import run_trace
from fabrictui.actions.verify.run import verify
from fabrictui.backends.real.kube import client as client_module
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.backends.real.kube.pod_exec import ExecOutput
from fabrictui.commands.ping import to_json, to_table
from fabrictui.model import KubePod, LabInfo, PingResult, Verdict
from tests._paths import TEST_DATA
from tests._sshd import free_port
from tests.demo_helpers import fast_backend
from tests.unit.test_kube_backend import kubeconfig

MESSAGES = {
    m["runtime"]: m
    for m in json.loads((TEST_DATA / "not_found" / "messages.json").read_text())["messages"]
}


def _status(code: int, message: str) -> str:
    return json.dumps(
        {
            "status": "Failure",
            "message": message,
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
        }
    )


def _ping_text(runtime: str) -> str:
    return MESSAGES[runtime]["text"].replace('\\"ps\\"', '\\"ping\\"').replace('"ps"', '"ping"')


# What each runtime sends back when the image has no ping: (stdout, stderr, status).
ANSWERS: dict[str, tuple[str, str, str]] = {
    "docker 2019 (dockershim)": (
        MESSAGES["docker 18.09 / 19.03 (dockershim), runc container_linux.go:345"]["text"] + "\r\n",
        "",
        _status(
            126,
            "command terminated with non-zero exit code: Error executing in Docker Container: 126",
        ),
    ),
    "containerd 1.6+": (
        "",
        "",
        json.dumps(
            {
                "status": "Failure",
                "reason": "InternalError",
                "message": _ping_text("containerd 1.6+ (CRI, runc 1.1)"),
            }
        ),
    ),
    "CRI-O + runc": (
        "",
        MESSAGES["CRI-O with runc (OpenShift 4.10)"]["text"].replace("tar", "ping") + "\n",
        _status(255, "command terminated with non-zero exit code: exit status 255"),
    ),
    "sh (dash)": ("", "sh: 1: ping: not found\n", _status(127, "exit code 127")),
}

NGINX = KubePod(
    "space1", "nginx-a", 1, 1, "Running", 0, 0.0, "10.64.1.2", "k8s-node-l1-1",
    image="nginx:1.17",
)  # fmt: skip


@pytest.mark.parametrize("runtime", sorted(ANSWERS))
async def test_a_missing_ping_is_not_probed_in_each_runtimes_words(
    runtime: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout, stderr, status = ANSWERS[runtime]

    def fake_exec(*args: Any, **kwargs: Any) -> ExecOutput:
        return ExecOutput(stdout, stderr, True, status)

    monkeypatch.setattr(client_module, "exec_in_pod", fake_exec)
    client = KubeClient(kubeconfig(tmp_path / "kc", free_port()))
    try:
        result = await client.ping(NGINX, "10.64.2.3", count=2, timeout=2)
    finally:
        await client.close()
    assert not result.probed and result.error is None
    assert result.not_probed == "no ping in image nginx:1.17"
    assert not result.ok


LAB = LabInfo("demo", "demo", source="--demo")


def test_matrix_counts_an_unprobed_pair_neither_ok_nor_failed() -> None:
    a, b = NGINX, KubePod("space1", "nginx-b", 1, 1, "Running", 0, 0.0, "10.64.2.3", "n2")
    matrix = PingMatrix((a, b), racks={a.key: 1, b.key: 2})
    matrix.results[(a.key, b.key)] = PingResult.unprobed(a.key, b.ip or "", "no ping in image")
    matrix.results[(b.key, a.key)] = PingResult(b.key, a.ip or "", 3, 3, 1.0, 1.2, 1.5, 62)
    assert matrix.failures() == [] and matrix.unprobed() == [(a.key, b.key)]
    assert matrix.diagnose((a.key, b.key)) is None
    table = to_table(LAB, matrix)
    assert "not probed" in table and "FAIL" not in table
    assert "NOT OBSERVED a -> b: no ping in image" in table
    rows = json.loads(to_json(LAB, matrix))
    first = rows["results"][0]
    assert first["probed"] is False and first["not_probed"] == "no ping in image"
    assert rows["results"][1]["via"] == "pod" and rows["not_probed"] == 1


@pytest.fixture
async def unprobed_demo(monkeypatch: pytest.MonkeyPatch):
    """The demo lab with every probe answered as an image without ping answers."""
    backend = fast_backend("ready", speed=200.0)
    await backend.start()

    async def no_ping(pod: KubePod, target: str, *args: Any, **kwargs: Any) -> PingResult:
        return PingResult.unprobed(pod.key, target, "no ping in image nginx:1.17")

    monkeypatch.setattr(backend, "ping", no_ping)
    monkeypatch.setattr(backend, "probe", no_ping)
    yield backend
    await backend.close()


async def test_mesh_of_unprobed_pairs_fails_nothing(unprobed_demo) -> None:
    matrix = await ping_mesh(unprobed_demo, ignore)
    assert matrix.pairs and not matrix.failures()
    assert len(matrix.unprobed()) == len(matrix.pairs)
    assert matrix.snapshot is None  # nothing to diagnose: the network was not blamed


async def test_trace_of_an_unprobed_pair_names_no_cause(unprobed_demo) -> None:
    pods = await unprobed_demo.list_pods("space1")
    result = await run_trace(unprobed_demo, ignore, pods[0].key, pods[-1].key)
    assert result.cause is None
    assert "probe not sent: no ping in image nginx:1.17" in result.notes
    out = result.to_json()
    assert out["probed"] is False and out["ping"].startswith("not probed")


async def test_verify_calls_the_ping_checks_not_probed_not_failed(unprobed_demo) -> None:
    results = await verify(unprobed_demo, ignore)
    unobserved = [r for r in results if r.state is Verdict.NOT_OBSERVED]
    assert len(unobserved) == 3  # the two ping checks, and path MTU's DF pings
    assert all(not r.passed and "no ping in image" in (r.cause or "") for r in unobserved)
    assert all(r.passed for r in results if r.observed)


async def test_a_node_without_tcpdump_is_named_not_quiet(tmp_path: Path) -> None:
    """Over real SSH to a shell whose PATH has sh and no tcpdump (a bare node)."""
    import shutil

    from fabrictui.actions.ping.capture import ping_capturing
    from fabrictui.backends.base import ToolMissing
    from fabrictui.backends.real.capture import open_ssh_capture
    from fabrictui.backends.real.ssh import SshPool, SshTarget
    from tests._sshd import ShellServer

    bare = tmp_path / "bin"
    bare.mkdir()
    for program in ("sh", "kill", "pgrep"):
        found = shutil.which(program)
        assert found is not None
        (bare / program).symlink_to(found)

    class OpenStdinServer(ShellServer):
        """As sshd runs a command: its stdin is the channel, open until the client closes
        it (ShellServer's /dev/null would make the capture wrapper stop at once)."""

        async def _handle(self, process: Any) -> None:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", process.command or "", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env=self.env, start_new_session=True,
            )  # fmt: skip
            assert proc.stdout is not None and proc.stderr is not None
            # stdin stays open (communicate() would close it) until the command ends
            out, err = await asyncio.gather(proc.stdout.read(), proc.stderr.read())
            await proc.wait()
            process.stdout.write(out)
            process.stderr.write(err)
            process.exit(proc.returncode or 0)

    server = OpenStdinServer(tmp_path, env={"PATH": str(bare)})
    await server.start()
    known = tmp_path / "known_hosts"
    known.write_text(
        f"[127.0.0.1]:{server.port} {server.host_key.export_public_key().decode().strip()}\n"
    )
    target = SshTarget(
        "k8s-node-l2-1", "127.0.0.1", server.port, user="root",
        identity_files=(str(server.client_key_path),), known_hosts=(str(known),),
    )  # fmt: skip
    pool = SshPool([target], backoff_initial=0.05, backoff_max=0.2)
    try:
        capture = await open_ssh_capture(pool, "k8s-node-l2-1", "eth0", "udp", sudo=False)
        with pytest.raises(ToolMissing, match=r"^k8s-node-l2-1: no tcpdump$"):
            async for _ in capture.chunks():
                pass
        await capture.close()

        class OneNode:  # the piece of a backend ping_capturing uses
            async def open_capture(self, node: str, interface: str, bpf: str):
                return await open_ssh_capture(pool, node, interface, bpf, sudo=False)

            async def ping(self, pod: KubePod, target: str, **kwargs: Any) -> PingResult:
                return PingResult(pod.key, target, 1, 1, 1.0, 1.0, 1.0, 62)

        result, frames, problem, _ = await ping_capturing(
            OneNode(),
            "k8s-node-l2-1",
            NGINX,
            "10.64.2.3",
            1,
            2.0,
            "udp",
            4789,  # type: ignore[arg-type]
        )
        assert result.ok and frames == []
        assert problem == "k8s-node-l2-1: no tcpdump"
    finally:
        await pool.close()
        await server.stop()


def test_the_transit_table_says_which_times_are_a_leaf_ports() -> None:
    from fabrictui.capture.transit import TransitSnapshot
    from fabrictui.render.common import Palette
    from fabrictui.render.transit import transit_lines

    points = {"k8s-node-l2-1": "leaf2 swp1 facing k8s-node-l2-1"}
    palette = Palette.from_variables({})
    lines = [t.plain for t in transit_lines(TransitSnapshot(), {}, palette, points)]
    assert (
        "k8s-node-l2-1: times measured at leaf2 swp1 facing k8s-node-l2-1 (no tcpdump on the node)"
    ) in lines
