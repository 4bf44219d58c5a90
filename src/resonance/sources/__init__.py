"""Connectors: one module per kind of source, all with the face of `base.Source`.

Adding a source is adding one module here that defines a `Source` subclass
with a `kind`; it is found automatically (`resonance ingest --help` lists it).
"""

from __future__ import annotations

import importlib
import pkgutil

from resonance.sources.base import Source, SourceError

_NOT_SOURCES = {"base"}


def registry() -> dict[str, type[Source]]:
    """kind -> Source class, for every connector module in this package."""
    found: dict[str, type[Source]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_SOURCES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Source)
                and value is not Source
                and getattr(value, "kind", None)
                and value.__module__ == module.__name__
            ):
                found[value.kind] = value
    return dict(sorted(found.items()))


def get_source(kind: str, **options: object) -> Source:
    sources = registry()
    if kind not in sources:
        raise SourceError(f"unknown source kind {kind!r}; known: {', '.join(sources)}")
    return sources[kind](**options)


__all__ = ["Source", "SourceError", "get_source", "registry"]
