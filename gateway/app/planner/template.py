"""The offline template planner: deterministic plans from the genre-by-engine templates, and structured revisions.

A plan is assembled from the shared tasks, the genre's tasks and the active feature modules, filtered by scope,
ordered topologically (stage, discipline and priority break ties), capped at 40 tasks, and rendered with the
engine's words, paths and tools. Each task carries its `template_key`, which is how a scope change later finds
the task again: it keeps its code and any field the user edited.
"""

import heapq
from dataclasses import dataclass, field
from typing import Any

from gateway.app.planner.catalogue import Catalogue, load_catalogue
from gateway.app.planner.library import (
    DeliverableSpec,
    EngineSpec,
    GenreSpec,
    Library,
    Resolution,
    TaskSpec,
    TemplateError,
    fill,
    kebab,
    load_library,
    pascal,
    resolve_engine,
    resolve_genre,
    snake,
    with_changes,
)
from gateway.app.planner.matching import concepts, head, signatures
from gateway.app.planner.models import (
    DISCIPLINES,
    SCOPES,
    Deliverable,
    Estimates,
    Feedback,
    GameBrief,
    Milestone,
    PlanDraft,
    PlanningRequest,
    Scope,
    TaskDraft,
)
from gateway.app.planner.validation import engine_of, ensure_valid

MIN_TASKS = 12
MAX_TASKS = 40
CAP_NOTE = "The plan is capped at "  # how the note on tasks left out by the cap begins
MAX_TOOLS = 10
SCOPE_RANK: dict[str, int] = {scope: rank for rank, scope in enumerate(SCOPES)}
DISCIPLINE_RANK: dict[str, int] = {discipline: rank for rank, discipline in enumerate(DISCIPLINES)}
SCOPE_NAMES = {"prototype": "prototype", "mvp": "MVP", "full": "full release"}
DESKTOP = ("windows", "macos", "linux")
MOBILE = ("android", "ios")
CONSOLES = ("switch", "playstation", "xbox")


@dataclass
class FeatureMatch:
    """What one feature of the brief turned into: feature modules, template tasks, or tasks of its own."""

    choice: str
    phrase: str
    negated: bool
    modules: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        """The feature as a key for its own tasks."""
        return kebab(self.phrase)[:60] or "feature"

    @property
    def matched(self) -> bool:
        """Whether a module or a template task covers the feature."""
        return bool(self.modules or self.tasks)


@dataclass
class BriefContext:
    """A brief resolved against the templates: which genre and engine, which features, and the words to use."""

    brief: GameBrief
    genre: GenreSpec
    engine: EngineSpec
    scope: Scope
    choices: list[str]
    features: list[str]
    platforms: list[str]
    tokens: dict[str, str]
    fallbacks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    matches: list[FeatureMatch] = field(default_factory=list)

    @property
    def template(self) -> str:
        """The 'genre/engine' key of the template."""
        return f"{self.genre.key}/{self.engine.key}"

    @property
    def pixel_art(self) -> bool:
        """Whether the art style is pixel art (decides the 2D art tools)."""
        return "pixel" in self.tokens["art_style"].lower()


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _fallback_note(kind: str, resolution: Resolution, name: str) -> str:
    asked = f"asked for '{resolution.requested}'" if resolution.requested else "none given"
    return f"{kind} fallback: {asked}, planned with the {name} template — {resolution.reason}."


