"""The moment a replay shows, as the recorded describers read it (issue 26)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fabrictui.backends.base import NotFound
from fabrictui.render.detail import DetailSection
from fabrictui.session.record.reader import Recording
from fabrictui.session.state import LabState


@dataclass(frozen=True, slots=True)
class Moment:
    """The replay's state at the moment shown, and the recording it came from."""

    state: LabState
    recording: Recording
    at: float

    @property
    def stamp(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.at))

    @property
    def source(self) -> str:
        return f"as recorded at {self.stamp}"

    def missing(self, what: str) -> NotFound:
        return NotFound(f"{what}: not in the recording at {self.stamp}")


def not_recorded(*what: str) -> DetailSection:
    """What the recording does not hold of this object, plainly (a replay asks no lab)."""
    lines = (*what, "a replay reaches no lab: `fabrictui describe` reads these live")
    return DetailSection("Not recorded", lines=lines)
