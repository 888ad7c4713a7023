"""Recording a live session: the recorder attached to the state, the capture
worker told to record the frames, and the size cap applied, in one call for the app."""

from __future__ import annotations

import sqlite3

from fabrictui.config import Settings
from fabrictui.session.feeds import FeedSupervisor
from fabrictui.session.record.files import new_path, prune
from fabrictui.session.record.recorder import Recorder
from fabrictui.session.runner import ActionRunner
from fabrictui.session.state import LabState


def record_session(
    state: LabState, feeds: FeedSupervisor, settings: Settings, runner: ActionRunner | None = None
) -> tuple[Recorder | None, list[str]]:
    """Start recording (when the settings say so); the recorder, or None, and
    what to tell the user (what the cap pruned, or why it cannot record)."""
    if not settings.record:
        return None, []
    path = new_path(state.lab.name)
    try:
        recorder = Recorder(path, state.lab)
    except (OSError, sqlite3.Error) as err:  # a full or read-only disk, a folder not ours
        return None, [f"not recording: cannot write {path}: {err}"]
    recorder.attach(state)
    recorder.record_frames(feeds)
    if runner is not None:
        runner.result_listeners.append(recorder.result)
    # recording is the default and says nothing (`fabrictui replay latest` finds it);
    # what the cap deleted is said
    return recorder, prune(settings.record_cap_mb * 2**20, keep=path)
