"""Faults made for real on a rehearsal lab, shared by the lab tests: the lab's processes
(from its `state.json`), an sshd killed or started again, a management path cut silently
(the sshd and its sessions stopped: the port takes TCP and nothing answers, no reset), and
Calico with the seed's workload (4 nginx pods on 4 workers) to check against."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

from fabrictui.backends.base import DemoWorkload
from fabrictui.lab.lab import read_state, write_state
from fabrictui.lab.processes import spawn
from tests._rehearsal_tui import kill_tree, open_lab, wait_gone
from tests._sshd import descendants


async def prepare_workload(lab_dir: Path) -> None:
    """Calico applied, every node Ready, then nginx at 4 replicas on 4 distinct workers."""
    backend = open_lab(lab_dir)
    try:
        await backend.apply_calico("10.64.0.0/12")
        async with asyncio.timeout(60):  # Ready first, so that the pods spread over 4 workers
            while not all(n.ready for n in await backend.list_nodes()):
                await asyncio.sleep(0.3)
        await backend.ensure_workload(DemoWorkload())
        await backend.scale_deployment("space1", "nginx-deployment", 4)
        async with asyncio.timeout(60):
            while True:
                pods = [p for p in await backend.list_pods("space1") if p.running]
                if len(pods) == 4:
                    break
                await asyncio.sleep(0.3)
        assert len({p.node for p in pods}) == 4, pods
    finally:
        await backend.close()


def lab_state(lab_dir: Path) -> dict:
    state = read_state(lab_dir)
    assert state is not None
    return state


def namespace(lab_dir: Path, host: str) -> str:
    return f"ftl-{lab_state(lab_dir)['lab_id']}-{host}"


def process_record(lab_dir: Path, role: str, host: str | None) -> dict:
    records = [
        r for r in lab_state(lab_dir)["processes"] if r["role"] == role and r["host"] == host
    ]
    return records[-1]


def respawn(lab_dir: Path, old: dict, argv: list[str]) -> dict:
    new = spawn(argv, Path(old["log"]), old["role"], old["host"], old["marker"])
    state = lab_state(lab_dir)
    state["processes"].append(new)  # so `lab down` stops it too
    write_state(lab_dir, state)
    return new


def ssh_port(lab_dir: Path, host: str) -> int:
    inventory = json.loads((lab_dir / "inventory.json").read_text())
    return next(h["ssh"]["port"] for h in inventory["hosts"] if h["name"] == host)


def kill_sshd(lab_dir: Path, host: str) -> dict:
    record = process_record(lab_dir, "sshd", host)
    kill_tree(record["pid"])
    wait_gone(record["pid"])
    return record


def restart_sshd(lab_dir: Path, old: dict) -> None:
    from fabrictui.lab.sshd import sshd_argv

    respawn(lab_dir, old, sshd_argv(Path(old["marker"])))


@contextlib.contextmanager
def management_ssh_cut(lab_dir: Path, host: str) -> Iterator[None]:
    """`host`'s management SSH black-holed while inside: its sshd and every session below it
    stopped (SIGSTOP), so a connect is taken by the kernel and never answered and an open
    session goes silent, as when a firewall drops the packets; the machine itself (its
    namespace, FRR, pods) runs on. Resumed on exit, also when the test fails."""
    pid = process_record(lab_dir, "sshd", host)["pid"]
    stopped = [pid, *descendants(pid)]
    for p in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGCONT)


@contextlib.contextmanager
def management_ssh_refused(lab_dir: Path, host: str) -> Iterator[None]:
    """`host`'s sshd killed with its sessions while inside (its port refuses); started
    again on exit, also when the test fails."""
    old = kill_sshd(lab_dir, host)
    try:
        yield
    finally:
        restart_sshd(lab_dir, old)
