"""Settings, read once from the environment (GATEWAY_*) and an optional .env file."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///data/gateway.db"


class Settings(BaseSettings):
    """Everything the gateway can be told from outside; the defaults need no other service."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///… (default data/gateway.db) or postgresql+psycopg://…",
    )
    sqlite_busy_timeout_ms: int = Field(default=15_000, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest JSON request body")
    data_dir: Path = Field(default=Path("data"), description="Where files the gateway writes live")
    cors_origins: list[str] = Field(default_factory=list)
    mcp_allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"],
        description="Host headers /mcp accepts (DNS-rebinding protection); add your public name behind a proxy",
    )
    mcp_allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        description="Origin headers /mcp accepts from browsers",
    )
    max_upload_bytes: int = Field(default=256 * 1024 * 1024, ge=1, description="Largest artifact file")
    workspace_root: Path | None = Field(
        default=None,
        description="Root of the projects' workspaces (<root>/<project id>); default <data_dir>/workspaces",
    )

    @property
    def artifacts_dir(self) -> Path:
        """Where artifact files are stored, content-addressed."""
        return self.data_dir / "artifacts"

    def workspace_for(self, project_id: str) -> Path:
        """The directory whose files agents may register as a project's artifacts."""
        return (self.workspace_root or self.data_dir / "workspaces") / project_id

    # Real-time events (docs/events.md)
    redis_url: str | None = Field(
        default=None, description="redis://… to fan events out across processes; unset: in-process only"
    )
    redis_channel: str = Field(default="gateway:events", min_length=1, description="Redis pub/sub channel")
    events_retention_days: float | None = Field(default=None, gt=0, description="Drop events older than this")
    events_retention_per_project: int | None = Field(
        default=None, ge=1, description="Keep at most this many newest events per project"
    )
    events_purge_interval_s: float = Field(default=3600.0, gt=0, description="How often retention runs")
    events_poll_interval_s: float = Field(
        default=2.0, gt=0, description="How often subscribers re-check the database (writers without the bus)"
    )
    events_heartbeat_s: float = Field(default=15.0, gt=0, description="Heartbeat on an idle WebSocket")
    events_ws_queue_size: int = Field(default=64, ge=1, description="Frames waiting to be sent, per connection")
    events_ws_send_timeout_s: float = Field(
        default=10.0, gt=0, description="A connection whose queue stays full this long is closed (4408)"
    )
    events_ws_max_lag: int = Field(
        default=1000, ge=1, description="A live connection further behind than this many events is closed (4408)"
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
