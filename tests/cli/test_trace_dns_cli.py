"""`fabrictui trace --to NAME` with a DNS name on the demo lab, as typed: the name resolved
from the source pod first (the `dns` step in the JSON's `dns` and `steps`, the pod trace's
and the Service trace's keys kept), `--demo-fault dns-down` named at that step with exit 1,
a bad name exit 2, and `--help` saying how a DNS name is told from a pod or Service."""

from __future__ import annotations

import json

import pytest

from fabrictui import cli
from tests.demo_helpers import fast_demo_only

SRC = "z9pl9"
KEYS = {"delivered", "hops", "lost_at", "cause", "evidence", "state", "service", "endpoint"}


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


def test_a_name_is_resolved_then_traced(capsys) -> None:
    argv = ["trace", "--demo", "ready", "--from", SRC, "--to", "nginx-service.space1", "--json",
            "-c", "1"]  # fmt: skip
    code = cli.main(argv)
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out["cause"]
    assert set(out) >= KEYS | {"dns", "steps"} and out["delivered"] and out["hops"]
    assert out["dns"]["state"] == "ok" and out["dns"]["answered_as"] == (
        "nginx-service.space1.svc.cluster.local"
    )
    assert out["target"].startswith(f"svc/space1/nginx-service ({out['dns']['addresses'][0]}:80)")
    assert [s["step"] for s in out["steps"]][:2] == ["dns", "service"]
    code = cli.main(["trace", "--demo", "ready", "--from", SRC, "--to", "dns/nginx-service",
                     "-c", "1", "-q"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "-> dns/nginx-service -> svc/space1/nginx-service (" in text
    assert " ok dns              from space1/" in text
    assert "\nDELIVERED" in text and "NOT DELIVERED" not in text


def test_dns_down_is_named_at_the_dns_step(capsys) -> None:
    code = cli.main(["trace", "--demo", "ready", "--demo-fault", "dns-down", "--from", SRC,
                     "--to", "nginx-service.space1.svc.cluster.local"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 1
    assert " XX dns " in text and "timed out in 3000.0 ms (getent via pod)" in text
    assert "kube-system/kube-dns: ClusterIP 10.80.0.10, endpoints 0/0" in text
    assert text.splitlines()[-1].startswith("NOT DELIVERED: CoreDNS pods not running")
    assert "through svc/" not in text  # stopped at the lookup


@pytest.mark.parametrize("target", ["dns/a..b", "dns/10.80.0.10", "nginx-service.space1:http"])
def test_bad_names_exit_2(capsys, target) -> None:
    assert cli.main(["trace", "--demo", "ready", "--from", SRC, "--to", target]) == 2
    err = capsys.readouterr().err
    assert "\nfabrictui trace: " in err and "Traceback" not in err


def test_help_says_how_a_dns_name_is_written(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["trace", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "[dns/]NAME[:PORT]" in text and "through the cluster DNS" in text
