"""The process's exit deadline (`fabrictui/session/ending.py`): once armed, a
process whose stopping hangs (a step that never returns, a thread that keeps
the interpreter waiting) ends anyway, and the audit log says what had not
finished. Run in a child process: the deadline ends its own process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from fabrictui.audit import read_audit

HANGS = textwrap.dedent(
    """
    import threading, time
    from fabrictui.session.ending import ExitDeadline

    deadline = ExitDeadline("lab-x", seconds=1.0)
    # a library's thread that never returns: the interpreter would wait for it forever
    threading.Thread(target=threading.Event().wait, name="stuck-writer").start()
    deadline.arm("SIGTERM", 143)
    with deadline.step("stopping the feeds and their remote captures"):
        time.sleep(60)
    """
)


def test_a_hung_stop_is_cut_off_at_the_deadline_and_audited() -> None:
    started = time.monotonic()
    child = subprocess.run([sys.executable, "-c", HANGS], timeout=30, check=False)
    took = time.monotonic() - started
    assert child.returncode == 143
    assert took < 5.0, f"took {took:.1f} s"
    (row,) = [r for r in read_audit() if r.action == "exit"]
    assert row.lab == "lab-x"
    assert row.target == "SIGTERM"
    assert row.result == "cut off"
    assert "stopping the feeds and their remote captures" in row.summary
    assert "stuck-writer" in row.summary


def test_a_process_that_ends_in_time_writes_nothing() -> None:
    quick = HANGS.replace("time.sleep(60)", "pass").replace(
        'threading.Thread(target=threading.Event().wait, name="stuck-writer").start()', ""
    )
    child = subprocess.run([sys.executable, "-c", quick], timeout=30, check=False)
    assert child.returncode == 0
    assert not [r for r in read_audit() if r.action == "exit"]
