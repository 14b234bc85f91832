"""MCP server: `get_task` latency and calls per second over stdio and over streamable HTTP, and `tools/list` size.

Real processes, the SDK's own client (`mcp.Client`, default `auto` mode):

- HTTP: the app under uvicorn (`python -m gateway serve`) on a loopback port, client on `http://127.0.0.1:PORT/mcp`;
- stdio: `python -m gateway mcp` launched by the client (`StdioServerParameters`) on the same database.

The project has a 500-task accepted plan (a user edit of the puzzle/phaser proposal, no dependencies, built as
bench_tasks.py builds it). `get_task` is called with `task="T-250"` and with no task (the project's current
task), and `list_projects` (one small row) as the floor that the transport and the SDK cost by themselves.
Latency is the client's: from `call_tool` to its parsed result. One client calls back to back (median, p99,
calls/s; median over runs), then K calls in flight at once on the same session (calls/s). The server
process's CPU time per call is read from /proc.

`tools/list` is measured as the client receives it, `model_dump_json(by_alias=True, exclude_unset=True)`, in
bytes and in tokens with the offline tokenizer `bpe_openai` (OpenAI's o200k_base and cl100k_base encodings).

    .venv/bin/python bench/bench_mcp.py [--quick] [--runs 5] [--calls 200] [--database-url URL]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import bpe_openai
import httpx2
from bench_tasks import (
    Server,
    cpu_seconds,
    database,
    database_banner,
    load,
    machine,
    migrate,
    p99,
    project_with_plan,
)
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import ListToolsResult

ENCODINGS = ("o200k_base", "cl100k_base")


def tokens(text: str) -> dict[str, int]:
    return {name: len(bpe_openai.get_encoding(name).encode(text)) for name in ENCODINGS}


def describe_size(text: str) -> str:
    counts = tokens(text)
    return f"{len(text.encode()):>6} bytes, " + ", ".join(f"{counts[name]:>5} tokens ({name})" for name in ENCODINGS)


Call = tuple[str, dict]  # a tool and its arguments


async def one_call(client: Client, call: Call) -> float:
    tool, arguments = call
    started = time.perf_counter()
    result = await client.call_tool(tool, arguments)
    elapsed = time.perf_counter() - started
    if result.is_error:
        raise RuntimeError(f"{tool} {arguments}: {result.content[0].text}")
    return elapsed


async def sequential(client: Client, call: Call, calls: int, runs: int) -> dict:
    """`runs` runs of `calls` back-to-back calls: median over runs of each run's median, p99 and calls/s."""
    medians, tails, rates, worst = [], [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        latencies = [await one_call(client, call) for _ in range(calls)]
        rates.append(calls / (time.perf_counter() - started))
        medians.append(statistics.median(latencies))
        tails.append(p99(latencies))
        worst.append(max(latencies))
    return {
        "median_ms": statistics.median(medians) * 1000,
        "p99_ms": statistics.median(tails) * 1000,
        "max_ms": statistics.median(worst) * 1000,
        "calls_s": statistics.median(rates),
    }


async def in_flight(client: Client, call: Call, calls: int, concurrency: int, runs: int) -> dict:
    """`calls` calls with `concurrency` of them in flight at once on one session: calls/s and median latency."""

    async def worker(queue: Iterator[int], latencies: list[float]) -> None:
        for _ in queue:
            latencies.append(await one_call(client, call))

    rates, medians = [], []
    for _ in range(runs):
        queue = iter(range(calls))
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*(worker(queue, latencies) for _ in range(concurrency)))
        rates.append(calls / (time.perf_counter() - started))
        medians.append(statistics.median(latencies))
    return {"calls_s": statistics.median(rates), "median_ms": statistics.median(medians) * 1000}


async def bench_transport(
    label: str, client: Client, project_id: str, args: argparse.Namespace, server_pid: int | None
) -> None:
    measured: dict[str, Call] = {
        "get_task T-250": ("get_task", {"project_id": project_id, "task": "T-250"}),
        "get_task current": ("get_task", {"project_id": project_id}),
        # The floor: a tool that reads one small row, so what is left is the transport and the SDK.
        "list_projects": ("list_projects", {}),
    }
    for call in measured.values():  # warm-up: imports, caches, connections
        for _ in range(20):
            await one_call(client, call)
    for name, call in measured.items():
        cpu_before = cpu_seconds(server_pid) if server_pid else None
        seq = await sequential(client, call, args.calls, args.runs)
        cpu = (
            f"   server CPU {(cpu_seconds(server_pid) - cpu_before) / (args.calls * args.runs) * 1000:.2f} ms/call"
            if server_pid and cpu_before is not None
            else ""
        )
        print(
            f"  {label:<5} {name:<16} 1 client:    median {seq['median_ms']:6.2f} ms"
            f"   p99 {seq['p99_ms']:6.2f} ms   max {seq['max_ms']:6.1f} ms   {seq['calls_s']:5.0f} calls/s{cpu}"
        )
        if call[0] != "get_task":
            continue
        for concurrency in args.in_flight:
            par = await in_flight(client, call, args.calls, concurrency, args.runs)
            print(
                f"  {label:<5} {name:<16} {concurrency} in flight: median {par['median_ms']:6.2f} ms"
                f"{'':>45}{par['calls_s']:5.0f} calls/s"
            )


