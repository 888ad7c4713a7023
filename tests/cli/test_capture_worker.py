"""The capture worker: the records it keeps for `w` are the decoder's own, its
summaries count exactly and keep each frame once, its client moves bytes and
asks, and the process never outlives the app (closed stdin, kill -9)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fabrictui.capture import CaptureError
from fabrictui.capture.pcap import PcapStreamDecoder, decode_pcap_bytes
from fabrictui.capture.synth import build_vxlan_icmp_frame, pcap_global_header, pcap_record
from fabrictui.session.capture_worker import CaptureWorker
from fabrictui.session.capture_worker.process import Stream, Worker
from fabrictui.session.capture_worker.protocol import (
    DATA,
    END,
    END_CLEAN,
    START,
    SUMMARY,
    message,
    start_payload,
)
from fabrictui.session.capture_worker.raw import RawChunks, RecordLocator
from tests._paths import ROOT

A, B = "10.0.101.101", "10.0.101.102"


def frame(seq: int, src: str = A, dst: str = B, pad: int = 0) -> bytes:
    return build_vxlan_icmp_frame(
        outer_src_mac="08:00:27:53:73:c7", outer_dst_mac="08:00:27:91:d4:66",
        outer_src=src, outer_dst=dst, udp_src=41553, vni=4096,
        inner_src_mac="66:92:0a:fb:a9:be", inner_dst_mac="66:81:2e:61:22:8a",
        inner_src="10.67.209.2", inner_dst="10.65.76.193", icmp_type=8, icmp_id=592,
        icmp_seq=seq, payload_len=56 + pad,
    )  # fmt: skip


def stream_bytes(count: int, snaplen: int = 262144, seed: int = 1) -> bytes:
    """Frames of several sizes, some cut by the snap length, some not VXLAN."""
    rng = random.Random(seed)
    parts = [pcap_global_header(snaplen=snaplen)]
    for i in range(count):
        data = frame(i, pad=rng.choice((0, 0, 40, 900)))
        if i % 7 == 3:
            data = data[:60]  # not VXLAN any more: a short odd packet
        orig = len(data)
        parts.append(pcap_record(1.0 + i * 1e-3, data[:snaplen], orig))
    return b"".join(parts)


def chunks(data: bytes, rng: random.Random) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        size = rng.choice((1, 7, 16, 23, 100, 1500, 4096, 70_000))
        out.append(data[i : i + size])
        i += size
    return out


@pytest.mark.parametrize("snaplen", [262144, 200])
def test_kept_records_are_the_decoders_whatever_the_chunking(snaplen: int) -> None:
    data = stream_bytes(600, snaplen)
    expected = PcapStreamDecoder(keep_raw=True)
    expected.feed(data)
    records = expected.raw_records
    for seed in range(5):
        decoder, locator, kept = PcapStreamDecoder(), RecordLocator(), RawChunks(250)
        for chunk in chunks(data, random.Random(seed)):
            frames = decoder.feed(chunk)
            located = locator.locate(chunk, frames, decoder.snaplen or 0, decoder.big_endian)
            kept.add(located)
        assert len(kept) == 250
        assert kept.records() == records[-250:], seed
        if snaplen < 262144:
            assert locator.walked > 0  # cut records: found by walking, not by lengths


def test_kept_records_follow_the_frames_kept() -> None:
    data = stream_bytes(50)
    decoder, locator, kept = PcapStreamDecoder(), RecordLocator(), RawChunks(100)
    frames = decoder.feed(data)
    kept.add(locator.locate(data, frames, decoder.snaplen or 0, False), [1, 4, 9])
    reference = PcapStreamDecoder(keep_raw=True)
    reference.feed(data)
    assert kept.records() == [reference.raw_records[i] for i in (1, 4, 9)]


def read_reply(fd: int) -> tuple:
    import pickle
    import struct

    (length,) = struct.unpack("<I", os.read(fd, 4))
    data = b""
    while len(data) < length:
        data += os.read(fd, length - len(data))
    return pickle.loads(data)


def test_worker_keeps_a_frame_once_on_the_node_that_sent_it_and_counts_exactly() -> None:
    read, write = os.pipe()
    try:
        worker = Worker(buffer_frames=100, display_batch=10, out=write)
        worker.streams[1] = Stream("node-a", A)
        worker.streams[2] = Stream("node-b", B)
        sent = [pcap_record(1.0 + i, frame(i, A, B)) for i in range(30)]
        back = [pcap_record(1.5 + i, frame(100 + i, B, A)) for i in range(20)]
        # node a sees both directions on its eth0, node b too: each frame twice
        for stream in (1, 2):
            worker.decode(stream, pcap_global_header())
            worker.decode(stream, b"".join(sent[:13]))
            worker.decode(stream, b"".join(sent[13:] + back))
        worker.receive(message(SUMMARY))
        kind, summary, broken, noted = read_reply(read)
    finally:
        os.close(read)
        os.close(write)
    assert kind == "summary" and broken == {} and noted == (0, "")  # not recording
    assert summary.counters.total == 50 and summary.counters.per_pair == {(A, B): 30, (B, A): 20}
    assert len(summary.batch.frames) == 10 and summary.batch.skipped == 40
    assert summary.buffered == 50


async def test_client_moves_bytes_and_the_worker_writes_what_it_kept(tmp_path: Path) -> None:
    worker = CaptureWorker(buffer_frames=40, display_batch=5)
    await worker.start()
    pid = worker.pid
    try:
        sink = worker.sink("node-a", A)
        sink.start()
        data = stream_bytes(100)
        for chunk in chunks(data, random.Random(3)):
            await sink.feed(chunk)
        deadline = time.monotonic() + 10
        while (await worker.summary())[0].counters.total < 100:
            assert time.monotonic() < deadline, "the worker did not count every frame"
            await asyncio.sleep(0.05)
        path = tmp_path / "kept.pcap"
        assert await worker.write_pcap(path) == 40
        assert decode_pcap_bytes(path.read_bytes()) == decode_pcap_bytes(data)[-40:]
        with pytest.raises(OSError):
            await worker.write_pcap(tmp_path / "no" / "such" / "dir.pcap")
        # a broken stream is said on the next chunk, and a restart starts afresh
        sink.end()
        sink.start()
        await sink.feed(b"this is not a pcap stream at all")
        with pytest.raises(CaptureError, match="node-a: not a pcap stream"):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                await worker.summary()
                await sink.feed(b"more")
    finally:
        await worker.close()
    assert not _alive(pid)


def _alive(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone too; only our own children can be reaped here
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return status != "Z"


def test_the_worker_dies_with_a_killed_app() -> None:
    """kill -9 of the process that started it: the worker ends (closed stdin,
    and on Linux the parent-death signal) instead of running on."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import asyncio
                from fabrictui.session.capture_worker import CaptureWorker

                async def main():
                    worker = CaptureWorker()
                    await worker.start()
                    print(worker.pid, flush=True)
                    await asyncio.sleep(60)

                asyncio.run(main())
                """
            ),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = None
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        deadline = time.monotonic() + 5
        while _alive(pid):
            assert time.monotonic() < deadline, f"capture worker {pid} outlived its app"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("clean", [True, False])
def test_a_stream_cut_mid_record_is_said_only_when_it_ended_by_itself(clean: bool) -> None:
    read, write = os.pipe()
    try:
        worker = Worker(buffer_frames=10, display_batch=10, out=write)
        data = pcap_global_header() + pcap_record(1.0, frame(1)) + pcap_record(2.0, frame(2))
        worker.receive(message(START, 7, start_payload("node-a", A)))
        worker.receive(message(DATA, 7, data[:-10]))
        worker.receive(message(END, 7, END_CLEAN if clean else b""))
        while worker.queue:
            worker.process(*worker.queue.popleft())
        worker.receive(message(SUMMARY))
        _, summary, _, _ = read_reply(read)
    finally:
        os.close(read)
        os.close(write)
    assert summary.counters.total == 1 and worker.streams == {}
    if clean:
        assert len(summary.errors) == 1 and "node-a: stream ended mid-record" in summary.errors[0]
    else:
        assert summary.errors == ()  # the capture's own error was already said


def test_a_chunk_with_few_frames_kept_is_not_held_whole() -> None:
    data = stream_bytes(40)
    decoder, locator, kept = PcapStreamDecoder(), RecordLocator(), RawChunks(100)
    frames = decoder.feed(data)
    located = locator.locate(data, frames, decoder.snaplen or 0, False)
    kept.add(located, [3, 30])  # 2 of 40: copied out
    assert len(kept) == 2 and kept.held_bytes < len(data) // 10
    reference = PcapStreamDecoder(keep_raw=True)
    reference.feed(data)
    assert kept.records() == [reference.raw_records[i] for i in (3, 30)]


async def test_the_worker_records_the_frames_into_the_session_file(tmp_path: Path) -> None:
    """The recording's frames come from the worker process (the app's recorder
    writes the rest of the same file): every record, in order, cut anywhere,
    snap-length cuts and odd packets included, readable while both write."""
    from fabrictui.model import LabInfo
    from fabrictui.session.record import Recorder, Recording

    path = tmp_path / "s.rec.sqlite"
    recorder = Recorder(path, LabInfo("lab", "demo"))
    worker = CaptureWorker(buffer_frames=40, display_batch=5)
    await worker.start()
    try:
        worker.record(path)
        data = stream_bytes(300, snaplen=200, seed=5)
        for restart in range(2):  # a restarted stream is a stream of its own
            sink = worker.sink("node-a", A)
            sink.start()
            for chunk in chunks(data, random.Random(restart)):
                await sink.feed(chunk)
            sink.end()
        deadline = time.monotonic() + 10
        while (await worker.summary())[0].counters.total < 600:
            assert time.monotonic() < deadline, "the worker did not count every frame"
            await asyncio.sleep(0.05)
        recorder.log("info", "both streams fed")
    finally:
        await worker.close()
    recorder.close()
    assert worker.record_dropped == 0 and worker.record_error == ""
    rec = Recording(path)
    try:
        assert rec.damage is None and rec.frame_count() == 600
        assert [e.kind for e in rec.events] == ["log"]
        out = tmp_path / "all.pcap"
        assert rec.export_pcap(out, 0.0, 1e12) == 600
        assert decode_pcap_bytes(out.read_bytes()) == decode_pcap_bytes(data) * 2
    finally:
        rec.close()


def test_a_slow_disk_drops_and_counts_frames_and_never_blocks_decoding(tmp_path: Path) -> None:
    from fabrictui.session.record.frames import FrameWriter

    writer = FrameWriter(str(tmp_path / "s.rec.sqlite"), max_backlog=1000)
    try:
        record = pcap_record(1.0, frame(1))
        assert writer.add(1, "n", A, pcap_global_header(), record * 5, 0, len(record) * 5, 5, 1, 1)
        # the thread has not taken it yet or has: either way, past the bound is dropped
        writer._put = writer._done + 1000  # as if the disk held 1000 bytes back
        assert not writer.add(1, "n", A, pcap_global_header(), record, 0, len(record), 1, 2, 2)
        assert writer.dropped == 1
    finally:
        writer.close(10.0)
    assert writer.error is None
