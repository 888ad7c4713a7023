"""How the drill-down readers say a length of time and a moment (UTC, as the lab's logs)."""

from __future__ import annotations

import time


def span(seconds: float) -> str:
    """`00:00:05`, `2:03:04`, `3d04h`: a session's up or down time, as FRR says it."""
    s = max(int(seconds), 0)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def clock(epoch: float) -> str:
    """`13:29:17 UTC`, with the date once it is not today."""
    when = time.gmtime(epoch)
    today = time.gmtime()
    if when[:3] == today[:3]:
        return time.strftime("%H:%M:%S UTC", when)
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", when)
