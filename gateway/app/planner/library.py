"""The template library: engines, genres, feature modules and shared tasks, read from the TOML files in `resources/`.

Also the name resolution a brief needs: genre and engine aliases with nearest-template fallbacks, and the
canonical spellings of features and platforms. Everything is loaded once and cached; nothing here writes.
"""

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from gateway.app.planner.models import DISCIPLINES, SCOPES

_TOKEN = re.compile(r"\{([A-Za-z0-9_]+)\}")
_SPACES = re.compile(r"\s+")
_NEGATIONS = ("no-", "no ", "without ", "disable ", "remove ", "-")


class TemplateError(Exception):
    """The packaged template data is inconsistent (a bug in the data files, caught by the tests)."""


@dataclass(frozen=True)
class DeliverableSpec:
    """A deliverable before the engine turns it into a path."""

    kind: str
    name: str
    dir: str = ""
    about: str | None = None
    required: bool = True


@dataclass(frozen=True)
class TaskSpec:
    """A task template: engine-neutral text with {tokens}, roles instead of tools, dependencies by key."""

    key: str
    title: str
    discipline: str
    scope: str
    stage: int
    priority: int
    points: int
    hours: float
    description: str
    criteria: tuple[str, ...]
    deliverables: tuple[DeliverableSpec, ...]
    depends: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    required_by: tuple[str, ...] = ()
    engines: tuple[str, ...] = ()
    engine_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: str = "common"
    essential: bool = False
    milestone: str | None = None
    covers: tuple[str, ...] = ()

    def for_engine(self, engine: str) -> "TaskSpec":
        """The task with its per-engine overrides applied."""
        changes = self.engine_overrides.get(engine)
        return with_changes(self, changes) if changes else self


@dataclass(frozen=True)
class EngineSpec:
    """An engine template."""

    key: str
    name: str
    summary: str
    language: str
    dimensions: tuple[str, ...]
    default_platforms: tuple[str, ...]
    aliases: tuple[str, ...]
    related: dict[str, str]
    conventions: dict[str, Any]
    vocab: dict[str, str]
    roles: dict[str, tuple[str, ...]]
    servers: dict[str, tuple[str, ...]]
    deliverables: dict[str, tuple[str, str]]
    platforms: dict[str, str]
    release_steps: tuple[str, ...]
    platform_notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GenreSpec:
    """A genre template."""

    key: str
    name: str
    noun: str
    summary: str
    dimension: str
    aliases: tuple[str, ...]
    related: dict[str, str]
    defaults: dict[str, Any]
    vocab: dict[str, str]
    tasks: tuple[TaskSpec, ...]
    overrides: dict[str, dict[str, Any]]
    exclude: tuple[str, ...]

    def default_features(self) -> dict[str, str]:
        """Feature modules the genre turns on by default, each with the smallest scope that includes it."""
        return dict(self.defaults.get("features", {}))

    def default(self, name: str, engine: str | None = None) -> Any:
        """A genre default, with a per-engine override when the genre has one."""
        per_engine = self.defaults.get("engines", {}).get(engine or "", {})
        return per_engine.get(name, self.defaults.get(name))


@dataclass(frozen=True)
class FeatureSpec:
    """A feature module."""

    key: str
    name: str
    summary: str
    aliases: tuple[str, ...]
    tasks: tuple[TaskSpec, ...]


@dataclass(frozen=True)
class Resolution:
    """Which template a brief's genre or engine maps to, and why when it is not an exact match."""

    key: str
    requested: str | None
    exact: bool
    reason: str | None = None


@dataclass(frozen=True)
class Library:
    """Everything in resources/, cross-checked."""

    engines: dict[str, EngineSpec]
    genres: dict[str, GenreSpec]
    features: dict[str, FeatureSpec]
    common: tuple[TaskSpec, ...]
    roles: dict[str, tuple[str, ...]]
    defaults: dict[str, str]
    platform_aliases: dict[str, tuple[str, ...]]
    platform_names: dict[str, str]
    feature_aliases: dict[str, str]
    milestones: dict[str, tuple[str, ...]]
    milestone_specs: dict[str, dict[str, str]]
    milestone_rules: dict[str, dict[str, tuple[str, ...]]]

    def milestone_of(self, spec: TaskSpec, scope: str) -> str:
        """The milestone a task template goes to in a plan of this scope, before its dependencies are considered."""
        keys = self.milestones[scope]
        if spec.milestone in keys:
            return spec.milestone
        row = "feature" if spec.origin.startswith("feature ") and spec.scope == "prototype" else spec.scope
        return self.milestone_rules[scope][row][min(max(spec.stage, 1), 6) - 1]


