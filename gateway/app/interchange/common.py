"""What every importer shares: the task items it reads, and how they become a valid plan draft."""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from gateway.app.errors import InvalidInput
from gateway.app.planner.models import MAX_MILESTONES, Deliverable, PlanDraft, TaskDraft
from gateway.app.task_states import BLOCKED, CANCELLED, DONE, REVIEW

MAX_TITLE, MAX_TEXT, MAX_CRITERION = 300, 20_000, 1000
DEFAULT_POINTS = 3
HOURS_PER_POINT = 2.0
# Words that say which discipline a task belongs to (the first that matches wins; programming otherwise).
_DISCIPLINES = [
    ("qa", r"\b(test|tests|testing|qa|playtest|verify|verification|bug)\b"),
    ("art", r"\b(art|sprite|sprites|texture|model|models|animation|tileset|icon|visual)\b"),
    ("audio", r"\b(audio|sound|sounds|music|sfx)\b"),
    ("ui", r"\b(ui|hud|menu|menus|screen|ux|frontend)\b"),
    ("design", r"\b(design|document|documentation|docs|spec|research|gdd)\b"),
    ("release", r"\b(release|deploy|deployment|publish|ci|packaging|export)\b"),
]
_EXTENSION_CATEGORY = {
    **dict.fromkeys(
        (
            "py",
            "gd",
            "cs",
            "js",
            "ts",
            "tsx",
            "jsx",
            "go",
            "rs",
            "java",
            "kt",
            "swift",
            "c",
            "h",
            "cpp",
            "hpp",
            "lua",
            "rb",
            "php",
            "sql",
            "sh",
            "toml",
            "yaml",
            "yml",
            "json",
            "cfg",
            "godot",
        ),
        "code",
    ),
    **dict.fromkeys(("md", "txt", "rst", "pdf"), "document"),
    **dict.fromkeys(
        (
            "png",
            "jpg",
            "jpeg",
            "webp",
            "gif",
            "svg",
            "wav",
            "ogg",
            "mp3",
            "glb",
            "gltf",
            "obj",
            "tscn",
            "tres",
            "scn",
            "prefab",
            "unity",
            "asset",
        ),
        "asset",
    ),
}
_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)+[\w.-]+\.([A-Za-z0-9]{1,8}))(?![\w/])")


@dataclass
class SourceFile:
    """One file handed to an importer: its name (for messages) and its text."""

    name: str
    content: str


@dataclass
class Item:
    """A task as an importer read it, before it becomes a TaskDraft."""

    key: str
    title: str
    where: str
    description: str = ""
    criteria: list[str] = field(default_factory=list)
    priority: int = 3
    status: str | None = None
    status_note: str | None = None
    dependencies: list[str] = field(default_factory=list)
    milestone: str | None = None
    discipline: str | None = None
    points: int | None = None
    deliverables: list[Deliverable] = field(default_factory=list)


@dataclass
class Milestone:
    key: str
    title: str
    goal: str | None = None


@dataclass
class Imported:
    """What an importer made of the files: the draft, the progress to carry, and what it could not map."""

    tool: str
    draft: PlanDraft
    progress: dict[str, dict[str, Any]]
    unmapped: list[str]
    milestones: list[Milestone]


def file_digest(tool: str, files: list[SourceFile], options: dict[str, Any] | None = None) -> str:
    """The identity of an import: the same files with the same options give the same digest."""
    digest = hashlib.sha256(tool.encode())
    for key, value in sorted((options or {}).items()):
        digest.update(f"\0{key}={value}".encode())
    for source in sorted(files, key=lambda f: f.name):
        digest.update(b"\0" + source.name.encode() + b"\0" + source.content.replace("\r\n", "\n").encode())
    return digest.hexdigest()


def malformed(source: str, where: str, message: str) -> InvalidInput:
    """A refusal naming the file and the line or key that is wrong."""
    return InvalidInput(
        f"{source}: {where}: {message}. Nothing was imported.",
        errors=[{"loc": [source, where], "msg": message, "type": "malformed_import"}],
    )


