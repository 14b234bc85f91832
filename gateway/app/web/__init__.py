"""The web UI: a page served by the app that talks to the REST API and the event streams (no business rule here)."""
