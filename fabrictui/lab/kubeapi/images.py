"""What each container image has installed, and how a runtime says it lacks a program.

The lab's pods run on the host's filesystem, so without this every pod could run every
program of the host, and a probe that would fail on a real cluster (the seed's nginx
pods have no ping) would pass here. For the images fabrictui's workflows meet, an exec
runs with PATH set to a folder holding only that image's programs (links to the host's),
and a program the image lacks is refused before it starts, in the words Docker 18.09's
dockershim used on Kubernetes 1.15 (the seed's cluster; docs/rehearsal-lab-kubeapi.md).
Images the lab does not know (calico-node, coredns, ...) keep the host's programs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

# Debian's essential set as the slim nginx images carry it: a shell, the core utilities
# (timeout among them), and libc-bin's getent (the resolver's own lookup, docs/dns.md).
_CORE_NAMES = (
    "sh dash bash cat ls echo printf sleep true false env hostname id uname date mkdir rm "
    "cp mv ln head tail grep sed awk sort uniq wc tr cut tee touch chmod chown stat readlink "
    "dirname basename find xargs tar gzip df du test expr seq yes whoami timeout getent"
)
CORE = frozenset(_CORE_NAMES.split())
NGINX = CORE | {"nginx", "nginx-debug"}
# The Debian-based nginx images add curl from 1.19 (2020) on; still no ping, dig, ip.
NGINX_WITH_CURL = NGINX | {"curl"}
_DEBUG_NAMES = (
    "ping curl wget dig nslookup host ip ss nc tcpdump traceroute tracepath arping "
    "iperf3 mtr nmap socat ethtool bridge netstat"
)
DEBUG_TOOLS = CORE | frozenset(_DEBUG_NAMES.split())
BUSYBOX = "/usr/bin/busybox"


def _version(tag: str) -> tuple[int, ...] | None:
    found = re.match(r"(\d+)(?:\.(\d+))?", tag)
    if not found:
        return None
    return tuple(int(part) for part in found.groups() if part is not None)


def image_programs(image: str) -> frozenset[str] | None:
    """The programs `image` has, by name; None for an image the lab does not model."""
    ref = image.split("@", 1)[0]
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    base = name.rsplit("/", 1)[-1]
    if base == "nginx":
        version = _version(tag) if tag and tag != "latest" else None
        old = version is not None and version < (1, 19)
        return NGINX if old else NGINX_WITH_CURL
    if base == "busybox":
        return frozenset(_busybox_applets()) | {"busybox"}
    if base in ("netshoot", "dnsutils", "network-multitool"):
        return DEBUG_TOOLS
    return None


def _busybox_applets() -> list[str]:
    if not Path(BUSYBOX).exists():
        return ["sh"]
    done = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=False)
    return done.stdout.split()


def not_found(program: str) -> tuple[bytes, dict[str, Any]]:
    """What Docker 18.09 (runc's container_linux.go, dockershim) sends for a program the
    image lacks: the runtime's line on stdout, then the exec's Status with exit code 126."""
    quoted = program.replace('"', '\\"')
    line = (
        "OCI runtime exec failed: exec failed: container_linux.go:345: starting container "
        f'process caused "exec: \\"{quoted}\\": executable file not found in $PATH": unknown\r\n'
    )
    status = {
        "metadata": {},
        "status": "Failure",
        "message": (
            "command terminated with non-zero exit code: Error executing in Docker Container: 126"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "126"}]},
    }
    return line.encode(), status


class ImageShelf:
    """One folder of program links per modelled image, made on first use, removed at close."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._dirs: dict[str, Path] = {}

    def missing(self, image: str, argv: list[str]) -> str | None:
        """The program of `argv` that `image` lacks, else None."""
        programs = image_programs(image)
        if programs is None or not argv:
            return None
        name = argv[0].rsplit("/", 1)[-1]
        return None if name in programs else argv[0]

    def path_for(self, image: str) -> str | None:
        """PATH for an exec in `image` (None: the host's, for images the lab does not model)."""
        programs = image_programs(image)
        if programs is None:
            return None
        if image not in self._dirs:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="ftl-images-"))
            folder = self._root / re.sub(r"[^A-Za-z0-9_.-]", "_", image)
            folder.mkdir(exist_ok=True)
            busybox = "busybox" in programs  # every applet is the one busybox binary
            for program in sorted(programs):
                target = BUSYBOX if busybox else shutil.which(program)
                link = folder / program
                if target and not link.exists():
                    link.symlink_to(target)
            self._dirs[image] = folder
        return str(self._dirs[image])

    def close(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
            self._dirs.clear()
