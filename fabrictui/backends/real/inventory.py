"""Which hosts a real lab has, what they are, and how to reach them.

Three sources, one result (`Inventory`): a rehearsal lab's `DIR/inventory.json`
(written by `fabrictui lab up`), a hand-written inventory file (TOML or JSON)
for labs not built with Vagrant, and names alone (Vagrant machines: roles and
racks guessed from the names). A `fabrictui.toml` in the lab directory
overrides role, rack and address per host:

    [hosts.k8s-node-l1-1]
    role = "worker"
    rack = 1
    address = "10.0.101.101"

A hand-written inventory lists hosts with their ssh endpoint:

    name = "my-lab"
    kubeconfig = "~/.kube/my-lab"          # optional
    known_hosts = "~/.ssh/known_hosts"     # optional, for every host
    [[hosts]]
    name = "leaf1"
    host = "192.0.2.11"                    # ssh host (or ssh = {host=, port=, user=, key=})
    port = 22
    user = "cumulus"
    key = "~/.ssh/lab_ed25519"
    role = "leaf"
    rack = 1
    address = "172.16.255.101"
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.ssh import SshTarget, targets_from_ssh_config
from fabrictui.constants import INVENTORY_FORMAT, POD_POOL, VXLAN_PORT, VXLAN_VNI
from fabrictui.model import Role

LAB_TOML = "fabrictui.toml"

_RACK_FROM_NODE = re.compile(r"-l(\d+)-")
_RACK_FROM_LEAF = re.compile(r"^leaf-?(\d+)$")


@dataclass(frozen=True, slots=True)
class HostMeta:
    """What fabrictui knows about a host besides how to reach it."""

    name: str
    role: Role
    rack: int | None = None
    address: str | None = None
    asn: int | None = None
    platform: str | None = None  # "frr", "nclu", "nvue"; None: detect over ssh
    leaf: str | None = None  # the leaf a node hangs off


@dataclass(frozen=True, slots=True)
class Inventory:
    name: str
    kind: str  # "rehearsal" or "inventory"
    root: Path
    hosts: tuple[HostMeta, ...]
    targets: Mapping[str, SshTarget]
    ssh_config: Path | None = None
    kubeconfig: Path | None = None
    pod_pool: str = POD_POOL
    vni: int = VXLAN_VNI
    vxlan_port: int = VXLAN_PORT
    lab_id: str = ""
    jump: str | None = None
    links: tuple[Mapping[str, Any], ...] = field(default=())

    def host(self, name: str) -> HostMeta:
        for meta in self.hosts:
            if meta.name == name:
                return meta
        raise BackendError(f"{name}: no such host in {self.name}")


# --- names -------------------------------------------------------------------


def role_from_name(name: str) -> Role:
    lowered = name.lower()
    if lowered.startswith("spine"):
        return Role.SPINE
    if lowered.startswith("leaf"):
        return Role.LEAF
    if "master" in lowered:
        return Role.MASTER
    if "node" in lowered or "worker" in lowered:
        return Role.WORKER
    return Role.OTHER


def rack_from_name(name: str) -> int | None:
    lowered = name.lower()
    match = _RACK_FROM_NODE.search(lowered) or _RACK_FROM_LEAF.match(lowered)
    return int(match.group(1)) if match else None


def meta_from_name(name: str) -> HostMeta:
    return HostMeta(name=name, role=role_from_name(name), rack=rack_from_name(name))


# --- overrides ----------------------------------------------------------------


def load_overrides(lab_dir: Path) -> dict[str, dict[str, Any]]:
    """`[hosts.NAME]` tables of DIR/fabrictui.toml (empty when there is no file)."""
    path = lab_dir / LAB_TOML
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BackendError(f"{path}: cannot read: {_first_line(exc)}") from None
    hosts = data.get("hosts", {})
    if not isinstance(hosts, dict) or not all(isinstance(v, dict) for v in hosts.values()):
        raise BackendError(f"{path}: [hosts.NAME] must be tables")
    return {str(k): dict(v) for k, v in hosts.items()}


def apply_overrides(
    hosts: Iterable[HostMeta], overrides: Mapping[str, Mapping[str, Any]], source: str = ""
) -> list[HostMeta]:
    result = []
    for meta in hosts:
        over = overrides.get(meta.name)
        if over:
            meta = replace(meta, **_meta_fields(over, f"{source}[hosts.{meta.name}]"))
        result.append(meta)
    return result


def _meta_fields(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "role" in entry:
        try:
            fields["role"] = Role(str(entry["role"]).lower())
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise BackendError(f"{where}: role must be one of {roles}") from None
    if "rack" in entry:
        rack = entry["rack"]
        if rack is not None and (isinstance(rack, bool) or not isinstance(rack, int)):
            raise BackendError(f"{where}: rack must be a number")
        fields["rack"] = rack
    for key in ("address", "platform", "leaf"):
        if key in entry:
            value = entry[key]
            if value is not None and not isinstance(value, str):
                raise BackendError(f"{where}: {key} must be text")
            fields[key] = value
    if "asn" in entry:
        asn = entry["asn"]
        if asn is not None and (isinstance(asn, bool) or not isinstance(asn, int)):
            raise BackendError(f"{where}: asn must be a number")
        fields["asn"] = asn
    return fields


# --- rehearsal lab ----------------------------------------------------------------


def load_rehearsal(lab_dir: Path) -> Inventory:
    """DIR/inventory.json as `fabrictui lab up` writes it, plus DIR/fabrictui.toml."""
    path = lab_dir / "inventory.json"
    data = _read_json(path)
    if data.get("format") != INVENTORY_FORMAT:
        raise BackendError(f"{path}: not a fabrictui inventory (format {data.get('format')!r})")
    inv = _build(data, lab_dir, path, kind=str(data.get("kind") or "rehearsal"))
    return replace(inv, hosts=tuple(apply_overrides(inv.hosts, load_overrides(lab_dir), LAB_TOML)))


def load_inventory_file(path: Path) -> Inventory:
    """A hand-written inventory (TOML or JSON) listing hosts and their ssh endpoints."""
    if path.suffix.lower() == ".json":
        data = _read_json(path)
    else:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise BackendError(f"{path}: cannot read: {_first_line(exc)}") from None
    root = path.parent
    inv = _build(data, root, path, kind="inventory")
    return replace(inv, hosts=tuple(apply_overrides(inv.hosts, load_overrides(root), LAB_TOML)))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackendError(f"{path}: cannot read: {_first_line(exc)}") from None
    if not isinstance(data, dict):
        raise BackendError(f"{path}: expected a JSON object")
    return data


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160]


def _path(root: Path, value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise BackendError(f"{where}: expected a file path")
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else root / p


def _build(data: Mapping[str, Any], root: Path, source: Path, kind: str) -> Inventory:
    hosts_data = data.get("hosts")
    if isinstance(hosts_data, dict):  # TOML [hosts.NAME] tables
        hosts_data = [{"name": k, **v} for k, v in hosts_data.items() if isinstance(v, dict)]
    if not isinstance(hosts_data, list) or not hosts_data:
        raise BackendError(f"{source}: no hosts listed")
    known = data.get("known_hosts")
    known_hosts = (str(_path(root, known, f"{source}: known_hosts")),) if known else ()
    metas: list[HostMeta] = []
    targets: dict[str, SshTarget] = {}
    for i, entry in enumerate(hosts_data):
        where = f"{source}: hosts[{i}]"
        if not isinstance(entry, dict):
            raise BackendError(f"{where}: expected a table")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or name.startswith("-"):
            raise BackendError(f"{where}: a host needs a name (not starting with '-')")
        if name in targets or any(m.name == name for m in metas):
            raise BackendError(f"{where}: host {name!r} listed twice")
        where = f"{source}: host {name!r}"
        base = meta_from_name(name)
        fields = _meta_fields(entry, where)
        metas.append(replace(base, **fields))
        target = _target(entry, name, root, known_hosts, where)
        if target is not None:
            targets[name] = target
    ssh_config = data.get("ssh_config")
    kubeconfig = data.get("kubeconfig")
    pool = data.get("pod_pool", POD_POOL)
    links = data.get("links") if isinstance(data.get("links"), list) else ()
    return Inventory(
        name=str(data.get("name") or root.name or "lab"),
        kind=kind,
        root=root,
        hosts=tuple(metas),
        targets=targets,
        ssh_config=_checked_ssh_config(root, ssh_config, source) if ssh_config else None,
        kubeconfig=_path(root, kubeconfig, f"{source}: kubeconfig") if kubeconfig else None,
        pod_pool=_network(pool, f"{source}: pod_pool"),
        vni=_int_in(data.get("vni", VXLAN_VNI), 0, 2**24 - 1, f"{source}: vni"),
        vxlan_port=_int_in(data.get("vxlan_port", VXLAN_PORT), 1, 65535, f"{source}: vxlan_port"),
        lab_id=str(data.get("lab_id", "")),
        jump=str(data["jump"]) if data.get("jump") else None,
        links=tuple(x for x in links if isinstance(x, dict)),
    )


def _checked_ssh_config(root: Path, value: Any, source: Path) -> Path:
    """The lab's ssh_config (what `ssh -F` gets for an interactive shell), read by the
    one ssh_config parser when it exists: a bad line is reported when the lab is
    opened, naming the file, the host and the line, not by ssh mid-session."""
    path = _path(root, value, f"{source}: ssh_config")
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BackendError(f"{path}: cannot read: {_first_line(exc)}") from None
        targets_from_ssh_config(text, str(path), source="ssh_config", base_dir=path.parent)
    return path


def _int_in(value: Any, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BackendError(f"{where}: expected a number from {low} to {high}")
    return value


def _network(value: Any, where: str) -> str:
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_network(value, strict=True))
        except ValueError:
            pass
    raise BackendError(f"{where}: expected a network like {POD_POOL}")


def _target(
    entry: Mapping[str, Any], name: str, root: Path, known_hosts: tuple[str, ...], where: str
) -> SshTarget | None:
    ssh = entry.get("ssh")
    spec: Mapping[str, Any] = ssh if isinstance(ssh, dict) else entry
    host = spec.get("host")
    if host is None:
        return None  # listed for its role only (no ssh)
    if not isinstance(host, str) or not host:
        raise BackendError(f"{where}: ssh host must be text")
    port = spec.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise BackendError(f"{where}: bad ssh port {port!r}")
    user = spec.get("user")
    if user is not None and not isinstance(user, str):
        raise BackendError(f"{where}: ssh user must be text")
    key = spec.get("identity_file", spec.get("key"))
    keys = (str(_path(root, key, f"{where}: key")),) if key else ()
    own_known = spec.get("known_hosts")
    known = (str(_path(root, own_known, f"{where}: known_hosts")),) if own_known else known_hosts
    jump = spec.get("proxy_jump")
    try:
        return SshTarget(
            name=name,
            host=host,
            port=port,
            user=user,
            identity_files=keys,
            identities_only=bool(keys),
            known_hosts=known,
            proxy_jump=str(jump) if jump else None,
            source="inventory",
        )
    except ValueError as exc:
        raise BackendError(f"{where}: {exc}") from None
