"""The drill-down commands (issue 26): `describe`, `logs` and `events`, the headless twins
of the TUI's detail screen, log view and event view."""