def resolve_brief(
    brief: GameBrief,
    *,
    scope: Scope | None = None,
    choices: list[str] | None = None,
    template: str | None = None,
) -> BriefContext:
    """Resolve a brief (or a plan's own template, scope and feature choices) against the template library."""
    library = load_library()
    notes: list[str] = []
    fallbacks: list[str] = []
    platforms_asked = list(brief.platforms)
    genre_res = resolve_genre(brief.genre)
    engine_res = resolve_engine(brief.engine, platforms_asked)
    genre_key, engine_key = genre_res.key, engine_res.key
    if template and template.count("/") == 1:
        # A revision keeps the plan's own template even if the brief changed since.
        wanted_genre, wanted_engine = template.split("/")
        if wanted_genre in library.genres and wanted_engine in library.engines:
            genre_key, engine_key = wanted_genre, wanted_engine
    genre, engine = library.genres[genre_key], library.engines[engine_key]
    for kind, resolution, spec in (("Genre", genre_res, genre), ("Engine", engine_res, engine)):
        if not resolution.exact and resolution.key == spec.key:
            fallbacks.append(_fallback_note(kind, resolution, spec.name))
    scope = scope or brief.scope
    choices = list(brief.features if choices is None else choices)

    platforms = [p for p in platforms_asked if p in engine.platforms]
    for platform in platforms_asked:
        if platform not in engine.platforms:
            label = library.platform_names.get(platform, platform)
            why = engine.platform_notes.get(platform) or f"it is not an export target of the {engine.name} template"
            notes.append(
                f"Platform '{label}' is left out of the build tasks: {why}. Plan its port separately, or choose an "
                "engine that exports to it."
            )
    for platform in platforms:
        if platform in CONSOLES and platform in engine.platform_notes:
            label = library.platform_names.get(platform, platform)
            notes.append(f"Platform '{label}' is kept: {engine.platform_notes[platform]}.")
    if not platforms:
        platforms = list(engine.default_platforms)
        if platforms_asked:
            names = [library.platform_names.get(p, p) for p in platforms]
            notes.append(f"No requested platform fits {engine.name}; builds target {_join(names)} instead.")

    matches = _match_features(library, genre, engine, choices)
    features = _active_features(library, genre, scope, matches, platforms, notes)
    tokens = _tokens(library, brief, genre, engine, scope, platforms)
    return BriefContext(
        brief=brief,
        genre=genre,
        engine=engine,
        scope=scope,
        choices=choices,
        features=features,
        platforms=platforms,
        tokens=tokens,
        fallbacks=fallbacks,
        notes=notes,
        matches=matches,
    )


def _genre_tasks(library: Library, genre: GenreSpec) -> list[TaskSpec]:
    """The template tasks a brief's feature can be matched to: the genre's own and the shared ones, with covers."""
    shared = [spec for spec in library.common if spec.key not in genre.exclude]
    return [spec for spec in (*genre.tasks, *shared) if spec.covers]


def _match_features(library: Library, genre: GenreSpec, engine: EngineSpec, choices: list[str]) -> list[FeatureMatch]:
    """Each feature choice matched by meaning to feature modules and to the template tasks that cover it."""
    tasks = _genre_tasks(library, genre)
    matches = []
    for choice in choices:
        base = choice.removeprefix("no-")
        phrase = base.replace("-", " ").replace("co op", "co-op")
        match = FeatureMatch(choice=choice, phrase=phrase, negated=choice.startswith("no-"))
        if base in library.features:
            match.modules = [base]
        else:
            wanted, main = concepts(match.phrase), head(match.phrase)
            scored: list[tuple[int, str, str]] = []
            for feature in library.features.values():
                names = signatures((feature.key, feature.name, *feature.aliases))
                scored.append((_rank(wanted, main, names), "m", feature.key))
            for spec in tasks:
                if not spec.engines or engine.key in spec.engines:
                    scored.append((_rank(wanted, main, signatures(spec.covers)), "t", spec.key))
            best = max((points for points, _, _ in scored), default=0)
            if best:
                match.modules = [key for points, kind, key in scored if points == best and kind == "m"]
                match.tasks = [key for points, kind, key in scored if points == best and kind == "t"]
        matches.append(match)
    return matches


def _rank(wanted: frozenset[str], main: str | None, names: list[frozenset[str]]) -> int:
    """A target's match score: it must name the phrase's head ('level editor' is about an editor, not levels)."""
    inside = [s for s in names if s <= wanted]
    if not inside or not any(main in s for s in inside):
        return 0
    return max(len(s) for s in inside)


