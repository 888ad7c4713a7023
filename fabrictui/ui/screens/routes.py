"""The routes view: per switch, its routes to the racks' node subnets and (in BGP mode)
to every node's pod blocks, protocol, next hops, ECMP count, and what is missing
(`actions/routes.py`). A pure renderer and the screen that shows it."""

from __future__ import annotations

from rich.text import Text

from fabrictui.actions.routes import RoutesReport
from fabrictui.render.common import Palette
from fabrictui.ui.screens.report import TextReportScreen

ROUTES_ID = "routes-report"


def routes_title(report: RoutesReport) -> str:
    missing = len(report.missing)
    verdict = "nothing missing" if not missing and not report.errors else f"{missing} missing"
    return f"Routes ({report.mode.upper()} mode): {verdict}"


def routes_lines(report: RoutesReport, palette: Palette) -> list[Text]:
    lines: list[Text] = []
    switch = None
    for row in report.rows:
        if row.switch != switch:
            switch = row.switch
            lines.append(Text(switch, style="bold"))
        line = Text("  ")
        line.append(f"{row.prefix:<18}")
        line.append(f" {row.kind:<11}", style=palette.muted)
        line.append(f" {row.owner:<16}")
        if row.route is None:
            line.append(" MISSING", style=palette.bad)
        else:
            line.append(f" {row.route.protocol:<9}")
            ecmp = row.route.ecmp
            line.append(f" ecmp {ecmp}", style=palette.good if ecmp else palette.bad)
            line.append(f"  {row.nexthops}", style=palette.muted)
        lines.append(line)
    for error in report.errors:
        lines.append(Text(error, style=palette.bad))
    if not lines:
        lines.append(Text("no switches to read", style=palette.muted))
    return lines


class RoutesScreen(TextReportScreen):
    def __init__(self) -> None:
        super().__init__("Routes: reading the switches…", Text(""), ROUTES_ID)

    def show(self, report: RoutesReport, palette: Palette) -> None:
        self.update_body(routes_title(report), Text("\n").join(routes_lines(report, palette)))
