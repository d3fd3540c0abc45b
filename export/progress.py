"""A small progress display: a live bar on a terminal, one line per phase elsewhere."""

from __future__ import annotations

import contextlib
import sys
import time


class Progress:
    """Phases with a bar, written to stderr so stdout stays clean for results."""

    def __init__(self, stream=sys.stderr, enabled: bool = True):
        self.stream = stream
        self.enabled = enabled
        self.live = enabled and stream.isatty()
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str, total: int):
        started = time.perf_counter()
        state = {"done": 0, "total": max(total, 1)}

        def tick(done: int, total: int | None = None, label: str = "") -> None:
            state["done"], state["total"] = done, max(total or state["total"], 1)
            if self.live:
                self._draw(name, state["done"], state["total"])

        if self.live:
            self._draw(name, 0, state["total"])
        yield tick
        elapsed = time.perf_counter() - started
        self.timings[name] = elapsed
        if self.enabled:
            end = "\r" if self.live else ""
            bar = "#" * 30
            self.stream.write(f"{end}{name:<16} [{bar}] done in {elapsed:6.1f} s\n")
            self.stream.flush()

    def _draw(self, name: str, done: int, total: int) -> None:
        filled = int(30 * done / total)
        bar = "#" * filled + "." * (30 - filled)
        self.stream.write(f"\r{name:<16} [{bar}] {done}/{total}")
        self.stream.flush()