def _active_features(
    library: Library,
    genre: GenreSpec,
    scope: Scope,
    matches: list[FeatureMatch],
    platforms: list[str],
    notes: list[str],
) -> list[str]:
    wanted: set[str] = set()
    removed: set[str] = set()
    for match in matches:  # a later choice wins over an earlier one naming the same module
        for key in match.modules:
            (removed if match.negated else wanted).add(key)
            (wanted if match.negated else removed).discard(key)
    kept = {key for m in matches if not m.negated for key in m.tasks}
    for match in matches:
        if match.negated and not match.matched:
            notes.append(
                f"The template planner has nothing for feature '{match.phrase}', so there was nothing to remove."
            )
        elif match.negated and match.tasks:
            names = _join([f"'{_task_title(library, genre, key)}'" for key in match.tasks])
            if set(match.tasks) & kept:
                notes.append(
                    f"Kept {names} despite 'no {match.phrase}', because another feature of the brief needs it."
                )
            else:
                notes.append(f"Left out {names} because the brief asks for no '{match.phrase}'.")
    active = set(wanted)
    for feature, smallest in genre.default_features().items():
        if feature in removed:
            notes.append(f"The {genre.name} template adds '{feature}' by default; left out as the brief asked.")
        elif SCOPE_RANK[scope] >= SCOPE_RANK[smallest]:
            active.add(feature)
    if set(platforms) & set(MOBILE) and "touch-controls" not in removed and "touch-controls" not in active:
        active.add("touch-controls")
        notes.append("Added the 'touch-controls' module because the brief targets mobile platforms.")
    consoles = [library.platform_names.get(p, p) for p in platforms if p in CONSOLES]
    if consoles and "console-port" in library.features and "console-port" not in removed | active:
        active.add("console-port")
        notes.append(
            f"Added the 'console-port' module (platform-holder approval, dev kits, certification) because the brief "
            f"targets {_join(consoles)}."
        )
    return [key for key in library.features if key in active]


def _task_title(library: Library, genre: GenreSpec, key: str) -> str:
    spec = next((t for t in (*genre.tasks, *library.common) if t.key == key), None)
    return spec.title if spec else key


def _tokens(
    library: Library, brief: GameBrief, genre: GenreSpec, engine: EngineSpec, scope: Scope, platforms: list[str]
) -> dict[str, str]:
    names = library.platform_names
    art_style = brief.art_style or genre.default("art_style", engine.key)
    pillars = brief.pillars or list(genre.defaults.get("pillars", []))
    stores = []
    if set(platforms) & set(DESKTOP):
        stores.append("Steam and itch.io")
    if "web" in platforms:
        stores.append("itch.io (HTML5)")
    if "android" in platforms:
        stores.append("Google Play")
    if "ios" in platforms:
        stores.append("the App Store")
    if set(platforms) & set(CONSOLES):
        stores.append("the console stores (after certification)")
    if "pixel" in art_style.lower():
        render = f"configure pixel-perfect rendering: {engine.vocab['pixel_setup']}"
    else:
        render = (
            "keep filtered, mipmapped textures for the high-resolution art and check the UI at every target resolution"
        )
    return {
        **engine.vocab,
        **genre.vocab,
        "game": brief.title or "the game",
        "pillars": "; ".join(pillars) or "the pillars in the design document",
        "platforms": _join([names.get(p, p) for p in platforms]),
        "first_platform": names.get(platforms[0], platforms[0]),
        "audience": brief.audience or genre.default("audience", engine.key),
        "art_style": art_style,
        "scope_name": SCOPE_NAMES[scope],
        "render_setup": render,
        "platform_steps": "; ".join(f"{names.get(p, p)} — {engine.platforms[p]}" for p in platforms),
        "store_target": _join(stores) or "itch.io",
        "consoles": _join([names.get(p, p) for p in platforms if p in CONSOLES]) or "the consoles",
    }


def _universe(context: BriefContext) -> tuple[list[TaskSpec], dict[str, TaskSpec]]:
    """Every task the plan could contain (in source order) and every task of the library by key."""
    library = load_library()
    genre, engine = context.genre, context.engine
    universe: dict[str, TaskSpec] = {}
    candidates: list[TaskSpec] = []
    sources: list[tuple[TaskSpec, bool]] = [(spec, True) for spec in library.common if spec.key not in genre.exclude]
    sources += [(spec, True) for spec in genre.tasks]
    for feature in library.features.values():
        sources += [(spec, feature.key in context.features) for spec in feature.tasks]
    taken = {spec.key for spec, _ in sources}
    for match in context.matches:
        if not match.negated and not match.matched:
            sources += [(spec, True) for spec in own_tasks(match, taken)]
    for source, candidate in sources:
        overridden = with_changes(source, genre.overrides[source.key]) if source.key in genre.overrides else source
        spec = overridden.for_engine(engine.key)
        if spec.key in universe:
            raise TemplateError(f"{context.template}: task key {spec.key} is defined twice")
        universe[spec.key] = spec
        if candidate and (not spec.engines or engine.key in spec.engines):
            candidates.append(spec)
    for key, spec in universe.items():
        for dep in (*spec.depends, *spec.required_by):
            if dep not in universe:
                raise TemplateError(f"{context.template}: task {key} refers to unknown task {dep}")
    return candidates, universe


