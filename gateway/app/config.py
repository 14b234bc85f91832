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


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
