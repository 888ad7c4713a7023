"""`fabrictui trace --to SERVICE` on the demo lab, as typed: the Service's steps in the
text and the JSON (`service`, `endpoint`), the pod trace's keys kept, and the exit codes
of trace (0 delivered, 1 a broken step, 2 bad input)."""

from __future__ import annotations

import json

import pytest

from fabrictui import cli
from tests.demo_helpers import fast_demo_only

SRC = "z9pl9"
KEYS = {"delivered", "hops", "lost_at", "cause", "evidence", "state", "branch", "ping"}


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


def test_service_json_keeps_the_pod_keys_and_adds_the_steps(capsys) -> None:
    argv = ["trace", "--demo", "ready", "--from", SRC, "--to", "nginx-service", "--json", "-c", "1"]
    code = cli.main(argv)
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out["cause"]
    assert set(out) >= KEYS and out["delivered"] is True and out["hops"]
    assert [s["state"] for s in out["service"]] == ["ok"] * 5
    assert out["endpoint"].startswith("space1/nginx-deployment-")
    assert out["target"].startswith("svc/space1/nginx-service (")


def test_broken_steps_exit_1_and_say_which(capsys) -> None:
    fault = "service-no-endpoints:space1/nginx-service"
    code = cli.main(["trace", "--demo", "ready", "--demo-fault", fault, "--from", SRC,
                     "--to", "svc/space1/nginx-service"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 1
    assert " XX endpoints " in text and "closest: 4 pods carry app=nginx" in text
    assert "refused by kube-proxy: no endpoints" in text
    assert text.rstrip().endswith(
        "NOT DELIVERED: no endpoints: the selector app=nginx-typo matches no pod in space1"
    )
    code = cli.main(["trace", "--demo", "ready", "--demo-fault", "drop-service-rule:k8s-node-l2-1",
                     "--from", SRC, "--to", "space1/nginx-service", "-q"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 1 and " XX kube-proxy rule " in text
    assert "no kube-proxy rule for " in text and "on k8s-node-l2-1 (the sending node)" in text


@pytest.mark.parametrize(
    "target", ["space1/nope", "svc/nginx-service:http", "svc/a/b/c", "10.80.0.1:99999"]
)
def test_bad_service_input_exit_2(capsys, target) -> None:
    assert cli.main(["trace", "--demo", "ready", "--from", SRC, "--to", target]) == 2
    err = capsys.readouterr().err
    assert "\nfabrictui trace: " in err and "Traceback" not in err
