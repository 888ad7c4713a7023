import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from fabrictui import audit
from fabrictui.cli import main
from fabrictui.session.audited import ActionSpec, run_audited

SCALE = ActionSpec("scale", "Scale", "space1/nginx-deployment", ("PATCH .../scale replicas=4",))


def run(spec: ActionSpec, work) -> object:
    return asyncio.run(run_audited(spec, "demo", work))


def test_start_is_on_disk_before_the_action_and_end_after():
    async def work() -> int:
        rows = audit.read_audit()
        assert [r.result for r in rows] == ["incomplete"]
        return 0

    run(SCALE, work)
    rows = audit.read_audit()
    assert rows[0].result == "ok" and rows[0].calls == ("PATCH .../scale replicas=4",)


def test_failure_and_cancel_are_recorded():
    async def fails() -> None:
        raise RuntimeError("API server went away")

    async def cancelled() -> None:
        raise asyncio.CancelledError()

    with pytest.raises(RuntimeError):
        run(ActionSpec("deploy-calico", "Deploy"), fails)
    with pytest.raises(asyncio.CancelledError):
        run(ActionSpec("ping", "Ping"), cancelled)
    results = [(r.action, r.result, r.summary) for r in audit.read_audit()]
    assert results == [
        ("deploy-calico", "failed", "API server went away"),
        ("ping", "cancelled", "CancelledError"),
    ]


def test_secrets_are_masked():
    audit.start("apply", "lab", "token=abc123secret", ["curl -H 'Authorization: Bearer xyz789'"])
    text = audit.audit_path().read_text()
    assert "abc123secret" not in text and "xyz789" not in text


def test_audit_survives_sigkill_mid_action(tmp_path):
    code = (
        "import asyncio\nfrom fabrictui.session.audited import ActionSpec, run_audited\n"
        "async def work():\n    print('started', flush=True)\n    await asyncio.sleep(60)\n"
        "spec = ActionSpec('deploy-calico', 'Deploy', 'cluster', ('apply calico.yaml',))\n"
        "asyncio.run(run_audited(spec, 'demo', work))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=os.environ)
    try:
        assert proc.stdout.readline().strip() == b"started"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    rows = audit.read_audit()
    assert [(r.action, r.result) for r in rows] == [("deploy-calico", "incomplete")]


def test_audit_command_lists_actions(capsys):
    async def work() -> int:
        return 0

    run(ActionSpec("scale", "Scale", "space1/nginx-deployment", ("scale to 4",)), work)
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "scale" in out and "ok" in out and "scale to 4" in out
    assert main(["audit", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["action"] == "scale" and record["result"] == "ok"
    assert time.time() - record["started"] < 60


def test_headless_commands_are_audited(capsys):
    assert main(["scale", "--demo", "ready", "--replicas", "4", "--yes"]) in (0, 1)
    assert main(["verify", "--demo", "fresh", "--json"]) == 1
    rows = audit.read_audit()
    assert [(r.action, r.result) for r in rows] == [("scale", "ok"), ("verify", "failed")]
    assert rows[0].target == "space1/nginx-deployment replicas=4"
    assert rows[0].calls and rows[0].lab.startswith("demo")


def test_calls_made_by_the_action_are_recorded_with_it(capsys):
    # a lab whose nodes are Ready: on a fresh one scale stops before calling anything
    assert main(["scale", "--demo", "ready", "--replicas", "2", "--yes", "--timeout", "5"]) in (
        0,
        1,
    )
    rows = audit.read_audit()
    assert rows[-1].action == "scale"
    assert "demo: scale space1/nginx-deployment replicas=2" in rows[-1].executed
    assert main(["audit"]) == 0
    assert "ran: demo: scale space1/nginx-deployment replicas=2" in capsys.readouterr().out


def test_calls_outside_an_action_are_not_recorded():
    audit.record_call("ssh leaf1: vtysh -c 'show bgp summary json'")
    assert not audit.audit_path().exists()


def test_kubeconfig_secrets_are_masked_in_the_audit_log_too():
    """One scrubber: a token read from a kubeconfig is masked wherever it shows,
    even where it is not shaped like a credential."""
    from fabrictui.backends.real.kube.config import Secrets

    Secrets.from_config({"users": [{"user": {"token": "kubeconfig-token-0123"}}]})
    audit.start("apply", "lab", "cluster", ["GET /api?x=kubeconfig-token-0123"])
    assert "kubeconfig-token-0123" not in audit.audit_path().read_text()
