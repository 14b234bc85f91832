"""Free-text feedback without an LLM: common requests read by rules and turned into structured edits.

The text is split into points ("Drop multiplayer, add a level editor, make bosses a later milestone" → three).
Each point is matched against a small set of request shapes — remove or add a feature or tasks, move tasks to a
later, earlier or named milestone, raise or lower priority, change the scope, rename a milestone — and the
things it names are found by meaning (see `matching`). Each point becomes ordinary structured edits, applied
one point after another, so codes of kept tasks stay. What each point did, or why it was not understood, goes
into the plan's notes; a text in which nothing could be applied is refused with every point listed.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from gateway.app.errors import InvalidInput
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.library import kebab, load_library, normalise_text
from gateway.app.planner.matching import concepts, score, signatures
from gateway.app.planner.models import (
    SCOPES,
    AddMilestone,
    ChangeScope,
    EditMilestone,
    EditTask,
    Feedback,
    GameBrief,
    Milestone,
    PlanDraft,
    RemoveTask,
    TaskChanges,
)

REVISION = "Revision: "
_SPLIT = re.compile(r"[.;!?\n]+|,\s*(?:and\s+|then\s+|but\s+)?|\s+(?:and|then|but|also)\s+(?=(?:{verbs})\b)")
_REMOVE = (
    r"drop|remove|cut|delete|skip|lose|ditch|scrap|get rid of|forget(?: about)?|no need for"
    r"|(?:we |i )?(?:do not|don't) need|without|no"
)
_ADD = r"add|include|(?:we |i )?(?:also )?(?:need|want|would like)|support|put in|give (?:it|us|me)|plus"
_MOVE = r"make|move|put|push|shift|delay|postpone|defer|leave|keep"
_LATER = {"later", "next", "subsequent", "following", "future", "last", "final"}
_EARLIER = {"earlier", "previous", "sooner", "first", "early"}
_VERBS = "drop|remove|cut|delete|skip|add|include|make|move|put|push|delay|postpone|defer|rename|prioriti[sz]e|focus"
_SMALLER = re.compile(
    r"\b(smaller|too big|too large|cut (?:the )?scope|reduce (?:the )?scope|scale (?:it )?down|less content"
    r"|shorter|tighter scope|smaller scope)\b"
)
_BIGGER = re.compile(
    r"\b(bigger|larger|more content|expand|scale (?:it )?up|full (?:game|release|scope)|longer|bigger scope)\b"
)
_ARTICLE = re.compile(r"^(?:a|an|the|some|our|my|any|all|all the|every)\s+")


@dataclass
class Point:
    """One point of the feedback and what became of it."""

    text: str
    edits: list[Any] = field(default_factory=list)
    done: str | None = None
    problem: str | None = None
    adds: bool = False
    notes: list[str] = field(default_factory=list)


def split_points(text: str) -> list[str]:
    """The feedback's separate requests, in order."""
    pattern = re.compile(_SPLIT.pattern.format(verbs=_VERBS), re.IGNORECASE)
    return [p.strip(" -*•\t") for p in pattern.split(text) if p and p.strip(" -*•\t")]


def _object(text: str) -> str:
    text = _ARTICLE.sub("", text.strip().strip("'\"")).strip()
    return re.sub(r"\s+(?:please|for now|entirely|completely|altogether|too|as well|first)$", "", text)


def _things(text: str) -> list[str]:
    """'the bosses and the map' → ['bosses', 'map']."""
    return [_object(part) for part in re.split(r"\s*(?:,|&|\band\b|\bplus\b)\s*", text) if _object(part)]


def _tasks_about_all(plan: PlanDraft, text: str) -> tuple[list[str], list[str]]:
    """Codes of the tasks each named thing is about, and the things no task is about."""
    codes: list[str] = []
    missing: list[str] = []
    for thing in _things(text):
        found = _tasks_about(plan, thing)
        if not found:
            missing.append(thing)
        codes += [code for code in found if code not in codes]
    return codes, missing


def _milestone_target(plan: PlanDraft, words: str) -> str | None:
    """A milestone named in the text, by key or title."""
    wanted = normalise_text(words).removesuffix(" milestone").removeprefix("the ")
    for milestone in plan.milestones:
        if wanted in {normalise_text(milestone.key), normalise_text(milestone.title)}:
            return milestone.key
    return None


