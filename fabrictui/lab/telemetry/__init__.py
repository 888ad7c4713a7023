"""`lab up --telemetry`: the standard exporters beside the lab's daemons and a real Prometheus
scraping them, everything on 127.0.0.1 (docs/telemetry.md).

One `prometheus-frr-exporter` per switch reads that switch's FRR over its socket folder
(`--frr.socket.dir-path`, the path space of lab/frr.py), one `prometheus-node-exporter` per
switch its interfaces from inside its namespace (node.py); one Prometheus (own configuration
and data under DIR/telemetry/) scrapes them every SCRAPE_INTERVAL_S, each target labelled with
its switch. The processes are recorded in the lab's state before they are waited for, so `lab down`
(and the cleanup of a crashed lab, by the markers on their command lines) stops them; the data
folder is one of the lab's generated files and goes with them.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fabrictui.lab import frr
from fabrictui.lab.labstate import LabError, RunningLab, write_state
from fabrictui.lab.processes import free_ports, record_exited, start_process
from fabrictui.lab.telemetry import bird_exporter
from fabrictui.lab.telemetry.bird_exporter import BIRD_EXPORTER, BIRD_JOB, NODE_LABEL
from fabrictui.lab.telemetry.node import NODE_EXPORTER, NODE_JOB, start_exporter
from fabrictui.lab.topology import LabTopology, netns_name

PROMETHEUS = "/usr/bin/prometheus"
FRR_EXPORTER = "/usr/bin/prometheus-frr-exporter"
TOOLS = {
    PROMETHEUS: "prometheus",
    FRR_EXPORTER: "prometheus-frr-exporter",
    NODE_EXPORTER: "prometheus-node-exporter",
    BIRD_EXPORTER: "prometheus-bird-exporter",
}
DIR_NAME = "telemetry"  # under the lab dir: prometheus.yml and data/
FRR_JOB = "frr"  # the job label fabrictui's queries select (backends/real/prometheus)
SCRAPE_INTERVAL_S = 2
READY_WAIT_S = 20.0


def missing_tools() -> list[str]:
    """The Debian packages `--telemetry` needs that are not installed."""
    return sorted({pkg for path, pkg in TOOLS.items() if not shutil.which(path)})


def _job(name: str, ports: dict[str, int], label: str = "switch") -> dict[str, Any]:
    return {
        "job_name": name,
        "static_configs": [
            {"targets": [f"127.0.0.1:{port}"], "labels": {label: host}}
            for host, port in sorted(ports.items())
        ],
    }


def render_config(
    exporters: dict[str, int],
    node_exporters: dict[str, int] | None = None,
    bird_exporters: dict[str, int] | None = None,
) -> str:
    """prometheus.yml: a scrape job per exporter kind over every switch's (or node's)
    exporter, no rule, alert or remote section (nothing leaves the machine)."""
    jobs = [_job(FRR_JOB, exporters)]
    if node_exporters:
        jobs.append(_job(NODE_JOB, node_exporters))
    if bird_exporters:
        jobs.append(_job(BIRD_JOB, bird_exporters, NODE_LABEL))
    doc = {
        "global": {
            "scrape_interval": f"{SCRAPE_INTERVAL_S}s",
            "scrape_timeout": f"{SCRAPE_INTERVAL_S}s",
            "evaluation_interval": f"{SCRAPE_INTERVAL_S}s",
        },
        "scrape_configs": jobs,
    }
    # JSON is YAML: no YAML writer needed in the lab
    return json.dumps(doc, indent=2) + "\n"


def exporter_argv(lab_id: str, switch: str, port: int) -> list[str]:
    # the path space on the command line is the marker `lab down` finds it by after a crash
    socket_dir = frr.run_dir(frr.pathspace(lab_id, switch))
    return [
        FRR_EXPORTER,
        f"--frr.socket.dir-path={socket_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--no-collector.ospf",
        "--no-collector.bfd",
    ]


def prometheus_argv(folder: Path, port: int) -> list[str]:
    return [
        PROMETHEUS,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        "--storage.tsdb.retention.time=1d",
        f"--web.listen-address=127.0.0.1:{port}",
    ]


def start(
    lab_dir: Path, topology: LabTopology, lab_id: str, state: RunningLab, log_dir: Path
) -> str:
    """Start the exporters and Prometheus; returns Prometheus's URL once every target has been
    scraped. Raises LabError (what started stays recorded for `down`)."""
    missing = missing_tools()
    if missing:
        raise LabError(f"--telemetry needs the packages: {' '.join(missing)}")
    folder = lab_dir / DIR_NAME
    folder.mkdir(parents=True, exist_ok=True)
    switches = [s.name for s in topology.switches]
    nodes_of_lab = [n.name for n in topology.nodes]
    ports = free_ports(len(switches) + len(nodes_of_lab) + 1)
    exporters = dict(zip(switches, ports[: len(switches)], strict=True))
    birds = dict(zip(nodes_of_lab, ports[len(switches) : -1], strict=True))
    url = f"http://127.0.0.1:{ports[-1]}"
    state.extra["telemetry"] = {
        "prometheus": url, "frr_exporters": exporters, "bird_exporters": birds
    }  # fmt: skip
    write_state(lab_dir, state)
    nodes: dict[str, int] = {}
    for switch in switches:
        record, nodes[switch] = start_exporter(
            netns_name(lab_id, switch),
            switch,
            str(folder / "textfile"),
            log_dir / f"{switch}.node_exporter.log",
        )
        state.processes.append(record)
        state.extra["telemetry"]["node_exporters"] = nodes
        write_state(lab_dir, state)
    (folder / "prometheus.yml").write_text(render_config(exporters, nodes, birds))
    for switch, port in exporters.items():
        record = start_process(
            exporter_argv(lab_id, switch, port),
            log_dir / f"{switch}.frr_exporter.log",
            "frr_exporter",
            switch,
            frr.pathspace(lab_id, switch),
        )
        state.processes.append(record)
    for node, port in birds.items():
        node_netns = netns_name(lab_id, node)
        record = start_process(
            bird_exporter.exporter_argv(node_netns, port),
            log_dir / f"{node}.bird_exporter.log",
            "bird_exporter",
            node,
            f"{node_netns}-bird",
        )
        state.processes.append(record)
    prom = start_process(
        prometheus_argv(folder, ports[-1]), log_dir / "prometheus.log", "prometheus", None,
        str(folder),
    )  # fmt: skip
    state.processes.append(prom)
    write_state(lab_dir, state)
    roles = ("frr_exporter", "node_exporter", "bird_exporter")
    started = [r for r in state.processes if r.role in roles]
    _wait_targets(url, len(exporters) + len(nodes) + len(birds), [prom, *started])
    _point_inventory(lab_dir, url)
    return url


def _wait_targets(url: str, count: int, records: Sequence[Any]) -> None:
    deadline = time.monotonic() + READY_WAIT_S
    seen = 0
    while time.monotonic() < deadline:
        for record in records:
            if record_exited(record):
                raise LabError(f"{record.role} exited (see {record.log})")
        seen = _targets_up(url)
        if seen >= count:
            return
        time.sleep(0.2)
    raise LabError(f"Prometheus at {url} scraped {seen}/{count} exporters in {READY_WAIT_S:.0f} s")


def _targets_up(url: str) -> int:
    query = urllib.request.quote(f'sum(up{{job=~"{FRR_JOB}|{NODE_JOB}|{BIRD_JOB}"}})')
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?query={query}", timeout=1.0) as answer:
            data = json.loads(answer.read())
    except (OSError, urllib.error.URLError, ValueError):
        return 0
    result = (data.get("data") or {}).get("result") or []
    return int(float(result[0]["value"][1])) if result else 0


def _point_inventory(lab_dir: Path, url: str) -> None:
    """The lab's own settings: fabrictui reads BGP sessions from this Prometheus."""
    path = lab_dir / "inventory.json"
    doc = json.loads(path.read_text())
    doc["telemetry"] = {"prometheus": url}
    path.write_text(json.dumps(doc, indent=2) + "\n")


def prometheus_url(state: RunningLab) -> str | None:
    telemetry = state.extra.get("telemetry")
    return telemetry.get("prometheus") if isinstance(telemetry, dict) else None
