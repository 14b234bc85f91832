"""The services import one another in one direction only, and never an adapter (api, mcp, web, cli)."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import gateway.app.services

SERVICES = Path(gateway.app.services.__file__).parent
ADAPTERS = ("gateway.app.api", "gateway.app.mcp", "gateway.app.web", "gateway.cli")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (`from x import y` counts x.y too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def service_graph() -> dict[str, set[str]]:
    """Each service module and the service modules it imports."""
    names = {path.stem for path in SERVICES.glob("*.py") if path.stem != "__init__"}
    return {
        name: {
            module.rsplit(".", 1)[1]
            for module in _imports(SERVICES / f"{name}.py")
            if module.startswith("gateway.app.services.") and module.rsplit(".", 1)[1] in names
        }
        - {name}
        for name in names
    }


def test_the_services_import_one_another_without_a_circle():
    graph = service_graph()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import circle among services: {' -> '.join(exc.args[1])}") from None
    # what the others build on comes first
    assert order.index("lookups") < order.index("tasks") < order.index("task_execution")
    assert order.index("contexts") < order.index("projects") < order.index("plans")


def test_services_never_import_an_adapter():
    for path in SERVICES.glob("*.py"):
        adapters = {m for m in _imports(path) if m.startswith(ADAPTERS)}
        assert not adapters, f"{path.name} imports {adapters}"