def slug(text: str) -> str:
    """A milestone key (lower-case words joined by dashes, at most 50 characters) from a name."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:50].strip("-") or "milestone"


def guess_discipline(*texts: str) -> str:
    text = " ".join(texts).lower()
    for discipline, pattern in _DISCIPLINES:
        if re.search(pattern, text):
            return discipline
    return "programming"


def paths_in(text: str) -> list[Deliverable]:
    """File paths a task names (spec-kit writes them in each task), as optional deliverables."""
    found: dict[str, Deliverable] = {}
    for match in _PATH.finditer(text):
        path, extension = match.group(1), match.group(2).lower()
        category = _EXTENSION_CATEGORY.get(extension)
        if category and path not in found and len(path) <= 300:
            found[path] = Deliverable(name=path, category=category, required=False)
    return list(found.values())[:50]


def points_of(complexity: Any) -> int | None:
    """Story points from a 1-10 complexity score."""
    if isinstance(complexity, bool) or not isinstance(complexity, int | float):
        return None
    for limit, points in ((2, 1), (4, 2), (6, 3), (8, 5), (9, 8)):
        if complexity <= limit:
            return points
    return 13


CARRIED_STATUSES = {DONE, CANCELLED, BLOCKED, REVIEW}


def build(
    *,
    tool: str,
    label: str,
    items: list[Item],
    milestones: list[Milestone],
    unmapped: list[str],
    notes: list[str],
    source: str,
) -> Imported:
    """Turn items into a valid draft: codes T-001…, dependencies by code (cycles broken and reported), idx a
    topological order that keeps the file's order where it can."""
    if not items:
        raise malformed(source, "tasks", "the file has no tasks")
    codes = {item.key: f"T-{n:03d}" for n, item in enumerate(items, start=1)}
    by_key = {item.key: item for item in items}
    position = {item.key: n for n, item in enumerate(items)}
    edges: dict[str, list[str]] = {}
    for item in items:
        kept: list[str] = []
        for dep in item.dependencies:
            if dep == item.key:
                unmapped.append(f"{item.where}: depends on itself; that dependency was dropped")
            elif dep not in by_key:
                unmapped.append(f"{item.where}: depends on {dep!r}, which is not in the import; dropped")
            elif dep not in kept:
                kept.append(dep)
        edges[item.key] = kept
    _break_cycles(items, edges, unmapped)
    order = _topological(items, edges, position)
    defaulted_criteria = defaulted_points = 0
    tasks = []
    for idx, key in enumerate(order):
        item = by_key[key]
        title = item.title.strip() or item.key
        if len(title) > MAX_TITLE:
            unmapped.append(f"{item.where}: title cut to {MAX_TITLE} characters")
            title = title[: MAX_TITLE - 1] + "…"
        description = item.description.strip() or title
        if len(description) > MAX_TEXT:
            unmapped.append(f"{item.where}: description cut to {MAX_TEXT} characters")
            description = description[: MAX_TEXT - 1] + "…"
        criteria = [c.strip()[:MAX_CRITERION] for c in item.criteria if c.strip()][:50]
        if not criteria:
            defaulted_criteria += 1
            criteria = [f"Done as described: {title}"[:MAX_CRITERION]]
        points = item.points
        if points is None:
            defaulted_points += 1
            points = DEFAULT_POINTS
        tasks.append(
            TaskDraft(
                code=codes[key],
                idx=idx,
                title=title,
                description=description,
                discipline=item.discipline or guess_discipline(title, item.description),
                acceptance_criteria=criteria,
                deliverables=item.deliverables,
                estimates={"story_points": points, "time_hours": points * HOURS_PER_POINT},
                priority=min(5, max(1, item.priority)),
                dependencies=sorted((codes[d] for d in edges[key]), key=lambda c: int(c[2:])),
            )
        )
    if defaulted_criteria:
        notes.append(
            f"{defaulted_criteria} task(s) had no acceptance criteria; each got one from its title — review them."
        )
    if defaulted_points:
        notes.append(
            f"{defaulted_points} task(s) had no size; each was estimated at {DEFAULT_POINTS} points "
            f"({DEFAULT_POINTS * HOURS_PER_POINT:g} h) — review them."
        )
    progress: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.status in CARRIED_STATUSES:
            progress[codes[item.key]] = {"status": item.status, "reason": item.status_note}
        elif item.status_note:
            unmapped.append(f"{item.where}: {item.status_note} has no match here; imported as pending")
    milestone_of = {codes[item.key]: item.milestone for item in items if item.milestone}
    summary = f"Imported from {label}: {len(tasks)} tasks" + (f" in {len(milestones)} milestones" if milestones else "")
    summary += f", {sum(t.estimates.story_points for t in tasks)} story points."
    draft_fields: dict[str, Any] = {
        "summary": summary,
        "tasks": tasks,
        "notes": [*notes, *(f"Not imported: {line}" for line in unmapped)][:200],
        "highest_code": len(tasks),
    }
    draft = PlanDraft(**draft_fields)
    draft = with_milestones(draft, milestones, milestone_of, unmapped)
    return Imported(tool=tool, draft=draft, progress=progress, unmapped=unmapped, milestones=milestones)


