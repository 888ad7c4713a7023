"""Services and their endpoints (raw JSON lists, as the API server sends them) -> model.

Endpoints come from core/v1 Endpoints (every version the labs run, the seed's 1.15
included) or, from 1.21 on, discovery.k8s.io/v1 EndpointSlices; both are read into the
same ServiceEndpoint so a check does not care which the server had. Anything that is not
the shape the API documents is a ParseError naming the object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fabrictui.model import KubeService, ServiceEndpoint, ServicePort
from fabrictui.parsers import ParseError, json_list, json_map

SLICE_SERVICE_LABEL = "kubernetes.io/service-name"
Found = tuple[tuple[ServiceEndpoint, ...], tuple[int, ...]]  # addresses, ports


def _port(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ParseError(f"{what}: {value!r} is not a port number")
    return value


def _items(data: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    return [json_map(i, f"{what} item") for i in json_list(json_map(data, what).get("items"), what)]


def _key(obj: Mapping[str, Any], what: str) -> tuple[str, str]:
    meta = json_map(obj.get("metadata"), what)
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise ParseError(f"{what}: no metadata.name")
    return str(meta.get("namespace") or ""), name


def _address(addr: Any, ready: bool, what: str) -> ServiceEndpoint:
    addr = json_map(addr, what)
    ip = addr.get("ip")
    if not isinstance(ip, str) or not ip:
        raise ParseError(f"{what}: an address without ip")
    node = addr.get("nodeName")
    return ServiceEndpoint(ip, ready, _pod_of(addr, what), str(node) if node else None)


def _pod_of(holder: Mapping[str, Any], what: str) -> str | None:
    """namespace/name of a targetRef that is a pod, else None."""
    ref = json_map(holder.get("targetRef"), what)
    if ref.get("kind") != "Pod":
        return None
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}"


def endpoints_from_api(
    obj: Mapping[str, Any],
) -> tuple[tuple[ServiceEndpoint, ...], tuple[int, ...]]:
    """One core/v1 Endpoints object: its addresses (ready and not) and ports."""
    ns, name = _key(obj, "Endpoints")
    what = f"Endpoints {ns}/{name}"
    found: list[ServiceEndpoint] = []
    ports: list[int] = []
    for subset in json_list(obj.get("subsets"), f"{what} subsets"):
        subset = json_map(subset, f"{what} subset")
        for addr in json_list(subset.get("addresses"), f"{what} addresses"):
            found.append(_address(addr, True, what))
        for addr in json_list(subset.get("notReadyAddresses"), f"{what} notReadyAddresses"):
            found.append(_address(addr, False, what))
        for port in json_list(subset.get("ports"), f"{what} ports"):
            number = _port(json_map(port, what).get("port"), f"{what} port")
            if number not in ports:
                ports.append(number)
    return tuple(found), tuple(ports)


def slice_from_api(obj: Mapping[str, Any]) -> Found:
    """One discovery.k8s.io/v1 EndpointSlice: each endpoint's addresses, ready by its
    conditions (absent means ready, as the API documents), and the ports."""
    ns, name = _key(obj, "EndpointSlice")
    what = f"EndpointSlice {ns}/{name}"
    found: list[ServiceEndpoint] = []
    for ep in json_list(obj.get("endpoints"), f"{what} endpoints"):
        ep = json_map(ep, what)
        ready = json_map(ep.get("conditions"), what).get("ready", True) is not False
        ref = json_map(ep.get("targetRef"), what)
        pod = (
            f"{ref.get('namespace', '')}/{ref.get('name', '')}"
            if ref.get("kind") == "Pod"
            else None
        )
        node = ep.get("nodeName")
        for ip in json_list(ep.get("addresses"), f"{what} addresses"):
            if not isinstance(ip, str) or not ip:
                raise ParseError(f"{what}: an address that is not text")
            found.append(ServiceEndpoint(ip, ready, pod, str(node) if node else None))
    ports = []
    for port in json_list(obj.get("ports"), f"{what} ports"):
        number = _port(json_map(port, what).get("port"), f"{what} port")
        if number not in ports:
            ports.append(number)
    return tuple(found), tuple(ports)


def services_from_api(
    services: Mapping[str, Any],
    endpoints: Mapping[str, Any] | None = None,
    slices: Mapping[str, Any] | None = None,
) -> list[KubeService]:
    """A ServiceList joined with an EndpointsList (by namespace and name) or an
    EndpointSliceList (by the kubernetes.io/service-name label)."""
    seen: dict[tuple[str, str], tuple[list[ServiceEndpoint], list[int]]] = {}

    def add(key: tuple[str, str], eps: tuple[ServiceEndpoint, ...], ports: tuple[int, ...]) -> None:
        have, have_ports = seen.setdefault(key, ([], []))
        have.extend(e for e in eps if e not in have)
        have_ports.extend(p for p in ports if p not in have_ports)

    for obj in _items(endpoints or {}, "EndpointsList"):
        add(_key(obj, "Endpoints"), *endpoints_from_api(obj))
    for obj in _items(slices or {}, "EndpointSliceList"):
        ns, _ = _key(obj, "EndpointSlice")
        labels = json_map(json_map(obj.get("metadata"), "EndpointSlice").get("labels"), "labels")
        service = labels.get(SLICE_SERVICE_LABEL)
        if isinstance(service, str) and service:
            add((ns, service), *slice_from_api(obj))
    out: list[KubeService] = []
    for obj in _items(services, "ServiceList"):
        key = _key(obj, "Service")
        what = f"Service {key[0]}/{key[1]}"
        spec = json_map(obj.get("spec"), what)
        ports = []
        for port in json_list(spec.get("ports"), f"{what} ports"):
            port = json_map(port, f"{what} port")
            number = _port(port.get("port"), f"{what} port")
            target = port.get("targetPort", number)
            ports.append(
                ServicePort(str(port.get("name") or ""), number,
                            str(port.get("protocol") or "TCP"), str(target))
            )  # fmt: skip
        selector = json_map(spec.get("selector"), f"{what} selector")
        cluster_ip = spec.get("clusterIP")
        eps, ep_ports = seen.get(key, ([], []))
        out.append(
            KubeService(
                namespace=key[0],
                name=key[1],
                type=str(spec.get("type") or "ClusterIP"),
                cluster_ip=str(cluster_ip) if cluster_ip and cluster_ip != "None" else None,
                ports=tuple(ports),
                selector=tuple(sorted((str(k), str(v)) for k, v in selector.items())),
                endpoints=tuple(eps),
                endpoint_ports=tuple(ep_ports),
            )
        )
    return out
