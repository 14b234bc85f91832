"""/api/v1/catalogue: what the planner knows: game templates and the MCP servers plans may suggest."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from gateway.app.api.problems import problems
from gateway.app.api.routing import DocumentedRoute
from gateway.app.errors import NotFound
from gateway.app.planner import engines, features, genres, load_catalogue

router = APIRouter(prefix="/catalogue", tags=["catalogue"], route_class=DocumentedRoute)


_SERVER_EXAMPLE = {
    "name": "godot",
    "title": "Godot MCP",
    "description": "Drives the Godot 4 editor and runtime from an agent.",
    "engines": ["godot"],
    "disciplines": ["programming", "qa"],
    "homepage": "https://github.com/Coding-Solo/godot-mcp",
    "tools": [{"name": "run_project", "description": "Run the project"}],
}


class McpServer(BaseModel):
    """An MCP server of the catalogue: what it is for, which engines it serves, and its tools."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [_SERVER_EXAMPLE]})

    name: str
    title: str
    description: str
    engines: list[str]
    disciplines: list[str]
    homepage: str | None = None
    tools: list[dict[str, Any]]


class McpServers(BaseModel):
    """The MCP servers plans may suggest, with what each is for and its tools."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SERVER_EXAMPLE]}]})

    items: list[McpServer]


class Templates(BaseModel):
    """The genres, engines and features the offline planner builds plans from (crossed: any genre, any engine)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "genres": [{"key": "platformer-2d", "name": "2D platformer", "aliases": ["metroidvania"]}],
                    "engines": [{"key": "godot", "name": "Godot 4", "language": "GDScript"}],
                    "features": [{"key": "save-system", "name": "Save system"}],
                }
            ]
        }
    )

    genres: list[dict[str, Any]]
    engines: list[dict[str, Any]]
    features: list[dict[str, Any]]


@router.get("/mcp-servers", response_model=McpServers)
def list_mcp_servers() -> McpServers:
    """List the MCP servers plans may suggest (`server` or `server.tool`)."""
    return McpServers(items=[McpServer(**server) for server in load_catalogue().as_list()])


@router.get("/mcp-servers/{name}", response_model=McpServer, responses=problems(404))
def get_mcp_server(name: str) -> McpServer:
    """Get one MCP server of the catalogue with its tools."""
    for server in load_catalogue().as_list():
        if server["name"] == name:
            return McpServer(**server)
    raise NotFound(f"No MCP server {name!r} in the catalogue.", resource="mcp server", id=name)


@router.get("/templates", response_model=Templates)
def list_templates() -> Templates:
    """List the game templates: genres, engines and the features a brief can name."""
    return Templates(genres=genres(), engines=engines(), features=features())
