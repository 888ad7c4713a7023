"""The application checks' tests (path MTU, network policy, Services, cluster DNS) run on the
session's shared rehearsal lab (tests/_shared_lab.py): Calico deployed and nginx at 4 replicas
on 4 distinct workers. Each test clears what it injects and checks the lab healthy again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from tests._require import require


@pytest.fixture(scope="package")
def lab_dir(shared_lab) -> Path:
    require("iptables-save", "iptables is not installed (scripts/test installs it)")
    require("dnsmasq", "dnsmasq is not installed (scripts/test installs dnsmasq-base)")
    return shared_lab.take()


@pytest.fixture(scope="package")
def core(lab_dir: Path) -> Iterator[client.CoreV1Api]:
    """The Kubernetes API of the shared lab, as the kubernetes client reads it."""
    api = config.new_client_from_config(config_file=str(lab_dir / "kubeconfig"))
    yield client.CoreV1Api(api)
    api.close()
