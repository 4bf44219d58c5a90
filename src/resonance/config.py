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
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def from_args(cls, db: Path | str | None = None, **overrides: object) -> Settings:
        settings = cls()
        if db is not None:
            settings.db_path = Path(db)
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        return settings
