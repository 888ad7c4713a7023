"""`fabrictui capture`: decode VXLAN frames from a pcap file, stdin or a lab node.

    fabrictui capture --read FILE.pcap [--json]     # '-' reads stdin (tcpdump -U -w - | ...)
    fabrictui capture --node k8s-node-l2-1 [--count N] [--write FILE.pcap] [lab selection]

One line (or one JSON object) per frame on stdout; plain IP pod traffic (Calico's
BGP mode) prints as `native` lines, other frames that are not VXLAN as such. A
broken stream prints the frames before the break, then one line on stderr, and
exits 2; so does a missing file or an unreachable lab.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, BinaryIO

from fabrictui.capture import CaptureError
from fabrictui.capture.pcap import DEFAULT_VXLAN_PORTS, PcapStreamDecoder, RawRecord
from fabrictui.capture.printer import RecordPrinter
from fabrictui.commands.options import add_lab_selection
from fabrictui.model import VxlanFrame

if TYPE_CHECKING:
    from fabrictui.capture.counters import FlowCounters
    from fabrictui.capture.pcap_writer import PcapWriter

READ_CHUNK = 1 << 16  # 64 KiB: the decoder is fastest when a chunk's frames stay in cache
PROG = "fabrictui capture"


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("source (one of)")
    source.add_argument(
        "-r", "--read", metavar="FILE", help="pcap file to decode ('-' reads stdin)"
    )
    source.add_argument("--node", metavar="NAME", help="capture live on this lab node")
    parser.add_argument("--json", action="store_true", help="one JSON object per frame")
    parser.add_argument(
        "-c", "--count", type=int, metavar="N", help="stop after N frames (VXLAN or not)"
    )
    parser.add_argument(
        "-w", "--write", metavar="FILE", help="also write the decoded frames to this pcap file"
    )
    parser.add_argument(
        "--interface", default="eth0", help="interface to capture on with --node (default eth0)"
    )
    parser.add_argument(
        "--filter",
        default=None,
        metavar="BPF",
        help="capture filter with --node (default: pod traffic in either Calico mode, "
        "'udp port 4789 or (src net POOL and dst net POOL)' with the lab's pod pool)",
    )
    parser.add_argument(
        "--vxlan-port",
        type=int,
        action="append",
        metavar="PORT",
        help="UDP port that means VXLAN (repeatable; default: the lab's with --node, else 4789)",
    )
    parser.add_argument("--local-time", action="store_true", help="print local time instead of UTC")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="at the end, print counts per VNI and per node pair (pod pair if native) on stderr",
    )
    add_lab_selection(parser)


def _error(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


class _Output:
    """Prints the lines of each chunk, writes their raw records, counts, honours --count.

    Lines go out as one write of bytes per chunk. Unless something needs the decoded
    frames (--write keeps raw records, --summary counts flows), records go straight
    from the decoder to the printer (`PcapStreamDecoder.feed_printed`): the same lines,
    without building a `VxlanFrame` for each."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.json = args.json
        self.local_time = args.local_time
        self.limit: int | None = args.count
        self.writer: PcapWriter | None = None
        self.counters: FlowCounters | None = None
        if args.summary:
            from fabrictui.capture.counters import FlowCounters

            self.counters = FlowCounters()
        self.printed = args.write is None and not args.summary
        self.printer = RecordPrinter(as_json=args.json, local_time=args.local_time)
        self.emitted = 0
        self.point = b""  # JSON keys saying where a live capture ran ("via", "point")
        self.stdout = sys.stdout
        self.out: BinaryIO | None = getattr(sys.stdout, "buffer", None)

    def use_names(self, names: Mapping[str, str]) -> None:
        """IP -> node or pod name for the text lines (before the first chunk)."""
        self.printer = RecordPrinter(as_json=self.json, names=names, local_time=self.local_time)

    def captured_at(self, via: str, point: str) -> None:
        """A live capture: every JSON line says where (node, or the switch port facing it)."""
        if self.json:
            keys = json.dumps({"via": via} | ({"point": point} if point else {}))
            self.point = keys[:-1].encode() + b", "

    def _placed(self, lines: list[bytes]) -> list[bytes]:
        if not self.point:
            return lines
        return [self.point + line[1:] for line in lines]

    @property
    def done(self) -> bool:
        return self.limit is not None and self.emitted >= self.limit

    def decode(self, decoder: PcapStreamDecoder, chunk: bytes, out_file: BinaryIO | None) -> None:
        """Decode one chunk and print what it completes."""
        if self.printed:
            self.lines(decoder.feed_printed(chunk, self.printer))
        else:
            frames = decoder.feed(chunk)
            self._attach_writer(decoder, out_file)
            self.emit(frames, decoder.raw_records)

    def failed(self, err: CaptureError, decoder: PcapStreamDecoder) -> None:
        """Print what the chunk that broke the stream held before the break."""
        if err.lines:
            self.lines(err.lines)
        else:
            self.emit(err.frames, decoder.raw_records)
        self.flush()

    def lines(self, lines: list[bytes]) -> None:
        if self.limit is not None:
            lines = lines[: max(0, self.limit - self.emitted)]
        if not lines:
            return
        self._write(b"".join(self._placed(lines)))
        self.emitted += len(lines)

    def emit(self, frames: list[VxlanFrame], raws: Iterable[RawRecord] = ()) -> None:
        if self.limit is not None:
            frames = frames[: max(0, self.limit - self.emitted)]
        if not frames:
            return
        self._write(b"".join(self._placed(self.printer.frame_lines(frames))))
        if self.writer is not None:
            for _, raw in zip(frames, raws, strict=False):
                self.writer.write(raw)
        if self.counters is not None:
            self.counters.add_many(frames)
        self.emitted += len(frames)

    def _write(self, data: bytes) -> None:
        if self.out is not None:
            self.out.write(data)
        else:  # a text-only stdout (an embedding caller's StringIO)
            self.stdout.write(data.decode())

    def _attach_writer(self, decoder: PcapStreamDecoder, out_file: BinaryIO | None) -> None:
        if out_file is not None and self.writer is None and decoder.linktype is not None:
            from fabrictui.capture.pcap_writer import PcapWriter

            self.writer = PcapWriter(
                out_file, decoder.linktype, decoder.snaplen or 262144, nanosecond=decoder.nanosecond
            )

    def flush(self) -> None:
        if self.out is not None:
            self.out.flush()
        self.stdout.flush()
        if self.writer is not None:
            self.writer.stream.flush()

    def summary(self) -> None:
        c = self.counters
        if c is None:
            return
        native = f"{c.native} native, " if c.native else ""
        print(f"{c.total} frames: {c.vxlan} VXLAN, {native}{c.other} other", file=sys.stderr)
        for vni, n in sorted(c.per_vni.items(), key=lambda kv: (kv[0] is None, kv[0])):
            print(f"  vni {vni}: {n}", file=sys.stderr)
        for (src, dst), n in sorted(c.per_pair.items()):
            print(f"  {src} > {dst}: {n}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if (args.read is None) == (args.node is None):
        return _error("give exactly one of --read FILE or --node NAME")
    if args.count is not None and args.count <= 0:
        return _error("--count must be positive")
    ports = frozenset(args.vxlan_port) if args.vxlan_port else DEFAULT_VXLAN_PORTS
    decoder = PcapStreamDecoder(
        vxlan_ports=ports, keep_raw=args.write is not None, node=args.node or ""
    )
    out_file: BinaryIO | None = None
    try:
        try:
            if args.write is not None:
                out_file = open(args.write, "wb")  # noqa: SIM115 - closed in finally
        except OSError as err:
            return _error(f"{args.write}: {err.strerror or err}")
        output = _Output(args)
        if args.read is not None:
            code = _read_file(args.read, decoder, output, out_file)
        else:
            from fabrictui.commands._headless import load_settings_or_stop, not_answered
            from fabrictui.session.ending import run_command

            # the settings only for their deadlines: a capture changes nothing
            settings = load_settings_or_stop(args, PROG, changes_lab=False)
            if isinstance(settings, int):
                return settings
            code = not_answered(PROG, run_command(_live(args, decoder, output, out_file)))
        output.flush()
        if args.summary:
            output.summary()
        return code
    except BrokenPipeError:
        # stdout closed early (| head): stop quietly, like tcpdump
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        if out_file is not None:
            out_file.close()


def _read_file(
    path: str, decoder: PcapStreamDecoder, output: _Output, out_file: BinaryIO | None
) -> int:
    label = "stdin" if path == "-" else path
    try:
        stream: BinaryIO = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as err:
        return _error(f"{path}: {err.strerror or err}")
    read = getattr(stream, "read1", stream.read)
    try:
        while not output.done:
            try:
                chunk = read(READ_CHUNK)
            except OSError as err:
                return _error(f"{label}: {err.strerror or err}")
            if not chunk:
                decoder.finish()
                break
            output.decode(decoder, chunk, out_file)
            if path == "-":
                output.flush()
    except CaptureError as err:
        output.failed(err, decoder)
        return _error(f"{label}: {err}")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return 0


async def _names(backend: object) -> dict[str, str]:
    """IP -> node or pod name for the line format; empty when the lab cannot say."""
    from fabrictui.backends.base import BackendError, LabBackend

    assert isinstance(backend, LabBackend)
    names: dict[str, str] = {}
    try:
        for node in await backend.list_nodes():
            if node.internal_ip:
                names[node.internal_ip] = node.name
        for pod in await backend.list_pods():
            if pod.ip and pod.ip not in names:
                names[pod.ip] = pod.name
    except BackendError:
        return names
    return names


async def _live(
    args: argparse.Namespace,
    decoder: PcapStreamDecoder,
    output: _Output,
    out_file: BinaryIO | None,
) -> int:
    from fabrictui import deadlines
    from fabrictui.backends.base import BackendError
    from fabrictui.backends.select import open_backend

    deadlines.forget_unanswered()  # this command's own (tests run several in a process)
    try:
        backend = open_backend(args)
    except BackendError as err:
        return _error(str(err))
    try:
        await backend.start()
        # stdout is the frames (a tcpdump-like stream); which lab they come from goes beside it
        print(f"{PROG}: {backend.info().describe()}", file=sys.stderr, flush=True)
        if not args.json:
            output.use_names(await _names(backend))
        bpf = args.filter if args.filter is not None else backend.capture_filter()
        if not args.vxlan_port:  # the lab's own port, as its capture filter has it
            decoder.vxlan_ports = frozenset({backend.info().vxlan_port})
        stream = await backend.open_capture(args.node, args.interface, bpf)
        output.captured_at(stream.via, stream.point)
        if stream.via == "switch":  # the node has no tcpdump: one line says where instead
            print(f"{PROG}: {args.node}: no tcpdump; capturing at {stream.point}", file=sys.stderr)
        ended = False
        try:
            chunks = stream.chunks()
            async for chunk in chunks:
                output.decode(decoder, chunk, out_file)
                output.flush()
                if output.done:
                    break
            else:
                ended = True
        finally:
            await stream.close()
        if ended:  # the source stopped on its own: it must have ended on a record boundary
            decoder.finish()
    except CaptureError as err:
        output.failed(err, decoder)
        return _error(f"{args.node}: {err}")
    except BackendError as err:
        return _error(str(err))
    finally:
        try:
            await backend.close()
        except BackendError as err:
            print(f"{PROG}: closing the lab: {err}", file=sys.stderr)
    return 0
