"""The report lists the pod and node detail a recording read as they turned not ready
(issue 26), as the user types it: `fabrictui record --demo fresh` (no Calico yet: every node
NotReady, CoreDNS unschedulable), then `fabrictui report --md`."""

from __future__ import annotations

from tests._cli import run_fabrictui


def test_the_report_lists_the_recorded_detail_changes(tmp_path) -> None:
    out = tmp_path / "fresh.rec.sqlite"
    recorded = run_fabrictui(
        ["record", "--demo", "fresh", "--duration", "2s", "-o", str(out)], timeout=60
    )
    assert recorded.returncode == 0, recorded.stderr
    md = tmp_path / "report.md"
    report = run_fabrictui(["report", str(out), "--md", "-o", str(md)], timeout=60)
    assert report.returncode == 0, report.stderr
    text = md.read_text()
    title = "## Pod and node detail recorded (turned not ready, restarted or recovered)"
    assert title in text
    section = text.split(title, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("- ")]
    nodes = [line for line in lines if " node k8s-" in line]
    assert len(nodes) == 5  # every node, once
    assert all("NotReady when first seen; Ready False (KubeletNotReady: " in n for n in nodes)
    coredns = [line for line in lines if "pod kube-system/coredns-" in line]
    assert coredns and all("PodScheduled False (Unschedulable: " in c for c in coredns)
