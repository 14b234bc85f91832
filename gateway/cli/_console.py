"""What every command module shares: the console for messages (stderr; stdout is for results)."""

from rich.console import Console
from rich.text import Text

__all__ = ["Text", "console"]

console = Console(stderr=True, markup=False, highlight=False)