def _tasks_about(plan: PlanDraft, thing: str) -> list[str]:
    """Codes of the tasks a phrase is about: every concept of the phrase appears in the task's title or covers."""
    wanted = concepts(thing)
    if not wanted:
        return []
    library = load_library()
    covers: dict[str, tuple[str, ...]] = {}
    for spec in (*library.common, *(t for g in library.genres.values() for t in g.tasks)):
        covers.setdefault(spec.key, spec.covers)
    found = []
    for task in plan.tasks:
        names = [task.title, *(covers.get(task.template_key or "", ()))]
        own = set().union(*signatures(names)) if signatures(names) else set()
        if wanted <= own:
            found.append(task.code)
    return found


def _nothing_about(things: list[str]) -> str:
    return "no task of the plan is about " + " or ".join(f"'{thing}'" for thing in things)


def _module_of(thing: str) -> str | None:
    wanted = concepts(thing)
    best, found = 0, None
    for feature in load_library().features.values():
        points = score(wanted, signatures((feature.key, feature.name, *feature.aliases)))
        if points > best:
            best, found = points, feature.key
    return found


def _active_modules(plan: PlanDraft, brief: GameBrief) -> set[str]:
    from gateway.app.planner.template import resolve_brief

    if not plan.template:
        return set()
    return set(resolve_brief(brief, scope=plan.scope, choices=plan.features, template=plan.template).features)


def _chosen_feature(plan: PlanDraft, thing: str) -> str | None:
    """The plan's own feature choice a phrase names ('photo mode' → 'photo-mode'), if any."""
    wanted = concepts(thing)
    for choice in plan.features:
        if not choice.startswith("no-") and wanted and concepts(choice.replace("-", " ")) == wanted:
            return choice
    return None


def _remove(point: Point, thing: str, plan: PlanDraft, brief: GameBrief) -> None:
    module = _module_of(thing)
    if module and plan.template and module in _active_modules(plan, brief):
        point.edits = [ChangeScope(op="scope", remove_features=[module])]
        point.done = f"removed the {load_library().features[module].name} module"
        return
    chosen = _chosen_feature(plan, thing) if plan.template else None
    if chosen is not None:
        # Removing the feature choice (not just its tasks) keeps a later rebuild from bringing them back.
        point.edits = [ChangeScope(op="scope", remove_features=[chosen])]
        point.done = f"removed the feature '{chosen.replace('-', ' ')}'"
        return
    codes, missing = _tasks_about_all(plan, thing)
    if codes and not missing:
        point.edits = [RemoveTask(op="remove", code=code) for code in codes]
        point.done = f"removed the tasks about '{thing}'"
    else:
        point.problem = _nothing_about(missing or [thing])


def _add(point: Point, thing: str, plan: PlanDraft) -> None:
    if not plan.template:
        point.problem = "this plan was not built from a template, so new features cannot be planned without an LLM"
        return
    point.edits = [ChangeScope(op="scope", add_features=[thing])]
    point.done = f"added '{thing}'"
    point.adds = True


def _move(point: Point, thing: str, where: str, plan: PlanDraft) -> None:
    if not plan.milestones:
        point.problem = "the plan has no milestones"
        return
    codes, missing = _tasks_about_all(plan, thing)
    if not codes or missing:
        point.problem = _nothing_about(missing or [thing])
        return
    keys = [m.key for m in plan.milestones]
    current = {t.code: t.milestone for t in plan.tasks}
    named = _milestone_target(plan, where)
    words = set(normalise_text(where).split())
    edits, moved = [], []
    for code in codes:
        milestone = current[code]
        rank = keys.index(milestone) if milestone is not None and milestone in keys else 0
        if named:
            target = named
        elif words & _LATER:
            target = keys[-1] if words & {"last", "final"} else keys[min(rank + 1, len(keys) - 1)]
        elif words & _EARLIER:
            target = keys[0] if words & {"first"} else keys[max(rank - 1, 0)]
        else:
            point.problem = f"'{where}' is not a milestone of the plan ({', '.join(keys)})"
            return
        if target != current[code]:
            edits.append(EditTask(op="edit", code=code, changes=TaskChanges(milestone=target)))
            moved.append(f"{code} → {target}")
    if not edits:
        point.problem = f"the tasks about '{thing}' ({', '.join(codes)}) are already there"
        return
    point.edits = edits
    point.done = f"moved {', '.join(moved)}"


def _priority(point: Point, thing: str, plan: PlanDraft, *, value: int) -> None:
    codes, missing = _tasks_about_all(plan, thing)
    if not codes or missing:
        point.problem = _nothing_about(missing or [thing])
        return
    point.edits = [EditTask(op="edit", code=code, changes=TaskChanges(priority=value)) for code in codes]
    point.done = f"set the priority of {', '.join(codes)} to {value}"


