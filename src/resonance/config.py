"""One Settings object, built once from arguments and environment, then passed in."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB = "resonance.duckdb"


@dataclass(slots=True)
class Settings:
    """Where the store lives and how the app behaves.

    Precedence: explicit argument (e.g. `--db`) > environment > default.
    """

    db_path: Path = field(default_factory=lambda: Path(os.environ.get("RESONANCE_DB", DEFAULT_DB)))
    rules_path: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("RESONANCE_RULES")) else None
    )
    secret_key: str | None = field(default_factory=lambda: os.environ.get("RESONANCE_SECRET_KEY"))
    min_group_size: int = field(default_factory=lambda: int(os.environ.get("RESONANCE_MIN_GROUP", "5")))
    max_body_bytes: int = field(
        default_factory=lambda: int(os.environ.get("RESONANCE_MAX_BODY", str(1 << 20)))
    )
    slack_signing_secret: str | None = field(
        default_factory=lambda: os.environ.get("RESONANCE_SLACK_SIGNING_SECRET")
    )
    """Slack app's signing secret: enables the `/kudos` slash command endpoint (docs/kudos.md)."""
    mattermost_token: str | None = field(default_factory=lambda: os.environ.get("RESONANCE_MATTERMOST_TOKEN"))
    """Token of a Mattermost outgoing webhook or slash command: enables the Mattermost endpoint."""
    widget_frame_ancestors: str = field(
        default_factory=lambda: os.environ.get("RESONANCE_WIDGET_FRAME_ANCESTORS", "'self'")
    )
    """CSP `frame-ancestors` sources allowed to embed the kudos widget (and only the widget)."""
    base_url: str | None = field(default_factory=lambda: os.environ.get("RESONANCE_BASE_URL"))
    """Public address of the server, for links made outside a request (CLI one-click links)."""
    compute_memory_limit: str = field(default_factory=lambda: os.environ.get("RESONANCE_MEMORY_LIMIT", "2GB"))
    """DuckDB's memory limit while metrics are computed (`2GB`, `512MB`, ...); beyond it, work spills to disk."""
    compute_temp_dir: str | None = field(default_factory=lambda: os.environ.get("RESONANCE_TEMP_DIR"))
    """Where a compute spills (default: DuckDB's, `<store>.tmp` beside the store file)."""
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def public_url(self) -> str:
        """`base_url` without a trailing slash, else the address the server listens on."""
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_args(cls, db: Path | str | None = None, **overrides: object) -> Settings:
        settings = cls()
        if db is not None:
            settings.db_path = Path(db)
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        return settings
