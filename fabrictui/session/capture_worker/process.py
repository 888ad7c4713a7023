"""The capture worker process (`python -m fabrictui.session.capture_worker.process
PARENT_PID BUFFER_FRAMES DISPLAY_BATCH`): reads messages from stdin, decodes,
counts and buffers, answers requests on stdout. Single-threaded: between two
decoded chunks it drains whatever stdin holds (so a request never waits
behind more than `MAX_BACKLOG` bytes of frames) and answers requests at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sqlite3
import sys
import time
from collections import deque
from typing import TYPE_CHECKING

from fabrictui.capture import CaptureError
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.capture.pcap_writer import write_pcap
from fabrictui.capture.transit import TransitTracker, sightings
from fabrictui.constants import VXLAN_PORT
from fabrictui.model import VxlanFrame
from fabrictui.session.capture_worker.protocol import (
    DATA,
    END,
    END_CLEAN,
    HEADER,
    PODS,
    RECORD,
    START,
    SUMMARY,
    WRITE,
    reply,
)
from fabrictui.session.capture_worker.raw import Located, RawChunks, RecordLocator
from fabrictui.session.overlay import OverlayState, OverlaySummary

if TYPE_CHECKING:
    from fabrictui.session.record.frames import FrameWriter

MAX_BACKLOG = 1 << 20  # bytes received and not decoded; beyond it stdin is not read
READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 20  # asked of the kernel for stdin (F_SETPIPE_SZ); it may give less
FEED_SIZE = 1 << 16  # the decoder's best chunk: the frames of one stay in the CPU cache
F_SETPIPE_SZ = 1031
PR_SET_PDEATHSIG = 1


class Stream:
    """One node's capture stream, as long as it lasts (a restart is a new stream)."""

    def __init__(self, node: str, address: str, vxlan_port: int = VXLAN_PORT) -> None:
        self.node = node
        self.address = address
        self.decoder = PcapStreamDecoder(node=node, vxlan_ports=(vxlan_port,))
        self.locator = RecordLocator()  # where the records are, for `w`


