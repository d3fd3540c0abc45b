"""Peak memory of a process tree, sampled from /proc (Linux).

Chromium splits itself into a browser process, zygotes, GPU/utility processes
and one renderer per site; the model lives in a renderer (or its workers, which
are threads of it). We sum over the whole tree:
- RSS, the figure the issue asks for (shared pages count once per process, so
  the sum overstates a little, the same way for every contender);
- PSS (proportional set size, from smaps_rollup), where shared pages are split
  between the processes that map them, so the sum is the tree's real share.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def children_map() -> dict[int, list[int]]:
    """parent pid -> child pids, for every process visible now."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(root: int) -> list[int]:
    tree = children_map()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def find_process(marker: str) -> int | None:
    """The root of the process tree whose command lines contain `marker` (a unique
    profile path): the one matching process whose parent does not match.

    Not the lowest pid: pids wrap (at 32,768 on this machine), so a browser's crashpad
    handler, which names the profile too, can have a lower pid than the browser; the
    bench once sampled that handler alone (42 MB) for a whole trial.
    """
    matched: dict[int, int] = {}  # pid -> parent pid
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        if marker.encode() in cmdline:
            matched[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    roots = [pid for pid, parent in matched.items() if parent not in matched]
    return min(roots) if roots else None


def rss_pss(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes; (0, 0) when the process is gone."""
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0, 0
    pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return rss, pss


@dataclass
class MemorySampler:
    """Samples a process tree's summed RSS and PSS every `interval_s` in a thread.

    Peaks are kept per phase (set `phase` as the trial moves on) and overall.
    """

    marker: str  # identifies the tree's root process by command line
    interval_s: float = 0.2
    phase: str = "start"
    peaks: dict = field(default_factory=dict)  # phase -> {"rss": bytes, "pss": bytes}
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def report(self) -> dict:
        """Peak bytes overall and per phase."""
        overall = {
            "peak_rss": max((p["rss"] for p in self.peaks.values()), default=0),
            "peak_pss": max((p["pss"] for p in self.peaks.values()), default=0),
            "samples": self.samples,
        }
        return overall | {"phases": self.peaks}

    def _run(self) -> None:
        root = None
        while not self._stop.is_set():
            root = root or find_process(self.marker)
            if root is not None:
                total_rss = total_pss = 0
                for pid in descendants(root):
                    rss, pss = rss_pss(pid)
                    total_rss += rss
                    total_pss += pss
                peak = self.peaks.setdefault(self.phase, {"rss": 0, "pss": 0})
                peak["rss"] = max(peak["rss"], total_rss)
                peak["pss"] = max(peak["pss"], total_pss)
                self.samples += 1
            self._stop.wait(self.interval_s)
