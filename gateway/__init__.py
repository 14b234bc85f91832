"""Gateway: the backend of an AI-assisted game development workflow."""

# The one place the version is written (pyproject.toml reads it from here: [tool.hatch.version]). A literal, not
# importlib.metadata: that import alone costs ~100 ms on every `gateway` command, `--help` included.
__version__ = "0.1.0"
