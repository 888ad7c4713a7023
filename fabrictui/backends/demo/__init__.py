"""The built-in demo lab: the reference lab simulated in-process."""

from fabrictui.backends.demo.backend import DemoBackend

__all__ = ["DemoBackend"]
