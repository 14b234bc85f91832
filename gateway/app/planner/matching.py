"""Matching a brief's words to what the templates cover, by meaning rather than exact spelling.

A phrase becomes a set of concepts: lower-cased words without filler words and numbers, stemmed ("bosses" →
boss, "sliding" → slide), with synonyms folded together ("co-op", "netplay" → multiplayer). A target (a
feature module's names, a template task's `covers` phrases) matches a phrase when all of one of its concept sets
are in the phrase's; the target with the largest matching set wins. No model, nothing downloaded: the synonyms
are data (`resources/synonyms.toml`).
"""

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_VOWELS = set("aeiouy")


def stem(word: str) -> str:
    """A light English stem: plural and verb endings off, so 'bosses', 'sliding' and 'slides' meet their base."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif w.endswith("sses") or (len(w) > 3 and w.endswith("es") and w[-3] in "sxz" and not w.endswith("sses")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in _VOWELS | {"l", "s"}:
            w = w[:-1]
    elif len(w) > 4 and w.endswith("ed") and not w.endswith("eed"):
        w = w[:-2]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


@dataclass(frozen=True)
class Vocabulary:
    """Stop words and synonym phrases, ready for matching."""

    stopwords: frozenset[str]
    # Multi-word phrases first (longest first), as tuples of stems → concept.
    phrases: tuple[tuple[tuple[str, ...], str], ...]
    words: dict[str, str]


def _raw_words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("_", " ").replace("-", " "))


@cache
def vocabulary() -> Vocabulary:
    """The packaged synonyms (read once per process)."""
    path = resources.files("gateway.app.planner").joinpath("resources", "synonyms.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    stopwords = frozenset(data["stopwords"]["words"])
    phrases: list[tuple[tuple[str, ...], str]] = []
    words: dict[str, str] = {}
    for concept, spellings in data["groups"].items():
        for spelling in (concept, *spellings):
            stems = tuple(stem(w) for w in _raw_words(spelling))
            if len(stems) == 1:
                words[stems[0]] = concept
            elif stems:
                phrases.append((stems, concept))
    phrases.sort(key=lambda item: -len(item[0]))
    return Vocabulary(stopwords=stopwords, phrases=tuple(phrases), words=words)


def ordered_concepts(text: str) -> list[str]:
    """The concepts of a phrase in the order they appear (see `concepts`)."""
    vocab = vocabulary()
    stems = [stem(w) for w in _raw_words(text) if w not in vocab.stopwords and not w.isdigit()]
    out: list[str] = []
    i = 0
    while i < len(stems):
        for phrase, concept in vocab.phrases:
            if tuple(stems[i : i + len(phrase)]) == phrase:
                out.append(concept)
                i += len(phrase)
                break
        else:
            out.append(vocab.words.get(stems[i], stems[i]))
            i += 1
    return out


def concepts(text: str) -> frozenset[str]:
    """The concepts a phrase names: stems without filler words, synonyms folded to one concept."""
    return frozenset(ordered_concepts(text))


def head(text: str) -> str | None:
    """The phrase's head concept: English noun phrases end with it ('online leaderboards' → leaderboard)."""
    found = ordered_concepts(text)
    return found[-1] if found else None


def score(phrase: frozenset[str], signatures: list[frozenset[str]]) -> int:
    """How well a target matches a phrase: the size of its largest concept set inside the phrase's (0 = no match)."""
    return max((len(s) for s in signatures if s and s <= phrase), default=0)


def signatures(names: list[str] | tuple[str, ...]) -> list[frozenset[str]]:
    """The concept sets of a target's names (empty names, e.g. only filler words, are left out)."""
    return [c for c in (concepts(name) for name in names) if c]
