"""BGP mode on real labs without a lab (issue 11): the switch and node commands the real
backend sends, in the switch's own language, and how it reads their answers. The
rehearsal lab runs the same paths for real (tests/lab/test_bgp_rehearsal.py)."""

from __future__ import annotations

import pytest

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.bgp import BgpModeReal, birdc_argv, vtysh_config_argv
from fabrictui.backends.real.kube.calico_bgp import mode_of_pools
from fabrictui.backends.real.ssh.process import CommandResult
from fabrictui.backends.real.switches import Platform
from tests._paths import TEST_DATA

DATA = TEST_DATA


class FakePool:
    def __init__(self, answers: dict[tuple[str, ...], CommandResult]) -> None:
        self.answers = answers
        self.targets = {"leaf1": object(), "k8s-node-l1-1": object()}
        self.sent: list[tuple[str, list[str], bool]] = []

    async def run(self, host, argv, timeout=None, sudo=False):
        self.sent.append((host, list(argv), sudo))
        return self.answers.get(tuple(argv), CommandResult(0, "", ""))


class FakeSwitches:
    def __init__(self, name: str) -> None:
        self.value = Platform(name, True, ())

    def platform(self, switch):
        return self.value

    async def detect(self, switch):
        return self.value


def backend(kind: str, platform: str, answers=None) -> BgpModeReal:
    lab = BgpModeReal()
    lab.kind = kind
    lab.pool = FakePool(answers or {})  # type: ignore[assignment]
    lab.switches = FakeSwitches(platform)  # type: ignore[assignment]
    return lab


def test_mode_from_the_pools() -> None:
    assert mode_of_pools([]) is None
    assert mode_of_pools([{"spec": {"vxlanMode": "Always", "ipipMode": "Never"}}]) == "vxlan"
    assert mode_of_pools([{"spec": {"vxlanMode": "CrossSubnet"}}]) == "vxlan"
    assert mode_of_pools([{"spec": {"vxlanMode": "Never", "ipipMode": "Never"}}]) == "bgp"
    assert mode_of_pools([{"spec": {"ipipMode": "Always"}}]) == "ipip"


async def test_nclu_lines_run_one_by_one_then_commit() -> None:
    lab = backend("vagrant", "nclu")
    said = await lab.configure_switch(
        "leaf1", ["net add bgp listen range 10.0.101.0/24 peer-group calico", "net commit"]
    )
    assert [argv for _, argv, _ in lab.pool.sent] == [  # type: ignore[attr-defined]
        ["net", "add", "bgp", "listen", "range", "10.0.101.0/24", "peer-group", "calico"],
        ["net", "commit"],
    ]
    assert said[-1] == "leaf1: net commit: ok"
    assert await lab.switch_dialect("leaf1") == "nclu"


async def test_vtysh_lines_in_one_session_and_its_complaints_fail() -> None:
    lines = [
        "configure terminal",
        "router bgp 65101",
        " bgp listen range 10.0.101.0/24 peer-group calico",
        "end",
    ]
    argv = vtysh_config_argv(lines)
    assert argv[:3] == ["vtysh", "-c", "configure terminal"]
    assert "bgp listen range 10.0.101.0/24 peer-group calico" in argv
    lab = backend("inventory", "frr", {tuple(argv): CommandResult(0, "% Unknown command: x\n", "")})
    with pytest.raises(BackendError, match="leaf1: % Unknown command"):
        await lab.configure_switch("leaf1", lines)


async def test_routes_and_bird_are_parsed() -> None:
    routes = (DATA / "routes" / "frr-8.4-leaf1-show-ip-route.json").read_text()
    bird = (DATA / "bird" / "bird-1.6-calico-node-bgp-mode.txt").read_text()
    lab = backend(
        "rehearsal",
        "frr",
        {
            ("vtysh", "-c", "show ip route json"): CommandResult(0, routes, ""),
            tuple(birdc_argv()): CommandResult(0, bird, ""),
        },
    )
    table = await lab.switch_routes("leaf1")
    assert {r.prefix for r in table} >= {"10.0.102.0/24", "10.67.209.0/26"}
    (leaf,) = [p for p in await lab.node_bgp_status("k8s-node-l1-1") if p.proto == "BGP"]
    assert leaf.established and leaf.peer_address == "10.0.101.1"
    assert ("k8s-node-l1-1", birdc_argv(), True) in lab.pool.sent  # type: ignore[attr-defined]


async def test_bird_not_running_is_a_backend_error() -> None:
    no_bird = CommandResult(1, "", "Unable to connect to server control socket\n")
    lab = backend("rehearsal", "frr", {tuple(birdc_argv()): no_bird})
    with pytest.raises(BackendError, match="k8s-node-l1-1: Unable to connect"):
        await lab.node_bgp_status("k8s-node-l1-1")
