"""The MCP server catalogue: loads, checks references, resolves them for agents."""

from gateway.app.planner.catalogue import Catalogue, load_catalogue, parse_catalogue, split_ref
from gateway.app.planner.library import load_library

REQUIRED_SERVERS = {"godot", "unity", "blender", "aseprite", "filesystem", "git", "playwright", "phaser-editor"}


def test_catalogue_loads_once_with_the_expected_servers() -> None:
    catalogue = load_catalogue()
    assert load_catalogue() is catalogue
    names = [server.name for server in catalogue.servers]
    assert set(names) >= REQUIRED_SERVERS
    assert len(names) == len(set(names))


def test_every_server_is_documented_and_its_tools_unique(catalogue: Catalogue) -> None:
    engines = set(load_library().engines)
    disciplines = {"design", "programming", "art", "audio", "ui", "qa", "release"}
    for server in catalogue.servers:
        assert server.title
        assert server.description
        assert server.homepage.startswith("https://")
        assert server.package
        assert set(server.engines) <= engines, server.name
        assert server.disciplines, server.name
        assert set(server.disciplines) <= disciplines, server.name
        tool_names = [tool.name for tool in server.tools]
        assert tool_names, server.name
        assert len(tool_names) == len(set(tool_names)), server.name
        assert all(tool.description for tool in server.tools)
        assert "." not in "".join(tool_names)


def test_known_references(catalogue: Catalogue) -> None:
    assert catalogue.is_known("godot")
    assert catalogue.is_known("godot.run_project")
    assert catalogue.is_known("playwright.browser_take_screenshot")
    assert not catalogue.is_known("godot.teleport")
    assert not catalogue.is_known("unreal.build")
    assert catalogue.server_of("godot.run_project").title == "Godot MCP"
    assert catalogue.server_of("nothing") is None
    assert catalogue.get("git").tool("git_commit").description
    assert catalogue.get("git").tool("git_push") is None
    assert split_ref("blender") == ("blender", None)
    assert split_ref("unity-mcp.manage_ui") == ("unity-mcp", "manage_ui")


def test_engine_fit(catalogue: Catalogue) -> None:
    assert catalogue.fits_engine("godot.run_project", "godot")
    assert not catalogue.fits_engine("unity.run_tests", "godot")
    assert not catalogue.fits_engine("phaser-editor", "unity")
    assert catalogue.fits_engine("blender.look", "phaser")
    assert catalogue.fits_engine("unknown.tool", "godot")


def test_resolve_groups_tools_by_server_in_mention_order(catalogue: Catalogue) -> None:
    resolved = catalogue.resolve(
        [
            "git.git_commit",
            "godot.run_project",
            "git.git_status",
            "git.git_commit",
            "nope.tool",
            "godot.fly",
            "aseprite",
        ]
    )
    assert [server["name"] for server in resolved] == ["git", "godot", "aseprite"]
    assert [tool["name"] for tool in resolved[0]["tools"]] == ["git_status", "git_commit"]
    assert [tool["name"] for tool in resolved[1]["tools"]] == ["run_project"]
    assert len(resolved[2]["tools"]) == len(catalogue.get("aseprite").tools)
    assert resolved[1]["description"]
    assert resolved[1]["homepage"]
    whole_then_one = catalogue.resolve(["git", "git.git_log"])
    assert len(whole_then_one[0]["tools"]) == len(catalogue.get("git").tools)


def test_as_list_is_plain_data(catalogue: Catalogue) -> None:
    listed = catalogue.as_list()
    assert [entry["name"] for entry in listed] == [server.name for server in catalogue.servers]
    godot = next(entry for entry in listed if entry["name"] == "godot")
    assert godot["engines"] == ["godot"]
    assert {"name": "run_project", "description": godot["tools"][1]["description"]} in godot["tools"]


def test_a_catalogue_can_be_built_from_other_data() -> None:
    catalogue = parse_catalogue(
        {
            "servers": [
                {
                    "name": "demo",
                    "title": "Demo",
                    "description": "A demo server",
                    "homepage": "https://example.org",
                    "package": "npm: demo",
                    "tools": [{"name": "ping", "description": "Ping"}],
                }
            ]
        }
    )
    assert catalogue.is_known("demo.ping")
    assert catalogue.get("demo").engines == ()
