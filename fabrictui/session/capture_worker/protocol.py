"""The bytes between the app and its capture worker.

App -> worker (stdin): messages of a 9-byte header (`HEADER`: kind, stream id,
payload length) and a payload. Worker -> app (stdout): replies, each a 4-byte
length and a pickle; there is one reply per SUMMARY or WRITE request, in the
order of the requests. Both ends are this package (pickle is safe between
them: the app starts the worker itself, on pipes nobody else holds).
"""

from __future__ import annotations

import json
import pickle
import struct

from fabrictui.constants import VXLAN_PORT

HEADER = struct.Struct("<BII")  # kind, stream id, payload length
REPLY = struct.Struct("<I")

DATA = 1  # pcap bytes of a stream, in order
START = 2  # a stream begins: payload {"node": name, "address": its eth0 IP or "",
# "vxlan_port": the lab's VXLAN port}
END = 3  # a stream ended; payload END_CLEAN: by itself (the decoder checks it ended whole)
SUMMARY = 4  # request: reply ("summary", OverlaySummary, {stream id: error}, (frames not
# recorded so far, why frames are no longer recorded or ""))
WRITE = 5  # request: write the buffered raw frames to the path in the payload
RECORD = 6  # record the frames of the streams that follow into the recording at the
# path in the payload (empty: record none), before any stream starts

PODS = 7  # pod IP -> its node's address (JSON object): who sent and who received a
# native frame (BGP mode), which carries pod addresses only

END_CLEAN = b"clean"
MAX_MESSAGE = 1 << 20  # larger chunks are split (the worker's reads stay bounded)
MODULE = "fabrictui.session.capture_worker.process"


def message(kind: int, stream: int = 0, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, stream, len(payload)) + payload


def start_payload(node: str, address: str | None, vxlan_port: int = VXLAN_PORT) -> bytes:
    return json.dumps({"node": node, "address": address or "", "vxlan_port": vxlan_port}).encode()


def reply(obj: object) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return REPLY.pack(len(data)) + data
