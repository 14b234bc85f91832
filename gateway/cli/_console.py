"""What every command module shares: the console for messages (stderr; stdout is for results)."""

from rich.console import Console

console = Console(stderr=True)
