"""The Planner protocol and the registry that picks an implementation by kind (imported lazily)."""

from importlib import import_module
from typing import Protocol, runtime_checkable

from gateway.app.planner.models import PlanDraft, PlanningRequest


@runtime_checkable
class Planner(Protocol):
    """Turns a planning request (brief, context, previous version, feedback) into a plan draft."""

    name: str

    def propose(self, request: PlanningRequest) -> PlanDraft:
        """A plan draft for the request; it must pass `ensure_valid`."""
        ...


# kind → "module:Class"; an LLM planner registers here later without the template planner importing it.
PLANNERS: dict[str, str] = {"template": "gateway.app.planner.template:TemplatePlanner"}


def planner_kinds() -> list[str]:
    """The kinds `get_planner` accepts."""
    return list(PLANNERS)


def get_planner(kind: str = "template") -> Planner:
    """A planner of the given kind; an unknown kind is a ValueError naming the known ones."""
    try:
        target = PLANNERS[kind]
    except KeyError:
        raise ValueError(f"unknown planner kind {kind!r}; known kinds: {', '.join(PLANNERS)}") from None
    module_name, _, class_name = target.partition(":")
    planner_class = getattr(import_module(module_name), class_name)
    return planner_class()