def _scope(point: Point, plan: PlanDraft, *, step: int | None = None, to: str | None = None) -> None:
    if not plan.template:
        point.problem = "this plan was not built from a template, so its scope cannot be rebuilt"
        return
    rank = SCOPES.index(plan.scope)
    target = to or SCOPES[min(max(rank + (step or 0), 0), len(SCOPES) - 1)]
    if target == plan.scope:
        point.problem = f"the plan is already at the {plan.scope} scope"
        return
    point.edits = [ChangeScope(op="scope", scope=target)]
    point.done = f"changed the scope from {plan.scope} to {target}"


def _rename(point: Point, text: str, plan: PlanDraft, _brief: GameBrief) -> bool:
    match = re.match(r"^rename (?:the )?(?P<old>.+?)(?: milestone)? (?:to|as) (?P<new>.+)$", text.lower())
    if match is None:
        return False
    key = _milestone_target(plan, match.group("old"))
    if key is None:
        point.problem = f"'{match.group('old')}' is not a milestone of the plan"
        return True
    title = text[match.start("new") :].strip().strip("'\"")[:300]
    point.edits = [EditMilestone(op="edit_milestone", key=key, title=title)]
    point.done = f"renamed milestone {key} to '{title}'"
    return True


_MOVES = (
    re.compile(
        rf"^(?:{_MOVE})\s+(?P<x>.+?)\s+(?:(?:to|into|in|for|until|part of)\s+)?(?:a|an|the)\s+"
        r"(?P<where>[\w -]+?)\s+milestone$"
    ),
    re.compile(rf"^(?:{_MOVE})\s+(?P<x>.+?)\s+(?:to|into|in|until)\s+(?:the\s+)?(?P<where>[\w -]+)$"),
    re.compile(r"^(?P<x>.+?)\s+(?:in|into|to|for)\s+(?:a|an|the)\s+(?P<where>[\w -]+?)\s+milestone$"),
)


def _moving(point: Point, text: str, plan: PlanDraft, _brief: GameBrief) -> bool:
    lowered = text.lower()
    if later := re.match(r"^(?:postpone|delay|defer|push back)\s+(?P<x>.+)$", lowered):
        _move(point, _object(later.group("x")), "later", plan)
        return True
    for pattern in _MOVES:
        move = pattern.match(lowered)
        if move is None:
            continue
        where = move.group("where")
        if _milestone_target(plan, where) or set(where.split()) <= _LATER | _EARLIER | {"one", "milestone"}:
            _move(point, _object(move.group("x")), where, plan)
            return True
    return False


def _removing(point: Point, text: str, plan: PlanDraft, brief: GameBrief) -> bool:
    if match := re.match(rf"^(?:{_REMOVE})\s+(?P<x>.+)$", text.lower()):
        _remove(point, _object(match.group("x")), plan, brief)
        return True
    return False


def _prioritising(point: Point, text: str, plan: PlanDraft, _brief: GameBrief) -> bool:
    lowered = text.lower()
    up = re.match(r"^(?:prioriti[sz]e|focus on|start with)\s+(?P<x>.+)$", lowered) or re.match(
        r"^(?P<x>.+?)\s+(?:first|matters? most|(?:is|are) (?:the )?most important)$", lowered
    )
    down = re.match(r"^(?:deprioriti[sz]e)\s+(?P<x>.+)$", lowered) or re.match(
        r"^(?P<x>.+?)\s+(?:can wait|(?:is|are) not urgent|matters? less)$", lowered
    )
    if up or down:
        _priority(point, _object((up or down).group("x")), plan, value=5 if up else 1)  # type: ignore[union-attr]  # one of the two patterns matched: the caller checked
        return True
    return False


def _scoping(point: Point, text: str, plan: PlanDraft, _brief: GameBrief) -> bool:
    plain = normalise_text(text)
    if re.search(r"\b(?:just|only) (?:a )?prototype\b|\bprototype only\b", plain):
        _scope(point, plan, to="prototype")
    elif re.search(r"\b(?:mvp|minimum viable)\b", plain):
        _scope(point, plan, to="mvp")
    elif _SMALLER.search(plain):
        _scope(point, plan, step=-1)
    elif _BIGGER.search(plain):
        _scope(point, plan, step=1)
    else:
        return False
    return True


