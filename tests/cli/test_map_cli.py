"""`fabrictui map` as a user types it: the picture, the graph as JSON, the exit codes."""

from __future__ import annotations

import json

from tests._cli import run_fabrictui


def test_the_demo_lab_as_a_picture_all_up() -> None:
    done = run_fabrictui(["map", "--demo", "ready", "--width", "80", "--height", "24"], timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["lab: demo (ready, seed 1) [demo] from --demo ready", "mode: vxlan"]
    assert "● spine-sw1 BGP 2/2" in lines[2] and "● spine-sw2 BGP 2/2" in lines[2]
    assert lines[4].startswith("● leaf1 BGP 2/2") and "● leaf2 BGP 2/2" in lines[4]
    assert lines[5].split() == ["↑1●2●", "↑1●2●"]
    picture = lines[2 : next(i for i, line in enumerate(lines) if line.startswith("key:"))]
    assert "│● k8s-node-l2-2" in done.stdout and "✕" not in "\n".join(picture)
    assert max(len(line) for line in lines) <= 80


def test_faults_as_json_with_exit_code_1() -> None:
    faults = ["stop-spine:spine-sw1", "cut-uplink:leaf2:spine-sw2", "stop-kubelet:k8s-node-l2-1"]
    argv = ["map", "--demo", "ready", "--json"]
    for fault in faults:
        argv += ["--demo-fault", fault]
    done = run_fabrictui(argv, timeout=60)
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert nodes["spine-sw1"]["state"] == "unseen" and nodes["spine-sw1"]["label"] == "no answer"
    assert (
        nodes["k8s-node-l2-1"]["state"] == "bad" and nodes["k8s-node-l2-1"]["label"] == "NotReady"
    )
    links = {(x["a"], x["b"]): x for x in doc["links"]}
    assert links[("spine-sw2", "leaf2")]["state"] == "bad"
    # the port cut is what the map names, at once, whatever the session says by then
    assert links[("spine-sw2", "leaf2")]["label"] == "swp52 down"
    assert links[("spine-sw2", "leaf2")]["ports"] == ["leaf2 swp52 down", "spine-sw2 swp2 down"]
    # a spine powered off: its leaves' ports facing it lose their carrier
    assert links[("spine-sw1", "leaf1")]["label"] == "swp51 down"
    assert links[("spine-sw2", "leaf1")]["state"] == "good"
    assert links[("leaf2", "k8s-node-l2-1")]["label"] == "NotReady"
    assert len(links) == 2 * 2 + 5 and doc["left_out"] == [] and doc["mode"] == "vxlan"


def test_bad_input_is_one_line_and_exit_2() -> None:
    done = run_fabrictui(["map", "--demo", "--width", "5"], timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "fabrictui map: error: argument --width: must be 20..1000 (got 5)"
    )
    assert "Traceback" not in done.stderr


def test_traffic_is_measured_when_asked_and_said_not_measured_otherwise() -> None:
    done = run_fabrictui(["map", "--demo", "ready", "--json"], timeout=60)
    doc = json.loads(done.stdout)
    assert doc["traffic"] is None and doc["traffic_seconds"] is None
    done = run_fabrictui(["map", "--demo", "ready"], timeout=60)
    assert "traffic: not measured (--traffic SECONDS captures on every node)" in done.stdout
    # the demo's background echo runs every 5 s while a capture runs: one lands in the window
    done = run_fabrictui(["map", "--demo", "ready", "--traffic", "1", "--json"], timeout=60)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["traffic_seconds"] >= 4.0 and doc["traffic"], doc["traffic"]  # 1 s + verdicts
    for pair in doc["traffic"]:
        assert pair["frames_per_s"] > 0 and pair["arrived"] > 0 and pair["one_way_ms"] > 0
    done = run_fabrictui(["map", "--demo", "--traffic", "0"], timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "fabrictui map: error: argument --traffic: must be 1..600 seconds (got 0)"
    )