def with_milestones(
    draft: PlanDraft, milestones: list[Milestone], milestone_of: dict[str, str], unmapped: list[str]
) -> PlanDraft:
    """Put the milestones on the draft, ordered so that no task waits for a later milestone.

    Tasks the file left without one go to a milestone of their own. When the dependencies cross milestones
    both ways (no order works), or there are more than a plan may have, the milestones are left out and said so.
    """
    if not milestones:
        return draft
    if any(task.code not in milestone_of for task in draft.tasks):
        loose = Milestone(key="without-milestone", title="Without a milestone")
        milestones = [*milestones, loose]
        milestone_of = {task.code: milestone_of.get(task.code, loose.key) for task in draft.tasks}
    order = _milestone_order(draft, milestones, milestone_of)
    names = ", ".join(m.title for m in milestones)
    if order is None:
        unmapped.append(f"milestones ({names}): tasks depend on each other across them both ways")
    elif len(order) > MAX_MILESTONES:
        unmapped.append(f"milestones ({names}): a plan has at most {MAX_MILESTONES}")
    if order is None or len(order) > MAX_MILESTONES:
        return draft.model_copy(update={"notes": [*draft.notes, f"Not imported: {unmapped[-1]}"][:200]})
    data = draft.model_dump()
    data["milestones"] = [{"key": m.key, "title": m.title[:MAX_TITLE], "goal": m.goal} for m in order]
    for task in data["tasks"]:
        task["milestone"] = milestone_of[task["code"]]
    return PlanDraft.model_validate(data)


def _milestone_order(
    draft: PlanDraft, milestones: list[Milestone], milestone_of: dict[str, str]
) -> list[Milestone] | None:
    """The milestones in file order, moved only as far as dependencies require (None when none works)."""
    import heapq

    first = {m.key: n for n, m in enumerate(milestones)}
    needs: dict[str, set[str]] = {m.key: set() for m in milestones}
    for task in draft.tasks:
        for dep in task.dependencies:
            if milestone_of[dep] != milestone_of[task.code]:
                needs[milestone_of[task.code]].add(milestone_of[dep])
    unblocks: dict[str, list[str]] = {key: [] for key in needs}
    for key, before in needs.items():
        for other in before:
            unblocks[other].append(key)
    waiting = {key: len(before) for key, before in needs.items()}
    ready = [(first[key], key) for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    by_key = {m.key: m for m in milestones}
    order: list[Milestone] = []
    while ready:
        _, key = heapq.heappop(ready)
        order.append(by_key[key])
        for later in unblocks[key]:
            waiting[later] -= 1
            if waiting[later] == 0:
                heapq.heappush(ready, (first[later], later))
    return order if len(order) == len(milestones) else None


def _break_cycles(items: list[Item], edges: dict[str, list[str]], unmapped: list[str]) -> None:
    """Drop each dependency that closes a cycle (depth-first in file order), and say which."""
    state: dict[str, int] = {}
    where = {item.key: item.where for item in items}
    names = {item.key: item.where.split(" (")[0] for item in items}
    for root in (item.key for item in items):
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        state[root] = 1
        while stack:
            node, i = stack[-1]
            if i < len(edges[node]):
                stack[-1] = (node, i + 1)
                dep = edges[node][i]
                if state.get(dep) == 1:
                    cycle = [*path[path.index(dep) :], dep]
                    edges[node].remove(dep)
                    stack[-1] = (node, i)
                    unmapped.append(
                        f"{where[node]}: its dependency on {names[dep]} closes a cycle "
                        f"({' → '.join(names[k] for k in cycle)}); that dependency was dropped"
                    )
                elif dep not in state:
                    state[dep] = 1
                    stack.append((dep, 0))
                    path.append(dep)
            else:
                state[node] = 2
                stack.pop()
                path.pop()


def _topological(items: list[Item], edges: dict[str, list[str]], position: dict[str, int]) -> list[str]:
    """Dependencies first; among the tasks free to go, the one earliest in the file."""
    import heapq

    waiting = {item.key: len(edges[item.key]) for item in items}
    dependents: dict[str, list[str]] = {item.key: [] for item in items}
    for key, deps in edges.items():
        for dep in deps:
            dependents[dep].append(key)
    ready = [(position[key], key) for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, key = heapq.heappop(ready)
        order.append(key)
        for follower in dependents[key]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                heapq.heappush(ready, (position[follower], follower))
    assert len(order) == len(items), "cycles were broken before"
    return order
