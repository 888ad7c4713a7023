"""Cluster DNS (issue 19): the resolver's outputs parsed (getent, dig, resolv.conf, recorded
from the rehearsal lab's pods or in the tools' documented shapes), the probe's order and
words, the check naming each broken step on a backend whose answers each test sets, and the
demo lab (healthy passes, `dns-down` named, cleared again)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from fabrictui.actions.progress import ignore
from fabrictui.actions.verify.diagnose import take_snapshot
from fabrictui.actions.verify.dns import NAME, check_dns, lookup_names
from fabrictui.actions.verify.run import verify
from fabrictui.backends.base import BackendError, DemoWorkload
from fabrictui.backends.real.kube.pod_exec import ExecOutput
from fabrictui.backends.real.probes import dns as real_dns
from fabrictui.constants import CLUSTER_DNS_IP, cluster_resolv_conf
from fabrictui.model import (
    DnsLookup,
    KubePod,
    KubeService,
    ServiceEndpoint,
    ServicePort,
    Verdict,
)
from fabrictui.parsers import ParseError
from fabrictui.parsers.dns import parse_dig, parse_getent_hosts, parse_resolv_conf
from tests._paths import TEST_DATA
from tests.demo_helpers import fast_backend

DATA = TEST_DATA / "dns"


def text(name: str) -> str:
    return (DATA / name).read_text()


# -- parsers ----------------------------------------------------------------------------------


def test_getent_as_the_lab_pods_print_it() -> None:
    (entry,) = parse_getent_hosts(text("getent-kubernetes-default.txt"))
    assert (entry.address, entry.name) == ("10.80.0.1", "kubernetes.default.svc.cluster.local")
    (entry,) = parse_getent_hosts(text("getent-nginx-service.txt"))
    assert entry.address == "10.80.0.11" and entry.aliases == ()
    two = parse_getent_hosts(text("getent-two-addresses-aliases.txt"))
    assert [e.address for e in two] == ["10.96.0.1", "10.96.0.2"]
    assert two[0].aliases == ("kubernetes.default",)
    assert parse_getent_hosts("") == ()  # not found: getent prints nothing


@pytest.mark.parametrize(
    "bad", ["10.80.0.1\n", "not-an-ip name\n", "10.80.0.1 a\x00\n", "1.2.3.4 x\n" * 10_001]
)
def test_getent_garbage_is_a_parse_error(bad: str) -> None:
    with pytest.raises(ParseError):
        parse_getent_hosts(bad)


def test_dig_answer_nxdomain_and_timeout() -> None:
    ok = parse_dig(text("dig-noerror.txt"))
    assert ok.status == "NOERROR" and ok.addresses == ("10.80.0.11",)
    assert ok.name == "nginx-service.space1.svc.cluster.local" and ok.query_ms == 1
    assert ok.server == CLUSTER_DNS_IP and not ok.timed_out
    nx = parse_dig(text("dig-nxdomain.txt"))
    assert nx.status == "NXDOMAIN" and nx.addresses == () and nx.query_ms == 2
    assert parse_dig(text("dig-timeout.txt")).timed_out
    with pytest.raises(ParseError):
        parse_dig("bash: dig: command not found\n")
    with pytest.raises(ParseError):
        parse_dig(text("dig-noerror.txt").replace("\tA\t10.80.0.11", "\tA\tten"))


def test_resolv_conf_and_the_names_libc_asks() -> None:
    pod = parse_resolv_conf(text("resolv-rehearsal-space1.txt"))
    assert pod == parse_resolv_conf(cluster_resolv_conf("space1"))  # the lab writes the kubelet's
    assert pod.nameservers == (CLUSTER_DNS_IP,) and pod.option("ndots") == "5"
    assert pod.search == ("space1.svc.cluster.local", "svc.cluster.local", "cluster.local")
    # fewer dots than ndots: the search list first, the name as it is last
    assert pod.candidates("kubernetes.default") == [
        "kubernetes.default.space1.svc.cluster.local",
        "kubernetes.default.svc.cluster.local",
        "kubernetes.default.cluster.local",
        "kubernetes.default",
    ]
    assert pod.candidates("a.b.") == ["a.b"]
    node = parse_resolv_conf(text("resolv-node-centos7.txt"))
    assert node.nameservers == ("192.168.121.1", "10.0.2.3") and node.search == ("lab.local",)
    assert node.option("rotate") == "" and node.option("ndots") is None
    assert node.candidates("a.b") == ["a.b", "a.b.lab.local"]  # ndots 1 by default
    for bad in ("nameserver\n", "nameserver dns.example\n", "search\n", "x\x00"):
        with pytest.raises(ParseError):
            parse_resolv_conf(bad)


# -- the real probe: its order, its words -------------------------------------------------------

POD = KubePod("space1", "web", 1, 1, "Running", 0, 0.0, "10.68.86.129", "n1", uid="u1",
              image="nginx:1.17")  # fmt: skip
MISSING = (
    "OCI runtime exec failed: exec failed: container_linux.go:345: starting container process "
    'caused "exec: \\"{p}\\": executable file not found in $PATH": unknown\r\n'
)


class FakeKube:
    def __init__(self, outputs: dict[str, ExecOutput]) -> None:
        self.outputs = outputs
        self.ran: list[list[str]] = []

    def _timeout(self) -> float:
        return 5.0

    async def _call(self, what: str, fn: Any, *, extra: float = 0.0) -> Any:
        return fn(None)


def exit_status(code: int) -> str:
    if code == 0:
        return '{"status": "Success"}'
    return (
        '{"status": "Failure", "details": {"causes": '
        f'[{{"reason": "ExitCode", "message": "{code}"}}]}}}}'
    )


@pytest.fixture
def pod_exec(monkeypatch: pytest.MonkeyPatch):
    """exec_in_pod answering per program: `outputs[argv0]` (a missing program otherwise)."""
    outputs: dict[str, ExecOutput] = {}

    def fake(api: Any, ns: str, name: str, command: list[str], timeout: float, **kw: Any):
        program = command[2] if command[0] == "timeout" else command[0]
        if program in outputs:
            return outputs[program]
        return ExecOutput(MISSING.format(p=command[0]), "", True, exit_status(126))

    monkeypatch.setattr(real_dns, "exec_in_pod", fake)
    return outputs


async def test_pod_getent_answer_nothing_found_and_timeout(pod_exec) -> None:
    kube = FakeKube({})
    pod_exec["getent"] = ExecOutput(text("getent-nginx-service.txt"), "", True, exit_status(0))
    found = await real_dns._from_pod(kube, POD, "nginx-service.space1.svc.cluster.local", 3.0)  # type: ignore[arg-type]
    assert found.verdict is Verdict.PASS and found.addresses == ("10.80.0.11",)
    assert (found.via, found.program) == ("pod", "getent")
    pod_exec["getent"] = ExecOutput("", "", True, exit_status(2))
    nothing = await real_dns._from_pod(kube, POD, "nope", 3.0)  # type: ignore[arg-type]
    assert nothing.verdict is Verdict.FAIL and nothing.error == real_dns.NO_ADDRESS
    pod_exec["getent"] = ExecOutput("", "", True, exit_status(124))
    late = await real_dns._from_pod(kube, POD, "nope", 3.0)  # type: ignore[arg-type]
    assert late.error == "timed out"


async def test_dig_where_the_image_has_no_getent(pod_exec) -> None:
    pod_exec["dig"] = ExecOutput(text("dig-nxdomain.txt"), "", True, exit_status(0))
    got = await real_dns._from_pod(FakeKube({}), POD, "nope", 3.0)  # type: ignore[arg-type]
    assert (got.error, got.program, got.elapsed_ms) == ("NXDOMAIN", "dig", 2.0)


async def test_no_program_and_no_node_is_not_probed_with_each_reason(pod_exec) -> None:
    class NoSsh:
        targets: dict[str, Any] = {}

    got = await real_dns.resolve_by_any_method(FakeKube({}), NoSsh(), POD, "x", 3.0, True)  # type: ignore[arg-type]
    assert got.verdict is Verdict.NOT_OBSERVED
    assert got.not_probed == (
        "no timeout in image nginx:1.17; no dig in image nginx:1.17; n1: no SSH endpoint; "
        "ephemeral containers: not allowed by settings"
    )


async def test_node_method_reads_getent_and_the_time_taken_on_the_node(monkeypatch) -> None:
    answers: list[tuple[str, str, bool]] = []

    async def run(pool: Any, node: str, argv: list[str], timeout: float, sudo: bool):
        assert argv[:2] == ["sh", "-c"] and argv[3:] == ["4242", "kubernetes.default", "3"]
        return answers.pop(0)

    async def pid(pool: Any, pod: KubePod, sudo: bool) -> int:
        return 4242

    monkeypatch.setattr(real_dns, "_run_ending_with_channel", run)
    monkeypatch.setattr(real_dns, "sandbox_pid", pid)
    monkeypatch.setattr(real_dns, "_SANDBOX_PIDS", {})

    class Pool:
        targets = {"n1": object()}

    done = "fabrictui-exit={} fabrictui-ns=2500000\n"
    answers.append((text("getent-kubernetes-default.txt") + done.format(0), "", True))
    got = await real_dns._from_node(Pool(), POD, "kubernetes.default", 3.0, True)  # type: ignore[arg-type]
    assert got.addresses == ("10.80.0.1",) and got.elapsed_ms == 2.5 and got.via == "node"
    assert got.answered_as == "kubernetes.default.svc.cluster.local"
    answers.append((done.format(124), "", True))
    got = await real_dns._from_node(Pool(), POD, "kubernetes.default", 3.0, True)  # type: ignore[arg-type]
    assert got.error == "timed out"
    failed = "nsenter: failed to execute getent: No such file or directory"
    answers.append((done.format(127), failed, True))
    with pytest.raises(BackendError, match="no getent in space1/web's sandbox"):
        await real_dns._from_node(Pool(), POD, "kubernetes.default", 3.0, True)  # type: ignore[arg-type]


# -- the check, step by step, on answers each test sets ----------------------------------------

WEB = DemoWorkload().service
NGINX_IP, API_IP = "10.80.0.11", "10.80.0.1"


def _pod(ns: str, name: str, ip: str, node: str, labels=(), status="Running", ready=1):
    return KubePod(ns, name, ready, 1, status, 0, 0.0, ip, node, labels=labels)


COREDNS = (
    _pod("kube-system", "coredns-a", "10.66.131.2", "n1", (("k8s-app", "kube-dns"),)),
    _pod("kube-system", "coredns-b", "10.73.174.130", "n2", (("k8s-app", "kube-dns"),)),
)
PODS = (
    _pod("space1", "web-1", "10.68.86.129", "n1"),
    _pod("space1", "web-2", "10.68.86.130", "n2"),
)


HTTP = ServicePort("", 80, "TCP", "80")


def _svc(ns: str, name: str, ip: str, endpoints=(), port: ServicePort = HTTP) -> KubeService:
    return KubeService(ns, name, "ClusterIP", ip, (port,), (("x", "y"),), endpoints)


DNS = _svc("kube-system", "kube-dns", CLUSTER_DNS_IP,
           tuple(ServiceEndpoint(p.ip or "", True, p.key, p.node) for p in COREDNS),
           ServicePort("dns", 53, "UDP", "53"))  # fmt: skip
NAT = f"""*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d {CLUSTER_DNS_IP}/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
COMMIT
"""  # noqa: E501


class Answers:
    def __init__(self) -> None:
        self.services = [DNS, _svc("space1", WEB, NGINX_IP), _svc("default", "kubernetes", API_IP)]
        self.answers = {
            lookup_names(DemoWorkload())[0]: (NGINX_IP,),
            "kubernetes.default": (API_IP,),
        }
        self.error = "timed out"
        self.resolv = cluster_resolv_conf("space1")
        self.nat = NAT
        self.unprobed = False
        self.replicas: int | None = 2

    async def list_services(self, namespace: str | None = None) -> list[KubeService]:
        return [s for s in self.services if namespace in (None, s.namespace)]

    async def resolve(self, pod: KubePod, name: str, timeout: float) -> DnsLookup:
        if self.unprobed:
            return DnsLookup(pod.key, name, not_probed="no getent; n1: ssh refused")
        found = self.answers.get(name)
        if found:
            return DnsLookup(pod.key, name, found, name, 1.5, via="pod")
        return DnsLookup(pod.key, name, elapsed_ms=3000.0, error=self.error, via="pod")

    async def pod_resolv_conf(self, pod: KubePod) -> str:
        return self.resolv

    async def read_state(self, host: str, read: str, arg: str = "") -> str:
        return self.nat

    async def deployment_replicas(self, namespace: str, name: str) -> int | None:
        return self.replicas


@dataclasses.dataclass
class Snap:
    pods: tuple[KubePod, ...]


async def run(answers: Answers, pods: tuple[KubePod, ...] = COREDNS + PODS):
    return await check_dns(answers, Snap(pods), DemoWorkload(), ignore)  # type: ignore[arg-type]


async def test_healthy_lookups_pass_with_answers_and_times() -> None:
    result = await run(Answers())
    assert result.passed and result.cause is None, result
    lines = "\n".join(result.evidence)
    assert (
        "nginx-service.space1.svc.cluster.local -> 10.80.0.11 in 1.5 ms (getent via pod)" in lines
    )
    assert "kubernetes.default -> 10.80.0.1 in 1.5 ms" in lines
    assert f"ClusterIP {CLUSTER_DNS_IP}, endpoints 2/2 ready" in lines


async def test_each_broken_step_is_named_in_order() -> None:
    a = Answers()
    a.answers = {}
    a.services = a.services[1:]
    assert (await run(a)).cause == "the DNS Service kube-system/kube-dns does not exist"

    a = Answers()
    a.answers, a.replicas = {}, 0
    cause = (await run(a, PODS)).cause
    assert cause == (
        "CoreDNS pods not running: no coredns pod in kube-system "
        "(deployment kube-system/coredns scaled to 0)"
    )
    crashing = tuple(dataclasses.replace(p, status="CrashLoopBackOff", ready_containers=0)
                     for p in COREDNS)  # fmt: skip
    assert (await run(a, crashing + PODS)).cause == (
        "CoreDNS pods not running or not ready: coredns-a CrashLoopBackOff 0/1, "
        "coredns-b CrashLoopBackOff 0/1"
    )

    a = Answers()
    a.answers = {}
    a.services[0] = dataclasses.replace(DNS, endpoints=())
    assert (await run(a)).cause == "the DNS Service kube-system/kube-dns has no endpoints"

    a = Answers()
    a.answers, a.resolv = {}, "nameserver 10.0.2.3\nsearch lab.local\n"
    assert (await run(a)).cause == (
        "space1/web-1's resolv.conf does not point at the DNS Service "
        "(nameserver 10.0.2.3; kube-dns is 10.80.0.10)"
    )

    a = Answers()
    a.answers, a.nat = {}, "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"
    result = await run(a)
    assert result.cause == "no kube-proxy rule for 10.80.0.10:53/udp on n1 (the sending node)"
    assert "n1: no KUBE-SERVICES rule for 10.80.0.10:53 in the nat table" in result.evidence

    a = Answers()
    a.answers = {}
    result = await run(a)
    assert (
        result.cause
        == "the DNS server did not answer nginx-service.space1.svc.cluster.local within 3 s"
    )

    a = Answers()
    a.answers, a.error = {"kubernetes.default": (API_IP,)}, real_dns.NO_ADDRESS
    a.services = [s for s in a.services if s.name != WEB]
    assert (await run(a)).cause == (
        "the server answered no address for nginx-service.space1.svc.cluster.local (no such "
        "Service) (NXDOMAIN or SERVFAIL: getent does not say which)"
    )
    a.error = "SERVFAIL"
    assert (await run(a)).cause.startswith("the server answered SERVFAIL for nginx-service")


async def test_a_stale_answer_fails_and_what_was_not_seen_is_not_observed() -> None:
    a = Answers()
    a.answers["kubernetes.default"] = ("10.80.0.99",)
    assert (await run(a)).cause == (
        "kubernetes.default answered 10.80.0.99, but Service default/kubernetes's ClusterIP "
        "is 10.80.0.1 (a stale record)"
    )
    a = Answers()
    a.unprobed = True
    result = await run(a)
    assert result.state is Verdict.NOT_OBSERVED and "ssh refused" in (result.cause or "")
    assert (await run(Answers(), COREDNS)).state is Verdict.NOT_OBSERVED  # no pod to ask from


# -- the demo lab ----------------------------------------------------------------------------------


@pytest.fixture
async def lab():
    backend = fast_backend("ready")
    await backend.start()
    yield backend
    await backend.close()


async def test_demo_lab_resolves_then_dns_down_is_named_then_cleared(lab) -> None:
    results = {r.name: r for r in await verify(lab, ignore)}
    assert results[NAME].passed, results[NAME]
    assert "dns-down" in {f.id for f in lab.faults()}
    await lab.set_fault("dns-down", True)
    await lab.advance(2.0)  # the coredns pods terminate
    result = await check_dns(lab, await take_snapshot(lab), DemoWorkload(), ignore)
    assert result.state is Verdict.FAIL
    assert result.cause == "CoreDNS pods not running: no coredns pod in kube-system"
    assert any("timed out" in line for line in result.evidence)
    await lab.set_fault("dns-down", False)
    await lab.advance(10.0)  # scheduled, pulled, running
    result = await check_dns(lab, await take_snapshot(lab), DemoWorkload(), ignore)
    assert result.passed, result