async def sizes(client: Client, label: str) -> ListToolsResult:
    listed = await client.list_tools()
    text = listed.model_dump_json(by_alias=True, exclude_unset=True)
    print(f"  tools/list ({label}, {len(listed.tools)} tools): {describe_size(text)}")
    return listed


async def run(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    print(f"load:    {load()} at the start")
    print(f"tokenizer: bpe_openai {bpe_openai.__version__} (offline), encodings {' and '.join(ENCODINGS)}")
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp, database(args.database_url, Path(tmp)) as url:
        workdir = Path(tmp)
        migrate(url)
        server = Server(workdir, url)
        try:
            print(f"database: {database_banner(url)}")
            started = time.perf_counter()
            with httpx2.Client(base_url=server.url, timeout=120) as http:
                project_id, plan = project_with_plan(http, args.tasks)
            print(
                f"project {project_id}: accepted plan v{plan['version']} with {plan['task_count']} tasks "
                f"(built in {time.perf_counter() - started:.1f} s)"
            )
            print(f"\nget_task: {args.runs} runs x {args.calls} calls; median over runs of each run's median / p99")

            # Sizes first, over HTTP in both protocol eras; the tool answers an agent pays for.
            async with Client(f"{server.url}/mcp") as client:
                print(f"\nsizes (HTTP, protocol {client.protocol_version}):")
                listed = await sizes(client, f"auto mode, protocol {client.protocol_version}")
                for name, arguments in (("T-250", {"task": "T-250"}), ("current", {})):
                    result = await client.call_tool("get_task", {"project_id": project_id, **arguments})
                    print(f"  get_task {name:<8} answer text:      {describe_size(result.content[0].text)}")
                biggest = sorted(
                    listed.tools,
                    key=lambda t: -len(t.model_dump_json(by_alias=True, exclude_unset=True)),
                )
                per_tool = ", ".join(
                    f"{t.name} {len(t.model_dump_json(by_alias=True, exclude_unset=True))}" for t in biggest[:5]
                )
                print(f"  largest tool entries (bytes): {per_tool}")
            async with Client(f"{server.url}/mcp", mode="legacy") as client:
                await sizes(client, f"legacy mode, protocol {client.protocol_version}")

            print(f"\nHTTP: uvicorn child (pid {server.pid}), {server.url}/mcp")
            began = time.perf_counter()
            async with Client(f"{server.url}/mcp") as client:
                await bench_transport("HTTP", client, project_id, args, server.pid)
            print(f"  ({time.perf_counter() - began:.0f} s)")

            env = {
                "GATEWAY_DATABASE_URL": url,
                "GATEWAY_DATA_DIR": str(workdir / "data"),
                "GATEWAY_LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
            params = StdioServerParameters(
                command=sys.executable, args=["-m", "gateway", "mcp"], env=env, cwd=str(workdir)
            )
            print(f"\nstdio: {Path(sys.executable).name} -m gateway mcp (child of the client), same database")
            began = time.perf_counter()
            with (workdir / "stdio.log").open("w") as errlog:
                async with Client(stdio_client(params, errlog=errlog)) as client:
                    await sizes(client, f"stdio, protocol {client.protocol_version}")
                    await bench_transport("stdio", client, project_id, args, stdio_pid(os.getpid()))
            print(f"  ({time.perf_counter() - began:.0f} s)")
        finally:
            server.stop()


def stdio_pid(parent: int) -> int | None:
    """The `gateway mcp` child of this process (for its CPU time), if /proc shows it."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"mcp" in cmdline and b"gateway" in cmdline:
            return int(entry.name)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL server (a scratch database is made)")
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200, help="calls per run")
    parser.add_argument("--in-flight", default="4", help="concurrent calls on one session, comma-separated")
    parser.add_argument("--quick", action="store_true", help="3 runs of 100 calls")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.calls = min(args.runs, 3), min(args.calls, 100)
    args.in_flight = [int(n) for n in args.in_flight.split(",") if n]
    started = time.perf_counter()
    asyncio.run(run(args))
    print(f"\n(total {time.perf_counter() - started:.0f} s; load {load()})")


if __name__ == "__main__":
    main()