def _new_milestone(point: Point, text: str, plan: PlanDraft, _brief: GameBrief) -> bool:
    match = re.match(
        rf"^(?:{_ADD})\s+(?:a|an|the)?\s*(?P<name>[\w' -]+?)\s+milestone"
        r"(?:\s+(?P<where>after|before)\s+(?:the\s+)?(?P<anchor>.+))?$",
        text.strip(),
        re.IGNORECASE,
    )
    if match is None:
        return False
    name = match.group("name").strip()
    key = kebab(name)[:50]
    anchor = _milestone_target(plan, match.group("anchor")) if match.group("anchor") else None
    if match.group("anchor") and anchor is None:
        point.problem = f"'{match.group('anchor')}' is not a milestone of the plan"
        return True
    if not key or key in {m.key for m in plan.milestones}:
        point.problem = f"the plan already has a milestone '{name}'"
        return True
    where = (match.group("where") or "").lower()
    point.edits = [
        AddMilestone(
            op="add_milestone",
            milestone=Milestone(key=key, title=name[:1].upper() + name[1:]),
            after=anchor if where == "after" else None,
            before=anchor if where == "before" else None,
        )
    ]
    point.done = f"added the milestone '{name}'" + (f" {where} {anchor}" if anchor else " at the end")
    return True


def _adding(point: Point, text: str, plan: PlanDraft, _brief: GameBrief) -> bool:
    if match := re.match(rf"^(?:{_ADD})\s+(?P<x>.+)$", text.lower()):
        _add(point, _object(match.group("x")), plan)
        return True
    return False


# Tried in order: the first reader that recognises the point's shape handles it.
_READERS = (_rename, _new_milestone, _moving, _removing, _prioritising, _scoping, _adding)


def read_point(text: str, plan: PlanDraft, brief: GameBrief) -> Point:
    """What one point of feedback asks for, as edits of the plan (or why it was not understood)."""
    point = Point(text=text.strip())
    if not any(reader(point, point.text, plan, brief) for reader in _READERS):
        point.problem = "not understood by the template planner (an LLM planner reads free text)"
    return point


def apply_text(*, draft: PlanDraft, brief: GameBrief, text: str, catalogue: Catalogue) -> tuple[PlanDraft, list[Point]]:
    """The draft with every understood point of the text applied in order, and what became of each point."""
    from gateway.app.planner.edits import revise

    points = []
    for piece in split_points(text)[:50]:
        point = read_point(piece, draft, brief)
        if point.edits:
            before = draft
            try:
                draft = revise(previous=draft, brief=brief, feedback=Feedback(edits=point.edits), catalogue=catalogue)
                point.notes = [
                    n for n in draft.notes if n.startswith(REVISION) and not n.startswith(f"{REVISION}applied ")
                ]
                old_codes = {t.code for t in before.tasks}
                if _same(before, draft) or (point.adds and all(t.code in old_codes for t in draft.tasks)):
                    draft = before
                    point.done, point.problem = None, "it would change nothing in the plan"
                else:
                    point.done = f"{point.done}{_effect(before, draft)}"
            except InvalidInput as refused:
                reasons = "; ".join(e["msg"] for e in refused.extensions.get("errors", []))[:500]
                point.done, point.problem = None, f"could not be applied: {reasons or refused.detail}"
        points.append(point)
    return draft, points


def _same(before: PlanDraft, after: PlanDraft) -> bool:
    """Whether a step left the plan's tasks, milestones and scope as they were."""
    return (before.tasks, before.milestones, before.scope) == (after.tasks, after.milestones, after.scope)


def _effect(before: PlanDraft, after: PlanDraft) -> str:
    """What a point changed in task codes: ' (added T-041, T-042; removed T-005)'."""
    old = {t.code for t in before.tasks}
    new = {t.code for t in after.tasks}
    parts = []
    if added := [t.code for t in after.tasks if t.code not in old]:
        parts.append(f"added {', '.join(added)}")
    if removed := [t.code for t in before.tasks if t.code not in new]:
        parts.append(f"removed {', '.join(removed)}")
    return f" ({'; '.join(parts)})" if parts else ""


def notes_for(points: list[Point]) -> list[str]:
    """One note per point of the feedback: what was done, or why not."""
    notes = []
    for point in points:
        if point.done:
            notes.append(f"{REVISION}feedback '{point.text}': {point.done}.")
        else:
            notes.append(f"{REVISION}feedback '{point.text}' was not applied: {point.problem}.")
    return notes


def refuse(points: list[Point]) -> InvalidInput:
    """The problem for a text in which nothing could be applied: every point, and why."""
    errors = [
        {"loc": ["text", i], "msg": f"'{p.text}': {p.problem}", "type": "feedback_not_applied"}
        for i, p in enumerate(points)
    ]
    if not errors:
        errors = [{"loc": ["text"], "msg": "the feedback has no request in it", "type": "feedback_empty"}]
    return InvalidInput(
        "The template planner could not apply any point of the feedback, so no new version was made.",
        errors=errors,
    )
