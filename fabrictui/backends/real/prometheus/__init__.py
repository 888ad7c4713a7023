"""Prometheus as the telemetry source: the HTTP API client, the BGP sessions read through it,
and the backend mixin that prefers it to SSH when a Prometheus is set (docs/telemetry.md)."""