class Worker:
    def __init__(self, buffer_frames: int, display_batch: int, out: int = 1) -> None:
        self.overlay = OverlayState(buffer_frames, display_batch, clock=time.time)
        self.transit = TransitTracker()  # both sightings of frames between captured nodes
        self.pod_nodes: dict[str, str] = {}  # pod IP -> its node's address (native frames)
        self.raw = RawChunks(buffer_frames)
        self.streams: dict[int, Stream] = {}
        self.queue: deque[tuple[int, int, bytes]] = deque()  # (kind, stream, payload) in order
        self.backlog = 0  # bytes of DATA in the queue
        self.errors: list[str] = []  # streams that ended badly, since the last summary
        self.broken: dict[int, str] = {}  # streams found broken, until told so
        self.out = out
        self.recording: FrameWriter | None = None  # where the frames are recorded, if anywhere
        self.record_error = ""  # why they are not (the file could not be opened)
        self._inbuf = bytearray()

    # -- the loop -----

    def run(self, fd: int = 0) -> None:
        try:
            while True:
                if self.backlog < MAX_BACKLOG:
                    ready, _, _ = select.select([fd], [], [], 0 if self.queue else None)
                    if ready:
                        data = os.read(fd, READ_SIZE)
                        if not data:
                            return  # the app is gone (or closed us): so are we
                        self.receive(data)
                if self.queue:
                    self.process(*self.queue.popleft())
        finally:
            if self.recording is not None:  # what was queued reaches the file
                self.recording.close()

    def record(self, path: str) -> None:
        """Record the frames into `path` from now on (none when empty)."""
        if self.recording is not None:
            self.recording.close()
            self.recording = None
        if path:
            from fabrictui.session.record.frames import FrameWriter  # only when recording

            try:
                self.recording = FrameWriter(path)
            except (OSError, sqlite3.Error) as err:
                self.record_error = f"frames not recorded: {path}: {err}"

    def receive(self, data: bytes) -> None:
        """Split what stdin gave into messages: requests are answered now, the
        rest is queued in order."""
        buf = self._inbuf
        buf += data
        off = 0
        size = HEADER.size
        while len(buf) - off >= size:
            kind, stream, length = HEADER.unpack_from(buf, off)
            end = off + size + length
            if end > len(buf):
                break
            payload = bytes(buf[off + size : end])
            off = end
            if kind == SUMMARY:
                self.send_summary()
            elif kind == WRITE:
                self.send_written(payload.decode())
            else:
                self.queue.append((kind, stream, payload))
                if kind == DATA:
                    self.backlog += length
        del buf[:off]

    def process(self, kind: int, stream: int, payload: bytes) -> None:
        if kind == DATA:
            self.backlog -= len(payload)
            for start in range(0, len(payload), FEED_SIZE):
                self.decode(stream, payload[start : start + FEED_SIZE])
        elif kind == RECORD:
            self.record(payload.decode())
        elif kind == PODS:
            self.pod_nodes = json.loads(payload)
        elif kind == START:
            start = json.loads(payload)
            self.streams[stream] = Stream(
                start["node"], start["address"], start.get("vxlan_port", VXLAN_PORT)
            )
        elif kind == END:
            ended = self.streams.pop(stream, None)
            if ended is not None and ended.address and ended.address not in self.captured:
                self.transit.capture_ended(ended.address)
            if ended is not None and self.recording is not None:
                self.recording.end(stream)
            if ended is not None and stream not in self.broken and payload == END_CLEAN:
                try:
                    ended.decoder.finish()
                except CaptureError as err:
                    self.errors.append(f"{ended.node}: {err}")
            self.broken.pop(stream, None)

    @property
    def captured(self) -> frozenset[str]:
        """The addresses of the nodes captured now, whose streams are whole (a few:
        cheap per batch)."""
        return frozenset(
            s.address for n, s in self.streams.items() if s.address and n not in self.broken
        )

    # -- frames -----

    def decode(self, stream: int, chunk: bytes) -> None:
        source = self.streams.get(stream)
        if source is None or stream in self.broken:
            return  # a broken stream's bytes mean nothing until it restarts
        decoder = source.decoder
        try:
            frames = decoder.feed(chunk)
        except CaptureError as err:
            frames = err.frames
            self.broken[stream] = f"{source.node}: {err}"
            if source.address and source.address not in self.captured:
                self.transit.capture_ended(source.address)
            located = None  # the records' places are not worth finding any more
        else:
            snaplen = decoder.snaplen or 0
            located = source.locator.locate(chunk, frames, snaplen, decoder.big_endian)
            if self.recording is not None and located.count:
                # the chunk's whole records, every one (both nodes' copies, as captured)
                self.recording.add(
                    stream, source.node, source.address or None, source.locator.header,
                    located.data, located.start, located.end, located.count,
                    frames[0].time, frames[-1].time,
                )  # fmt: skip
        if frames:
            self.keep(source, frames, located)

    def keep(self, source: Stream, frames: list[VxlanFrame], located: Located | None) -> None:
        """Count and buffer a batch. A frame between two captured nodes is seen on
        both: it is counted once, where it was sent, and both sightings go to the
        transit tracker (one-way time, loss per node pair)."""
        kept = None
        if source.address:
            kept, sent, received = sightings(frames, source.address, self.captured, self.pod_nodes)
            self.transit.sent(*sent)
            self.transit.received(*received)
            if kept is not None:
                frames = [frames[i] for i in kept]
        if not frames:
            return
        self.overlay.add(frames)
        if located is None:  # counted, but no record of them to keep for `w`
            return
        decoder = source.decoder
        self.raw.add(located, kept)
        self.raw.linktype = decoder.linktype or 1
        self.raw.nanosecond = decoder.nanosecond

    # -- answers -----

    def send(self, obj: object) -> None:
        data = memoryview(reply(obj))
        while data:
            data = data[os.write(self.out, data) :]

    def send_summary(self) -> None:
        overlay = self.overlay
        self.transit.expire(time.monotonic())
        summary = OverlaySummary(
            overlay.snapshot(time.time()),
            overlay.take_for_display(),
            len(self.raw),
            self.backlog,
            tuple(self.errors),
            self.transit.snapshot(),
        )
        self.errors.clear()
        recording = self.recording
        noted = (recording.dropped, recording.error or "") if recording else (0, self.record_error)
        self.send(("summary", summary, dict(self.broken), noted))

    def send_written(self, path: str) -> None:
        raw = self.raw
        try:
            count = write_pcap(path, raw.records(), raw.linktype, nanosecond=raw.nanosecond)
        except OSError as err:
            self.send(("written", 0, err.strerror or str(err)))
        else:
            self.send(("written", count, ""))


def die_with(parent: int) -> None:
    """Be killed when the app's process dies, whatever kills it (Linux); the
    closed stdin covers the rest."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        sys.exit(0)  # it died before we could ask


def main(argv: list[str]) -> int:
    parent, buffer_frames, display_batch = (int(arg) for arg in argv[:3])
    die_with(parent)
    # ctrl-c is the app's to handle (it closes our stdin), should one reach us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        import fcntl

        fcntl.fcntl(0, F_SETPIPE_SZ, PIPE_SIZE)
    with contextlib.suppress(BrokenPipeError):  # the app stopped reading: it is ending
        Worker(buffer_frames, display_batch).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
