from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from fabrictui.model import KubeNode, KubePod
from fabrictui.render.common import age
from fabrictui.render.fabric import node_bgp_lines
from fabrictui.render.kube import (
    NODE_COLUMNS,
    POD_COLUMNS,
    POD_NAME_WIDTH,
    SERVICE_COLUMNS,
    node_row,
    pod_row,
    service_row,
)
from fabrictui.session.state import LabState
from fabrictui.ui.widgets.pane import Pane
from fabrictui.ui.widgets.tables import KeyedTable

ALL_AGES_EVERY = 30.0  # seconds between age refreshes of rows out of view
# Rows drawn per step when many are (re)drawn: the rows in view come first, the
# rest a step at a time with the loop free in between, so keys never wait for
# thousands of rows (a step costs about 30 ms here; the table also sizes each
# new row when idle).
FIRST_ROWS = 60
ROWS_PER_STEP = 400
FREEZE_ROWS = 1000  # from this many rows on, drawn rows are frozen out of the collector


class KubePane(Pane):
    """Nodes above, then Services with their endpoint counts, pods below; nodes and pods
    updated in place from watch events, Services as the state's poll last read them."""

    DEFAULT_CSS = """
    KubePane #node-table { height: auto; max-height: 9; }
    KubePane #node-bgp { height: auto; max-height: 12; display: none; }
    KubePane #service-table { height: auto; max-height: 6; }
    KubePane #service-note { height: auto; display: none; }
    KubePane #pod-table { height: 1fr; }
    """

    def __init__(self, state: LabState, **kwargs) -> None:
        super().__init__(state, "Kubernetes", 3, id="pane-kube", **kwargs)
        self._ages: dict[str, str] = {}  # pod key -> age text last drawn
        self._all_ages_at = 0.0
        self._to_draw: deque[str] = deque()  # pod keys still to (re)draw, in table order
        self._steps_ages_only = False  # those steps only refresh ages
        self._bgp_drawn = 0  # the state's node_bgp_version last drawn (BGP mode)
        self._services_drawn = 0  # the state's services_version last drawn

    def compose(self) -> ComposeResult:
        yield KeyedTable(NODE_COLUMNS, widths=(16, 8, 7, 8, 13, 5, 22), id="node-table")
        yield Static("", id="node-bgp")  # BGP mode: each node's sessions, as calicoctl shows
        yield KeyedTable(SERVICE_COLUMNS, widths=(16, 13, 12, 9, 11), id="service-table")
        yield Static("", id="service-note")  # why the Services could not be read
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
        if self.state.node_bgp_version != self._bgp_drawn:
            self._draw_bgp()
        if self.state.services_version != self._services_drawn:
            self._draw_services()
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
        self._draw_bgp()
        self._draw_services()
        self._refilter(now)

    def _draw_bgp(self) -> None:
        self._bgp_drawn = self.state.node_bgp_version
        lines = node_bgp_lines(self.state.node_bgp, self.palette)
        box = self.query_one("#node-bgp", Static)
        box.display = bool(lines)
        box.update(Text("\n").join(lines))

    def _draw_services(self) -> None:
        self._services_drawn = self.state.services_version
        services = sorted(self.state.services, key=lambda s: (s.namespace, s.name))
        self.query_one("#service-table", KeyedTable).sync(
            (s.key, service_row(s, self.palette)) for s in services
        )
        note = self.query_one("#service-note", Static)
        error = self.state.services_error
        note.display = error is not None
        note.update(Text(f"services: {error}", style=self.palette.muted) if error else "")

    def _draw_nodes(self, now: float) -> None:
        nodes = sorted(self.state.nodes.values(), key=_name)
        self.query_one("#node-table", KeyedTable).sync(
            (n.name, node_row(n, now, self.palette)) for n in nodes
        )

    def refresh_rows(self) -> None:
        """Once a second: redraw the rows on screen whose age text changed, and
        every row now and then, in steps (every table change costs a repaint of
        all visible cells, so with thousands of pods only what is seen is kept
        to the second)."""
        now = self.state.clock()
        nodes = self.query_one("#node-table", KeyedTable)
        for node in self.state.nodes.values():
            nodes.upsert(node.name, node_row(node, now, self.palette))
        table = self.query_one("#pod-table", KeyedTable)
        if now - self._all_ages_at >= ALL_AGES_EVERY and not self._to_draw:
            self._all_ages_at = now
            self._draw_in_steps(table.keys, ages_only=True)
            return
        first = int(table.scroll_offset.y)
        keys = [row.key.value for row in table.ordered_rows[first : first + table.size.height]]
        self._draw_rows(keys, now, ages_only=True)

    def _draw_rows(self, keys: Iterable[str], now: float, ages_only: bool) -> None:
        """Draw these pods' rows (`ages_only`: only those whose age text changed)."""
        table = self.query_one("#pod-table", KeyedTable)
        pods = self.state.pods
        for key in keys:
            pod = pods.get(key)
            if pod is None:
                continue
            text = age(now - pod.created)
            if not ages_only or key not in table or text != self._ages.get(key):
                self._ages[key] = text
                table.upsert(key, pod_row(pod, now, self.palette))

    # -- filtering ------------------------------------------------------------------------

    def _refilter(self, now: float) -> None:
        table = self.query_one("#pod-table", KeyedTable)
        wanted = sorted((p for p in self.state.pods.values() if self._wanted(p)), key=_pod_order)
        keep = {p.key for p in wanted}
        for key in [k for k in table.keys if k not in keep]:
            table.discard(key)
        self._all_ages_at = now  # every row drawn now has a fresh age
        self._draw_in_steps([p.key for p in wanted])

    def _draw_in_steps(self, keys: list[str], ages_only: bool = False) -> None:
        """Draw `keys` (in this order): the first screenful now, the rest after."""
        restart = not self._to_draw
        self._to_draw = deque(keys)
        self._steps_ages_only = ages_only
        self._draw_step(FIRST_ROWS)
        if restart and self._to_draw:
            self.call_after_refresh(self._next_step)

    def _next_step(self) -> None:
        self._draw_step(ROWS_PER_STEP)
        table = self.query_one("#pod-table", KeyedTable)
        if not self._steps_ages_only and table.row_count >= FREEZE_ROWS:
            # rows are long-lived objects, thousands of them: leave them out of the
            # collector's full passes, which otherwise scan them all every few
            # seconds (a 100 ms pause at 5,000 pods, felt as a late key press).
            # Only for big tables: small ones gain nothing, and what is frozen
            # stays for the life of the process (one app, in the real command)
            gc.freeze()
        if self._to_draw:
            self.call_after_refresh(self._next_step)

    def _draw_step(self, count: int) -> None:
        """Draw the next `count` rows still to draw, as the state has them now
        (a pod deleted or filtered out meanwhile is skipped)."""
        todo = self._to_draw
        keys = [todo.popleft() for _ in range(min(count, len(todo)))]
        pods = self.state.pods
        wanted = (k for k in keys if k in pods and self._wanted(pods[k]))
        self._draw_rows(wanted, self.state.clock(), self._steps_ages_only)

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
