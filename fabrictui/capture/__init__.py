"""pcap byte streams -> `VxlanFrame`, flow counters, bounded buffers. Pure.

Modules:

- `pcap`: `PcapStreamDecoder`, an incremental decoder fed arbitrary chunks of a
  `tcpdump -U -w -` stream (or a pcap file).
- `synth`: builders for pcap headers/records and Calico-style VXLAN frames
  (demo lab, tests, benchmark).
- `counters`: `FlowCounters`, `FrameRing`.
- `packet`: one packet's headers (link layer, IP, UDP, VXLAN, inner frame):
  the generic path `decode_frame` and the fast path's fixed layouts.
- `format`: `frame_to_json`, `frame_to_line`, `describe_inner`, `line_template`.
- `printer`: `RecordPrinter`, the lines `fabrictui capture` prints, a chunk at a
  time, straight from the records for the common shape.
- `pcap_writer`: write kept raw records back to a pcap file.

The only error any of them raises on bad input is `CaptureError`, a
`ParseError`, so callers handling parser errors handle capture errors too.
"""

from __future__ import annotations

from fabrictui.model import VxlanFrame
from fabrictui.parsers import ParseError


class CaptureError(ParseError):
    """The pcap stream itself is broken (bad magic, absurd record length, cut
    off mid-record). Odd packets inside a good stream never raise: they decode
    to a `VxlanFrame` with `is_vxlan=False` and a note.

    `frames` holds the frames the failing `feed()` call decoded before it hit
    the error, so a caller can still show them; `lines`, the output lines of
    those records when the call was `feed_printed()`."""

    def __init__(
        self,
        message: str,
        frames: list[VxlanFrame] | None = None,
        lines: list[bytes] | None = None,
    ) -> None:
        super().__init__(message)
        self.frames: list[VxlanFrame] = frames if frames is not None else []
        self.lines: list[bytes] = lines if lines is not None else []


__all__ = ["CaptureError"]
