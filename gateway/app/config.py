"""Settings, read once from the environment (GATEWAY_*) and an optional .env file."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.app.jsondoc import READABLE_DEPTH

if TYPE_CHECKING:
    from gateway.app.validation.report import Limits

DEFAULT_DATABASE_URL = "sqlite:///data/gateway.db"
LLMProvider = Literal["openai-compatible", "openai", "anthropic"]
OutputMode = Literal["auto", "tool", "native", "prompted-json", "prompted"]


class Settings(BaseSettings):
    """Everything the gateway can be told from outside; the defaults need no other service."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///… (default data/gateway.db) or postgresql+psycopg://…",
    )
    sqlite_busy_timeout_ms: int = Field(default=15_000, ge=0)
    worker_threads: int = Field(
        default=40, ge=4, le=1000, description="Threads that run blocking work: database calls, file validation"
    )
    db_pool_size: int | None = Field(
        default=None, ge=1, description="Database connections per process; default worker_threads + 10"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest JSON request body")
    max_json_depth: int = Field(
        default=64, ge=2, le=READABLE_DEPTH, description="Deepest nesting of objects and arrays in a JSON body"
    )
    data_dir: Path = Field(default=Path("data"), description="Where files the gateway writes live")
    # Identities (docs/security.md): who may do what, and which browsers may talk to the gateway at all.
    auth: Literal["local", "required"] | None = Field(
        default=None,
        description="local: requests without a token from this machine act as the one local user; "
        "required: every request needs a token. Unset: local on loopback, required on any other address.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"],
        validation_alias=AliasChoices("GATEWAY_ALLOWED_HOSTS", "GATEWAY_MCP_ALLOWED_HOSTS", "allowed_hosts"),
        description="Host headers the whole app accepts (against DNS rebinding); add your public name behind a proxy",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to send state-changing requests besides the gateway's own",
    )
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description="Addresses of the reverse proxies whose X-Forwarded-For/-Proto are believed (uvicorn's "
        "forwarded_allow_ips: IPs, networks, or *). Empty: none, and the client is the peer that connected",
    )
    ws_max_per_token: int = Field(default=16, ge=1, description="Open WebSockets per token (or local user)")
    session_max_age_s: int = Field(default=7 * 24 * 3600, ge=60, description="Lifetime of the web session cookie")
    mcp_allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        description="Origin headers /mcp accepts from browsers",
    )

    @property
    def auth_mode(self) -> str:
        """The mode in force: `auth`, else local (`gateway serve` sets required off loopback)."""
        return self.auth or "local"

    @property
    def mcp_allowed_hosts(self) -> list[str]:
        """The Host headers /mcp accepts: the app's (one list, checked for every route)."""
        return self.allowed_hosts

    max_upload_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1,
        le=2**31 - 1,  # artifacts.size_bytes is a 32-bit INTEGER on PostgreSQL (the seed's schema)
        description="Largest artifact file (at most 2 GiB - 1: the size column's range)",
    )
    max_image_pixels: int = Field(
        default=8192 * 8192,
        ge=1,
        description="Largest image (width x height) decoded to validate it; a larger one is invalid, never decoded",
    )
    max_project_storage_bytes: int | None = Field(
        default=10 * 1024**3,
        ge=1,
        description="Bytes of artifact files one project may store (10 GiB); past it a hand-in is a 413. "
        "null: no limit",
    )
    storage_gc_interval_s: float | None = Field(
        default=3600.0,
        gt=0,
        description="How often crash leftovers (temp files, unreferenced blobs) are collected, besides at start-up; "
        "null: only at start-up and by `gateway gc`",
    )
    image_decode_concurrency: int = Field(
        default=2, ge=1, le=256, description="Images decoded at once per process (each up to ~4 bytes a pixel)"
    )
    workspace_root: Path | None = Field(
        default=None,
        description="Root of the projects' workspaces (<root>/<project id>); default <data_dir>/workspaces",
    )

    @property
    def pool_size(self) -> int:
        """Connections per process: never fewer than the threads that may each hold one (plus a margin)."""
        return self.db_pool_size or self.worker_threads + 10

    @property
    def validation_limits(self) -> "Limits":
        """The bounds file validation works within, as configured."""
        from gateway.app.validation.report import Limits  # imported here: the validators are heavy to load

        return Limits(max_image_pixels=self.max_image_pixels, max_concurrent_decodes=self.image_decode_concurrency)

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

    # Planning (docs/planning.md): which planner proposes, the LLM behind it, and the jobs that run it
    planner: Literal["template", "llm"] = Field(
        default="template", description="Default planner: template (offline, deterministic) or llm"
    )
    llm_provider: LLMProvider = Field(
        default="openai-compatible",
        description="openai-compatible (Ollama, llama.cpp, vLLM, LM Studio), openai, anthropic",
    )
    llm_base_url: str | None = Field(default=None, description="API base URL, e.g. http://127.0.0.1:11434/v1")
    llm_model: str | None = Field(default=None, max_length=200, description="Model name as the provider knows it")
    llm_api_key: SecretStr | None = Field(default=None, description="API key; never logged or returned")
    llm_output_mode: OutputMode = Field(
        default="auto",
        description="How the model returns the plan: tool (a tool call), native (JSON schema response format), "
        "prompted-json (JSON object response format + the schema in the prompt), prompted (the prompt only); "
        "auto = tool for openai and anthropic, prompted-json for openai-compatible",
    )
    llm_max_attempts: int = Field(default=3, ge=1, le=10, description="Model answers per draft, repairs included")
    llm_request_timeout_s: float = Field(default=300.0, gt=0, description="Timeout of one model request")
    llm_max_tokens: int = Field(default=8192, ge=256, description="Largest answer asked of the model")
    llm_temperature: float | None = Field(default=0.2, ge=0, le=2, description="Sampling temperature (null: default)")
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description='USD per million tokens (input, output) by model, added to the packaged table: {"m": [3, 15]}',
    )
    job_timeout_s: float = Field(default=900.0, gt=0, description="A planning job running longer fails (timeout)")
    job_max_attempts: int = Field(
        default=2, ge=1, le=10, description="Runs of a job before it fails (a run lost to a crash counts)"
    )
    job_lease_s: float = Field(
        default=30.0, gt=0, description="A running job whose worker stops renewing for this long is requeued or failed"
    )
    job_poll_interval_s: float = Field(default=1.0, gt=0, description="How often an idle worker looks for jobs")
    jobs_enabled: bool = Field(default=True, description="Run a job worker in this process")

    @property
    def llm_configured(self) -> bool:
        """Whether an LLM is set up (a model is named)."""
        return bool(self.llm_model)


def is_loopback(host: str) -> bool:
    """Whether a bind address or client address is this machine only."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_mode_for(host: str, configured: str | None) -> str:
    """The auth mode for serving on `host`: required off loopback, where local is refused (ValueError)."""
    if is_loopback(host):
        return configured or "local"
    if configured == "local":
        raise ValueError(
            f"GATEWAY_AUTH=local on {host}: anyone who can reach it would act as the local user. "
            "Serve on 127.0.0.1, or use GATEWAY_AUTH=required with tokens (`gateway token create`)."
        )
    return "required"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
