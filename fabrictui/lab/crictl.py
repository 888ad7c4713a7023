"""The rehearsal lab node's `crictl`: the pod sandboxes the lab's kubelet runs on this node.

A real node answers `crictl pods` and `crictl inspectp` from its container runtime over
the CRI socket; the lab's kubelet (lab/kubeapi/controllers/sandboxes.py) writes its
sandboxes to a JSON file instead, and this reads it. The subset is the one a node-side
probe needs to find a pod's network namespace as on a real node:

    crictl pods [--namespace NS] [--name NAME] [--state ready|notready] [-q|--quiet]
    crictl inspectp [-o json | -o go-template --template '{{.info.pid}}'] ID

Each sandbox holds a process (the pause container's part: `sleep infinity`) inside the
pod's network namespace; `inspectp` reports its pid as containerd does (`info.pid`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

PID_TEMPLATE = "{{.info.pid}}"


def _sandboxes(state: Path, node: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        return []
    return [s for s in data.get("sandboxes", []) if s.get("node") == node]


def _option(args: list[str], *names: str) -> str | None:
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def _pods(args: list[str], sandboxes: list[dict[str, Any]]) -> int:
    namespace = _option(args, "--namespace")
    name = _option(args, "--name")
    state = (_option(args, "--state", "-s") or "").lower()
    rows = [
        s
        for s in sandboxes
        if (namespace is None or s["namespace"] == namespace)
        and (name is None or name in s["name"])  # crictl's --name matches a part
        and (not state or (state == "ready") == (s.get("state") == "SANDBOX_READY"))
    ]
    if "-q" in args or "--quiet" in args:
        for s in rows:
            print(s["id"])
        return 0
    print(f"{'POD ID':<15}{'STATE':<10}{'NAME':<40}{'NAMESPACE':<20}")
    for s in rows:
        ready = "Ready" if s.get("state") == "SANDBOX_READY" else "NotReady"
        print(f"{s['id'][:13]:<15}{ready:<10}{s['name']:<40}{s['namespace']:<20}")
    return 0


def _inspectp(args: list[str], sandboxes: list[dict[str, Any]]) -> int:
    ids = [a for a in args if not a.startswith("-") and a not in (_option(args, "-o") or "",)]
    template = _option(args, "--template")
    ids = [a for a in ids if a != template and a not in ("json", "go-template")]
    if not ids:
        print("crictl: ID cannot be empty", file=sys.stderr)
        return 1
    found = [s for s in sandboxes if s["id"].startswith(ids[0])]
    if not found:
        print(f'getting the pod sandbox status for "{ids[0]}": not found', file=sys.stderr)
        return 1
    sandbox = found[0]
    doc = {
        "status": {
            "id": sandbox["id"],
            "metadata": {
                "name": sandbox["name"],
                "namespace": sandbox["namespace"],
                "uid": sandbox["uid"],
            },
            "state": sandbox.get("state", "SANDBOX_READY"),
        },
        "info": {"pid": sandbox["pid"]},
    }
    if _option(args, "-o", "--output") == "go-template":
        if template != PID_TEMPLATE:
            print(f"crictl: the lab answers only {PID_TEMPLATE}", file=sys.stderr)
            return 1
        print(sandbox["pid"])
        return 0
    print(json.dumps(doc, indent=2))
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--state":
        print("usage: crictl --state FILE {pods|inspectp} ...", file=sys.stderr)
        return 2
    state, args = Path(argv[1]), argv[2:]
    node = os.environ.get("FTL_LAB_HOST", "")
    sandboxes = _sandboxes(state, node)
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "pods":
        return _pods(rest, sandboxes)
    if command == "inspectp":
        return _inspectp(rest, sandboxes)
    print(f"crictl: the lab's crictl answers pods and inspectp, not {command!r}", file=sys.stderr)
    return 1
