"""Click as Typer uses it: recent Typer releases vendor a reworked copy (`typer._click`),
older ones use the `click` package. The current context and the parameter sources
must come from the copy that runs the command."""

from __future__ import annotations

try:
    from typer._click.core import Command, Context, ParameterSource
    from typer._click.globals import get_current_context
except ImportError:  # Typer before it vendored Click
    from click import Command, Context, get_current_context  # type: ignore[assignment,no-redef]
    from click.core import ParameterSource  # type: ignore[assignment,no-redef]

__all__ = ["Command", "Context", "ParameterSource", "get_current_context"]
