"""Reports of a recorded moment (docs/replay.md): what the lab looked like at
one time, as Markdown for a ticket or self-contained HTML for a browser, with
the TUI's own picture of that moment in the HTML."""
