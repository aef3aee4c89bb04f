"""A small benchmark harness: run cases, print a table of medians and counts.

Benchmarks run against the test settings (PostgreSQL, Redis) in a database of their own,
created and dropped around the run. They are never part of the test suite: targets are
reported here, not asserted in tests.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext


@dataclass
class Result:
    case: str
    median_ms: float
    runs: int
    queries: int | None = None
    target: str = ""
    note: str = ""

    @property
    def row(self) -> list[str]:
        return [
            self.case,
            f"{self.median_ms:,.1f}",
            str(self.runs),
            "" if self.queries is None else str(self.queries),
            self.target,
            self.note,
        ]


@dataclass
class Harness:
    results: list[Result] = field(default_factory=list)

    def measure(
        self,
        case: str,
        function: Callable[[], Any],
        *,
        runs: int = 30,
        warmup: int = 3,
        target: str = "",
        note: str = "",
    ) -> Result:
        for _ in range(warmup):
            function()
        timings = []
        queries = None
        for index in range(runs):
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                function()
                timings.append((time.perf_counter() - start) * 1000)
            if index == 0:
                queries = len(captured.captured_queries)
        result = Result(case, statistics.median(timings), runs, queries, target, note)
        self.results.append(result)
        print(f"  {case}: {result.median_ms:,.1f} ms", flush=True)
        return result

    def record(self, result: Result) -> None:
        self.results.append(result)
        print(f"  {result.case}: {result.median_ms:,.1f} ms", flush=True)

    def table(self) -> str:
        header = ["case", "median ms", "runs", "queries", "target", "note"]
        rows = [header, *[r.row for r in self.results]]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = []
        for number, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if number == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)