def own_tasks(match: FeatureMatch, taken: set[str]) -> tuple[TaskSpec, ...]:
    """Design, build and test tasks for a brief feature no template covers, with deliverables named after it."""
    slug = match.slug
    while f"brief-{slug}-design" in taken:
        slug += "-2"
    taken.update({f"brief-{slug}-design", f"brief-{slug}-build", f"brief-{slug}-test"})
    name = match.phrase.replace("{", "(").replace("}", ")").strip() or slug
    label = name[0].upper() + name[1:]
    origin = f"feature brief-{slug}"
    design = TaskSpec(
        key=f"brief-{slug}-design",
        title=f"{label}: design",
        discipline="design",
        scope="prototype",
        stage=1,
        priority=3,
        points=2,
        hours=4,
        description=(
            f"The brief asks for {name}, and no template module covers it. Decide what it means for {{game}}: how "
            f"the player uses it, its rules and numbers, how it serves the core loop ({{core_loop}}), what it needs "
            "from other systems, and what is out of scope. Write it in `{d0}`."
        ),
        criteria=(
            f"The document says how the player uses {name} and what is out of scope",
            f"Every number {name} needs has a value and a unit",
        ),
        deliverables=(DeliverableSpec(kind="doc", name=f"{slug} design", about=f"Design of {name}"),),
        depends=("game-design-doc",),
        roles=("docs",),
        origin=origin,
    )
    build = TaskSpec(
        key=f"brief-{slug}-build",
        title=f"{label}: build",
        discipline="programming",
        scope="prototype",
        stage=3,
        priority=3,
        points=5,
        hours=12,
        description=(
            f"Implement {name} as its design document says, in `{{d0}}` ({{lang}}), following the project's "
            "conventions; its numbers live in {tunables} so they can be tuned without code."
        ),
        criteria=(
            f"{label} works in the game as the design document describes",
            "Its numbers are tunable without a code change",
        ),
        deliverables=(DeliverableSpec(kind="script", name=slug, dir=slug, about=f"{label}"),),
        depends=(design.key, "project-setup"),
        roles=("code", "run"),
        origin=origin,
    )
    test = TaskSpec(
        key=f"brief-{slug}-test",
        title=f"{label}: test",
        discipline="qa",
        scope="prototype",
        stage=5,
        priority=2,
        points=2,
        hours=4,
        description=(
            f"Test {name}: automated tests of its rules in `{{d0}}` with {{tests}}, and one playtest session that "
            "uses it, with the findings written down."
        ),
        criteria=(
            f"Automated tests cover the rules of {name} and pass",
            f"A playtest used {name}; findings are listed",
        ),
        deliverables=(DeliverableSpec(kind="test", name=slug, dir=slug, about=f"Tests of {name}"),),
        depends=(build.key,),
        roles=("code", "test"),
        origin=origin,
    )
    return design, build, test


def _included(spec: TaskSpec, scope: Scope) -> bool:
    if spec.origin.startswith("feature ") and spec.scope == "prototype":
        return True
    return SCOPE_RANK[spec.scope] <= SCOPE_RANK[scope]


