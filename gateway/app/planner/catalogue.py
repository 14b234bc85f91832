"""The catalogue of real game-development MCP servers that plans may suggest, read from `resources/catalogue.toml`."""

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Tool:
    """One tool of a server."""

    name: str
    description: str


@dataclass(frozen=True)
class Server:
    """An MCP server: what it is for, where it comes from and its tools."""

    name: str
    title: str
    description: str
    engines: tuple[str, ...]
    disciplines: tuple[str, ...]
    homepage: str
    package: str
    source: str
    tools: tuple[Tool, ...]

    def tool(self, name: str) -> Tool | None:
        """The tool with that name, if the server has it."""
        return next((tool for tool in self.tools if tool.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        """The server as plain data, for the read-only API."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "engines": list(self.engines),
            "disciplines": list(self.disciplines),
            "homepage": self.homepage,
            "package": self.package,
            "tools": [{"name": tool.name, "description": tool.description} for tool in self.tools],
        }


def split_ref(ref: str) -> tuple[str, str | None]:
    """A tool reference as (server, tool); `tool` is None when the whole server is meant."""
    server, _, tool = ref.partition(".")
    return server, tool or None


class Catalogue:
    """The known servers, looked up by name; tool references are `server` or `server.tool`."""

    def __init__(self, servers: list[Server]) -> None:
        self._servers = {server.name: server for server in servers}
        self._tools = {server.name: {tool.name for tool in server.tools} for server in servers}

    @property
    def servers(self) -> list[Server]:
        """Every server, in catalogue order."""
        return list(self._servers.values())

    def get(self, name: str) -> Server | None:
        """The server with that name."""
        return self._servers.get(name)

    def is_known(self, ref: str) -> bool:
        """Whether the reference names a known server, or a tool that server really has."""
        server, tool = split_ref(ref)
        if server not in self._servers:
            return False
        return tool is None or tool in self._tools[server]

    def server_of(self, ref: str) -> Server | None:
        """The server a reference points into (None when unknown)."""
        return self._servers.get(split_ref(ref)[0])

    def fits_engine(self, ref: str, engine: str) -> bool:
        """Whether the reference's server may be used in a plan for that engine (agnostic servers always may)."""
        server = self.server_of(ref)
        return server is None or not server.engines or engine in server.engines

    def resolve(self, refs: list[str]) -> list[dict[str, Any]]:
        """The servers behind the references, in first-mention order, each with the tools referenced.

        A bare server reference brings all its tools; unknown references are skipped (validation reports them).
        """
        picked: dict[str, list[str] | None] = {}
        for ref in refs:
            if not self.is_known(ref):
                continue
            server, tool = split_ref(ref)
            if tool is None:
                picked[server] = None
            elif server not in picked:
                picked[server] = [tool]
            elif (chosen_tools := picked[server]) is not None and tool not in chosen_tools:
                chosen_tools.append(tool)
        resolved = []
        for name, tools in picked.items():
            spec = self._servers[name]
            chosen = spec.tools if tools is None else tuple(t for t in spec.tools if t.name in tools)
            resolved.append(
                {
                    "name": spec.name,
                    "title": spec.title,
                    "description": spec.description,
                    "homepage": spec.homepage,
                    "tools": [{"name": t.name, "description": t.description} for t in chosen],
                }
            )
        return resolved

    def as_list(self) -> list[dict[str, Any]]:
        """Every server with all its tools, as plain data for a read-only API."""
        return [server.as_dict() for server in self._servers.values()]


def parse_catalogue(data: dict[str, Any]) -> Catalogue:
    """A catalogue from the parsed TOML document."""
    servers = []
    for entry in data["servers"]:
        servers.append(
            Server(
                name=entry["name"],
                title=entry["title"],
                description=entry["description"],
                engines=tuple(entry.get("engines", [])),
                disciplines=tuple(entry.get("disciplines", [])),
                homepage=entry["homepage"],
                package=entry["package"],
                source=entry.get("source", ""),
                tools=tuple(Tool(name=tool["name"], description=tool["description"]) for tool in entry["tools"]),
            )
        )
    return Catalogue(servers)


@cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue (read once per process)."""
    text = resources.files("gateway.app.planner").joinpath("resources", "catalogue.toml").read_text(encoding="utf-8")
    return parse_catalogue(tomllib.loads(text))
