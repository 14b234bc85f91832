"""Artifact storage and validation benchmark: streamed ingest throughput and memory, and image validation time.

Run: `.venv/bin/python bench/bench_storage.py [--sizes 10,50,200] [--runs 5] [--dir PATH]`. Each measurement runs in
a fresh child process, so its peak RSS (getrusage) is measured from that process's own baseline. The parent stays
small on purpose: Linux carries a parent's peak RSS into a child's ru_maxrss across fork and exec.
"""

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

MiB = 1024 * 1024
CHUNK = 64 * 1024


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


async def upload(total: int, *, run: int) -> AsyncIterator[bytes]:
    """`total` bytes in 64 KiB chunks, unique per run so nothing dedupes, the way a request body arrives."""
    block = os.urandom(CHUNK)
    for index in range(total // CHUNK):
        yield run.to_bytes(4, "big") + index.to_bytes(8, "big") + block[12:]


async def ingest_once(store, total: int, run: int) -> tuple[float, float]:
    """Seconds to ingest one stream, and the longest event-loop stall seen meanwhile."""
    stall = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            stall = max(stall, now - last - 0.005)
            last = now

    watcher = asyncio.create_task(ticker())
    started = time.perf_counter()
    blob = await store.ingest(upload(total, run=run), max_bytes=total)
    elapsed = time.perf_counter() - started
    done.set()
    await watcher
    assert blob.size_bytes == total
    store.delete(blob.sha256)
    return elapsed, stall


def measure_size(size_mb: int, runs: int, directory: Path) -> dict:
    """One size, in this (child) process: throughput over `runs`, then one traced run for Python's peak memory."""
    from gateway.app.storage import BlobStore

    store = BlobStore(directory / f"bench-{size_mb}")
    total = size_mb * MiB
    baseline = max_rss_bytes()
    timings, stalls = [], []
    for run in range(runs):
        elapsed, stall = asyncio.run(ingest_once(store, total, run))
        timings.append(elapsed)
        stalls.append(stall)
    rss_delta = max_rss_bytes() - baseline
    tracemalloc.start()
    asyncio.run(ingest_once(store, total, runs))
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "size_mb": size_mb,
        "median_mb_s": total / MiB / statistics.median(timings),
        "min_s": min(timings),
        "max_s": max(timings),
        "traced_peak_mib": traced_peak / MiB,
        "rss_delta_mib": rss_delta / MiB,
        "max_loop_stall_ms": max(stalls) * 1000,
    }


def make_png(path: Path, side: int = 4096) -> None:
    """A side x side RGB PNG of noise (the worst case for the decoder)."""
    from PIL import Image

    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    image.save(path, "PNG", compress_level=1)


def measure_png(path: Path, runs: int = 3) -> dict:
    """Validation time of the PNG, in a fresh (child) process so its RSS peak is the validation's own."""
    from gateway.app.validation import validate

    baseline = max_rss_bytes()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        report = validate(path, name="big.png")
        timings.append(time.perf_counter() - started)
        assert report.status == "valid", report.errors
    return {
        "file_mib": path.stat().st_size / MiB,
        "median_s": statistics.median(timings),
        "rss_delta_mib": (max_rss_bytes() - baseline) / MiB,
    }


def child(kind: str, argument: int, runs: int, directory: Path) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    command = [sys.executable, __file__, "--child", kind, str(argument), "--runs", str(runs), "--dir", str(directory)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200", help="stream sizes in MiB, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="where blobs are written (default: a temp dir)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, argument = args.child[0], int(args.child[1])
        if kind == "ingest":
            result = measure_size(argument, args.runs, args.dir)
        elif kind == "make-png":
            make_png(args.dir / "big.png", side=argument)
            result = {}
        else:
            result = measure_png(args.dir / "big.png")
        print(json.dumps(result))
        return

    print(f"machine: {platform.platform()} · {platform.machine()} · {os.cpu_count()} CPUs")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}")
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        directory = Path(scratch)
        print(f"disk:    blobs written under {directory}")
        print(f"\ningest: streams in {CHUNK // 1024} KiB chunks, median of {args.runs} runs, fsync included")
        columns = ("MiB/s", 8), ("min s", 7), ("max s", 7), ("traced peak", 12), ("RSS delta", 10), ("loop stall", 11)
        print(f"{'size':>8} " + " ".join(f"{name:>{width}}" for name, width in columns))
        for size in (int(s) for s in args.sizes.split(",")):
            r = child("ingest", size, args.runs, directory)
            print(
                f"{size:>4} MiB {r['median_mb_s']:>8.0f} {r['min_s']:>7.3f} {r['max_s']:>7.3f} "
                f"{r['traced_peak_mib']:>8.2f} MiB {r['rss_delta_mib']:>6.1f} MiB {r['max_loop_stall_ms']:>8.1f} ms"
            )
        child("make-png", 4096, args.runs, directory)
        png = child("png", 0, args.runs, directory)
        print(
            f"\nvalidate: 4096x4096 RGB noise PNG ({png['file_mib']:.1f} MiB): median {png['median_s']:.3f} s "
            f"of 3 (SHA-256 included), RSS delta {png['rss_delta_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
