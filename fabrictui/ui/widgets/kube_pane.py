from __future__ import annotations

from textual.app import ComposeResult

from fabrictui.model import KubeNode, KubePod
from fabrictui.session.state import LabState
from fabrictui.ui.render import (
    NODE_COLUMNS,
    POD_COLUMNS,
    POD_NAME_WIDTH,
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

    def __init__(self, state: LabState, **kwargs) -> None:
        super().__init__(state, "Kubernetes", 3, id="pane-kube", **kwargs)
        self._ages: dict[str, str] = {}  # pod key -> age text last drawn
        self._all_ages_at = 0.0

    def compose(self) -> ComposeResult:
        yield KeyedTable(NODE_COLUMNS, widths=(16, 8, 7, 8, 13, 5, 22), id="node-table")
        yield KeyedTable(
            POD_COLUMNS, widths=(POD_NAME_WIDTH, 17, 13, 15, 5, 11, 4, 5), id="pod-table"
        )

    # -- changes -----------------------------------------------------------------------

    def apply_changes(self) -> None:
        """Draw what changed in the state's nodes and pods since the last call:
        rows are updated in place (a table change costs a repaint of every
        visible cell at the next paint, so changes come in batches)."""
        now = self.state.clock()
        if self.state.take_node_changes():
            self._draw_nodes(now)
        pods = self.state.take_pod_changes()
        if pods.relisted:
            self._refilter(now)
            return
        table = self.query_one("#pod-table", KeyedTable)
        for key in pods.deleted:
            table.discard(key)
        for key in pods.changed:
            pod = self.state.pods.get(key)
            if pod is not None and self._wanted(pod):
                table.upsert(key, pod_row(pod, now, self.palette))
            else:
                table.discard(key)

    def redraw(self) -> None:
        now = self.state.clock()
        self._draw_nodes(now)
        self._refilter(now)

    def _draw_nodes(self, now: float) -> None:
        nodes = sorted(self.state.nodes.values(), key=_name)
        self.query_one("#node-table", KeyedTable).sync(
            (n.name, node_row(n, now, self.palette)) for n in nodes
        )

    def refresh_rows(self) -> None:
        """Once a second: redraw the rows on screen whose age text changed, and
        every row now and then (every table change costs a repaint of all visible
        cells, so with thousands of pods only what is seen is kept to the second)."""
        now = self.state.clock()
        nodes = self.query_one("#node-table", KeyedTable)
        for node in self.state.nodes.values():
            nodes.upsert(node.name, node_row(node, now, self.palette))
        table = self.query_one("#pod-table", KeyedTable)
        if now - self._all_ages_at >= ALL_AGES_EVERY:
            self._all_ages_at = now
            keys = table.keys
        else:
            first = int(table.scroll_offset.y)
            keys = [row.key.value for row in table.ordered_rows[first : first + table.size.height]]
        pods = self.state.pods
        for key in keys:
            pod = pods.get(key)
            if pod is not None and age(now - pod.created) != self._ages.get(key):
                self._ages[key] = age(now - pod.created)
                table.upsert(key, pod_row(pod, now, self.palette))

    # -- filtering ------------------------------------------------------------------------

    def _refilter(self, now: float) -> None:
        table = self.query_one("#pod-table", KeyedTable)
        wanted = sorted((p for p in self.state.pods.values() if self._wanted(p)), key=_pod_order)
        table.sync((p.key, pod_row(p, now, self.palette)) for p in wanted)

    def _wanted(self, pod: KubePod) -> bool:
        namespace, words = parse_filter(self.text_filter)
        if namespace and pod.namespace != namespace:
            return False
        haystack = f"{pod.namespace} {pod.name} {pod.status} {pod.ip or ''} {pod.node or ''}"
        return all(word in haystack.lower() for word in words)


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
