"""Shared helpers of the bench scripts: side-by-side timing with medians, and one report format.

Every figure is measured against its reference in the same run, round by round (each round runs
every contender once, in turn), so that a noisy machine slows both alike; medians are quoted.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def interleaved(
    tasks: dict[str, Callable[[], object]], repeats: int
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds (all threads of this process) of each task over ``repeats``
    rounds, each round running all of them in turn."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in tasks}
    for _ in range(repeats):
        for name, task in tasks.items():
            wall, cpu = time.perf_counter(), time.process_time()
            task()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in times.items()
    }


def machine() -> str:
    """The machine in one line: CPU count, load when the run started, Python."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} CPU cores, load average {load:.1f} at start, "
        f"Python {platform.python_version()}"
    )


def verdict(ratio: float, goal: float, *, higher_is_better: bool = True) -> str:
    """``met`` or ``MISSED`` for a ratio against its goal."""
    met = ratio >= goal if higher_is_better else ratio <= goal
    return "met" if met else "MISSED"
