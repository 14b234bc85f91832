"""Real validation of artifact files: recognise the format, then check it the way its own tools would.

`detect(name, head)` says what a file is; `validate(path, name=…, category=…, limits=…)` checks it and returns a
`ValidationReport`. Each format is one function registered with `registry.register` in a module per family
(images, audio, models3d, code, documents, assets).
"""

from gateway.app.validation.dispatch import DEFAULT_LIMITS, Detected, detect, validate
from gateway.app.validation.registry import FormatSpec, Validator, formats, register
from gateway.app.validation.report import (
    CATEGORIES,
    VALIDATOR_VERSION,
    Category,
    Check,
    Limits,
    Subject,
    ValidationReport,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_LIMITS",
    "VALIDATOR_VERSION",
    "Category",
    "Check",
    "Detected",
    "FormatSpec",
    "Limits",
    "Subject",
    "ValidationReport",
    "Validator",
    "detect",
    "formats",
    "register",
    "validate",
]
