"""Activity Streams 2.0 NDJSON: one activity per line, in time order, stable ids.

Lines are assembled with Arrow string kernels for whole slices (no Python
string work per event), sorted by time, numbered, and written as one buffer.
Actors are `mailto:` IRIs matching the directory's e-mails; verbs follow
docs/model.md (Create, View, Like, Announce, Add, Vote, Accept, Follow,
Mention, Kudos, Invite, Join).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from resonance.generate.activity import AS2_TYPES, ITEM_PATHS, Creates, PersonActs, Reactions, Slice
from resonance.generate.company import Company


def _join(*parts: object) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _stamp(t: np.ndarray) -> pa.Array:
    return pc.strftime(pa.array(t.astype("datetime64[s]")), format="%Y-%m-%dT%H:%M:%SZ")


class AS2Writer:
    """Writes slices of activity to an NDJSON file."""

    def __init__(self, company: Company, path: Path) -> None:
        self.c = company
        self.path = path
        self.file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.mailto = pa.array([f"mailto:{e}" for e in company.emails])
        self.bookmarks = pa.array([f"{company.social}/people/{i}/bookmarks" for i in company.ids])
        self.communities = pa.array([company.community_iri(x.slug) for x in company.communities])
        self.item_prefix = pa.array([f"{company.social}/{p}/" for p in ITEM_PATHS])
        self.types = pa.array(AS2_TYPES)
        self.activity_prefix = f'{{"id":"{company.social}/activities/'
        self.next_id = 1
        self.verbs: Counter[str] = Counter()
        self.seen = np.zeros(company.n, dtype=bool)
        self.index = {f"mailto:{e}": i for i, e in enumerate(company.emails)}

    def people_seen(self) -> list[int]:
        """Employees who appear in the file (as actor, object or recipient)."""
        return np.flatnonzero(self.seen).tolist()

    def close(self) -> None:
        self.file.close()

    # -- pieces -----------------------------------------------------------------------------
    def _m(self, people: np.ndarray) -> pa.Array:
        return self.mailto.take(pa.array(people))

    def _iri(self, kind: np.ndarray, no: np.ndarray) -> pa.Array:
        return _join(self.item_prefix.take(pa.array(kind.astype(np.int64))), pa.array(no).cast(pa.string()))

    def _creates(self, c: Creates) -> pa.Array:
        actor = self._m(c.author)
        ts = _stamp(c.time)
        obj = self._iri(c.kind, c.no)
        kind = self.types.take(pa.array(c.kind.astype(np.int64)))
        context = self.communities.take(pa.array(c.container))
        if c.title is not None:
            return _join(
                '"type":"Create","actor":"', actor, '","published":"', ts, '","object":{"id":"', obj,
                '","type":"', kind, '","name":"', c.title, '","content":"', c.text, '","tag":', c.tags,
                ',"context":"', context, '","attributedTo":"', actor, '","published":"', ts, '"}}',
            )
        parent = self._iri(c.parent_kind, c.parent_no)
        return _join(
            '"type":"Create","actor":"', actor, '","published":"', ts, '","object":{"id":"', obj,
            '","type":"', kind, '","content":"', c.text, '","inReplyTo":"', parent, '","context":"', context,
            '","attributedTo":"', actor, '","published":"', ts, '"},"to":["', self._m(c.parent_author), '"]}',
        )

    def _reactions(self, r: Reactions) -> pa.Array:
        head = ('"type":"', r.verb, '","actor":"', self._m(r.actor), '","object":"', self._iri(r.item_kind, r.item_no),
                '","published":"', _stamp(r.time), '"')
        if r.verb == "View":
            return _join(*head, "}")
        if r.verb == "Add":
            return _join(*head, ',"target":"', self.bookmarks.take(pa.array(r.actor)), '"}')
        if r.verb == "Vote":
            value = pa.array(np.where(r.value > 0, "1", "-1"))
            return _join(*head, ',"value":', value, ',"to":["', self._m(r.author), '"]}')
        if r.verb == "Accept":
            return _join(*head, ',"to":["', self._m(r.author), '"],"context":{"item":"',
                         self._iri(r.ctx_kind, r.ctx_no), '"}}')
        return _join(*head, ',"to":["', self._m(r.author), '"]}')

    def _people(self, p: PersonActs) -> pa.Array:
        actor, person, ts = self._m(p.actor), self._m(p.person), _stamp(p.time)
        if p.verb == "Follow":
            return _join('"type":"Follow","actor":"', actor, '","object":"', person, '","published":"', ts, '"}')
        if p.verb == "Mention":
            return _join('"type":"Mention","actor":"', actor, '","object":{"type":"Person","id":"', person,
                         '"},"published":"', ts, '","context":{"item":"', self._iri(p.ctx_kind, p.ctx_no), '"}}')
        # Kudos: the context says what for (an item, a meeting, an opportunity and its account).
        items = self._iri(np.maximum(p.ctx_kind, 0), p.ctx_no).to_pylist()
        contexts = []
        for no, item, meeting, opp, account in zip(p.ctx_no.tolist(), items, p.ctx_meeting, p.ctx_opportunity,
                                                   p.ctx_account, strict=True):
            ctx = {}
            if no >= 0:
                ctx["item"] = item
            if meeting:
                ctx["meeting"] = meeting
            if opp:
                ctx["opportunity"] = opp
            if account:
                ctx["account"] = account
            contexts.append(orjson.dumps(ctx).decode())
        return _join('"type":"Kudos","actor":"', actor, '","object":"', person, '","published":"', ts,
                     '","to":["', person, '"],"content":"', p.text, '","context":', pa.array(contexts), "}")

    # -- a slice ------------------------------------------------------------------------------
    def write(self, s: Slice) -> int:
        bodies: list[pa.Array] = []
        times: list[np.ndarray] = []
        for arr in [c.author for c in s.creates] + [r.actor for r in s.reactions] + [r.author for r in s.reactions] \
                + [p.actor for p in s.people] + [p.person for p in s.people]:
            self.seen[arr] = True
        if s.joins is not None:
            self.seen[s.joins.actor] = True
        for _, e in s.planned:
            for value in (e.get("actor"), e.get("object"), e.get("target")):
                if isinstance(value, str) and value in self.index:
                    self.seen[self.index[value]] = True
        for c in s.creates:
            bodies.append(self._creates(c))
            times.append(c.time)
            self.verbs["Create"] += len(c.no)
        for r in s.reactions:
            bodies.append(self._reactions(r))
            times.append(r.time)
            self.verbs[r.verb] += len(r.actor)
        for p in s.people:
            bodies.append(self._people(p))
            times.append(p.time)
            self.verbs[p.verb] += len(p.actor)
        if s.joins is not None and len(s.joins.actor):
            j = s.joins
            bodies.append(_join('"type":"Join","actor":"', self._m(j.actor), '","object":"',
                                self.communities.take(pa.array(j.community)), '","published":"', _stamp(j.time), '"}'))
            times.append(j.time)
            self.verbs["Join"] += len(j.actor)
        if s.planned:
            bodies.append(pa.array([orjson.dumps(e).decode()[1:] for _, e in s.planned]))
            times.append(np.array([t for t, _ in s.planned], dtype=np.int64))
            self.verbs.update(e["type"] for _, e in s.planned)
        if not bodies:
            return 0
        body = pa.concat_arrays([b.cast(pa.string()) for b in bodies])
        order = np.argsort(np.concatenate(times), kind="stable")
        body = body.take(pa.array(order))
        n = len(body)
        ids = pa.array(np.arange(self.next_id, self.next_id + n)).cast(pa.string())
        self.next_id += n
        lines = _join(self.activity_prefix, ids, '",', body, "\n")
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=n + 1, offset=lines.offset * 4)
        data = lines.buffers()[2]
        self.file.write(memoryview(data)[offsets[0]:offsets[-1]])
        return n
