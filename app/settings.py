"""Every setting of INTERFACES.md, read from the environment (and ``.env``) in one place."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nlu.cascade import DEFAULT_LOCAL_SURE_AT

VAR_DIR = Path("var")
MIN_PASSWORD_LENGTH = 8  # officers' passwords, the first administrator's included


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = ""  # empty: SQLite file under var_dir
    redis_url: str | None = None
    rasa_url: str | None = None
    var_dir: Path = Field(default=VAR_DIR, validation_alias="GOVCHAT_VAR_DIR")
    kb_dir: Path | None = Field(default=None, validation_alias="GOVCHAT_KB_DIR")

    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"

    facebook_app_secret: SecretStr | None = None
    facebook_verify_token: SecretStr | None = None
    facebook_page_access_token: SecretStr | None = None
    facebook_graph_api_base_url: str = "https://graph.facebook.com/v21.0"

    secret_key: SecretStr | None = Field(default=None, validation_alias="GOVCHAT_SECRET_KEY")
    admin_username: str = Field(default="admin", validation_alias="GOVCHAT_ADMIN_USERNAME")
    admin_password: SecretStr | None = Field(default=None, validation_alias="GOVCHAT_ADMIN_PASSWORD")
    retention_days: int = Field(default=365, validation_alias="GOVCHAT_RETENTION_DAYS", gt=0)
    # Insights flag knowledge-base entries not reviewed for this many days.
    kb_stale_days: int = Field(default=365, validation_alias="GOVCHAT_KB_STALE_DAYS", gt=0)
    # Each hub reloads the knowledge base when another publishes (Redis); it also looks at the
    # database this often, for what it missed (no Redis, Redis away, `govchat kb import`).
    kb_check_seconds: float = Field(default=30.0, validation_alias="GOVCHAT_KB_CHECK_SECONDS", gt=0)

    # Decision policy (app/conversations/policy.py); tuned on the held-out set.
    answer_threshold: float = Field(default=0.65, validation_alias="GOVCHAT_ANSWER_THRESHOLD")
    clarify_threshold: float = Field(default=0.20, validation_alias="GOVCHAT_CLARIFY_THRESHOLD")
    intent_threshold: float = Field(default=0.5, validation_alias="GOVCHAT_INTENT_THRESHOLD")

    # Workers and delivery.
    # Items handled at once per kind of work (events, deliveries) in one process, in at most
    # two batches; under load, larger batches share their database round trips more.
    # 0: this process only takes requests and queues them, for worker processes on the same
    # PostgreSQL and Redis (README, "Web and worker processes").
    workers: int = Field(default=64, validation_alias="GOVCHAT_WORKERS", ge=0)
    lease_seconds: float = Field(default=60.0, validation_alias="GOVCHAT_LEASE_SECONDS", gt=0)
    poll_interval: float = Field(default=0.5, validation_alias="GOVCHAT_POLL_INTERVAL", gt=0)
    delivery_max_seconds: float = Field(default=600.0, validation_alias="GOVCHAT_DELIVERY_MAX_SECONDS", gt=0)
    delivery_base_backoff: float = Field(default=1.0, validation_alias="GOVCHAT_DELIVERY_BASE_BACKOFF", gt=0)
    max_body_bytes: int = Field(default=1_000_000, validation_alias="GOVCHAT_MAX_BODY_BYTES", gt=0)
    # The pipeline shows the channel's "typing"/loading hint when an answer takes longer than this.
    processing_hint_seconds: float = Field(
        default=0.5, validation_alias="GOVCHAT_PROCESSING_HINT_SECONDS", ge=0
    )
    nlu_timeout_seconds: float = Field(default=2.0, validation_alias="GOVCHAT_NLU_TIMEOUT_SECONDS", gt=0)
    # With Rasa: the embedded engine answers a message itself where its sparse model's top label is
    # at least this probable (nlu.cascade); above 1, Rasa parses every message.
    nlu_local_sure_at: float = Field(
        default=DEFAULT_LOCAL_SURE_AT, validation_alias="GOVCHAT_NLU_LOCAL_SURE_AT", gt=0
    )
    # Web chat embedded on the agency's own sites (INTERFACES.md, "Web-chat widget").
    widget_origins: str = Field(default="", validation_alias="GOVCHAT_WIDGET_ORIGINS")
    webchat_session_days: float = Field(default=30.0, validation_alias="GOVCHAT_WEBCHAT_SESSION_DAYS", gt=0)
    officer_token_hours: float = Field(default=12.0, validation_alias="GOVCHAT_OFFICER_TOKEN_HOURS", gt=0)
    log_level: str = Field(default="INFO", validation_alias="GOVCHAT_LOG_LEVEL")

    # Security (docs/threat-model.md).
    # Addresses (or CIDR networks) of the agency's reverse proxies: only their X-Forwarded-For
    # is believed. Empty: the TCP peer is the client, whatever the headers say.
    trusted_proxies: str = Field(default="", validation_alias="GOVCHAT_TRUSTED_PROXIES")
    webchat_messages_per_minute: int = Field(
        default=20, validation_alias="GOVCHAT_WEBCHAT_MESSAGES_PER_MINUTE", gt=0
    )
    webchat_sessions_per_hour: int = Field(
        default=60, validation_alias="GOVCHAT_WEBCHAT_SESSIONS_PER_HOUR", gt=0
    )
    webchat_sockets_per_session: int = Field(
        default=5, validation_alias="GOVCHAT_WEBCHAT_SOCKETS_PER_SESSION", gt=0
    )
    api_docs: bool = Field(default=False, validation_alias="GOVCHAT_API_DOCS")
    # Sent to Rasa as ``?token=``; the Rasa server is started with the same ``--auth-token``.
    rasa_auth_token: SecretStr | None = Field(default=None, validation_alias="RASA_AUTH_TOKEN")
    # A knowledge-base change to the questions retrains Rasa from the hub, in Rasa's environment on
    # this machine, and the Rasa server loads the model from this machine's cache: off where the hub
    # has no Rasa environment or shares no disk with the server (then `govchat nlu train` + restart).
    rasa_retrain: bool = Field(default=True, validation_alias="GOVCHAT_RASA_RETRAIN")

    @field_validator("admin_password")
    @classmethod
    def _admin_password_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_PASSWORD_LENGTH:
            raise ValueError(
                f"GOVCHAT_ADMIN_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters "
                "(as for `govchat officer add`); unset it to have one generated"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies_are_addresses(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"GOVCHAT_TRUSTED_PROXIES: {part!r} is not an address or a network"
                ) from None
        return value

    @model_validator(mode="after")
    def _workers_elsewhere_need_shared_stores(self) -> Settings:
        from app.db.engine import is_sqlite  # here: only this check needs SQLAlchemy

        if self.workers == 0 and (is_sqlite(self.resolved_database_url()) or not self.redis_url):
            raise ValueError(
                "GOVCHAT_WORKERS=0 needs DATABASE_URL on PostgreSQL and REDIS_URL: "
                "worker processes on the same database answer what this process queues"
            )
        return self

    def allowed_widget_origins(self) -> frozenset[str]:
        """``GOVCHAT_WIDGET_ORIGINS`` as origins (``scheme://host[:port]``, lower case, no slash)."""
        return frozenset(o.strip().rstrip("/").lower() for o in self.widget_origins.split(",") if o.strip())

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'govchat.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The signing key: from the environment, else generated once and kept under var_dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.var_dir / "secret_key"
        if not path.exists():
            self.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(secrets.token_urlsafe(48))
        return path.read_text(encoding="utf-8").strip()
