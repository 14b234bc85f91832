"""Structured feedback applied to a plan: add, remove, edit, move, split, merge tasks, and change scope.

Edits apply in order to a working copy. Codes are stable: a task keeps its code across versions and new tasks are
numbered above the highest code the plan ever used. An edit that names a task, dependency or tool that does not
exist is refused, and every refused edit is reported at once (`loc` = ["edits", i, …]). Free text is read by
`feedback.py`, which turns what it understands into these same edits.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.app.errors import InvalidInput
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.models import (
    AddMilestone,
    AddTask,
    ChangeScope,
    EditMilestone,
    EditTask,
    Feedback,
    GameBrief,
    MergeTasks,
    Milestone,
    MoveTask,
    NewTask,
    PlanDraft,
    RemoveMilestone,
    RemoveTask,
    Scope,
    SplitTask,
    TaskDraft,
)
from gateway.app.planner.template import (
    CAP_NOTE,
    MAX_TASKS,
    Blueprint,
    blueprint,
    resolve_brief,
    stable_order,
    summarise,
)
from gateway.app.planner.validation import engine_of

REVISION = "Revision: "
EDITABLE = (
    "title",
    "description",
    "discipline",
    "acceptance_criteria",
    "deliverables",
    "estimates",
    "priority",
    "mcp_tools",
    "milestone",
)
_NUMBER = re.compile(r"^T-(\d+)$")


def _number(code: str) -> int:
    match = _NUMBER.match(code)
    return int(match.group(1)) if match else 0


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


@dataclass
class WorkingPlan:
    """A plan being edited: task fields by code, the wanted order, and the code counter."""

    order: list[str]
    tasks: dict[str, dict[str, Any]]
    highest: int
    scope: Scope
    choices: list[str]
    template: str | None
    generation_notes: list[str]
    milestones: list[dict[str, Any]] = field(default_factory=list)
    moves: list[tuple[str, str | None]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    pinned: set[str] = field(default_factory=set)
    followed: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, draft: PlanDraft) -> "WorkingPlan":
        """A working copy of a draft."""
        ordered = sorted(draft.tasks, key=lambda t: t.idx)
        highest = max([draft.highest_code, *(_number(t.code) for t in draft.tasks)])
        return cls(
            order=[t.code for t in ordered],
            tasks={t.code: t.model_dump(exclude={"code", "idx"}) for t in ordered},
            highest=highest,
            scope=draft.scope,
            choices=list(draft.features),
            template=draft.template,
            generation_notes=[n for n in draft.notes if not n.startswith(REVISION)],
            milestones=[m.model_dump() for m in draft.milestones],
        )

    def milestone_keys(self) -> list[str]:
        """The plan's milestone keys in order."""
        return [m["key"] for m in self.milestones]

    def next_code(self) -> str:
        """The next free code above every code used so far."""
        self.highest += 1
        return f"T-{self.highest:03d}"

    def claim(self, code: str) -> None:
        """Record a code chosen by the user, so later codes stay above it."""
        self.highest = max(self.highest, _number(code))

    def remove(self, code: str) -> None:
        """Drop a task; tasks that depended on it inherit its dependencies."""
        inherited = self.tasks[code]["dependencies"]
        del self.tasks[code]
        self.order.remove(code)
        for other_code, other in self.tasks.items():
            if code in other["dependencies"]:
                deps = [d for d in other["dependencies"] if d != code]
                other["dependencies"] = _dedupe(deps + [d for d in inherited if d != other_code])

    def redirect(self, old: str, new: str, *, skip: set[str]) -> None:
        """Point every dependency on `old` at `new` (tasks in `skip` keep theirs)."""
        for code, task in self.tasks.items():
            if code in skip or old not in task["dependencies"]:
                continue
            deps = [new if d == old else d for d in task["dependencies"]]
            task["dependencies"] = _dedupe([d for d in deps if d != code])


