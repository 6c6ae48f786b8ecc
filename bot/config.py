"""Typed settings, read from the environment and `.env`.

Everything a deployment can change lives here and nowhere else. `Settings()` is built in
`main()` (never at import), so tests and offline commands need no token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_NOTICE = (
    "Not medical advice: a summary of published sources, not a recommendation. "
    "Talk to a qualified clinician before any decision about treatment."
)
DEFAULT_CRISIS_TEXT = (
    "If you are thinking about suicide or self-harm, please reach out now: call your local emergency "
    "number, or find a free, confidential helpline in your country at https://findahelpline.com"
)


def _split_ints(value: object) -> object:
    """Accept `1,2,3` (what people write in .env) as well as a real list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


IntList = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    """All settings of one bot process; each field maps to the upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    discord_token: SecretStr | None = Field(default=None, description="Bot token from the developer portal.")
    data_dir: Path = Field(default=Path("data"), description="Folder with concept pages, aliases, protocols.")
    database_path: Path = Field(
        default=Path(".state/facts.sqlite3"), description="Fact database, rebuilt from DATA_DIR."
    )
    state_database_path: Path = Field(
        default=Path(".state/moderation.sqlite3"),
        description="Moderator state (reports, settings, audit, stats); never rebuilt.",
    )
    state_database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://… : moderator state on that PostgreSQL server (shared by processes on several "
        "hosts) instead of STATE_DATABASE_PATH.",
    )
    state_lock_timeout_seconds: float = Field(
        default=5.0, ge=0, le=60, description="Start-up wait for a moderator-state lock held by another process."
    )
    guild_ids: IntList = Field(default_factory=list, description="Sync commands to these guilds only.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    discord_api_base: str = Field(default="https://discord.com/api/v10", description="REST base URL.")
    discord_gateway_url: str = Field(default="wss://gateway.discord.gg/", description="Gateway URL.")
    discord_retry_min_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="First wait before retrying when Discord cannot be reached."
    )
    discord_retry_max_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Longest wait between retries (the wait doubles up to this)."
    )
    notice_text: str = Field(default=DEFAULT_NOTICE, max_length=300)
    crisis_text: str = Field(default=DEFAULT_CRISIS_TEXT, max_length=500)
    cooldown_uses: int = Field(default=5, ge=1, description="Commands a user may run per cooldown window.")
    cooldown_seconds: float = Field(default=30.0, gt=0)
    answer_workers: int = Field(default=4, ge=1, le=64, description="Answers computed at the same time.")
    answer_backlog: int = Field(
        default=200, ge=0, description="Answers that may wait for a worker; past this a private 'busy' notice."
    )
    answer_defer_ms: float = Field(
        default=250.0, ge=0, le=2500, description="Acknowledge first (defer) when an answer takes longer than this."
    )
    mod_log_channel_id: int | None = Field(default=None, description="Channel that receives fact reports.")
    stats_retention_days: int = Field(default=90, ge=1, description="Query statistics older than this are deleted.")
    autoreply_threshold: float = Field(default=0.45, ge=0, le=1)
    message_content_intent: bool = Field(
        default=False, description="Read forum posts' text for auto-replies (privileged intent)."
    )
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: IntList = Field(default_factory=list)
    health_file: Path = Field(default=Path("/tmp/factbot-health.json"))
    health_max_age_seconds: float = Field(default=120.0, gt=0)

    @property
    def state_url(self) -> str | None:
        """STATE_DATABASE_URL as text; None when the state is in the STATE_DATABASE_PATH file."""
        return self.state_database_url.get_secret_value() if self.state_database_url else None

    @field_validator("guild_ids", "shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_ints(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("discord_api_base")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line that names it."""


def load_settings(**overrides: object) -> Settings:
    """Build `Settings`, turning pydantic's report into one line that names the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"Invalid setting {name}: {first['msg']} (got {first.get('input')!r})") from None


def require_token(settings: Settings) -> str:
    """The token, or a `SettingsError` telling a newcomer exactly how to set it."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise SettingsError(
            "DISCORD_TOKEN is not set: run `cp .env.example .env` and put your bot token "
            "(Discord developer portal → your application → Bot → Reset Token) after DISCORD_TOKEN="
        )
    return token
