"""Synthetic Activity Streams input for fault and load tests: big enough to take a
second or two to ingest, deterministic, one file per batch (the AS2 connector
loads each file of less than 16 MB as one transaction)."""

from __future__ import annotations

import json
import random
from pathlib import Path


def write_as2_corpus(folder: Path, files: int = 30, per_file: int = 4000, people: int = 300,
                     seed: int = 7) -> dict[str, int]:
    """Write `files` NDJSON files of `per_file` activities each (plus one bad line per
    file). Returns the expected number of good events and items per file name."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, int] = {}
    posts: list[str] = []
    for f in range(files):
        lines = []
        items = 0
        for i in range(per_file):
            actor = f"mailto:p{rng.randrange(people):04d}@acme.example"
            eid = f"urn:f{f:03d}:e{i}"
            day = 1 + (f * per_file + i) % 27
            t = f"2026-02-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"
            r = rng.random()
            if r < 0.2 or not posts:
                post = f"urn:f{f:03d}:post{i}"
                posts.append(post)
                items += 1
                act = {"id": eid, "type": "Create", "actor": {"id": actor, "name": f"Person {actor[9:13]}"},
                       "object": {"id": post, "type": "Note", "name": f"Post {i}", "content": f"<p>text {i}</p>",
                                  "tag": ["#topic" + str(rng.randrange(20))]},
                       "published": t}
            elif r < 0.9:
                act = {"id": eid, "type": rng.choice(["Like", "View", "Announce", "Add"]), "actor": actor,
                       "object": rng.choice(posts[-500:]), "published": t}
            else:
                act = {"id": eid, "type": "Follow", "actor": actor,
                       "object": f"mailto:p{rng.randrange(people):04d}@acme.example", "published": t}
            lines.append(json.dumps(act))
        lines.insert(per_file // 2, '{"id": "broken", ')  # one quarantined record per file
        name = f"part-{f:03d}.ndjson"
        (folder / name).write_text("\n".join(lines) + "\n")
        expected[name] = per_file
    return expected
