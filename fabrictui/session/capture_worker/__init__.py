"""The capture worker: decoding, counting and buffering of captured frames in a
process of their own, so the app's event loop only moves bytes.

The app's loop reads each node's capture stream and writes the chunks, as
they come, into the worker's stdin (`CaptureWorker.sink(...).feed`); the
worker (`process`) decodes them, keeps each VXLAN frame once (on the node that
sent it), counts, keeps the newest raw frames for `w`, and answers a summary
request (ten a second) with the counters and at most a screenful of the
newest frames (`fabrictui.session.overlay.OverlaySummary`). Nothing in the app grows
with the capture rate.

Bounds and what happens at each (the load-shedding policy):

- the worker reads its stdin while fewer than `MAX_BACKLOG` bytes wait to be
  decoded; beyond that it stops reading, the pipe (`PIPE_SIZE`) fills, and the
  app's writes wait (`WRITE_HIGH`): the capture streams are then read at the
  decoder's pace (SSH flow control slows the node's tcpdump). Every frame
  received is decoded and counted exactly; the pane says when reading had to
  wait (`OverlayView.slowed`), since the node's tcpdump may then drop frames
  in its kernel buffer, which it alone can count;
- drawing is sampled: each summary carries at most `display_batch` frames
  and the number it skipped, which the pane shows;
- replies are only ever sent for a request, one summary at a time: the pipe
  back to the app never holds a backlog.

The worker ends when its stdin closes (the app ended, however it ended: the
kernel closes the pipe of a killed process) and, on Linux, when its parent
dies (PR_SET_PDEATHSIG), so it never outlives the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fabrictui.session.capture_worker.client import CaptureWorker, NodeSink, WorkerGone

__all__ = ["CaptureWorker", "NodeSink", "WorkerGone"]


def __getattr__(name: str) -> Any:
    # imported on first use: the worker process starts from this package and
    # needs none of the app's side (asyncio alone is a third of its start-up)
    if name in __all__:
        from fabrictui.session.capture_worker import client

        return getattr(client, name)
    raise AttributeError(name)
