"""`python -m fabrictui.lab.kubeapi --lab-dir DIR [--port N]`"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from fabrictui.lab.calico_dataplane import Dataplane, LinuxDataplane, remove_netns, run
from fabrictui.lab.kubeapi.api.serve import start_server
from fabrictui.lab.kubeapi.controllers.dns import sweep_resolv
from fabrictui.lab.kubeapi.controllers.parts import Timing
from fabrictui.lab.kubeapi.inventory import InventoryError, LabInventory, load_inventory
from fabrictui.lab.kubeapi.versions import DEFAULT_VERSION, PROFILES, profile
from fabrictui.lab.memory_dataplane import MemoryDataplane

log = logging.getLogger("fabrictui.lab.kubeapi")


async def sweep_pod_namespaces(inventory: LabInventory) -> list[str]:
    """Remove pod namespaces a previous run of this lab's server left behind."""
    listing = await run(["ip", "netns", "list"])
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    stale = [n for n in names if n.startswith(inventory.pod_netns_prefix)]
    for name in stale:
        await remove_netns("ip", name)
    sweep_resolv(inventory.pod_netns_prefix)  # their resolv.conf folders (controllers/dns.py)
    return stale


async def serve(args: argparse.Namespace) -> int:
    lab_dir = Path(args.lab_dir).resolve()
    try:
        inventory = load_inventory(lab_dir)
    except InventoryError as exc:
        print(f"fabrictui kubeapi: {exc}", file=sys.stderr)
        return 2
    dataplane: Dataplane
    if args.dataplane == "memory":
        dataplane = MemoryDataplane()
    else:
        dataplane = LinuxDataplane()
        stale = await sweep_pod_namespaces(inventory)
        if stale:
            log.info("removed %d stale pod namespaces", len(stale))
    try:
        kube = profile(args.kube_version)
    except ValueError as exc:
        print(f"fabrictui kubeapi: {exc}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else (inventory.kube_api_port or 0)
    timing = Timing.fast() if args.fast else Timing()
    try:
        server = await start_server(
            lab_dir, inventory, dataplane, port=port, timing=timing, profile=kube
        )
    except OSError as exc:
        print(f"fabrictui kubeapi: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 2
    log.info("serving %s for lab %s", server.url, inventory.lab_id)
    print(f"fabrictui kubeapi: {server.url} (kubeconfig {server.kubeconfig})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: removing pod namespaces")
    await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fabrictui.lab.kubeapi",
        description="The rehearsal lab's own subset of the Kubernetes API (not Kubernetes).",
    )
    parser.add_argument("--lab-dir", required=True, help="lab directory with inventory.json")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: inventory's "
                        "kube_api.port, else any free port)")  # fmt: skip
    parser.add_argument(
        "--dataplane",
        choices=["linux", "memory"],
        default="linux",
        help="linux: build namespaces, veths and VXLAN (root); memory: record only (tests)",
    )
    parser.add_argument("--fast", action="store_true", help="near-instant pod start-up (tests)")
    parser.add_argument(
        "--kube-version",
        default=DEFAULT_VERSION,
        metavar="X.Y.Z",
        help=f"the Kubernetes it claims and serves like ({' or '.join(sorted(PROFILES))}; "
        f"default {DEFAULT_VERSION})",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())
