"""Helpers the service benchmarks share (bench_plans.py, bench_contexts.py): the machine, a scratch database,
timing statistics and a growth report.

`machine()` prints the same line as bench_events.py's, plus SQLite's version and the database in use.
"""

import contextlib
import gc
import math
import os
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url


def machine() -> str:
    """CPU model and count, memory, OS and Python (as bench_events.py prints it)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores{memory}; {system}; Python {platform.python_version()}"


def describe_database(db: Any) -> str:
    """Which database a DatabaseManager talks to: dialect, server version and where."""
    url = make_url(db.database_url)
    if db.dialect == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL) at {url.database}"
    with db.engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar()
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"
    return f"PostgreSQL {version} at {where} (scratch database, dropped afterwards)"


def print_header(title: str, db: Any) -> None:
    """The bench's title, the machine, SQLite's version and the database used."""
    print(title)
    print(f"machine:  {machine()}")
    print(f"platform: {platform.platform()}; SQLite library {sqlite3.sqlite_version}")
    print(f"database: {describe_database(db)}")
    with contextlib.suppress(OSError):
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"load:     {load} (1, 5, 15 min) when the bench started; other work on the machine adds noise")


@contextlib.contextmanager
def scratch_database(database_url: str | None, *, prefix: str) -> Iterator[str]:
    """A database to run in: a file in a temp dir by default; on PostgreSQL a fresh database with a unique name
    on the server the URL names (created here and dropped afterwards, as tests/conftest.py's PostgresServer
    does); any other SQLite URL is used as given."""
    if database_url is None:
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield database_url
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{prefix.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(action: Callable[[], Any]) -> float:
    """Seconds one call takes; garbage left by the bench's own setup is collected first, so that a collection
    of it does not land in the measurement (the call's own collections do)."""
    gc.collect()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


class QueryCounter:
    """Counts the statements an engine sends to the database (each before_cursor_execute: a batched
    executemany counts once, an ORM insert that SQLite runs row by row counts once per row)."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_: Any) -> None:
        self.count += 1

    def measure(self, action: Callable[[], Any]) -> tuple[float, int]:
        """Seconds one call takes, and the statements it ran."""
        before = self.count
        elapsed = timed(action)
        return elapsed, self.count - before


def p90(values: list[float]) -> float:
    """The 90th percentile (the largest value below 10 samples)."""
    if len(values) < 10:
        return max(values)
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f}"


def _verdict(k: float) -> str:
    if k < 0.15:
        return "flat"
    if k < 0.9:
        return "sub-linear"
    if k <= 1.15:
        return "linear"
    return "SUPER-LINEAR"


def growth(sizes: list[int], medians: list[float]) -> str:
    """How a cost grows with size, as time ~ size^k: k fitted over all sizes (least squares on log-log) and k of
    the last step (the largest sizes, where fixed costs no longer hide the growth), with the ratio per size
    doubling (2^k) and per 10x (10^k) and a verdict (flat, sub-linear, linear, SUPER-LINEAR) for each."""
    xs = [math.log(size) for size in sizes]
    ys = [math.log(max(value, 1e-9)) for value in medians]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    fit = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    last = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return (
        f"all sizes k={fit:.2f} (x{2**fit:.2f} per doubling, x{10**fit:.1f} per 10x): {_verdict(fit)}; "
        f"last step {sizes[-2]}->{sizes[-1]} k={last:.2f} (x{2**last:.2f} per doubling, x{10**last:.1f} per 10x): "
        f"{_verdict(last)}"
    )


def ratio_row(sizes: list[int], medians: list[float]) -> str:
    """Each step's cost ratio against its size ratio, e.g. '200/40: x5.0 time for x5 size'."""
    steps = []
    for (n0, t0), (n1, t1) in zip(
        zip(sizes, medians, strict=True), zip(sizes[1:], medians[1:], strict=True), strict=False
    ):
        steps.append(f"{n1}/{n0}: x{t1 / t0:.2f} time for x{n1 / n0:g} size")
    return "; ".join(steps)
