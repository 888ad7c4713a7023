"""The path trace: the points a probe should cross, the captures and reads along them,
and the cause where it stopped (docs/trace.md)."""
