"""`fabrictui report --at TIME --prometheus URL` as typed: the fabric as Prometheus's history
had it then, without a recording, from answers a real Prometheus gave on a rehearsal lab with
leaf2's node exporter killed (tests/data/prometheus/history/, served on 127.0.0.1 by a stand-in
that answers only those queries); bad input as one line, exit 2. Against a real Prometheus's
history: tests/lab/test_telemetry_lab.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests._cli import run_fabrictui
from tests._paths import TEST_DATA

SAVED = json.loads((TEST_DATA / "prometheus" / "history" / "answers.json").read_text())
AT = datetime.fromtimestamp(SAVED["at"], UTC).isoformat(timespec="seconds")


class SavedAnswers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query).get("query", [""])[0]
        answer = SAVED["answers"].get(f"{parts.path}?{query}")
        body = b"404 page not found" if answer is None else json.dumps(answer).encode()
        self.send_response(404 if answer is None else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SavedAnswers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def report(*args: str) -> tuple[int, str]:
    done = run_fabrictui(["report", *args], timeout=60)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout + done.stderr


def test_markdown_of_the_fabric_then(prometheus: str, tmp_path: Path) -> None:
    out = tmp_path / "then.md"
    code, said = report("--at", AT, "--prometheus", prometheus, "--md", "-o", str(out))
    assert code == 0, said
    text = out.read_text()
    assert "(no recording)" in text
    sessions = [line for line in text.splitlines() if "| Established |" in line]
    assert len(sessions) == 8  # 4 switches, 2 sessions each, as then
    assert "| leaf1 | swp51 | up | 10000 | 1500 |" in text
    # leaf2's node exporter killed 6 s before: named, its ports not shown down
    assert "- leaf2: node exporter down, last good scrape 6 s ago" in text
    assert "| leaf2 | swp" not in text
    assert "no node ran BIRD (not in BGP mode)" in text


def test_html_of_the_fabric_then(prometheus: str, tmp_path: Path) -> None:
    out = tmp_path / "then.html"
    code, said = report("--at", AT, "--prometheus", prometheus, "--html", "-o", str(out))
    assert code == 0, said
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<td>spine-sw2</td>" in page
    assert "http" not in page.replace(prometheus, "")  # self-contained: nothing linked


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--at", "yesterday", "--prometheus", "URL"), '--at yesterday: not "N{s,m,h,d} ago"'),
        (("--prometheus", "http://127.0.0.1:1"), "Prometheus at http://127.0.0.1:1 not answering"),
        (("--prometheus", "127.0.0.1:9090"), "not an http:// or https:// URL"),
        (("--prometheus", "URL/not-here"), "HTTP 404: not a Prometheus API"),
        (("rec.jsonl", "--prometheus", "URL"), "a recording, or Prometheus's history: not both"),
        (("--lab", "/nonexistent/lab"), "--lab /nonexistent/lab: no such directory"),
    ],
)
def test_bad_input_is_one_line(prometheus: str, tmp_path: Path, args, words: str) -> None:
    typed = [a.replace("URL", prometheus) for a in args]
    code, said = report(*typed, "--md", "-o", str(tmp_path / "x.md"))
    assert code == 2 and words in said and len(said.strip().splitlines()) == 1, said