def normalise_text(value: str) -> str:
    """Lower case, dashes and underscores as spaces, single spaces; the form every alias is compared in."""
    text = value.lower().replace("_", " ").replace("-", " ").replace("\u2013", " ").replace("\u2019", "'")
    return _SPACES.sub(" ", text).strip()


def words(value: str) -> list[str]:
    """The words of a deliverable name or folder."""
    return [w for w in re.split(r"[^A-Za-z0-9]+", value) if w]


def snake(value: str) -> str:
    """player controller → player_controller."""
    return "_".join(w.lower() for w in words(value))


def kebab(value: str) -> str:
    """player controller → player-controller."""
    return "-".join(w.lower() for w in words(value))


_ACRONYMS = {"ui": "UI", "hud": "HUD", "ai": "AI", "fx": "FX", "vfx": "VFX", "sfx": "SFX", "cg": "CG", "cgs": "CGs"}


def pascal(value: str) -> str:
    """player controller → PlayerController; hud → HUD; level 1 2 → Level1_2 (digits stay apart)."""
    out = ""
    previous_digit = False
    for w in words(value):
        is_digit = w.isdigit()
        if is_digit and previous_digit:
            out += "_"
        out += w if is_digit else _ACRONYMS.get(w.lower(), w[:1].upper() + w[1:])
        previous_digit = is_digit
    return out


