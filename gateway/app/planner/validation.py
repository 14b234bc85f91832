"""The rules every plan draft obeys, whoever wrote it; all problems are listed at once, field by field.

Linear in tasks + dependencies: one pass per rule and Tarjan's algorithm for cycles.
"""

import math
import re
from typing import Any

from gateway.app.errors import InvalidInput
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.models import (
    CATEGORIES,
    CODE_PATTERN,
    DISCIPLINES,
    MAX_MILESTONES,
    MAX_TASKS,
    MILESTONE_PATTERN,
    PlanDraft,
)
from gateway.app.validation import categories
from gateway.app.validation.paths import normalise_path

_CODE = re.compile(CODE_PATTERN)
_MILESTONE = re.compile(MILESTONE_PATTERN)


def _problem(loc: list[Any], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


def engine_of(draft: PlanDraft) -> str | None:
    """The engine a draft was planned for, from its template ('platformer-2d/godot' → 'godot')."""
    if draft.template and "/" in draft.template:
        return draft.template.rsplit("/", 1)[1]
    return None


def _strongly_connected(graph: list[list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit for long chains)."""
    index_of: list[int] = [-1] * len(graph)
    low: list[int] = [0] * len(graph)
    on_stack = [False] * len(graph)
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(len(graph)):
        if index_of[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            node, edge = work.pop()
            if edge == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            if edge < len(graph[node]):
                work.append((node, edge + 1))
                nxt = graph[node][edge]
                if index_of[nxt] == -1:
                    work.append((nxt, 0))
                elif on_stack[nxt]:
                    low[node] = min(low[node], index_of[nxt])
                continue
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _cycle_through(start: int, members: set[int], graph: list[list[int]]) -> list[int]:
    """The shortest cycle from `start` back to itself inside one component (breadth-first)."""
    previous: dict[int, int] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in graph[node]:
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start, start]  # pragma: no cover - a component of size > 1 always has a cycle through each member


def draft_problems(draft: PlanDraft, catalogue: Catalogue, *, engine: str | None = None) -> list[dict[str, Any]]:
    """Every rule the draft breaks, as `{"loc", "msg", "type"}` items (empty when the draft is valid)."""
    tasks = draft.tasks
    problems = _size_problems(len(tasks))
    position = _code_problems(tasks, problems)
    _idx_problems(tasks, problems)
    graph: list[list[int]] = [[] for _ in tasks]
    for i, task in enumerate(tasks):
        problems.extend(_field_problems(i, task))
        _dependency_problems(i, task, tasks, position, graph, problems)
        _tool_problems(i, task, catalogue, engine, problems)
    _cycle_problems(tasks, graph, problems)
    _milestone_problems(draft, position, problems)
    return problems


def _milestone_problems(draft: PlanDraft, position: dict[str, int], problems: list[dict[str, Any]]) -> None:
    """Milestone keys are unique; with milestones, every task names one of them and never waits for a later one."""
    rank: dict[str, int] = {}
    if len(draft.milestones) > MAX_MILESTONES:
        msg = f"a plan has at most {MAX_MILESTONES} milestones, this one has {len(draft.milestones)}"
        problems.append(_problem(["milestones"], msg, "milestones_too_many"))
    for m, milestone in enumerate(draft.milestones):
        key = milestone.key
        if not isinstance(key, str) or not _MILESTONE.match(key):
            msg = f"{key!r} is not a milestone key like 'vertical-slice'"
            problems.append(_problem(["milestones", m, "key"], msg, "milestone_key"))
        elif key in rank:
            problems.append(
                _problem(["milestones", m, "key"], f"milestone {key!r} is listed twice", "milestone_duplicate")
            )
        else:
            rank[key] = m
        if not str(milestone.title or "").strip():
            problems.append(_problem(["milestones", m, "title"], "a milestone needs a title", "milestone_title"))
    known = ", ".join(rank) or "none"
    for i, task in enumerate(draft.tasks):
        if task.milestone is None:
            if rank:
                msg = f"{task.code} names no milestone; the plan's milestones are {known}"
                problems.append(_problem(["tasks", i, "milestone"], msg, "milestone_missing"))
            continue
        if task.milestone not in rank:
            msg = f"{task.milestone!r} is not a milestone of this plan (milestones: {known})"
            problems.append(_problem(["tasks", i, "milestone"], msg, "milestone_unknown"))
            continue
        for j, dep in enumerate(task.dependencies):
            target = draft.tasks[position[dep]] if dep in position else None
            if target is None or target.milestone not in rank or rank[target.milestone] <= rank[task.milestone]:
                continue
            msg = (
                f"{task.code} ({task.milestone}) depends on {dep}, which belongs to a later milestone "
                f"({target.milestone}); move one of them"
            )
            problems.append(_problem(["tasks", i, "dependencies", j], msg, "milestone_order"))


def _size_problems(count: int) -> list[dict[str, Any]]:
    if count == 0:
        return [_problem(["tasks"], "a plan needs at least one task", "plan_empty")]
    if count > MAX_TASKS:
        return [_problem(["tasks"], f"a plan holds at most {MAX_TASKS} tasks, this one has {count}", "plan_too_large")]
    return []


def _code_problems(tasks: list[Any], problems: list[dict[str, Any]]) -> dict[str, int]:
    """Malformed and duplicate codes; returns the position of each code's first task."""
    position: dict[str, int] = {}
    for i, task in enumerate(tasks):
        if not isinstance(task.code, str) or not _CODE.match(task.code):
            problems.append(_problem(["tasks", i, "code"], f"{task.code!r} is not a code like T-001", "code_format"))
        if task.code in position:
            msg = f"{task.code} is used twice (also task {position[task.code]})"
            problems.append(_problem(["tasks", i, "code"], msg, "code_duplicate"))
        else:
            position[task.code] = i
    return position


def _idx_problems(tasks: list[Any], problems: list[dict[str, Any]]) -> None:
    owner: dict[int, int] = {}
    for i, task in enumerate(tasks):
        if not isinstance(task.idx, int) or not 0 <= task.idx < len(tasks):
            msg = f"idx {task.idx} is not between 0 and {len(tasks) - 1}"
            problems.append(_problem(["tasks", i, "idx"], msg, "idx_range"))
        elif task.idx in owner:
            msg = f"idx {task.idx} is also {tasks[owner[task.idx]].code}'s"
            problems.append(_problem(["tasks", i, "idx"], msg, "idx_duplicate"))
        else:
            owner[task.idx] = i


def _dependency_problems(
    i: int,
    task: Any,
    tasks: list[Any],
    position: dict[str, int],
    graph: list[list[int]],
    problems: list[dict[str, Any]],
) -> None:
    """Self, unknown, repeated and out-of-order dependencies; valid edges go into the graph."""
    seen: set[str] = set()
    for j, dep in enumerate(task.dependencies):
        loc = ["tasks", i, "dependencies", j]
        if dep == task.code:
            problems.append(_problem(loc, f"{task.code} depends on itself", "dependency_self"))
        elif dep not in position:
            problems.append(_problem(loc, f"{dep} is not a task of this plan", "dependency_unknown"))
        elif dep in seen:
            problems.append(_problem(loc, f"{dep} is listed twice", "dependency_duplicate"))
        else:
            target = tasks[position[dep]]
            graph[i].append(position[dep])
            if isinstance(target.idx, int) and isinstance(task.idx, int) and target.idx >= task.idx:
                msg = (
                    f"{task.code} (idx {task.idx}) depends on {dep}, which comes later (idx {target.idx}); "
                    "idx must be a topological order"
                )
                problems.append(_problem(loc, msg, "dependency_order"))
        seen.add(dep)


def _tool_problems(i: int, task: Any, catalogue: Catalogue, engine: str | None, problems: list[dict[str, Any]]) -> None:
    for j, ref in enumerate(task.mcp_tools):
        loc = ["tasks", i, "mcp_tools", j]
        server = catalogue.server_of(ref)
        if not catalogue.is_known(ref):
            msg = f"{ref!r}: server {server.name!r} has no such tool" if server else f"{ref!r} is not in the catalogue"
            problems.append(_problem(loc, msg, "tool_unknown"))
        elif engine and server and not catalogue.fits_engine(ref, engine):
            msg = f"{ref!r} is a tool for {', '.join(server.engines)}, not for a {engine} plan"
            problems.append(_problem(loc, msg, "tool_wrong_engine"))


def _cycle_problems(tasks: list[Any], graph: list[list[int]], problems: list[dict[str, Any]]) -> None:
    """One problem per group of tasks caught in a dependency cycle, naming a shortest cycle through it."""
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        members = set(component)
        start = min(component)
        cycle = [tasks[node].code for node in _cycle_through(start, members, graph)]
        caught = sorted(tasks[node].code for node in component)
        msg = f"dependency cycle: {' → '.join(cycle)}"
        if len(caught) > len(cycle) - 1:
            msg += f" (tasks caught in cycles: {', '.join(caught)})"
        problems.append(_problem(["tasks", start, "dependencies"], msg, "dependency_cycle"))


def _field_problems(i: int, task: Any) -> list[dict[str, Any]]:
    """Per-task rules that models built without validation (model_construct, model_copy) may still break."""
    problems = []
    if not str(task.title or "").strip():
        problems.append(_problem(["tasks", i, "title"], "a task needs a title", "title_missing"))
    if task.discipline not in DISCIPLINES:
        problems.append(_problem(["tasks", i, "discipline"], f"{task.discipline!r} is not a discipline", "discipline"))
    estimates = task.estimates
    points = getattr(estimates, "story_points", None)
    hours = getattr(estimates, "time_hours", None)
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        problems.append(
            _problem(["tasks", i, "estimates", "story_points"], "story points must be a positive integer", "estimate")
        )
    if not isinstance(hours, int | float) or isinstance(hours, bool) or not math.isfinite(hours) or hours <= 0:
        problems.append(
            _problem(["tasks", i, "estimates", "time_hours"], "hours must be a positive number", "estimate")
        )
    if not isinstance(task.priority, int) or isinstance(task.priority, bool) or not 1 <= task.priority <= 5:
        problems.append(
            _problem(["tasks", i, "priority"], f"priority {task.priority} is not between 1 and 5", "priority")
        )
    criteria = [c for c in task.acceptance_criteria if str(c).strip()]
    if not criteria:
        problems.append(
            _problem(["tasks", i, "acceptance_criteria"], "a task needs at least one acceptance criterion", "criteria")
        )
    for j, deliverable in enumerate(task.deliverables):
        if getattr(deliverable, "category", None) not in CATEGORIES:
            problems.append(
                _problem(
                    ["tasks", i, "deliverables", j, "category"],
                    f"category must be one of {', '.join(CATEGORIES)}",
                    "deliverable_category",
                )
            )
        name = str(getattr(deliverable, "name", "") or "").strip()
        if not name:
            problems.append(
                _problem(["tasks", i, "deliverables", j, "name"], "a deliverable needs a name", "deliverable")
            )
            continue
        problems += _deliverable_problems(["tasks", i, "deliverables", j], name, getattr(deliverable, "category", None))
    return problems


def _deliverable_problems(loc: list[Any], name: str, category: Any) -> list[dict[str, Any]]:
    """A deliverable names a file inside the project, of a category the category table allows for that file."""
    if normalise_path(name) is None:
        msg = f"{name[:80]!r} is not a path inside the project (relative, without '..')"
        return [_problem([*loc, "name"], msg, "deliverable_path")]
    possible = categories.allowed_for_path(name)
    if category in CATEGORIES and possible and category not in possible:
        msg = f"{name} cannot be a {category}: a file of that kind is {' or '.join(sorted(possible))}"
        return [_problem([*loc, "category"], msg, "deliverable_category")]
    return []


def ensure_valid(draft: PlanDraft, catalogue: Catalogue, engine: str | None = None) -> None:
    """Raise InvalidInput listing every rule the draft breaks; return quietly when it breaks none."""
    problems = draft_problems(draft, catalogue, engine=engine)
    if problems:
        rules = "rule" if len(problems) == 1 else "rules"
        raise InvalidInput(f"The plan draft breaks {len(problems)} {rules}.", errors=problems)
