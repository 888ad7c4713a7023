import time

from fabrictui.intent.bgp_sessions import analyze_sessions
from fabrictui.model import (
    BgpPeer,
    BgpSummary,
    CheckResult,
    Host,
    KubePod,
    PingResult,
    Role,
    SwitchReading,
    VmState,
)  # fmt: skip
from fabrictui.render.checks import check_lines, ping_cell
from fabrictui.render.common import Palette, age, freshness, middle_ellipsis
from fabrictui.render.fabric import fabric_lines
from fabrictui.render.hosts import host_row
from fabrictui.render.kube import POD_COLUMNS, pod_row

P = Palette()


def test_age_matches_kubectl_style():
    assert [age(s) for s in (5, 119, 120, 7199, 7200, 172799, 172800)] == [
        "5s", "119s", "2m", "119m", "2h", "47h", "2d",
    ]  # fmt: skip


def test_freshness_marks_stale_after_limit():
    assert freshness(None, 100.0, 10) == ("waiting for first answer", False)
    assert freshness(95.0, 100.0, 10) == ("updated 5s ago", False)
    assert freshness(80.0, 100.0, 10) == ("STALE: updated 20s ago", True)


def test_middle_ellipsis_keeps_distinguishing_suffix():
    name = "nginx-deployment-55457b9d87-nnzz5"
    short = middle_ellipsis(name, 24)
    assert len(short) == 24 and short.endswith("nnzz5") and short.startswith("nginx-")
    assert middle_ellipsis("short", 24) == "short"


def test_pod_row_columns_follow_header_and_colour_state():
    pod = KubePod("space1", "nginx-1", 0, 1, "Pending", 2, time.time() - 30, None, None)
    row = pod_row(pod, time.time(), P)
    assert len(row) == len(POD_COLUMNS)
    cells = dict(zip(POD_COLUMNS, (c.plain for c in row), strict=True))
    assert cells["Status"] == "Pending" and cells["IP"] == "<none>" and cells["Restarts"] == "2"
    assert row[POD_COLUMNS.index("Status")].style == P.warn


def test_host_row_shows_state_with_style():
    host = Host("leaf1", Role.LEAF, 1, VmState.POWEROFF, "virtualbox", "vagrant@127.0.0.1:2200")
    row = host_row(host, P)
    assert [c.plain for c in row] == [
        "leaf1",
        "leaf",
        "1",
        "poweroff",
        "virtualbox",
        "vagrant@127.0.0.1:2200",
    ]
    assert row[3].style == P.warn


def test_fabric_lines_flag_missing_and_filter():
    peers = (BgpPeer("172.16.0.0", "spine-sw1", 65001, "Established", "02:07:56", 3),)
    readings = {
        "leaf1": SwitchReading("leaf1", BgpSummary("172.16.255.101", 65101, peers), None, 0),
        "leaf2": SwitchReading("leaf2", None, "timed out", 0),
    }
    analysis = analyze_sessions(readings, (("leaf1", "spine-sw1"), ("leaf1", "spine-sw2")))
    text = "\n".join(line.plain for line in fabric_lines(readings, analysis, P))
    assert "rid 172.16.255.101" in text and "AS 65101" in text and "1/1 Established" in text
    assert "spine-sw1(172.16.0.0)" in text and "02:07:56" in text
    assert "MISSING  no session to spine-sw2" in text
    assert "leaf2  timed out" in text
    only_leaf2 = "\n".join(line.plain for line in fabric_lines(readings, analysis, P, "leaf2"))
    assert "leaf1" not in only_leaf2 and "leaf2" in only_leaf2


def test_ping_cell_marks_rack_and_loss():
    ok = PingResult("space1/a", "10.65.76.193", 3, 3, 1.5, 1.6, 1.7, ttl=62)
    lost = PingResult("space1/a", "10.65.76.193", 3, 0, None, None, None)
    assert ping_cell(ok, True, P).plain == "x 1.60ms"
    assert ping_cell(ok, False, P).plain == "= 1.60ms"
    assert ping_cell(lost, True, P).plain == "x 100% loss"
    assert ping_cell(None, True, P).plain == "…"


def test_check_lines_show_cause_and_evidence():
    checks = [
        CheckResult("nodes Ready", False, ("k8s-node-l1-1 NotReady",), "k8s-node-l1-1 NotReady")
    ]
    text = "\n".join(line.plain for line in check_lines(checks, P))
    assert "1. FAIL  nodes Ready" in text and "cause: k8s-node-l1-1 NotReady" in text


def test_palette_from_theme_variables_translates_ansi_names():
    palette = Palette.from_variables({"state-good": "ansi_green", "state-bad": "#ff0000"})
    assert palette.good == "green" and palette.bad == "bold #ff0000"
