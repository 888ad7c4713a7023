"""A DataTable keyed by model identity and updated in place.

Rows are added, changed cell by cell, or removed: never a full rebuild per
event (a rebuild re-measures every column; 5,000 pods would stall). Column
widths are fixed so that narrower values never trigger a re-measure, and
cells do not offer a measurement at all (`FixedCell`): the DataTable measures
every cell of every new row to size auto-width columns, which these columns
are not, and that measuring was most of the cost of adding 5,000 rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist


class FixedCell(Text):
    """A cell's text in a column of fixed width: drawn as any `Text`, but with
    no `__rich_measure__` (Rich and Textual then skip measuring it: the width
    is the column's)."""

    __slots__ = ()
    __rich_measure__ = None  # type: ignore[assignment]


def fixed(cells: tuple[Text, ...]) -> tuple[Text, ...]:
    for cell in cells:
        if type(cell) is Text:
            # same layout (no slots added): the renderer's own objects change kind in place
            cell.__class__ = FixedCell
    return cells


class KeyedTable(DataTable):
    def __init__(self, columns: Sequence[str], widths: Sequence[int], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._column_spec = list(zip(columns, widths, strict=True))
        self._cells: dict[str, tuple[Text, ...]] = {}

    def on_mount(self) -> None:
        for label, width in self._column_spec:
            self.add_column(label, width=width, key=label)

    def upsert(self, key: str, cells: tuple[Text, ...]) -> None:
        cells = fixed(cells)
        old = self._cells.get(key)
        if old is None:
            self.add_row(*cells, key=key)
        else:
            for (label, _), before, after in zip(self._column_spec, old, cells, strict=True):
                if before != after:
                    with contextlib.suppress(CellDoesNotExist, RowDoesNotExist):
                        self.update_cell(key, label, after)
        self._cells[key] = cells

    def discard(self, key: str) -> None:
        if self._cells.pop(key, None) is not None:
            with contextlib.suppress(RowDoesNotExist):
                self.remove_row(key)

    def sync(self, rows: Iterable[tuple[str, tuple[Text, ...]]]) -> None:
        """Make the table hold exactly `rows` (in place; order of new rows kept)."""
        wanted = dict(rows)
        for key in [k for k in self._cells if k not in wanted]:
            self.discard(key)
        for key, cells in wanted.items():
            self.upsert(key, cells)

    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return key.value

    @property
    def keys(self) -> list[str]:
        return list(self._cells)

    def __contains__(self, key: object) -> bool:
        return key in self._cells
