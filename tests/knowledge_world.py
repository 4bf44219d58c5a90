"""Tiny hand-built worlds for the knowledge tests, written as AS2 NDJSON and ingested by the real connector."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from resonance.ingest import run_ingest

DOMAIN = "acme.example"
_ids = itertools.count(1)


def who(name: str) -> dict[str, str]:
    """An actor: `mailto:<name>@acme.example` with a display name."""
    return {"id": f"mailto:{name}@{DOMAIN}", "name": name.capitalize()}


def pid(name: str) -> str:
    """The person id the store gives `name` (e-mail identity)."""
    return f"email:{name}@{DOMAIN}"


class World:
    """Collects activities, then writes and ingests them."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def add(self, activity: dict[str, Any]) -> None:
        activity.setdefault("id", f"https://social.{DOMAIN}/activities/{next(_ids)}")
        self.lines.append(activity)

    def create(self, name: str, when: str, kind: str, item: str, text: str, title: str | None = None,
               tags: list[str] | None = None, parent: str | None = None) -> str:
        obj: dict[str, Any] = {"id": f"https://social.{DOMAIN}/items/{item}", "type": kind, "content": text}
        if title:
            obj["name"] = title
        if tags:
            obj["tag"] = tags
        if parent:
            obj["inReplyTo"] = f"https://social.{DOMAIN}/items/{parent}"
        self.add({"type": "Create", "actor": who(name), "published": when, "object": obj})
        return obj["id"]

    def react(self, verb: str, name: str | None, when: str, item: str, value: float | None = None,
              **extra: Any) -> None:
        activity: dict[str, Any] = {"type": verb, "published": when, "object": f"https://social.{DOMAIN}/items/{item}"}
        if name:
            activity["actor"] = who(name)
        if value is not None:
            activity["value"] = value
        activity.update(extra)
        self.add(activity)

    def attend(self, name: str, when: str, meeting: str) -> None:
        self.add({"type": "Attend", "actor": who(name), "published": when,
                  "object": f"https://calendar.{DOMAIN}/{meeting}"})

    def ingest(self, store: Any, folder: Path) -> None:
        path = folder / "world.ndjson"
        path.write_text("".join(json.dumps(a) + "\n" for a in self.lines), encoding="utf-8")
        report = run_ingest(store.con, "as2", [path])
        assert report.rejected == 0, report.as_dict()
