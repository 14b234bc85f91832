"""Reading validation reports in tests."""

from gateway.app.validation import ValidationReport


def failed(report: ValidationReport) -> dict[str, str]:
    """Failed error checks by name."""
    return {c.name: c.detail for c in report.checks if not c.ok and c.severity == "error"}


def warnings(report: ValidationReport) -> dict[str, str]:
    """Failed warning checks by name."""
    return {c.name: c.detail for c in report.checks if not c.ok and c.severity == "warning"}


def passed(report: ValidationReport) -> set[str]:
    """Names of the checks that passed."""
    return {c.name for c in report.checks if c.ok}
