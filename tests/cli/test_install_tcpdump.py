"""The seed's own fix, one command away: `fabrictui install-tcpdump --node NODE` picks
the node's package manager from its os-release, and like every change asks first, is
audited, and is refused in read-only mode."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fabrictui import audit
from fabrictui.backends.base import BackendError
from fabrictui.backends.real.probes.capture_point import install_argv

CENTOS_7 = """NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
"""
UBUNTU_22 = """PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
ID=ubuntu
ID_LIKE=debian
"""


def test_the_package_manager_comes_from_os_release() -> None:
    assert install_argv(CENTOS_7, "tcpdump") == ["yum", "install", "-y", "tcpdump"]
    assert install_argv(UBUNTU_22, "tcpdump") == ["apt-get", "install", "-y", "tcpdump"]
    with pytest.raises(BackendError, match="no known package manager for plan9"):
        install_argv("ID=plan9\n", "tcpdump")


def fabrictui(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False,
    )  # fmt: skip


def test_refused_read_only_and_audited(isolated_user_dirs) -> None:
    done = fabrictui("install-tcpdump", "--demo", "ready", "--node", "k8s-node-l2-1",
                     "--read-only", "--yes")  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refused: fabrictui runs read-only" in done.stderr
    rows = audit.read_audit()
    assert [(r.action, r.result) for r in rows] == [("install-tcpdump", "refused")]


def test_asks_first(isolated_user_dirs) -> None:
    done = fabrictui("install-tcpdump", "--demo", "ready", "--node", "k8s-node-l2-1")
    assert done.returncode == 2
    assert "refusing to change the lab without --yes" in done.stderr


def test_a_lab_without_ssh_nodes_has_nothing_to_install(isolated_user_dirs) -> None:
    done = fabrictui("install-tcpdump", "--demo", "ready", "--node", "k8s-node-l2-1", "--yes")
    assert done.returncode == 2
    assert "k8s-node-l2-1: not a node this lab reaches over SSH" in done.stderr
    assert "Traceback" not in done.stderr
