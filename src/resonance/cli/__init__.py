"""The `resonance` command line: thin faces over the operations in the package.

Each module in this package adds its commands to the shared `app` (see
`app.py`); modules are imported automatically, so a feature adds one file.
"""

from __future__ import annotations

import importlib
import pkgutil

from resonance.cli.app import app


def _load_commands() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name not in {"app"} and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_commands()


def main() -> None:
    app()


__all__ = ["app", "main"]
