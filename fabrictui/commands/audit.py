"""`fabrictui audit`: what was done to which lab, by whom, with what result."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per action")
    parser.add_argument("--file", help="audit file (default: the user's state directory)")
    parser.add_argument("--last", type=int, default=50, help="show the last N actions (50)")


def run(args: argparse.Namespace) -> int:
    from fabrictui.audit import audit_path, read_audit

    path = Path(args.file) if args.file else audit_path()
    rows = read_audit(path)[-args.last :] if args.last > 0 else read_audit(path)
    if args.json:
        for row in rows:
            print(json.dumps(asdict(row)))
        return 0
    if not rows:
        print(f"no actions recorded in {path}")
        return 0
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.started))
        print(
            f"{when}  {row.user:<10} {row.lab:<24} {row.action:<14} {row.result:<10} {row.target}"
        )
        for call in row.calls:
            print(f"    {call}")
        for call in row.executed:
            print(f"    ran: {call}")
        if row.summary:
            print(f"    -> {row.summary}")
    return 0