def _dependencies(included: list[TaskSpec], universe: dict[str, TaskSpec]) -> dict[str, list[str]]:
    """Dependencies by key among the included tasks; a dependency on a left-out task passes through to its own."""
    present = {spec.key for spec in included}
    expanded: dict[str, list[str]] = {}

    def expand(key: str, trail: tuple[str, ...]) -> list[str]:
        if key in present:
            return [key]
        if key in expanded:
            return expanded[key]
        if key in trail:
            raise TemplateError(f"dependency cycle in the templates through {key}")
        out: list[str] = []
        for dep in universe[key].depends:
            out += [d for d in expand(dep, (*trail, key)) if d not in out]
        expanded[key] = out
        return out

    deps: dict[str, list[str]] = {spec.key: [] for spec in included}
    for spec in included:
        for dep in spec.depends:
            deps[spec.key] += [d for d in expand(dep, ()) if d not in deps[spec.key] and d != spec.key]
        for later in spec.required_by:
            if later in present and spec.key not in deps[later]:
                deps[later].append(spec.key)
    return deps


def stable_order(keys: list[str], deps: dict[str, list[str]], rank: dict[str, Any]) -> list[str] | None:
    """A topological order that follows `rank` wherever the dependencies allow; None when there is a cycle."""
    waiting = dict.fromkeys(keys, 0)
    dependents: dict[str, list[str]] = {key: [] for key in keys}
    for key in keys:
        for dep in deps.get(key, []):
            if dep in waiting:
                waiting[key] += 1
                dependents[dep].append(key)
    ready = [(rank[key], key) for key in keys if waiting[key] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, key = heapq.heappop(ready)
        order.append(key)
        for later in dependents[key]:
            waiting[later] -= 1
            if waiting[later] == 0:
                heapq.heappush(ready, (rank[later], later))
    return order if len(order) == len(keys) else None


def _trim(included: list[TaskSpec], deps: dict[str, list[str]]) -> tuple[list[TaskSpec], list[TaskSpec]]:
    """Drop the least important tasks until the plan fits MAX_TASKS.

    Never dropped: prototype tasks (including each feature's core), tasks marked essential, and the last task of a
    discipline. Among the rest the lowest priority goes first, then the widest scope, then the latest stage.
    Tasks that depended on a dropped task inherit its dependencies. The tasks of features the brief names that no
    template covers come on top of the cap: what the user asked for is never traded for a template task.
    """
    kept = list(included)
    dropped: list[TaskSpec] = []
    own = sum(1 for spec in included if spec.origin.startswith("feature brief-"))
    while len(kept) - own > MAX_TASKS:
        per_discipline: dict[str, int] = {}
        for spec in kept:
            per_discipline[spec.discipline] = per_discipline.get(spec.discipline, 0) + 1
        removable = [
            spec
            for spec in kept
            if spec.scope != "prototype" and not spec.essential and per_discipline[spec.discipline] > 1
        ]
        if not removable:
            break
        position = {spec.key: i for i, spec in enumerate(kept)}
        victim = min(removable, key=lambda s: (s.priority, -SCOPE_RANK[s.scope], -s.stage, -position[s.key]))
        kept.remove(victim)
        dropped.append(victim)
        inherited = deps.pop(victim.key)
        for key, current in deps.items():
            if victim.key in current:
                kept_deps = [d for d in current if d != victim.key]
                deps[key] = kept_deps + [d for d in inherited if d not in kept_deps and d != key]
    return kept, dropped


def _tools(spec: TaskSpec, context: BriefContext, library: Library) -> list[str]:
    refs: list[str] = []
    for wanted in spec.roles:
        role = ("pixel_art" if context.pixel_art else "media_review") if wanted == "art2d" else wanted
        if role == "web_check":
            found: tuple[str, ...] = library.roles["browser"] if "web" in context.platforms else ()
        elif role in context.engine.roles:
            found = context.engine.roles[role]
        elif role in library.roles:
            found = library.roles[role]
        else:
            raise TemplateError(f"task {spec.key}: unknown tool role {role!r}")
        refs += [ref for ref in found if ref not in refs]
    return refs[:MAX_TOOLS]


def render_task(spec: TaskSpec, context: BriefContext, library: Library | None = None) -> dict[str, Any]:
    """A task template rendered for the brief's engine: title, description, criteria, deliverables and tools."""
    library = library or load_library()
    engine = context.engine
    where = f"{context.template} task {spec.key}"
    deliverables: list[Deliverable] = []
    paths: list[str] = []
    for item in spec.deliverables:
        # Painted (non-pixel) art keeps layered paintings as its source instead of Aseprite files.
        kind = "painting_source" if item.kind == "sprite_source" and not context.pixel_art else item.kind
        if kind not in engine.deliverables:
            raise TemplateError(f"{where}: {engine.key} has no deliverable kind {kind!r}")
        pattern, category = engine.deliverables[kind]
        path = pattern.format(
            dir=snake(item.dir),
            Dir=pascal(item.dir),
            name=snake(item.name),
            Name=pascal(item.name),
            kebab=kebab(item.name),
        )
        while "//" in path:
            path = path.replace("//", "/")
        paths.append(path)
        if all(d.name != path for d in deliverables):
            about = fill(item.about, context.tokens, where=where) if item.about else None
            deliverables.append(Deliverable(name=path, category=category, required=item.required, description=about))
    tokens = {**context.tokens, **{f"d{i}": path for i, path in enumerate(paths)}}
    return {
        "title": fill(spec.title, tokens, where=where)[:300],
        "description": fill(spec.description, tokens, where=where),
        "discipline": spec.discipline,
        "acceptance_criteria": [fill(c, tokens, where=where) for c in spec.criteria],
        "deliverables": deliverables,
        "estimates": Estimates(story_points=spec.points, time_hours=spec.hours),
        "priority": spec.priority,
        "mcp_tools": _tools(spec, context, library),
        "template_key": spec.key,
    }


@dataclass
class Blueprint:
    """A plan before codes: the tasks' keys in order, their rendered fields and their dependencies by key."""

    context: BriefContext
    order: list[str]
    tasks: dict[str, dict[str, Any]]
    deps: dict[str, list[str]]
    notes: list[str]
    milestones: list[Milestone] = field(default_factory=list)


def template_milestones(context: BriefContext) -> list[Milestone]:
    """Every milestone the template has for the context's scope, in order, with its texts filled in."""
    library = load_library()
    out = []
    for key in library.milestones[context.scope]:
        spec = library.milestone_specs[key]
        goal = fill(spec["goal"], context.tokens, where=f"milestone {key}") if spec.get("goal") else None
        out.append(Milestone(key=key, title=spec["title"], goal=goal))
    return out


def _assign_milestones(
    included: list[TaskSpec], deps: dict[str, list[str]], scope: Scope, library: Library
) -> dict[str, str]:
    """Each task's milestone: its template's choice, moved later when a dependency sits in a later milestone."""
    rank = {key: i for i, key in enumerate(library.milestones[scope])}
    natural = {spec.key: library.milestone_of(spec, scope) for spec in included}
    order = stable_order(list(natural), deps, {key: i for i, key in enumerate(natural)}) or list(natural)
    chosen: dict[str, str] = {}
    for key in order:
        latest = max([natural[key], *(chosen[d] for d in deps.get(key, []) if d in chosen)], key=rank.__getitem__)
        chosen[key] = latest
    return chosen


def blueprint(context: BriefContext) -> Blueprint:
    """The template plan for a resolved brief, ordered and trimmed, with task fields rendered."""
    library = load_library()
    candidates, universe = _universe(context)
    promoted = {key for m in context.matches if not m.negated for key in m.tasks}
    dropped_by_brief = {key for m in context.matches if m.negated for key in m.tasks} - promoted
    candidates = [
        with_changes(spec, {"essential": True}) if spec.key in promoted else spec
        for spec in candidates
        if spec.key not in dropped_by_brief
    ]
    included = [spec for spec in candidates if _included(spec, context.scope) or spec.key in promoted]
    deps = _dependencies(included, universe)
    included, dropped = _trim(included, deps)
    milestone_of = _assign_milestones(included, deps, context.scope, library)
    milestone_rank = {key: i for i, key in enumerate(library.milestones[context.scope])}
    source = {spec.key: i for i, spec in enumerate(candidates)}
    rank = {
        spec.key: (
            milestone_rank[milestone_of[spec.key]],
            spec.stage,
            DISCIPLINE_RANK[spec.discipline],
            -spec.priority,
            source[spec.key],
        )
        for spec in included
    }
    order = stable_order([spec.key for spec in included], deps, rank)
    if order is None:
        raise TemplateError(f"{context.template}: the template's dependencies form a cycle")
    notes = list(context.notes)
    if dropped:
        titles = _join([f"'{fill(spec.title, context.tokens, where=spec.key)}'" for spec in dropped])
        notes.append(
            f"{CAP_NOTE}{MAX_TASKS} tasks; left out the least urgent "
            f"tasks: {titles}. Add them back with an 'add' edit when there is room."
        )
    by_key = {spec.key: spec for spec in included}
    tasks = {key: {**render_task(by_key[key], context, library), "milestone": milestone_of[key]} for key in order}
    notes += _cover(context, tasks, order, library)
    used = set(milestone_of.values())
    milestones = [m for m in template_milestones(context) if m.key in used]
    return Blueprint(context=context, order=order, tasks=tasks, deps=deps, notes=notes, milestones=milestones)


def _cover(context: BriefContext, tasks: dict[str, dict[str, Any]], order: list[str], library: Library) -> list[str]:
    """Make the tasks that cover each brief feature say so, and note how each feature was planned."""
    notes = []
    for match in context.matches:
        if match.negated:
            continue
        if match.tasks:
            keys = [key for key in order if key in match.tasks]
        elif match.modules:
            module_keys = {spec.key for m in match.modules for spec in library.features[m].tasks}
            keys = [key for key in order if key in module_keys][:1]
        else:
            keys = [key for key in order if key.startswith(f"brief-{match.slug}")]
        for key in keys:
            task = tasks[key]
            if not key.startswith("brief-"):
                task["description"] = f"{task['description']}\n\nThe brief asks for: {match.phrase}."[:20_000]
                task["acceptance_criteria"] = [
                    *task["acceptance_criteria"],
                    f"The brief's '{match.phrase}' works as described here",
                ]
        titles = _join([f"'{tasks[key]['title']}'" for key in keys])
        if not keys:
            notes.append(f"Feature '{match.phrase}' matched no task of this scope.")
        elif match.tasks and match.choice not in library.features:
            notes.append(f"Feature '{match.phrase}' is covered by {titles}.")
        elif match.modules and match.choice not in library.features:
            names = _join([library.features[m].name for m in match.modules])
            notes.append(f"Feature '{match.phrase}' matched the {names} module by meaning ({titles}).")
        elif not match.matched:
            notes.append(
                f"No template module covers feature '{match.phrase}': it gets its own design, build and test tasks "
                f"({titles}); check their size and place in the plan."
            )
    return notes


def summarise(context: BriefContext, tasks: list[TaskDraft]) -> str:
    """The plan in a paragraph: scope, game, genre, engine, size, features and any template fallback."""
    library = load_library()
    counts = {d: sum(1 for t in tasks if t.discipline == d) for d in DISCIPLINES}
    spread = ", ".join(f"{n} {d}" for d, n in counts.items() if n)
    points = sum(t.estimates.story_points for t in tasks)
    hours = sum(t.estimates.time_hours for t in tasks)
    title = context.brief.title or "the game"
    scope = SCOPE_NAMES[context.scope]
    text = (
        f"{scope[0].upper()}{scope[1:]} plan for {title}, {context.genre.noun} "
        f"made with {context.engine.name} for {context.tokens['platforms']}: {len(tasks)} tasks ({spread}), "
        f"about {points} story points or {hours:.0f} working hours."
    )
    if context.features:
        names = [library.features[key].name.lower() for key in context.features]
        text += f" Feature modules: {_join(names)}."
    own = [f"'{m.phrase}'" for m in context.matches if not m.negated and not m.matched]
    if own:
        text += f" No template covers {_join(own)}: each has its own design, build and test tasks."
    text += f" Template: {context.template}."
    if context.fallbacks:
        text += " " + " ".join(context.fallbacks)
    return text


def build_plan(context: BriefContext) -> PlanDraft:
    """A fresh plan: the blueprint with codes T-001… in order."""
    plan = blueprint(context)
    code_of = {key: f"T-{i + 1:03d}" for i, key in enumerate(plan.order)}
    position = {key: i for i, key in enumerate(plan.order)}
    tasks = [
        TaskDraft(
            code=code_of[key],
            idx=i,
            dependencies=[code_of[d] for d in sorted(plan.deps[key], key=position.__getitem__)],
            **plan.tasks[key],
        )
        for i, key in enumerate(plan.order)
    ]
    notes = [*context.fallbacks, *plan.notes]
    if context.brief.pitch:
        notes.append(
            "The pitch was not interpreted: the template planner works from genre, engine, platforms, art style, "
            "audience, pillars, features and scope; an LLM planner can tailor tasks to the pitch."
        )
    return PlanDraft(
        summary=summarise(context, tasks),
        milestones=plan.milestones,
        tasks=tasks,
        notes=notes,
        template=context.template,
        scope=context.scope,
        features=list(context.choices),
        highest_code=len(tasks),
    )


class TemplatePlanner:
    """Offline, deterministic planner built from the genre-by-engine templates in resources/."""

    name = "template"

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue or load_catalogue()

    def propose(self, request: PlanningRequest) -> PlanDraft:
        """A plan from the brief, or the previous plan with every structured edit of the feedback applied."""
        if request.previous is None and not (request.feedback and request.feedback.edits):
            draft = build_plan(resolve_brief(request.brief))
            if request.context:
                draft.notes.append(
                    "The project context was not interpreted by the template planner; it is passed on to an LLM "
                    "planner when one is configured."
                )
            if request.feedback and request.feedback.text:
                draft.notes.append(
                    "Free-text feedback was kept for an LLM planner; the template planner does not interpret free text."
                )
        else:
            previous = request.previous or build_plan(resolve_brief(request.brief))
            draft = self._revise(previous, request.brief, request.feedback or Feedback())
        ensure_valid(draft, self.catalogue, engine=engine_of(draft))
        return draft

    def _revise(self, previous: PlanDraft, brief: GameBrief, feedback: Feedback) -> PlanDraft:
        """Structured edits first, then each understood point of the free text; refuse a revision that changes
        nothing rather than store a copy as a new version."""
        from gateway.app.planner import feedback as free_text
        from gateway.app.planner.edits import REVISION, revise

        if not feedback.edits and not feedback.text:
            raise free_text.refuse([])
        draft, steps = previous, []
        if feedback.edits:
            draft = revise(
                previous=previous, brief=brief, feedback=Feedback(edits=feedback.edits), catalogue=self.catalogue
            )
            steps = [n for n in draft.notes if n.startswith(REVISION)]
        if not feedback.text:
            return draft
        draft, points = free_text.apply_text(draft=draft, brief=brief, text=feedback.text, catalogue=self.catalogue)
        if not feedback.edits and not any(point.done for point in points):
            raise free_text.refuse(points)
        generation = [n for n in draft.notes if not n.startswith(REVISION)]
        extra = [n for p in points for n in p.notes]
        draft.notes = [*generation, *steps, *free_text.notes_for(points), *extra][:200]
        return draft


def game_defaults(brief: GameBrief) -> dict[str, Any]:
    """The initial project context for a brief: game facts, engine conventions, constraints, glossary, template."""
    context = resolve_brief(brief)
    library = load_library()
    engine, genre = context.engine, context.genre
    conventions = {"engine": engine.name, "language": engine.language, **engine.conventions}
    servers = {discipline: list(engine.servers.get(discipline, ())) for discipline in DISCIPLINES}
    constraints = list(genre.defaults.get("constraints", []))
    constraints.append(f"Engine: {engine.name} ({engine.language}); follow its conventions for folders and naming.")
    constraints.append(f"Art style: {context.tokens['art_style']}.")
    return {
        "game": {
            "title": brief.title,
            "pitch": brief.pitch,
            "genre": genre.key,
            "engine": engine.key,
            "platforms": context.platforms,
            "art_style": context.tokens["art_style"],
            "audience": context.tokens["audience"],
            "pillars": brief.pillars or list(genre.defaults.get("pillars", [])),
            "scope": context.scope,
            "features": context.features,
        },
        "conventions": conventions,
        "build": {
            "export": engine.vocab["export"],
            "command": engine.vocab["export_cmd"],
            "platforms": {p: engine.platforms[p] for p in context.platforms},
            "release_steps": list(engine.release_steps),
        },
        "constraints": constraints,
        "glossary": dict(genre.defaults.get("glossary", {})),
        "mcp_servers": servers,
        "template": context.template,
        "fallbacks": [*context.fallbacks, *context.notes],
        "features": {key: library.features[key].summary for key in context.features},
    }
