"""Request and response models shared by the services and every adapter (API, MCP, CLI)."""