class _Checker:
    """Collects the problems of one edit, located under ["edits", i, …]."""

    def __init__(self, plan: WorkingPlan, catalogue: Catalogue, engine: str | None, index: int) -> None:
        self.plan, self.catalogue, self.engine, self.index = plan, catalogue, engine, index
        self.problems: list[dict[str, Any]] = []

    def add(self, loc: list[Any], msg: str, type_: str) -> None:
        self.problems.append({"loc": ["edits", self.index, *loc], "msg": msg, "type": type_})

    def task(self, loc: list[Any], code: str | None) -> None:
        if code is not None and code not in self.plan.tasks:
            self.add(loc, f"{code} is not a task of the plan", "task_unknown")

    def dependencies(self, loc: list[Any], deps: list[str], *, own: str | None = None) -> None:
        for j, dep in enumerate(deps):
            if own is not None and dep == own:
                self.add([*loc, j], f"{dep} cannot depend on itself", "dependency_self")
            elif dep not in self.plan.tasks:
                self.add([*loc, j], f"{dep} is not a task of the plan", "dependency_unknown")

    def milestone(self, loc: list[Any], key: str | None) -> None:
        if key is not None and key not in self.plan.milestone_keys():
            known = ", ".join(self.plan.milestone_keys()) or "none"
            self.add(loc, f"{key!r} is not a milestone of the plan (milestones: {known})", "milestone_unknown")

    def tools(self, loc: list[Any], refs: list[str]) -> None:
        for j, ref in enumerate(refs):
            if not self.catalogue.is_known(ref):
                self.add([*loc, j], f"{ref!r} is not a tool in the catalogue", "tool_unknown")
            elif self.engine and not self.catalogue.fits_engine(ref, self.engine):
                self.add([*loc, j], f"{ref!r} does not fit a {self.engine} plan", "tool_wrong_engine")

    def new_task(self, loc: list[Any], task: NewTask) -> None:
        self.dependencies([*loc, "dependencies"], task.dependencies)
        self.tools([*loc, "mcp_tools"], task.mcp_tools)
        self.milestone([*loc, "milestone"], task.milestone)

    def changes(self, loc: list[Any], changes: dict[str, Any], *, own: str | None) -> None:
        self.dependencies([*loc, "dependencies"], changes.get("dependencies", []), own=own)
        self.tools([*loc, "mcp_tools"], changes.get("mcp_tools", []))
        self.milestone([*loc, "milestone"], changes.get("milestone"))


def _new_fields(task: NewTask) -> dict[str, Any]:
    fields = task.model_dump(exclude={"code", "idx"})
    fields["template_key"] = None
    return fields


def _add(plan: WorkingPlan, edit: AddTask, check: _Checker) -> None:
    check.task(["after"], edit.after)
    if edit.task.code is not None and edit.task.code in plan.tasks:
        check.add(["task", "code"], f"{edit.task.code} is already used", "code_duplicate")
    check.new_task(["task"], edit.task)
    if check.problems:
        return
    if edit.task.code:
        code = edit.task.code
        plan.claim(code)
    else:
        code = plan.next_code()
    plan.tasks[code] = _new_fields(edit.task)
    if edit.task.milestone is not None:
        plan.pinned.add(code)
    if edit.after is not None:
        position = plan.order.index(edit.after) + 1
    elif edit.task.idx is not None:
        position = min(edit.task.idx, len(plan.order))
    else:
        position = len(plan.order)
    plan.order.insert(position, code)
    plan.labels.append(f"added {code}")


def _remove(plan: WorkingPlan, edit: RemoveTask, check: _Checker) -> None:
    check.task(["code"], edit.code)
    if check.problems:
        return
    plan.remove(edit.code)
    plan.labels.append(f"removed {edit.code}")


def _edit(plan: WorkingPlan, edit: EditTask, check: _Checker) -> None:
    check.task(["code"], edit.code)
    changes = edit.changes.changed()
    check.changes(["changes"], changes, own=edit.code)
    if check.problems:
        return
    plan.tasks[edit.code].update(changes)
    if "milestone" in changes:
        plan.pinned.add(edit.code)
    plan.labels.append(f"edited {edit.code} ({', '.join(changes) or 'nothing'})")


def _move(plan: WorkingPlan, edit: MoveTask, check: _Checker) -> None:
    check.task(["code"], edit.code)
    check.task(["after"], edit.after)
    if edit.after == edit.code:
        check.add(["after"], "a task cannot move after itself", "move_self")
    if check.problems:
        return
    plan.order.remove(edit.code)
    position = 0 if edit.after is None else plan.order.index(edit.after) + 1
    plan.order.insert(position, edit.code)
    plan.moves.append((edit.code, edit.after))
    plan.labels.append(f"moved {edit.code} {'to the start' if edit.after is None else f'after {edit.after}'}")


