"""The demo lab's telemetry: its fabric as a Prometheus source would show it (docs/telemetry.md)."""
