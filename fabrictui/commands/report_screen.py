"""The TUI's picture of a recorded moment, as the screenshots are made: a
headless app replaying the recording at that moment, exported as SVG."""

from __future__ import annotations

from pathlib import Path

from fabrictui.config import Settings

SIZE = (160, 48)


async def screen_svg(path: Path, at: float, size: tuple[int, int] = SIZE) -> str:
    from fabrictui.app import make_app  # Textual: only when a picture is asked for
    from fabrictui.session.record.reader import Recording
    from fabrictui.session.record.replay import RecordedLab, ReplayDriver

    recording = Recording(path)
    try:
        driver = ReplayDriver(recording)
        driver.now = at
        settings = Settings(read_only=True, read_only_source="a replay", record=False)
        app = make_app(RecordedLab(recording), settings, clock=driver.clock, replay=driver)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.5)  # drawn: panes, the strip, a tick
            return app.export_screenshot(title=f"fabrictui replay of {path.name}")
    finally:
        recording.close()
