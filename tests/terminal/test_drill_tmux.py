"""Drill down as a user does it, in a real terminal (tmux, 160x48): the demo lab with
calico-node failing on k8s-node-l1-1; filter the pods to it, Enter for its detail, `1` for
its node, `esc`, `l` for its logs, `esc` twice back to the panes, `q`."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tests._paths import ROOT
from tests._require import require
from tests._tui_exit import fabrictui, terminal, wait

APP = fabrictui("--demo", "ready", "--demo-fault", "stop-calico-node:k8s-node-l1-1", "--no-record")


def test_detail_node_and_logs_by_keys_alone(tmp_path: Path, monkeypatch) -> None:
    require(shutil.which("tmux"), "tmux is not installed")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    with terminal(tmp_path, "drill") as term:
        pid = term.start(APP)
        # one key at a time, each seen before the next (a burst races the filter box's focus)
        wait(lambda: "3 Kubernetes" in term.screen(), 30, "the Kubernetes pane")
        term.keys("3")
        time.sleep(0.3)
        term.keys("z")  # zoomed: whether the pod's row fits no longer depends on the
        # Services rows above it having been read yet
        wait(lambda: "calico-node-hwkkx" in term.screen(), 30, "the pods drawn")
        time.sleep(0.3)
        term.keys("/")
        wait(lambda: "filter 3 Kubernetes" in term.screen(), 5, "the filter box")
        term.keys("-l", "hwkkx")
        wait(lambda: "calico-node-mm4lw" not in term.screen(), 5, "the pods filtered")
        for key in ("Enter", "Tab", "Tab"):  # keep the filter; node table, services, pods
            term.keys(key)
            time.sleep(0.3)
        term.keys("Enter")  # the one row left
        wait(lambda: "Probe failures" in term.screen(), 15, "the pod's detail")
        screen = term.screen()
        assert screen.splitlines()[0].strip() == "pod kube-system/calico-node-hwkkx  (API)"
        assert "felix is not ready" in screen and "[1] node k8s-node-l1-1" in screen
        term.keys("1")
        wait(lambda: "Tunnel address:" in term.screen(), 15, "the node's detail")
        term.keys("Escape")
        wait(lambda: "Probe failures" in term.screen(), 5, "back on the pod")
        term.keys("l")
        wait(lambda: "Claimed block" in term.screen(), 15, "the pod's logs")
        assert (
            term.screen().lstrip().startswith("logs kube-system/calico-node-hwkkx -c calico-node")
        )
        term.keys("Escape")
        wait(lambda: "Probe failures" in term.screen(), 5, "back on the detail")
        term.keys("Escape")
        wait(lambda: "3 Kubernetes" in term.screen(), 5, "back on the panes")
        term.keys("q")
        wait(lambda: not os.path.exists(f"/proc/{pid}"), 10, "the app ended")