def _split(plan: WorkingPlan, edit: SplitTask, check: _Checker) -> None:
    check.task(["code"], edit.code)
    chosen: set[str] = set()
    for k, part in enumerate(edit.into):
        loc = ["into", k]
        if k == 0 and part.code not in (None, edit.code):
            check.add([*loc, "code"], f"the first part keeps the code {edit.code}", "split_code")
        elif k > 0 and part.code is not None and (part.code in plan.tasks or part.code in chosen):
            check.add([*loc, "code"], f"{part.code} is already used", "code_duplicate")
        if k > 0 and part.code:
            chosen.add(part.code)
        check.dependencies([*loc, "dependencies"], part.dependencies, own=edit.code if k == 0 else None)
        check.tools([*loc, "mcp_tools"], part.mcp_tools)
        check.milestone([*loc, "milestone"], part.milestone)
    if check.problems:
        return
    original = plan.tasks[edit.code]
    codes = [edit.code]
    for part in edit.into[1:]:
        if part.code:
            plan.claim(part.code)
            codes.append(part.code)
        else:
            codes.append(plan.next_code())
    pieces = {}
    for k, (code, part) in enumerate(zip(codes, edit.into, strict=True)):
        fields = _new_fields(part)
        _part_milestone(plan, code, fields, original)
        if k == 0:
            fields["template_key"] = original["template_key"]
            fields["dependencies"] = _dedupe(original["dependencies"] + part.dependencies)
        else:
            fields["dependencies"] = _dedupe([codes[k - 1], *part.dependencies])
        fields["dependencies"] = [d for d in fields["dependencies"] if d != code]
        pieces[code] = fields
    _rewire_dependents(plan, edit.code, codes, pieces)
    plan.tasks.update(pieces)
    position = plan.order.index(edit.code)
    plan.order[position : position + 1] = codes
    plan.labels.append(f"split {edit.code} into {', '.join(codes)}")


def _part_milestone(plan: WorkingPlan, code: str, fields: dict[str, Any], original: dict[str, Any]) -> None:
    """A split part stays in the original's milestone unless it names its own (then it is the user's choice)."""
    if fields.get("milestone") is not None:
        plan.pinned.add(code)
    else:
        fields["milestone"] = original.get("milestone")


_WORD = re.compile(r"[a-z0-9]+")
_COMMON_WORDS = frozenset(
    {
        "player",
        "game",
        "a",
        "an",
        "and",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "into",
        "from",
        "by",
        "at",
        "or",
        "as",
        "is",
        "are",
        "be",
        "it",
        "its",
        "this",
        "that",
        "each",
        "all",
        "any",
        "task",
        "tasks",
        "make",
        "add",
        "adds",
        "build",
        "builds",
        "use",
        "uses",
        "using",
        "first",
        "then",
        "than",
        "when",
        "can",
        "must",
        "should",
    }
)


def _words(*texts: Any) -> set[str]:
    """The meaningful words of some texts (lists and objects searched too), plurals folded: walls → wall."""
    found: set[str] = set()
    for text in texts:
        if isinstance(text, str):
            words = (w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _COMMON_WORDS)
            found |= {w[:-1] if w.endswith("s") and not w.endswith("ss") else w for w in words}
        elif isinstance(text, dict):
            found |= _words(*text.values())
        elif isinstance(text, list):
            found |= _words(*text)
    return found


def _providing_part(dependent: dict[str, Any], codes: list[str], pieces: dict[str, dict[str, Any]]) -> str:
    """The part of a split a dependent waits for: the last part whose own words (title, deliverables; only words
    that set it apart from the other parts) the dependent's text names, since parts are chained and that one
    comes after every other it names; else the first part, which keeps the code and with it what the task was
    first about. Waiting for a later part than needed would hold the dependent back for nothing."""
    wanted = _words(dependent["title"], dependent["description"], dependent["acceptance_criteria"])
    own = {code: _words(pieces[code]["title"], pieces[code]["deliverables"]) for code in codes}
    named = [
        code
        for code in codes
        if wanted & (own[code] - set().union(*(words for other, words in own.items() if other != code)))
    ]
    return named[-1] if named else codes[0]


