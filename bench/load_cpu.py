"""CPU time each of the browser's threads spends while a page loads (Linux /proc).

On a 2-core machine a load is as fast as its busiest threads allow: what runs beside
what only helps while a core is free. Two snapshots of every thread's CPU time
(utime + stime in /proc/PID/task/TID/stat), one just before the navigation and one
once the page is ready, tell which threads took the load's CPU, and how much of the
machine's cores the load kept busy. Reading them costs nothing the load would notice.

Threads are named as Chromium names them (the kernel keeps 15 characters): the
page's worker is "DedicatedWorker", V8's compilers and garbage collector run on
"ThreadPoolForeg(round)", the service worker on "ServiceWorker t(hread)".
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.memory import descendants

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
# Chromium's threads by what they do for a page, in the order the report lists them.
THREAD_GROUPS = [
    ("worker", "the page's worker", ("DedicatedWorker",)),
    ("background", "compiling and GC (V8's pool)", ("ThreadPoolForeg", "ThreadPoolBackg")),
    ("service_worker", "service worker", ("ServiceWorker t",)),
    ("io", "IO and network", ("Chrome_ChildIOT", "Chrome_IOThread", "NetworkService")),
]
OTHER = ("other", "everything else")

ThreadTimes = dict[tuple[int, int], tuple[str, float]]  # (pid, tid) -> (thread name, CPU s)


def thread_times(root: int | None) -> ThreadTimes:
    """CPU seconds so far of every thread of the process tree under `root`."""
    times: ThreadTimes = {}
    if root is None:
        return times
    for pid in descendants(root):
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # the process ended meanwhile
        for tid in tasks:
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            times[(pid, int(tid))] = (name, (int(fields[11]) + int(fields[12])) * TICK_S)
    return times


def group_of(thread_name: str) -> str:
    for key, _, prefixes in THREAD_GROUPS:
        if thread_name.startswith(prefixes):
            return key
    return OTHER[0]


def load_cpu(before: ThreadTimes, after: ThreadTimes, wall_s: float) -> dict:
    """CPU seconds by thread group between two snapshots (a thread born meanwhile
    counts whole), their total, and the cores they kept busy on average."""
    spent = {key: 0.0 for key, _, _ in THREAD_GROUPS} | {OTHER[0]: 0.0}
    for thread, (name, seconds) in after.items():
        earlier = before.get(thread, (name, 0.0))[1]
        spent[group_of(name)] += max(0.0, seconds - earlier)
    total = sum(spent.values())
    return {
        "total_s": round(total, 2),
        "busy_cores": round(total / wall_s, 2) if wall_s > 0 else None,
        "groups": {key: round(value, 2) for key, value in spent.items()},
    }
