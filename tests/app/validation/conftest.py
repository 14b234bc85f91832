"""Helpers for the validation tests: write real files, validate them, and read the report."""

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.app.validation import Category, Limits, ValidationReport, validate

Validate = Callable[..., ValidationReport]


@pytest.fixture
def check(tmp_path: Path) -> Validate:
    """Write the bytes under a name, validate them, and return the report."""

    def run(
        name: str,
        data: bytes | str,
        *,
        category: Category | None = None,
        limits: Limits | None = None,
        engine: str | None = None,
    ):
        path = tmp_path / "blob"
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        report = validate(path, name=name, category=category, limits=limits or Limits(), engine=engine)
        report.model_dump(mode="json")  # always serialisable
        return report

    return run