def _rewire_dependents(plan: WorkingPlan, split: str, codes: list[str], pieces: dict[str, dict[str, Any]]) -> None:
    """Each task that waited for the split task waits for the part that provides what it needs."""
    for dependent in [code for code, task in plan.tasks.items() if split in task["dependencies"]]:
        if dependent not in codes:
            provider = _providing_part(plan.tasks[dependent], codes, pieces)
            plan.redirect(split, provider, skip=set(codes) | (plan.tasks.keys() - {dependent}))


def _merge(plan: WorkingPlan, edit: MergeTasks, check: _Checker) -> None:
    seen: set[str] = set()
    for j, code in enumerate(edit.codes):
        check.task(["codes", j], code)
        if code in seen:
            check.add(["codes", j], f"{code} is listed twice", "merge_duplicate")
        seen.add(code)
    into = edit.into.changed() if edit.into else {}
    check.changes(["into"], into, own=edit.codes[0])
    if check.problems:
        return
    survivor, others = edit.codes[0], edit.codes[1:]
    merged = plan.tasks[survivor]
    parts = [plan.tasks[code] for code in others]
    merged["description"] = "\n\n".join(
        [
            merged["description"],
            *(f"Merged from {code} — {t['title']}: {t['description']}" for code, t in zip(others, parts, strict=True)),
        ]
    )[:20_000]
    for name in ("acceptance_criteria", "mcp_tools"):
        merged[name] = _dedupe(merged[name] + [item for t in parts for item in t[name]])
    names = {d["name"] for d in merged["deliverables"]}
    for t in parts:
        for deliverable in t["deliverables"]:
            if deliverable["name"] not in names:
                merged["deliverables"].append(deliverable)
                names.add(deliverable["name"])
    merged["estimates"] = {
        "story_points": merged["estimates"]["story_points"] + sum(t["estimates"]["story_points"] for t in parts),
        "time_hours": merged["estimates"]["time_hours"] + sum(t["estimates"]["time_hours"] for t in parts),
    }
    merged["priority"] = max([merged["priority"], *(t["priority"] for t in parts)])
    gone = set(edit.codes)
    merged["dependencies"] = _dedupe(
        [d for d in merged["dependencies"] + [d for t in parts for d in t["dependencies"]] if d not in gone]
    )
    for code in others:
        del plan.tasks[code]
        plan.order.remove(code)
        plan.redirect(code, survivor, skip={survivor})
    merged.update(into)
    plan.labels.append(f"merged {', '.join(edit.codes)} into {survivor}")


def _add_milestone(plan: WorkingPlan, edit: AddMilestone, check: _Checker) -> None:
    key = edit.milestone.key
    if key in plan.milestone_keys():
        check.add(["milestone", "key"], f"milestone {key!r} already exists", "milestone_duplicate")
    if edit.after is not None and edit.before is not None:
        check.add(["before"], "give 'after' or 'before', not both", "milestone_position")
    check.milestone(["after"], edit.after)
    check.milestone(["before"], edit.before)
    if check.problems:
        return
    keys = plan.milestone_keys()
    if edit.after is not None:
        position = keys.index(edit.after) + 1
    elif edit.before is not None:
        position = keys.index(edit.before)
    else:
        position = len(keys)
    plan.milestones.insert(position, edit.milestone.model_dump())
    if not keys:
        # The plan had no milestones: every task joins the first one.
        for task in plan.tasks.values():
            task["milestone"] = key
    plan.labels.append(f"added milestone {key}")


def _edit_milestone(plan: WorkingPlan, edit: EditMilestone, check: _Checker) -> None:
    check.milestone(["key"], edit.key)
    if edit.new_key is not None and edit.new_key != edit.key and edit.new_key in plan.milestone_keys():
        check.add(["new_key"], f"milestone {edit.new_key!r} already exists", "milestone_duplicate")
    if check.problems:
        return
    milestone = plan.milestones[plan.milestone_keys().index(edit.key)]
    changed = []
    if edit.title is not None and edit.title != milestone["title"]:
        milestone["title"] = edit.title
        changed.append(f"title '{edit.title}'")
    if "goal" in edit.model_fields_set and edit.goal != milestone["goal"]:
        milestone["goal"] = edit.goal
        changed.append("goal")
    if edit.new_key is not None and edit.new_key != edit.key:
        milestone["key"] = edit.new_key
        for task in plan.tasks.values():
            if task.get("milestone") == edit.key:
                task["milestone"] = edit.new_key
        changed.append(f"key {edit.new_key}")
    plan.labels.append(f"edited milestone {edit.key} ({', '.join(changed) or 'nothing'})")


