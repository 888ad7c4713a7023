"""Start and stop the lab API server; write the kubeconfig and endpoint files."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from aiohttp import web

from fabrictui.lab.calico_dataplane import Dataplane
from fabrictui.lab.kubeapi.api.certs import Credentials, make_credentials
from fabrictui.lab.kubeapi.api.server import make_app
from fabrictui.lab.kubeapi.cluster import Cluster
from fabrictui.lab.kubeapi.controllers.parts import Timing
from fabrictui.lab.kubeapi.inventory import LabInventory, set_kube_api, write_json_atomic
from fabrictui.lab.kubeapi.versions import KubeProfile
from fabrictui.lab.memory_dataplane import MemoryDataplane

HOST = "127.0.0.1"
CONTEXT = "fabrictui-lab"


def kubeconfig_text(port: int, creds: Credentials) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {
                    "server": f"https://{HOST}:{port}",
                    "certificate-authority-data": base64.b64encode(creds.ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": f"{CONTEXT}-admin", "user": {"token": creds.token}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": f"{CONTEXT}-admin"}}
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


@dataclass
class RunningServer:
    cluster: Cluster
    runner: web.AppRunner
    port: int
    token: str
    kubeconfig: Path
    lab_dir: Path

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.cluster.stop()
        (self.lab_dir / "kubeapi" / "endpoint.json").unlink(missing_ok=True)


async def start_server(
    lab_dir: Path,
    inventory: LabInventory,
    dataplane: Dataplane,
    port: int = 0,
    timing: Timing | None = None,
    history: int = 10000,
    update_inventory: bool = True,
    profile: KubeProfile | None = None,
) -> RunningServer:
    """Serve the lab API on 127.0.0.1:port (0: any free port) and write the
    kubeconfig, `kubeapi/endpoint.json` and inventory's `kube_api`."""
    state_dir = lab_dir / "kubeapi"
    creds = make_credentials(state_dir)
    # the nodes' crictl reads the pods' sandboxes there (real namespaces only)
    sandboxes = None if isinstance(dataplane, MemoryDataplane) else state_dir / "sandboxes.json"
    cluster = Cluster(
        inventory, dataplane, timing=timing, history=history, profile=profile,
        sandbox_file=sandboxes,
    )  # fmt: skip
    await cluster.start()
    ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ssl_ctx.load_cert_chain(creds.cert_file, creds.key_file)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        await cluster.stop()
        raise
    bound = sock.getsockname()[1]
    app = make_app(cluster, creds.token, f"{HOST}:{bound}")
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=ssl_ctx).start()
    kubeconfig = lab_dir / "kubeconfig"
    fd = os.open(kubeconfig.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(kubeconfig_text(bound, creds))
    os.replace(kubeconfig.with_suffix(".tmp"), kubeconfig)
    if update_inventory and (lab_dir / "inventory.json").exists():
        set_kube_api(lab_dir, HOST, bound)
    write_json_atomic(
        state_dir / "endpoint.json",
        {"host": HOST, "port": bound, "pid": os.getpid(), "kubeconfig": "kubeconfig",
         "started": time.time(), "kube_version": cluster.profile.version},
    )  # fmt: skip
    return RunningServer(cluster, runner, bound, creds.token, kubeconfig, lab_dir)
