"""The command line a client forwards: rebuilt from what Click parsed, paths made absolute.

The server runs in another working directory, so `resonance ingest as2 data/`
must reach it as `ingest as2 /home/me/data`. Rebuilding the arguments from the
parsed parameters (rather than patching `sys.argv`) knows exactly which values
are paths, whatever their position or option name.
"""

from __future__ import annotations

import enum
import os
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from resonance.jobs._click import Context, ParameterSource

_SKIPPED_SOURCES = {ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP}


def canonical_argv(ctx: Context) -> list[str]:
    """`resonance` arguments equivalent to the invocation of `ctx` (subcommands included)."""
    chain: list[Context] = []
    current: Context | None = ctx
    while current is not None:
        chain.append(current)
        current = current.parent
    chain.reverse()
    argv: list[str] = []
    for i, c in enumerate(chain):
        if i > 0:
            argv.append(c.info_name or c.command.name or "")
        argv.extend(_params(c))
    return argv


def _params(ctx: Context) -> list[str]:
    options: list[str] = []
    positional: list[str] = []
    for param in ctx.command.params:
        if not param.expose_value or param.name is None or param.name not in ctx.params:
            continue
        if ctx.get_parameter_source(param.name) in _SKIPPED_SOURCES:
            continue
        value = ctx.params[param.name]
        if param.param_type_name == "argument":
            if value is None:
                continue
            values = value if isinstance(value, list | tuple) else [value]
            positional.extend(_fmt(param, v) for v in values)
        elif param.param_type_name == "option":
            options.extend(_option(param, value))
    if any(p.startswith("-") for p in positional):
        positional.insert(0, "--")
    return options + positional


def _option(param: Any, value: Any) -> list[str]:
    name = max(param.opts, key=len)  # the long form reads best in the jobs table
    if param.is_flag and getattr(param, "is_bool_flag", True):
        if value:
            return [name]
        return [max(param.secondary_opts, key=len)] if param.secondary_opts else []
    if param.is_flag:  # a flag with a flag_value
        return [name] if value == getattr(param, "flag_value", True) else []
    if param.count:
        return [name] * int(value or 0)
    if value is None:
        return []
    if param.multiple:
        out: list[str] = []
        for v in value:
            out.extend([name, *(_fmt(param, x) for x in (v if param.nargs > 1 else [v]))])
        return out
    if param.nargs > 1:
        return [name, *(_fmt(param, x) for x in value)]
    return [name, _fmt(param, value)]


def _fmt(param: Any, value: Any) -> str:
    if isinstance(value, PurePath) or type(getattr(param, "type", None)).__name__ == "Path":
        text = os.fspath(value)
        return text if text == "-" else os.path.abspath(os.path.expanduser(text))
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
