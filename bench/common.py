"""Helpers the service benchmarks share (bench_plans.py, bench_contexts.py): the machine, a scratch database,
timing statistics and a growth report.

`machine()` prints the same line as bench_events.py's, plus SQLite's version and the database in use.
"""

import contextlib
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

from sqlalchemy import create_engine, text
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
    """Seconds one call takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def p90(values: list[float]) -> float:
    """The 90th percentile (the largest value below 10 samples)."""
    if len(values) < 10:
        return max(values)
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f}"


def growth(sizes: list[int], medians: list[float]) -> str:
    """How a cost grows with size: the fitted exponent k (time ~ size^k, least squares on log-log), the ratio
    per size doubling (2^k) and per 10x (10^k), and a verdict."""
    xs = [math.log(size) for size in sizes]
    ys = [math.log(max(value, 1e-9)) for value in medians]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    k = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    if k < 0.15:
        verdict = "flat (does not grow with size)"
    elif k < 0.9:
        verdict = "sub-linear"
    elif k <= 1.15:
        verdict = "linear"
    else:
        verdict = "SUPER-LINEAR"
    return f"x{2**k:.2f} per doubling, x{10**k:.1f} per 10x (k={k:.2f}): {verdict}"


def ratio_row(sizes: list[int], medians: list[float]) -> str:
    """Each step's cost ratio against its size ratio, e.g. '200/40: x5.0 time for x5 size'."""
    steps = []
    for (n0, t0), (n1, t1) in zip(
        zip(sizes, medians, strict=True), zip(sizes[1:], medians[1:], strict=True), strict=False
    ):
        steps.append(f"{n1}/{n0}: x{t1 / t0:.2f} time for x{n1 / n0:g} size")
    return "; ".join(steps)
