"""Session recording and replay (docs/replay.md): `Recorder` writes what the
state receives and the captured frames to one SQLite file per session;
`Recording` reads one back; `ReplayDriver` fills a `LabState` from it."""

from fabrictui.session.record.format import RecordingError
from fabrictui.session.record.reader import Recording
from fabrictui.session.record.recorder import Recorder

__all__ = ["Recorder", "Recording", "RecordingError"]
