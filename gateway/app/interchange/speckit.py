"""GitHub spec-kit's `tasks.md`: phases, `- [ ] T001 [P] [US1] Description in path/to/file` lines.

Each phase becomes a milestone. Order is the dependency: within a phase a task waits for the tasks before it,
except that consecutive [P] tasks share their predecessors (they may run in parallel); setup and foundational
phases gate everything after them, user-story phases wait only for the foundation, and later phases (polish)
wait for every story. "depends on T012, T013" in a task's text adds those dependencies.
"""

import re
from typing import Any

from gateway.app.interchange.common import (
    Imported,
    Item,
    Milestone,
    SourceFile,
    build,
    guess_discipline,
    malformed,
    paths_in,
    slug,
)
from gateway.app.task_states import DONE

_TASK = re.compile(r"^\s*[-*]\s+\[(?P<done>[ xX])\]\s+(?P<id>T\d{3,})\b(?P<rest>.*)$")
_CHECKBOX = re.compile(r"^\s*[-*]\s+\[[^\]]?\]\s")
_PHASE = re.compile(r"^##\s+(?P<title>Phase\s+(?P<number>[\w.]+)\s*:\s*(?P<name>.+?))\s*$", re.IGNORECASE)
_HEADING2 = re.compile(r"^##\s+(.+?)\s*$")
_HEADING3 = re.compile(r"^###\s+(.+?)\s*$")
_FIELD = re.compile(r"^\*\*(?P<key>Goal|Purpose)\*\*\s*:\s*(?P<value>.+)$", re.IGNORECASE)
_STORY_PRIORITY = re.compile(r"\(Priority:\s*P(\d)\)", re.IGNORECASE)
_DEPENDS = re.compile(r"\((?:depends on|after)\s+([^)]*)\)", re.IGNORECASE)
_IDS = re.compile(r"\bT\d{3,}\b")


def parse(files: list[SourceFile], **_: Any) -> Imported:
    """Read a spec-kit tasks.md (one file)."""
    if len(files) != 1:
        raise malformed("speckit", "files", "give exactly one tasks.md")
    source = files[0]
    lines = source.content.replace("\r\n", "\n").split("\n")
    feature = None
    milestones: list[Milestone] = []
    items: list[Item] = []
    ids: dict[str, int] = {}
    phase: Milestone | None = None
    phase_is_story = False
    phase_priority = 3
    subheading = ""
    in_section = True  # tasks count only under a phase heading (or before any ## heading)
    # Dependency bookkeeping (see the module docstring).
    foundation: list[str] = []
    stories: list[str] = []
    barrier: list[str] = []
    group: list[str] = []
    phase_tasks: list[str] = []

    def close_phase() -> None:
        nonlocal foundation, stories
        frontier = group or barrier  # the [P] group already waits for the barrier
        if phase is None or not phase_tasks:
            return
        if phase_is_story:
            stories = stories + frontier
        else:
            foundation = frontier
            stories = []

    for number, line in enumerate(lines, start=1):
        if feature is None and line.startswith("# "):
            feature = re.sub(r"^#\s+(Tasks:\s*)?", "", line).strip()
            continue
        phase_match = _PHASE.match(line)
        if phase_match:
            close_phase()
            title = phase_match.group("title")
            phase = Milestone(key=slug(f"phase-{phase_match.group('number')}"), title=title)
            if phase.key in {m.key for m in milestones}:
                raise malformed(source.name, f"line {number}", f"phase {phase_match.group('number')} appears twice")
            milestones.append(phase)
            phase_is_story = bool(re.search(r"user\s+story", title, re.IGNORECASE))
            priority = _STORY_PRIORITY.search(title)
            phase_priority = (
                max(1, 6 - int(priority.group(1))) if priority else (5 if not phase_is_story and not stories else 3)
            )
            barrier = list(foundation) if phase_is_story else list(stories or foundation)
            group, phase_tasks, subheading, in_section = [], [], "", True
            continue
        if _HEADING2.match(line):
            close_phase()
            phase, in_section = None, False
            barrier, group, phase_tasks = [], [], []
            continue
        sub = _HEADING3.match(line)
        if sub:
            subheading = sub.group(1)
            continue
        field = _FIELD.match(line.strip())
        if field and phase is not None and phase.goal is None:
            phase.goal = field.group("value").strip()[:1000]
            continue
        task = _TASK.match(line)
        if task is None:
            if in_section and _CHECKBOX.match(line):
                raise malformed(
                    source.name,
                    f"line {number}",
                    "a task line reads '- [ ] T001 [P] [US1] What to do' (an id like T001)",
                )
            continue
        if not in_section:
            continue
        task_id = task.group("id")
        if task_id in ids:
            raise malformed(source.name, f"line {number}", f"{task_id} is already used on line {ids[task_id]}")
        ids[task_id] = number
        rest = task.group("rest").strip()
        parallel = False
        story = None
        while True:
            marker = re.match(r"^\[(P|US\d+|[A-Za-z]+\d*)\]\s*", rest)
            if not marker:
                break
            if marker.group(1) == "P":
                parallel = True
            else:
                story = marker.group(1)
            rest = rest[marker.end() :]
        if not rest:
            raise malformed(source.name, f"line {number}", f"{task_id} says nothing to do")
        explicit = [found for deps in _DEPENDS.findall(rest) for found in _IDS.findall(deps)]
        if parallel:
            deps = list(barrier)
            group.append(task_id)
        else:
            deps = list(group or barrier)
            barrier, group = [task_id], []
        phase_tasks.append(task_id)
        context = " ".join(part for part in (phase.title if phase else "", subheading) if part)
        description = rest
        if story:
            description += f"\n\nUser story: {story}."
        if parallel:
            description += "\n\nMarked [P]: can run in parallel with the other [P] tasks next to it."
        items.append(
            Item(
                key=task_id,
                title=rest,
                where=f"{task_id} (line {number})",
                description=description,
                priority=phase_priority,
                status=DONE if task.group("done") != " " else None,
                dependencies=deps + [dep for dep in explicit if dep not in deps],
                milestone=phase.key if phase else None,
                discipline="qa"
                if re.search(r"\btests?\b", subheading, re.IGNORECASE)
                else guess_discipline(rest, context),
                deliverables=paths_in(rest),
            )
        )
    close_phase()
    used = {item.milestone for item in items}
    return build(
        tool="speckit",
        label=f"spec-kit ({source.name}{': ' + feature if feature else ''})",
        items=items,
        milestones=[m for m in milestones if m.key in used],
        unmapped=[],
        notes=["Dependencies follow spec-kit's order: phases gate the ones after them, [P] tasks run side by side."],
        source=source.name,
    )