def _remove_milestone(plan: WorkingPlan, edit: RemoveMilestone, check: _Checker) -> None:
    check.milestone(["key"], edit.key)
    check.milestone(["into"], edit.into)
    if edit.into is not None and edit.into == edit.key:
        check.add(["into"], "a milestone's tasks cannot move into the milestone being removed", "milestone_into")
    if check.problems:
        return
    keys = plan.milestone_keys()
    position = keys.index(edit.key)
    into = edit.into
    if into is None and len(keys) > 1:
        into = keys[position + 1] if position + 1 < len(keys) else keys[position - 1]
    del plan.milestones[position]
    moved = [code for code in plan.order if plan.tasks[code].get("milestone") == edit.key]
    for code in moved:
        plan.tasks[code]["milestone"] = into
    where = f", its {len(moved)} tasks moved to {into}" if into and moved else ""
    plan.labels.append(f"removed milestone {edit.key}{where}")


def _settle_milestones(plan: WorkingPlan, order: list[str]) -> None:
    """Give every task a milestone and keep dependencies out of later milestones.

    A task without one joins the milestone of the task before it (or of its latest dependency). Where a task
    would wait for a task of a later milestone, the side the user did not place this revision gives way: the
    dependent moves later, or else the dependency moves earlier. What moved is reported in the notes.
    """
    keys = plan.milestone_keys()
    if not keys:
        for task in plan.tasks.values():
            task["milestone"] = None
        return
    rank = {key: i for i, key in enumerate(keys)}
    previous = keys[0]
    for code in order:
        task = plan.tasks[code]
        if task.get("milestone") not in rank:
            task["milestone"] = previous
        previous = task["milestone"]
    _resolve_milestone_order(plan, order, rank)


def _resolve_milestone_order(plan: WorkingPlan, order: list[str], rank: dict[str, int]) -> None:
    """Pull the dependencies of tasks placed earlier forward, then push dependents of later tasks back."""
    keys = plan.milestone_keys()
    level = {code: rank[plan.tasks[code]["milestone"]] for code in order}
    dependents: dict[str, list[str]] = {code: [] for code in order}
    for code in order:
        for dep in plan.tasks[code]["dependencies"]:
            if dep in dependents:
                dependents[dep].append(code)
    pulled: set[str] = set()
    for code in reversed(order):
        if code in plan.pinned:
            continue
        caps = [level[d] for d in dependents[code] if d in plan.pinned or d in pulled]
        if caps and min(caps) < level[code]:
            level[code] = min(caps)
            pulled.add(code)
    pushed: set[str] = set()
    for code in order:
        if code in plan.pinned:
            continue
        floor = max((level[d] for d in plan.tasks[code]["dependencies"] if d in level), default=level[code])
        if floor > level[code]:
            level[code] = floor
            pushed.add(code)
    for code in order:
        if code in pulled | pushed and keys[level[code]] != plan.tasks[code]["milestone"]:
            plan.tasks[code]["milestone"] = keys[level[code]]
            plan.followed.append(f"{code} → {keys[level[code]]}")


def _choices(current: list[str], add: list[str], remove: list[str]) -> list[str]:
    choices = list(current)
    for feature in [*add, *(f"no-{f.removeprefix('no-')}" for f in remove)]:
        base = feature.removeprefix("no-")
        choices = [c for c in choices if c.removeprefix("no-") != base]
        choices.append(feature)
    return choices


