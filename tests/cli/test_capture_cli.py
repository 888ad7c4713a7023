"""`fabrictui capture`: files, stdin, errors, --count/--write, and --node against a fake lab."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fabrictui.backends.base import BackendError, CaptureStream, LabBackend
from fabrictui.capture.pcap import decode_pcap_bytes
from fabrictui.capture.synth import (
    build_pcap,
    build_vxlan_icmp_frame,
    ethernet_header,
    pcap_global_header,
    pcap_record,
    seed_ping_exchange,
)
from fabrictui.cli import main
from fabrictui.model import KubeNode, KubePod, LabInfo
from tests._bench import documented_keys
from tests._paths import ROOT

SEED = build_pcap(seed_ping_exchange(count=2))
FIRST_LINE = (
    "08:57:12.688881 10.0.102.101 > 10.0.101.102 vni 4096  "
    "10.68.86.129 > 10.65.76.193 ICMP echo request id 592 seq 1"
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", "capture", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    path = tmp_path / "seed.pcap"
    path.write_bytes(SEED)
    return path


def test_read_prints_one_line_per_frame(seed_file: Path) -> None:
    result = run_cli("--read", str(seed_file))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and lines[0] == FIRST_LINE
    assert "echo reply id 592 seq 2" in lines[3]
    assert result.stderr == ""


def test_read_json_matches_the_decoder(seed_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "-r", str(seed_file), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    frames = decode_pcap_bytes(SEED)
    assert len(rows) == len(frames) == 4
    for row, frame in zip(rows, frames, strict=True):
        assert row == frame._asdict() | {"time": frame.time}
    assert rows[1]["icmp_type"] == 0 and rows[1]["vni"] == 4096 and rows[1]["length"] == 148


def test_stdin_dash() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", "capture", "-r", "-"],
        input=SEED,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.decode().splitlines()[0] == FIRST_LINE


def test_non_vxlan_frames_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arp = ethernet_header("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806) + bytes(28)
    path = tmp_path / "mixed.pcap"
    path.write_bytes(SEED[:24] + pcap_record(1573462632.0, arp) + SEED[24:])
    assert main(["capture", "-r", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "08:57:12.000000 not VXLAN: ARP"
    assert lines[1] == FIRST_LINE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (SEED[:-10], "mid-record"),
        (b"this is not a pcap file at all, just text\n" * 3, "not a pcap stream"),
        (b"", "empty stream"),
        (pcap_global_header(linktype=147), "unsupported pcap link type 147"),
        (SEED + b"\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\x7f\x3c\x00\x00\x00", "claims"),
    ],
)
def test_broken_files_exit_2_with_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    result = run_cli("--read", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr and str(path) in result.stderr
    if content.startswith(SEED[:100]):
        # the frames before the break are still printed
        assert result.stdout.splitlines()[0] == FIRST_LINE


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    result = run_cli("--read", str(tmp_path / "nope.pcap"))
    assert result.returncode == 2 and "No such file" in result.stderr
    assert "Traceback" not in result.stderr
    assert main(["capture"]) == 2
    assert main(["capture", "-r", "x", "--node", "n"]) == 2
    assert main(["capture", "-r", "x", "--count", "0"]) == 2
    result = run_cli("--read", str(tmp_path), "--json")  # a directory
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_count_and_write(seed_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out.pcap"
    assert main(["capture", "-r", str(seed_file), "-c", "3", "-w", str(out), "--summary"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3
    assert captured.err.startswith("3 frames: 3 VXLAN, 0 other")
    assert out.read_bytes() == SEED[: 24 + 3 * 164]
    assert main(["capture", "-w", str(tmp_path / "no" / "dir.pcap"), "-r", str(seed_file)]) == 2


def test_closed_stdout_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "big.pcap"
    path.write_bytes(build_pcap(seed_ping_exchange(count=20000)))
    proc = subprocess.run(
        f"{sys.executable} -m fabrictui.cli capture -r {path} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.strip() == FIRST_LINE
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr


# -- live capture through a lab backend --------------------------------------------------


class FakeStream(CaptureStream):
    def __init__(self, data: bytes, piece: int) -> None:
        self.node, self.interface = "k8s-node-l2-1", "eth0"
        self.data, self.piece = data, piece
        self.closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        for i in range(0, len(self.data), self.piece):
            if self.closed:
                return
            yield self.data[i : i + self.piece]

    async def close(self) -> None:
        self.closed = True


class FakeLab(LabBackend):
    """Only what `capture --node` uses; everything else is unreachable on purpose."""

    def __init__(self, data: bytes, fail: str = "") -> None:
        self.data, self.fail = data, fail
        self.streams: list[FakeStream] = []
        self.opened: list[tuple[str, str, str]] = []
        self.started = self.closed = False

    def info(self) -> LabInfo:
        return LabInfo(name="fake", kind="demo")

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def open_capture(
        self, node: str, interface: str = "eth0", bpf: str = "udp port 4789"
    ) -> CaptureStream:
        if self.fail:
            raise BackendError(self.fail)
        self.opened.append((node, interface, bpf))
        stream = FakeStream(self.data, 37)
        self.streams.append(stream)
        return stream

    async def list_nodes(self) -> list[KubeNode]:
        return [
            KubeNode("k8s-node-l2-1", True, (), 0.0, "v1.15.2", "10.0.102.101"),
            KubeNode("k8s-node-l1-2", True, (), 0.0, "v1.15.2", "10.0.101.102"),
        ]

    async def list_pods(self, namespace: str | None = None) -> list[KubePod]:
        return [
            KubePod("space1", "nginx-deployment-55457b9d87-z9pl9", 1, 1, "Running", 0, 0.0,
                    "10.68.86.129", "k8s-node-l2-1"),
        ]  # fmt: skip

    async def list_hosts(self):  # type: ignore[no-untyped-def]
        raise BackendError("unused")

    async def bgp_summary(self, switch: str):  # type: ignore[no-untyped-def]
        raise BackendError("unused")

    def watch_nodes(self):  # type: ignore[no-untyped-def]
        raise BackendError("unused")

    def watch_pods(self):  # type: ignore[no-untyped-def]
        raise BackendError("unused")

    async def apply_calico(self, pool_cidr: str = "10.64.0.0/12") -> list[str]:
        raise BackendError("unused")

    async def ensure_workload(self, workload):  # type: ignore[no-untyped-def]
        raise BackendError("unused")

    async def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        raise BackendError("unused")

    async def ping(self, pod, target_ip, count=3, timeout=10.0):  # type: ignore[no-untyped-def]
        raise BackendError("unused")


@pytest.fixture
def fake_lab(monkeypatch: pytest.MonkeyPatch) -> list[FakeLab]:
    labs: list[FakeLab] = []

    def factory(data: bytes = SEED, fail: str = "") -> FakeLab:
        lab = FakeLab(data, fail)
        labs.append(lab)
        return lab

    monkeypatch.setattr("fabrictui.backends.select.open_backend", lambda args: labs[-1])
    labs.append(factory())
    return labs


def test_node_capture_streams_through_the_backend(
    fake_lab: list[FakeLab], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "live.pcap"
    code = main(["capture", "--node", "k8s-node-l2-1", "--count", "3", "--write", str(out)])
    assert code == 0
    lab = fake_lab[-1]
    assert lab.started and lab.closed
    # the default filter: pod traffic in either Calico mode, from the lab's pool and port
    bpf = "udp port 4789 or (src net 10.64.0.0/12 and dst net 10.64.0.0/12)"
    assert lab.opened == [("k8s-node-l2-1", "eth0", bpf)]
    assert lab.streams[0].closed
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0] == (
        "08:57:12.688881 k8s-node-l2-1(10.0.102.101) > k8s-node-l1-2(10.0.101.102) vni 4096  "
        "nginx-…-z9pl9(10.68.86.129) > 10.65.76.193 ICMP echo request id 592 seq 1"
    )
    frames = decode_pcap_bytes(out.read_bytes(), node="k8s-node-l2-1")
    assert [f._replace(node="") for f in frames] == decode_pcap_bytes(SEED)[:3]
    # without --write the lines come straight from the records: the same, names included
    fake_lab.append(FakeLab(SEED))
    assert main(["capture", "--node", "k8s-node-l2-1", "--count", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == lines


def test_node_capture_json_fills_node(
    fake_lab: list[FakeLab], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["capture", "--node", "k8s-node-l2-1", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 4 and {r["node"] for r in rows} == {"k8s-node-l2-1"}


def test_node_capture_errors_exit_2(
    fake_lab: list[FakeLab], capsys: pytest.CaptureFixture[str]
) -> None:
    fake_lab.append(FakeLab(SEED, fail="k8s-node-l2-1: tcpdump not installed"))
    assert main(["capture", "--node", "k8s-node-l2-1"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "fabrictui capture: lab: fake [demo]",  # which lab, beside the frames
        "fabrictui capture: k8s-node-l2-1: tcpdump not installed",
    ]
    assert fake_lab[-1].closed
    fake_lab.append(FakeLab(SEED[:-5]))  # the source stops mid-record on its own
    assert main(["capture", "--node", "k8s-node-l2-1"]) == 2
    captured = capsys.readouterr()
    assert "mid-record" in captured.err and len(captured.out.splitlines()) == 3


# -- two ways to the same lines, and the benchmark ---------------------------------------


def test_straight_from_records_and_from_frames_print_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain --read prints straight from the records; --summary and --write need the
    frames and print them field by field. The lines are the same either way."""
    arp = ethernet_header("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806) + bytes(28)
    big = build_pcap(seed_ping_exchange(count=300))
    path = tmp_path / "big.pcap"
    path.write_bytes(big[:24] + pcap_record(1573462632.0, arp) + big[24:])
    for extra in ([], ["--json"], ["--local-time"]):
        assert main(["capture", "-r", str(path), *extra]) == 0
        straight = capsys.readouterr().out
        assert main(["capture", "-r", str(path), "--summary", *extra]) == 0
        assert capsys.readouterr().out == straight
        assert main(["capture", "-r", str(path), "-w", str(tmp_path / "o.pcap"), *extra]) == 0
        assert capsys.readouterr().out == straight
        assert len(straight.splitlines()) == 601
        assert main(["capture", "-r", str(path), "-c", "5", *extra]) == 0
        assert capsys.readouterr().out.splitlines() == straight.splitlines()[:5]


def test_capture_cli_benchmark_smoke() -> None:
    """benchmarks/capture_cli.py --smoke (--busy-core too) runs, checks every command
    printed every frame, and leaves no spinning process behind. Not a speed test."""
    root = ROOT
    for extra in ([], ["--busy-core"]):
        proc = subprocess.run(
            [sys.executable, str(root / "benchmarks" / "capture_cli.py"), "--smoke", "--json",
             *extra],
            cwd=root, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        report = json.loads(proc.stdout)
        assert sorted(report) == documented_keys()["capture_cli.py"], "see benchmarks/README.md"
        assert report["frames"] == 2000 and report["busy_core"] == bool(extra)
        assert report["decoder_alone_frames_per_s"] > 0
        for name in ("fabrictui text", "fabrictui --json"):
            assert report["results"][name]["frames_per_s"] > 0
        assert ("tcpdump -nne -r" in report["results"]) != ("tcpdump" in report["missing"])
        assert set(report["ratio_to_tcpdump"]) <= {"fabrictui text", "fabrictui --json"}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            assert b"fabrictui benchmark: one busy core" not in cmdline, f"left: {entry.name}"


def test_node_capture_decodes_the_labs_own_vxlan_port(
    fake_lab: list[FakeLab], capsys: pytest.CaptureFixture[str]
) -> None:
    """A lab on Linux's old VXLAN port 8472: the filter and the decoder both take it, so
    its overlay prints as VXLAN, not as plain UDP between nodes."""
    frame = build_vxlan_icmp_frame(
        outer_src_mac="08:00:27:53:73:c7", outer_dst_mac="08:00:27:91:d4:66",
        outer_src="10.0.102.101", outer_dst="10.0.101.102", udp_src=41553, udp_dst=8472,
        vni=4096, inner_src_mac="66:92:0a:fb:a9:be", inner_dst_mac="66:81:2e:61:22:8a",
        inner_src="10.68.86.129", inner_dst="10.65.76.193", icmp_type=8, icmp_id=592,
        icmp_seq=1,
    )  # fmt: skip

    class Port8472(FakeLab):
        def info(self) -> LabInfo:
            return LabInfo(name="fake", kind="demo", vxlan_port=8472)

    fake_lab.append(Port8472(build_pcap([(1.0, frame)])))
    assert main(["capture", "--node", "k8s-node-l2-1", "--count", "1"]) == 0
    assert fake_lab[-1].opened[0][2].startswith("udp port 8472 or ")
    line = capsys.readouterr().out.strip()
    assert " vni 4096  nginx-…-z9pl9(10.68.86.129) > 10.65.76.193 ICMP echo request" in line