def fill(text: str, values: dict[str, str], *, where: str) -> str:
    """Replace every {token}; an unknown token is a data error naming where it was found."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        if token not in values:
            raise TemplateError(f"{where}: unknown token {{{token}}}")
        return values[token]

    return _TOKEN.sub(replace, text)


def with_changes(spec: TaskSpec, changes: dict[str, Any]) -> TaskSpec:
    """A copy of a task spec with replaced fields and the add_* extensions of an override applied."""
    data = dict(spec.__dict__)
    for name, value in changes.items():
        if name == "add_depends":
            data["depends"] = (*data["depends"], *(v for v in value if v not in data["depends"]))
        elif name == "add_criteria":
            data["criteria"] = (*data["criteria"], *value)
        elif name == "add_deliverables":
            data["deliverables"] = (*data["deliverables"], *_deliverables(value))
        elif name == "add_roles":
            data["roles"] = (*data["roles"], *value)
        elif name in {"depends", "roles", "criteria", "required_by", "covers"}:
            data[name] = tuple(value)
        elif name == "deliverables":
            data[name] = _deliverables(value)
        elif name in {
            "title",
            "description",
            "discipline",
            "scope",
            "stage",
            "priority",
            "points",
            "hours",
            "essential",
            "milestone",
        }:
            data[name] = value
        else:
            raise TemplateError(f"task {spec.key}: unknown override field {name!r}")
    return TaskSpec(**data)


def _deliverables(items: list[dict[str, Any]]) -> tuple[DeliverableSpec, ...]:
    return tuple(
        DeliverableSpec(
            kind=item["kind"],
            name=item["name"],
            dir=item.get("dir", ""),
            about=item.get("about"),
            required=item.get("required", True),
        )
        for item in items
    )


def _task(entry: dict[str, Any], origin: str) -> TaskSpec:
    key = entry["key"]
    try:
        spec = TaskSpec(
            key=key,
            title=entry["title"],
            discipline=entry["discipline"],
            scope=entry["scope"],
            stage=int(entry["stage"]),
            priority=int(entry["priority"]),
            points=int(entry["points"]),
            hours=float(entry["hours"]),
            description=_SPACES.sub(" ", entry["description"]).strip(),
            criteria=tuple(entry["criteria"]),
            deliverables=_deliverables(entry.get("deliverables", [])),
            depends=tuple(entry.get("depends", [])),
            roles=tuple(entry.get("roles", [])),
            required_by=tuple(entry.get("required_by", [])),
            engines=tuple(entry.get("only_engines", [])),
            engine_overrides=dict(entry.get("engines", {})),
            origin=origin,
            essential=bool(entry.get("essential", False)),
            milestone=entry.get("milestone"),
            covers=tuple(entry.get("covers", [])),
        )
    except KeyError as missing:
        raise TemplateError(f"{origin} task {key}: missing field {missing}") from None
    if spec.discipline not in DISCIPLINES:
        raise TemplateError(f"{origin} task {key}: unknown discipline {spec.discipline!r}")
    if spec.scope not in SCOPES:
        raise TemplateError(f"{origin} task {key}: unknown scope {spec.scope!r}")
    if not 1 <= spec.priority <= 5 or spec.points <= 0 or spec.hours <= 0 or not spec.criteria:
        raise TemplateError(f"{origin} task {key}: priority, estimates or criteria out of range")
    return spec


def _read(*parts: str) -> dict[str, Any]:
    path = resources.files("gateway.app.planner").joinpath("resources", *parts)
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _data_files(folder: str) -> list[str]:
    directory = resources.files("gateway.app.planner").joinpath("resources", folder)
    return sorted(entry.name for entry in directory.iterdir() if entry.name.endswith(".toml"))


def _deliverable(engine: str, kind: str, spec: dict[str, Any]) -> tuple[str, str]:
    """A deliverable kind's path pattern and its category, which the category table decides from the path.

    A category the engine file states must agree with the table (uploads are judged by the same table); one is
    needed only for a kind of file the table does not know.
    """
    from gateway.app.validation import categories

    path, stated = spec["path"], spec.get("category")
    decided = categories.for_path(path)
    if decided is None and stated is None:
        raise TemplateError(f"engine {engine}: deliverable {kind} ({path}) needs a category")
    if decided is not None and stated is not None and stated != decided:
        raise TemplateError(
            f"engine {engine}: deliverable {kind} ({path}) says {stated!r}; the category table says {decided!r}"
        )
    return str(path), str(decided or stated)


def _engine(data: dict[str, Any]) -> EngineSpec:
    return EngineSpec(
        key=data["key"],
        name=data["name"],
        summary=data["summary"],
        language=data["language"],
        dimensions=tuple(data["dimensions"]),
        default_platforms=tuple(data["default_platforms"]),
        aliases=tuple(data["aliases"]),
        related=dict(data.get("related", {})),
        conventions=dict(data["conventions"]),
        vocab=dict(data["vocab"]),
        roles={name: tuple(refs) for name, refs in data["roles"].items()},
        servers={discipline: tuple(names) for discipline, names in data["servers"].items()},
        deliverables={kind: _deliverable(data["key"], kind, spec) for kind, spec in data["deliverables"].items()},
        platforms=dict(data["platforms"]),
        release_steps=tuple(data["release"]["steps"]),
        platform_notes=dict(data.get("platform_notes", {})),
    )


def _genre(data: dict[str, Any]) -> GenreSpec:
    key = data["key"]
    return GenreSpec(
        key=key,
        name=data["name"],
        noun=data.get("noun", f"a {data['name']}"),
        summary=data["summary"],
        dimension=data.get("dimension", "2d"),
        aliases=tuple(data["aliases"]),
        related=dict(data.get("related", {})),
        defaults=dict(data["defaults"]),
        vocab=dict(data["vocab"]),
        tasks=tuple(_task(entry, key) for entry in data["tasks"]),
        overrides=dict(data.get("overrides", {})),
        exclude=tuple(data.get("exclude", [])),
    )


def _feature(data: dict[str, Any]) -> FeatureSpec:
    key = data["key"]
    return FeatureSpec(
        key=key,
        name=data["name"],
        summary=data["summary"],
        aliases=tuple(data["aliases"]),
        tasks=tuple(_task(entry, f"feature {key}") for entry in data["tasks"]),
    )


def _check_milestones(library: Library) -> None:
    """Every scope lists known milestones, and every rule and task names a milestone of its scope's list."""
    for scope in SCOPES:
        keys = library.milestones.get(scope)
        if not keys or scope not in library.milestone_rules:
            raise TemplateError(f"common.toml: scope {scope!r} has no milestones or no milestone rules")
        for key in keys:
            if key not in library.milestone_specs:
                raise TemplateError(f"common.toml: milestone {key!r} of scope {scope!r} has no [milestone_specs]")
        for row, named in library.milestone_rules[scope].items():
            if len(named) != 6 or any(key not in keys for key in named):
                raise TemplateError(f"common.toml: milestone rule {scope}.{row} must name 6 milestones of {keys}")
    tasks = [*library.common, *(t for g in library.genres.values() for t in g.tasks)]
    tasks += [t for f in library.features.values() for t in f.tasks]
    for task in tasks:
        if task.milestone is not None and task.milestone not in library.milestone_specs:
            raise TemplateError(f"{task.origin} task {task.key}: unknown milestone {task.milestone!r}")