def _scope(plan: WorkingPlan, edit: ChangeScope, check: _Checker, brief: GameBrief) -> None:
    if not plan.template:
        msg = "this plan was not built from a template, so it cannot be rebuilt for another scope"
        check.add(["op"], msg, "scope_no_template")
        return
    scope = edit.scope or plan.scope
    choices = _choices(plan.choices, edit.add_features, edit.remove_features)
    old = blueprint(resolve_brief(brief, scope=plan.scope, choices=plan.choices, template=plan.template))
    new_context = resolve_brief(brief, scope=scope, choices=choices, template=plan.template)
    new = blueprint(new_context)

    code_of: dict[str, str] = {}
    for code in plan.order:
        key = plan.tasks[code]["template_key"]
        if key and key not in code_of:
            code_of[key] = code
    # Decided before anything moves: did the user change this task's dependencies since the template made them?
    untouched_deps = {
        key: set(plan.tasks[code]["dependencies"]) == {code_of[d] for d in old.deps[key] if d in code_of}
        for key, code in code_of.items()
        if key in old.deps
    }
    for key, code in list(code_of.items()):
        if key not in new.tasks:
            plan.remove(code)
            del code_of[key]
    fresh = [key for key in new.order if key not in old.tasks and key not in code_of]
    for key in fresh:
        code_of[key] = plan.next_code()
    for key in new.order:
        if key in code_of:  # otherwise the user removed (or merged away) this template task; it stays out
            _rebuild_task(
                plan, key, code_of, old, new, fresh=key in fresh, untouched_deps=untouched_deps.get(key, False)
            )
    _insert_fresh(plan, new.order, fresh, code_of)

    changes = []
    if scope != plan.scope:
        changes.append(f"scope {plan.scope} → {scope}")
    changes += [f"+{f}" for f in edit.add_features] + [f"-{f}" for f in edit.remove_features]
    plan.milestones = _merge_milestones(plan, old, new)
    plan.scope, plan.choices = scope, choices
    plan.generation_notes = [*new_context.fallbacks, *new.notes]
    plan.labels.append(f"rebuilt from the template ({', '.join(changes) or 'same scope and features'})")


def _merge_milestones(plan: WorkingPlan, old: Blueprint, new: Blueprint) -> list[dict[str, Any]]:
    """The new template's milestones (keeping the user's titles and goals) plus the milestones the user added."""
    old_template = {m.key: m.model_dump() for m in old.milestones}
    current = {m["key"]: m for m in plan.milestones}
    if not current:
        return [m.model_dump() for m in new.milestones]
    used = {task.get("milestone") for task in plan.tasks.values()}
    merged = []
    for milestone in new.milestones:
        mine = current.get(milestone.key)
        if mine is not None and mine != old_template.get(milestone.key):
            merged.append(mine)
        elif mine is not None or milestone.key in used:
            merged.append(milestone.model_dump())
    keys = [m["key"] for m in merged]
    for position, added in enumerate(plan.milestones):
        if added["key"] in keys or added["key"] in old_template:
            continue
        anchor = next((m["key"] for m in reversed(plan.milestones[:position]) if m["key"] in keys), None)
        merged.insert(0 if anchor is None else keys.index(anchor) + 1, added)
        keys = [m["key"] for m in merged]
    return merged


def _rebuild_task(
    plan: WorkingPlan,
    key: str,
    code_of: dict[str, str],
    old: Blueprint,
    new: Blueprint,
    *,
    fresh: bool,
    untouched_deps: bool,
) -> None:
    """Refresh one template task: fields the user did not edit follow the new template; edited ones stay."""
    code = code_of[key]
    rendered = TaskDraft.model_validate({"code": code, "idx": 0, **new.tasks[key]}).model_dump(exclude={"code", "idx"})
    template_deps = [code_of[d] for d in new.deps[key] if d in code_of]
    if fresh:
        plan.tasks[code] = {**rendered, "dependencies": template_deps}
        return
    current = plan.tasks[code]
    before = old.tasks.get(key)
    if before is not None:
        before_fields = TaskDraft.model_validate({"code": code, "idx": 0, **before}).model_dump()
        for name in EDITABLE:
            if current[name] == before_fields[name]:
                current[name] = rendered[name]
    if untouched_deps:
        current["dependencies"] = template_deps
    else:
        added = [code_of[d] for d in new.deps[key] if d in code_of and d not in old.tasks]
        current["dependencies"] = _dedupe(current["dependencies"] + added)


def _insert_fresh(plan: WorkingPlan, order: list[str], fresh: list[str], code_of: dict[str, str]) -> None:
    """Place each new task right after the task that precedes it in the new template order."""
    for position, key in enumerate(order):
        if key not in fresh:
            continue
        anchor = next((code_of[k] for k in reversed(order[:position]) if code_of.get(k) in plan.order), None)
        plan.order.insert(0 if anchor is None else plan.order.index(anchor) + 1, code_of[key])


