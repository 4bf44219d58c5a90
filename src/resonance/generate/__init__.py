"""A synthetic enterprise, written in the connectors' own formats (docs/generator.md).

`generate(GenerateOptions(...))` builds a company for a seed (org chart,
people, customers, deals), then streams each format to disk and finally the
truth tables. Same options, same bytes: every random draw comes from a stream
named after what it decides (see `seeds.py`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from resonance.generate.activity import ActivityGenerator, default_events
from resonance.generate.aliases import Aliases
from resonance.generate.company import Company, build_company, window
from resonance.generate.customers import Customers, build_customers
from resonance.generate.truth import Truth

GENERATOR_VERSION = 3
"""Bumped whenever the same options produce different files: `resonance demo` reuses a data
folder only when its manifest has this version and the same options."""
DEFAULT_END = date(2026, 10, 31)
"""A fixed default end date, so that the same seed gives the same files on any day."""
FORMATS = ("directory", "as2", "slack", "email", "calendar", "crm", "scim")
"""Output formats, named after the connector kind that reads them."""

OUTPUTS = {
    "directory": ["directory.csv"], "as2": ["activity.ndjson"], "slack": ["slack"], "email": ["mail.mbox"],
    "calendar": ["calendar.ics"], "crm": ["crm"], "scim": ["scim"],
}
"""What each format writes inside the output folder (what `resonance demo` ingests)."""

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class GenerateOptions:
    people: int = 2000
    days: int = 365
    seed: int = 42
    end: date = DEFAULT_END
    events: int | None = None        # AS2 events; default people × days × 0.3
    formats: tuple[str, ...] = FORMATS

    def resolved_events(self) -> int:
        return self.events if self.events is not None else default_events(self.people, self.days)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["end"] = self.end.isoformat()
        d["events"] = self.resolved_events()
        d["formats"] = list(self.formats)
        return d


@dataclass(slots=True)
class World:
    """Everything the writers share: the company, its customers, aliases and the truth being recorded."""

    company: Company
    customers: Customers
    aliases: Aliases
    truth: Truth
    files: dict[str, Any] = field(default_factory=dict)


def build_world(options: GenerateOptions) -> World:
    start, end = window(options.end, options.days)
    company = build_company(options.seed, options.people, start, end)
    customers = build_customers(company)
    return World(company, customers, Aliases(company), Truth(company, customers))


def generate(options: GenerateOptions, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Write the synthetic company to `out`; returns the manifest (also written to manifest.json)."""
    unknown = set(options.formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(sorted(unknown))}; known: {', '.join(FORMATS)}")
    if options.days < 1:
        raise ValueError("--days must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest_path.unlink(missing_ok=True)  # a manifest means "complete": remove it until we are
    for fmt in FORMATS:
        for name in OUTPUTS[fmt]:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    if (out / "truth").is_dir():
        shutil.rmtree(out / "truth")

    world = build_world(options)
    progress = progress or (lambda stage, done, total: None)
    ring = None
    # Formats in a fixed order; each draws from its own random streams.
    if "directory" in options.formats:
        from resonance.generate.formats.directory import write_directory

        progress("directory", 0, 1)
        n = write_directory(world.company, world.aliases, set(world.customers.crm_users), world.truth,
                            out / "directory.csv")
        world.files["directory.csv"] = {"records": n}
        progress("directory", 1, 1)
    if "as2" in options.formats:
        ring = _write_as2(world, options, out, progress)
    for fmt in ("slack", "email", "calendar", "crm", "scim"):
        if fmt in options.formats:
            writer = _writer(fmt)
            world.files.update(writer(world, out, progress))

    truth_counts = world.truth.write(out / "truth", ring if ring is not None else _ring(world))
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "company": world.company.name,
        "domain": world.company.domain,
        "domains": [world.company.domain, world.company.alias_domain],
        "domain_aliases": {world.company.alias_domain: world.company.domain},
        "start": world.company.start.isoformat(),
        "end": world.company.end.isoformat(),
        "options": options.as_dict(),
        "people": world.company.n,
        "customers": {
            "accounts": len(world.customers.accounts), "contacts": len(world.customers.contacts),
            "opportunities": len(world.customers.opportunities),
            "won": sum(o.is_won for o in world.customers.opportunities),
        },
        "files": world.files,
        "truth": truth_counts,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def _ring(world: World):  # type: ignore[no-untyped-def]
    from resonance.generate.activity import pick_ring

    return pick_ring(world.company)


def _write_as2(world: World, options: GenerateOptions, out: Path, progress: Progress):  # type: ignore[no-untyped-def]
    from resonance.generate.formats.as2 import AS2Writer

    gen = ActivityGenerator(world.company, world.customers, options.resolved_events())
    writer = AS2Writer(world.company, out / "activity.ndjson")
    total = world.company.days * gen.split
    written = 0
    try:
        for s in gen.slices():
            written += writer.write(s)
            if s.index % 8 == 0 or s.index == total - 1:
                progress("as2", s.index + 1, total)
    finally:
        writer.close()
    c = world.company
    for p in writer.people_seen():
        world.truth.alias(p, "as2", c.emails[p])
    for h in world.customers.helps:
        if h.contact >= 0:
            world.truth.contact_alias(h.contact, "as2", world.customers.contacts[h.contact].email)
    world.files["activity.ndjson"] = {"records": written, "verbs": dict(sorted(writer.verbs.items()))}
    return gen.ring


def _writer(fmt: str):  # type: ignore[no-untyped-def]
    import importlib

    module = importlib.import_module(f"resonance.generate.formats.{fmt}")
    return module.write


__all__ = ["DEFAULT_END", "FORMATS", "OUTPUTS", "GenerateOptions", "World", "build_world", "generate"]
