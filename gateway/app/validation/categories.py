"""One table decides which category a file is: the planner's deliverables and the uploads' inference both ask it.

A format's category when nobody declares one is the `category` it is registered with (a Godot scene, a `.tres`
resource, JSON data: `asset`; a script: `code`; Markdown: `document`); the rules below refine that for files whose
name or folder says more (`package.json` is code, not data; a PNG under `screenshots/` is a screenshot). A declared
category must be one the format can be (`FormatSpec.categories`).
"""

import re
from pathlib import PurePosixPath

from gateway.app.validation.registry import FormatSpec
from gateway.app.validation.report import Category

# Files whose name makes them code whatever their format's default (manifests, build settings).
CODE_NAMES = frozenset(
    {
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "jsconfig.json",
        "composer.json",
        "export_presets.cfg",
        "override.cfg",
        "packages-lock.json",
    }
)
# Folders whose files are code whatever their format's default (CI workflows).
CODE_FOLDERS = (".github/workflows/", ".gitlab/", ".circleci/")

SCREENSHOT_NAME = re.compile(
    r"screen[\s_.-]*(?:shot|cap|grab)|captura[\s_.-]*de[\s_.-]*pantalla|bildschirmfoto|\bscrot\b", re.IGNORECASE
)


def _plain(path: str) -> str:
    return path.replace("\\", "/").lower()


def infer(path: str, spec: FormatSpec | None) -> Category | None:
    """The category of a file at `path` (or of that name) whose format is `spec`; None when the format is unknown."""
    if spec is None:
        return None
    plain = _plain(path)
    name = PurePosixPath(plain).name
    if "code" in spec.categories and (name in CODE_NAMES or any(f in f"/{plain}" for f in CODE_FOLDERS)):
        return "code"
    if "screenshot" in spec.categories and SCREENSHOT_NAME.search(plain):
        return "screenshot"
    return spec.category


def allowed(spec: FormatSpec | None) -> frozenset[Category]:
    """Every category a file of that format can be declared as (empty when the format is unknown)."""
    return spec.categories if spec is not None else frozenset()


def for_path(path: str) -> Category | None:
    """The category the table gives a file by its path alone (a planned deliverable): None for unknown kinds."""
    from gateway.app.validation.dispatch import spec_by_name  # the registry fills up as dispatch imports it

    return infer(path, spec_by_name(path))


def allowed_for_path(path: str) -> frozenset[Category]:
    """The categories a file at that path can be (empty when the table does not know its kind)."""
    from gateway.app.validation.dispatch import spec_by_name

    return allowed(spec_by_name(path))