@cache
def load_library() -> Library:
    """The packaged templates (read once per process)."""
    common = _read("common.toml")
    engines = {spec.key: spec for spec in (_engine(_read("engines", name)) for name in _data_files("engines"))}
    genres = {spec.key: spec for spec in (_genre(_read("genres", name)) for name in _data_files("genres"))}
    features = {spec.key: spec for spec in (_feature(entry) for entry in _read("features.toml")["features"])}
    platform_aliases: dict[str, tuple[str, ...]] = {}
    for canonical, spellings in common["platforms"].items():
        for spelling in (canonical, *spellings):
            platform_aliases[normalise_text(spelling)] = (canonical,)
    for group, members in common["platform_groups"].items():
        platform_aliases[normalise_text(group)] = tuple(members)
    feature_aliases: dict[str, str] = {}
    for feature in features.values():
        for spelling in (feature.key, feature.name, *feature.aliases):
            feature_aliases[normalise_text(spelling)] = feature.key
    library = Library(
        engines=engines,
        genres=genres,
        features=features,
        common=tuple(_task(entry, "common") for entry in common["tasks"]),
        roles={name: tuple(refs) for name, refs in common["roles"].items()},
        defaults=dict(common["defaults"]),
        platform_aliases=platform_aliases,
        platform_names=dict(common["platform_names"]),
        feature_aliases=feature_aliases,
        milestones={scope: tuple(keys) for scope, keys in common["milestones"].items()},
        milestone_specs={key: dict(spec) for key, spec in common["milestone_specs"].items()},
        milestone_rules={
            scope: {row: tuple(keys) for row, keys in rows.items()} for scope, rows in common["milestone_rules"].items()
        },
    )
    _check_milestones(library)
    return library


def normalise_feature(value: str) -> str:
    """A feature's canonical name ('Localization' → 'localisation', 'no save system' → 'no-save-system')."""
    text = value.strip().lower()
    negated = False
    for prefix in _NEGATIONS:
        if text.startswith(prefix) and len(text) > len(prefix):
            text, negated = text[len(prefix) :], True
            break
    plain = normalise_text(text)
    canonical = load_library().feature_aliases.get(plain) or kebab(plain) or text
    return f"no-{canonical}" if negated else canonical


def normalise_features(values: list[str]) -> list[str]:
    """Canonical feature choices without duplicates; a later 'X' or 'no-X' overrides an earlier one."""
    chosen: dict[str, str] = {}
    for value in values:
        if not value or not value.strip():
            continue
        feature = normalise_feature(value)
        base = feature.removeprefix("no-")
        chosen.pop(base, None)
        chosen[base] = feature
    return list(chosen.values())


def normalise_platforms(values: list[str]) -> list[str]:
    """Canonical platform names ('PC' → windows, 'mobile' → android + ios); unknown names are kept, kebab-cased."""
    aliases = load_library().platform_aliases
    out: list[str] = []
    for value in values:
        if not value or not value.strip():
            continue
        text = normalise_text(value)
        for platform in aliases.get(text, (kebab(text) or text,)):
            if platform not in out:
                out.append(platform)
    return out


