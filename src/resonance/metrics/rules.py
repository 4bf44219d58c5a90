"""The metric rules: every weight and threshold, from one documented default file.

`rules.toml` beside this module is the default and its documentation (a comment
line above each key describes it). A user file holding only the keys it changes
overrides it. Unknown keys and values of the wrong type are errors, so a typo in
an override never silently does nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")


class RulesError(ValueError):
    """An override file that cannot be used: unreadable, unknown key, wrong type."""


def default_rules() -> dict[str, Any]:
    """The documented defaults."""
    return _read_toml(DEFAULT_RULES_PATH)


_PARSED: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}


def _read_toml(path: Path) -> dict[str, Any]:
    """A fresh copy of the file's parsed TOML. The parse is kept while the file's size and modification
    time stay the same: a dashboard view reads the rules several times, and parsing costs milliseconds."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    known = _PARSED.get(str(path))
    if known is None or known[0] != stamp:
        with path.open("rb") as f:
            known = (stamp, tomllib.load(f))
        _PARSED[str(path)] = known
    return copy.deepcopy(known[1])  # callers may change their copy (overrides are merged into it)


def load_rules(path: Path | str | None = None) -> dict[str, Any]:
    """Every weight and threshold: the defaults, overridden by the user's file.

    `path` is the override file; when None, the file named by the environment
    variable RESONANCE_RULES is used if set, else the defaults alone.
    """
    rules = default_rules()
    if path is None and os.environ.get("RESONANCE_RULES"):
        path = os.environ["RESONANCE_RULES"]
    if path is None:
        return rules
    path = Path(path)
    try:
        override = _read_toml(path)
    except FileNotFoundError as exc:
        raise RulesError(f"{path}: no such rules file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from exc
    _merge(rules, override, str(path), ())
    return rules


def _merge(base: dict[str, Any], override: dict[str, Any], where: str, prefix: tuple[str, ...]) -> None:
    for key, value in override.items():
        dotted = ".".join((*prefix, key))
        if key not in base:
            raise RulesError(f"{where}: unknown rule {dotted!r} (see `resonance rules` for the known ones)")
        current = base[key]
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise RulesError(f"{where}: {dotted!r} must be a table of rules")
            _merge(current, value, where, (*prefix, key))
        elif isinstance(current, bool) or isinstance(value, bool):
            if not isinstance(value, bool) or not isinstance(current, bool):
                raise RulesError(f"{where}: {dotted!r} must be true or false")
            base[key] = value
        elif isinstance(current, (int, float)):
            if not isinstance(value, (int, float)):
                raise RulesError(f"{where}: {dotted!r} must be a number, got {value!r}")
            base[key] = float(value) if isinstance(current, float) else value
        elif isinstance(current, list):
            if not isinstance(value, list):
                raise RulesError(f"{where}: {dotted!r} must be a list")
            base[key] = value
        else:
            if not isinstance(value, type(current)):
                raise RulesError(f"{where}: {dotted!r} must be a {type(current).__name__}")
            base[key] = value


def rules_hash(rules: dict[str, Any]) -> str:
    """A short fingerprint of the rules, recorded with each compute run."""
    return hashlib.sha1(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:12]


def rule_descriptions() -> dict[str, str]:
    """Dotted key -> its description, from the comment lines above each key in rules.toml."""
    descriptions: dict[str, str] = {}
    section = ""
    pending: list[str] = []
    for raw in DEFAULT_RULES_PATH.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]").strip()
            pending = []
        elif line.startswith("#"):
            pending.append(line.lstrip("#").strip())
        elif "=" in line:
            key = line.split("=", 1)[0].strip()
            if pending:
                descriptions[f"{section}.{key}" if section else key] = " ".join(pending)
            pending = []
        else:
            pending = []
    return descriptions


def describe_rules(rules: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per rule: key, value, default, changed, description (for `resonance rules` and the web)."""
    rules = rules if rules is not None else load_rules()
    defaults = default_rules()
    docs = rule_descriptions()
    rows: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], base: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(value, base.get(key, {}), dotted)
            else:
                default = base.get(key)
                rows.append(
                    {
                        "key": dotted,
                        "value": copy.deepcopy(value),
                        "default": default,
                        "changed": value != default,
                        "description": docs.get(dotted, ""),
                    }
                )

    walk(rules, defaults, "")
    return rows
