"""The floors bench_hot_paths.py measures the gateway against: what the framework does by itself, nothing more.

    python bench/floors.py http --port P [--json FILE]   a bare FastAPI app under uvicorn (1 worker):
        GET /health -> {"status": "ok"}; GET /doc -> the JSON in FILE, parsed once at start-up and
        serialised on every request (a same-size response from memory)
    python bench/floors.py mcp                            a bare MCP server (the SDK's MCPServer) over stdio with
        one tool, `get_doc`, answering a small constant

Each imports only what it needs, as a minimal app would.
"""

import argparse
import json
import sys
from pathlib import Path


def http(port: int, path: str | None) -> None:
    import uvicorn
    from fastapi import FastAPI

    doc = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/doc")
    async def get_doc() -> dict:
        return doc

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def mcp() -> None:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("floor")

    @server.tool()
    def get_doc() -> dict:
        """A small constant document."""
        return {"status": "ok"}

    server.run("stdio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("http", "mcp"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json", help="the document GET /doc answers with")
    args = parser.parse_args()
    if args.kind == "http":
        http(args.port, args.json)
    else:
        mcp()


if __name__ == "__main__":
    sys.exit(main())