def _phrase_in(phrase: str, text: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None


def _strip_filler(text: str) -> str:
    text = re.sub(r"^(an?|the) ", "", text)
    return re.sub(r" (game|games|engine)$", "", text)


def _resolve(
    requested: str,
    candidates: list[tuple[str, str, tuple[str, ...], dict[str, str]]],
    *,
    noun: str,
) -> Resolution | None:
    """Exact alias, then exact related name, then the longest alias or related name mentioned in the text."""
    text = _strip_filler(normalise_text(requested))
    for key, _name, aliases, _related in candidates:
        if text in {normalise_text(a) for a in aliases}:
            return Resolution(key=key, requested=requested, exact=True)
    for key, _name, _aliases, related in candidates:
        for phrase, reason in related.items():
            if text == normalise_text(phrase):
                return Resolution(key=key, requested=requested, exact=False, reason=reason)
    best: tuple[int, str, str] | None = None
    for key, name, aliases, related in candidates:
        for phrase in aliases:
            plain = normalise_text(phrase)
            if _phrase_in(plain, text) and (best is None or len(plain) > best[0]):
                best = (len(plain), key, f"'{requested}' mentions '{phrase}', which the {name} {noun} template covers")
        for phrase, reason in related.items():
            plain = normalise_text(phrase)
            if _phrase_in(plain, text) and (best is None or len(plain) > best[0]):
                best = (len(plain), key, f"'{requested}' mentions '{phrase}': {reason}")
    if best is None:
        return None
    return Resolution(key=best[1], requested=requested, exact=False, reason=best[2])


def resolve_genre(requested: str | None) -> Resolution:
    """The genre template for a brief's genre, falling back to the nearest one (or the default) with a reason."""
    library = load_library()
    default = library.defaults["genre"]
    if not requested or not requested.strip():
        return Resolution(
            key=default,
            requested=None,
            exact=False,
            reason=f"the brief names no genre; used the default '{default}' template because "
            f"{library.defaults['genre_reason']}",
        )
    candidates = [(g.key, g.name, (g.key, g.name, *g.aliases), g.related) for g in library.genres.values()]
    found = _resolve(requested, candidates, noun="genre")
    if found:
        return found
    return Resolution(
        key=default,
        requested=requested,
        exact=False,
        reason=f"no genre template matches '{requested}'; used the default '{default}' template because "
        f"{library.defaults['genre_reason']}",
    )


def resolve_engine(requested: str | None, platforms: list[str] | tuple[str, ...] = ()) -> Resolution:
    """The engine template for a brief's engine (aliases, nearest engine, or a default chosen from the platforms)."""
    library = load_library()
    if not requested or not requested.strip():
        if platforms and set(platforms) == {"web"}:
            web = library.defaults["web_engine"]
            reason = f"the brief names no engine; used '{web}' because {library.defaults['web_engine_reason']}"
            return Resolution(key=web, requested=None, exact=False, reason=reason)
        default = library.defaults["engine"]
        reason = f"the brief names no engine; used '{default}' because {library.defaults['engine_reason']}"
        return Resolution(key=default, requested=None, exact=False, reason=reason)
    candidates = [(e.key, e.name, (e.key, e.name, *e.aliases), e.related) for e in library.engines.values()]
    found = _resolve(requested, candidates, noun="engine")
    if found:
        return found
    default = library.defaults["engine"]
    reason = f"no engine template matches '{requested}'; used '{default}' because {library.defaults['engine_reason']}"
    return Resolution(key=default, requested=requested, exact=False, reason=reason)


def genres() -> list[dict[str, Any]]:
    """The genre templates, for listing: key, name, summary and the names that map to them."""
    return [
        {"key": g.key, "name": g.name, "summary": g.summary, "aliases": list(g.aliases), "related": sorted(g.related)}
        for g in load_library().genres.values()
    ]


def engines() -> list[dict[str, Any]]:
    """The engine templates, for listing: key, name, summary, language and the names that map to them."""
    return [
        {
            "key": e.key,
            "name": e.name,
            "summary": e.summary,
            "language": e.language,
            "aliases": list(e.aliases),
            "related": sorted(e.related),
        }
        for e in load_library().engines.values()
    ]


def features() -> list[dict[str, Any]]:
    """The feature modules, for listing: key, name, summary and accepted spellings."""
    return [
        {"key": f.key, "name": f.name, "summary": f.summary, "aliases": list(f.aliases)}
        for f in load_library().features.values()
    ]


def template_keys() -> list[str]:
    """Every 'genre/engine' template the planner can build (every genre works with every engine)."""
    library = load_library()
    return [f"{genre}/{engine}" for genre in library.genres for engine in library.engines]
