"""Project-relative paths in one spelling, shared by artifacts, deliverables and the planner's checks."""

import re

_DRIVE = re.compile(r"^[A-Za-z]:/")  # C:\x.md, once separators are normalised: a Windows drive


def normalise_path(value: str) -> str | None:
    """A project-relative path in one spelling (`docs/./x.md` and `docs//x.md` are `docs/x.md`, `\\` is `/`).

    None when the path is not one inside the project: empty, absolute or climbing out with `..`.
    """
    text = value.strip().replace("\\", "/")
    if not text or "\x00" in text or text.startswith("/") or _DRIVE.match(text):
        return None
    parts: list[str] = []
    for part in text.split("/"):
        if part in {"", "."}:
            continue
        if part == "..":
            return None  # even `a/../b`: a path that climbs is not a plain name of a file in the project
        parts.append(part)
    return "/".join(parts) or None