_HANDLERS: dict[str, Callable[[WorkingPlan, Any, _Checker, GameBrief], None]] = {
    "add": lambda plan, edit, check, _brief: _add(plan, edit, check),
    "remove": lambda plan, edit, check, _brief: _remove(plan, edit, check),
    "edit": lambda plan, edit, check, _brief: _edit(plan, edit, check),
    "move": lambda plan, edit, check, _brief: _move(plan, edit, check),
    "split": lambda plan, edit, check, _brief: _split(plan, edit, check),
    "merge": lambda plan, edit, check, _brief: _merge(plan, edit, check),
    "scope": _scope,
    "add_milestone": lambda plan, edit, check, _brief: _add_milestone(plan, edit, check),
    "edit_milestone": lambda plan, edit, check, _brief: _edit_milestone(plan, edit, check),
    "remove_milestone": lambda plan, edit, check, _brief: _remove_milestone(plan, edit, check),
}


def revise(*, previous: PlanDraft, brief: GameBrief, feedback: Feedback | None, catalogue: Catalogue) -> PlanDraft:
    """The previous plan with every structured edit applied in order (free text is `feedback.py`'s job)."""
    plan = WorkingPlan.of(previous)
    engine = engine_of(previous)
    edits = feedback.edits if feedback else []
    problems: list[dict[str, Any]] = []
    refused = 0
    for i, edit in enumerate(edits):
        check = _Checker(plan, catalogue, engine, i)
        _HANDLERS[edit.op](plan, edit, check, brief)
        if check.problems:
            refused += 1
            problems += check.problems
    if problems:
        edits_word = "edit" if refused == 1 else "edits"
        raise InvalidInput(f"{refused} of the {len(edits)} {edits_word} cannot be applied.", errors=problems)

    deps = {c: t["dependencies"] for c, t in plan.tasks.items()}
    _settle_milestones(plan, stable_order(plan.order, deps, {c: i for i, c in enumerate(plan.order)}) or plan.order)
    milestone_rank = {key: i for i, key in enumerate(plan.milestone_keys())}
    wanted = {code: (milestone_rank.get(plan.tasks[code]["milestone"], 0), i) for i, code in enumerate(plan.order)}
    order = stable_order(plan.order, deps, wanted) or plan.order
    position = {code: i for i, code in enumerate(order)}
    for task in plan.tasks.values():
        task["dependencies"] = sorted(task["dependencies"], key=lambda d: position.get(d, len(order)))
    tasks = [TaskDraft.model_validate({**plan.tasks[code], "code": code, "idx": i}) for i, code in enumerate(order)]
    if plan.template:
        context = resolve_brief(brief, scope=plan.scope, choices=plan.choices, template=plan.template)
        summary = summarise(context, tasks)
    else:
        summary = previous.summary
    return PlanDraft(
        summary=summary,
        milestones=[Milestone.model_validate(m) for m in plan.milestones],
        tasks=tasks,
        notes=_revision_notes(plan, order, len(edits), feedback)[:200],
        template=plan.template,
        scope=plan.scope,
        features=plan.choices,
        highest_code=plan.highest,
    )


def _still_true(note: str, order: list[str]) -> bool:
    """Whether a note written when the plan was generated still describes it after the edits."""
    # "The plan is capped at 40 tasks; left out …" is false once edits bring the plan under the cap.
    return not (note.startswith(CAP_NOTE) and len(order) < MAX_TASKS)


def _revision_notes(plan: WorkingPlan, order: list[str], count: int, feedback: Feedback | None) -> list[str]:
    """The plan's generation notes that still hold for the revised plan, plus what this revision did and did not do."""
    notes = [note for note in plan.generation_notes if _still_true(note, order)]
    if count:
        plural = "s" if count != 1 else ""
        notes.append(f"{REVISION}applied {count} structured edit{plural}: {'; '.join(plan.labels)}.")
    else:
        notes.append(f"{REVISION}no structured edits; the tasks are unchanged.")
    for code, after in plan.moves:
        if code not in plan.tasks:
            continue
        position = order.index(code)
        expected = 0 if after is None else (order.index(after) + 1 if after in plan.tasks else position)
        if position != expected:
            notes.append(
                f"{REVISION}{code} was placed after its dependencies and inside its milestone, not exactly where the "
                "move asked (change its milestone to move it into another one)."
            )
    if plan.followed:
        notes.append(
            f"{REVISION}to keep every task after the tasks it depends on, these tasks changed milestone too: "
            f"{'; '.join(plan.followed)}."
        )
    if feedback and feedback.text:
        notes.append(
            f"{REVISION}the free-text feedback ({len(feedback.text)} characters) is kept with this version for an LLM "
            "planner; the template planner does not interpret free text."
        )
    return notes
