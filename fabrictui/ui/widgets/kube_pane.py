from __future__ import annotations

from textual.app import ComposeResult

from fabrictui.model import KubeNode, KubePod, WatchEvent
from fabrictui.ui.render import (
    NODE_COLUMNS,
    POD_COLUMNS,
    POD_NAME_WIDTH,
    Palette,
    age,
    node_row,
    pod_row,
)
from fabrictui.ui.widgets.pane import Pane
from fabrictui.ui.widgets.tables import KeyedTable

ALL_AGES_EVERY = 30.0  # seconds between age refreshes of rows out of view


class KubePane(Pane):
    """Nodes above, pods below, both updated in place from watch events."""

    DEFAULT_CSS = """
    KubePane #node-table { height: auto; max-height: 9; }
    KubePane #pod-table { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("Kubernetes", 3, id="pane-kube", **kwargs)
        self.nodes: dict[str, KubeNode] = {}
        self.pods: dict[str, KubePod] = {}
        self.text_filter = ""  # "ns:space1 nginx" filters by namespace and text
        self._ages: dict[str, str] = {}  # pod key -> age text last drawn
        self._all_ages_at = 0.0

    def compose(self) -> ComposeResult:
        yield KeyedTable(NODE_COLUMNS, widths=(16, 8, 7, 8, 13, 5, 22), id="node-table")
        yield KeyedTable(
            POD_COLUMNS, widths=(POD_NAME_WIDTH, 17, 13, 15, 5, 11, 4, 5), id="pod-table"
        )

    # -- events -----------------------------------------------------------------------

    def apply_node_event(self, event: WatchEvent[KubeNode], now: float, palette: Palette) -> None:
        table = self.query_one("#node-table", KeyedTable)
        if event.type == "RELIST":
            self.nodes = {node.name: node for node in event.items}
            table.sync((n.name, node_row(n, now, palette)) for n in sorted(event.items, key=_name))
            return
        node = event.obj
        if node is None:
            return
        if event.type == "DELETED":
            self.nodes.pop(node.name, None)
            table.discard(node.name)
        else:
            self.nodes[node.name] = node
            table.upsert(node.name, node_row(node, now, palette))

    def apply_pod_event(self, event: WatchEvent[KubePod], now: float, palette: Palette) -> None:
        table = self.query_one("#pod-table", KeyedTable)
        if event.type == "RELIST":
            self.pods = {pod.key: pod for pod in event.items}
            self._refilter(now, palette)
            return
        pod = event.obj
        if pod is None:
            return
        if event.type == "DELETED":
            self.pods.pop(pod.key, None)
            table.discard(pod.key)
        else:
            self.pods[pod.key] = pod
            if self._wanted(pod):
                table.upsert(pod.key, pod_row(pod, now, palette))
            else:
                table.discard(pod.key)

    def refresh_rows(self, now: float, palette: Palette, restyle: bool = False) -> None:
        """Once a second: redraw the rows on screen whose age text changed, and
        every row now and then (every table change costs a repaint of all visible
        cells, so with thousands of pods only what is seen is kept to the second);
        `restyle` redraws everything (theme change)."""
        nodes = self.query_one("#node-table", KeyedTable)
        for node in self.nodes.values():
            nodes.upsert(node.name, node_row(node, now, palette))
        if restyle:
            self._refilter(now, palette)
            return
        table = self.query_one("#pod-table", KeyedTable)
        if now - self._all_ages_at >= ALL_AGES_EVERY:
            self._all_ages_at = now
            keys = table.keys
        else:
            first = int(table.scroll_offset.y)
            keys = [row.key.value for row in table.ordered_rows[first : first + table.size.height]]
        for key in keys:
            pod = self.pods.get(key)
            if pod is not None and age(now - pod.created) != self._ages.get(key):
                self._ages[key] = age(now - pod.created)
                table.upsert(key, pod_row(pod, now, palette))

    def set_filter(self, text: str, now: float, palette: Palette) -> None:
        self.text_filter = text
        self._refilter(now, palette)

    # -- filtering ------------------------------------------------------------------------

    def _refilter(self, now: float, palette: Palette) -> None:
        table = self.query_one("#pod-table", KeyedTable)
        wanted = sorted((p for p in self.pods.values() if self._wanted(p)), key=_pod_order)
        table.sync((p.key, pod_row(p, now, palette)) for p in wanted)

    def _wanted(self, pod: KubePod) -> bool:
        namespace, words = parse_filter(self.text_filter)
        if namespace and pod.namespace != namespace:
            return False
        haystack = f"{pod.namespace} {pod.name} {pod.status} {pod.ip or ''} {pod.node or ''}"
        return all(word in haystack.lower() for word in words)

    @property
    def namespaces(self) -> list[str]:
        return sorted({pod.namespace for pod in self.pods.values()})


def parse_filter(text: str) -> tuple[str | None, list[str]]:
    """`ns:space1 nginx` -> ("space1", ["nginx"])."""
    namespace = None
    words = []
    for word in text.split():
        if word.startswith(("ns:", "namespace:")):
            namespace = word.split(":", 1)[1] or None
        else:
            words.append(word.lower())
    return namespace, words


def _name(node: KubeNode) -> str:
    return node.name


def _pod_order(pod: KubePod) -> tuple[str, str]:
    return (pod.namespace, pod.name)
