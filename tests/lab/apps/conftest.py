"""One rehearsal lab for the application checks' tests (path MTU, network policy, Services):
Calico deployed and nginx at 4 replicas on 4 distinct workers. Building one costs about 40 s
of the suite's budget; each test clears what it injects and checks the lab healthy again, so
they share it. It goes down after the last of them (a package fixture), and `lab down` must
have taken everything with it: no namespace of the lab is left (the nat and filter rules,
the pods' listeners, sandboxes and DNS servers live in them), nor a pod's resolv.conf."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._lab_faults import namespace, prepare_workload
from tests._rehearsal_tui import rehearsal_lab
from tests._require import require


@pytest.fixture(scope="package")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require("iptables-save", "iptables is not installed (scripts/test installs it)")
    require("dnsmasq", "dnsmasq is not installed (scripts/test installs dnsmasq-base)")
    with rehearsal_lab(tmp_path_factory.mktemp("apps") / "lab") as directory:
        asyncio.run(prepare_workload(directory))
        prefix = namespace(directory, "")
        yield directory
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in left, left
    # nor a pod's resolv.conf folder (/etc/netns/NAME, where `ip netns exec` finds it)
    etc = Path("/etc/netns")
    assert not (etc.is_dir() and [p.name for p in etc.iterdir() if p.name.startswith(prefix)])
