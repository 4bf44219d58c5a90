"""The canonical model: people, items, events and their context.

Every connector turns its source into these shapes; everything downstream
(store, pipeline, web) reads only these. Vocabulary follows W3C Activity
Streams 2.0 (https://www.w3.org/TR/activitystreams-vocabulary/) plus the few
verbs the domain needs. See docs/model.md.

Rows travel as Arrow tables (the schemas below), never as per-row Python
objects, so that ingest stays fast and memory stays flat. The dataclasses
are for code that builds a handful of records (tests, kudos, the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa

# --- verbs ---------------------------------------------------------------
AS2_VERBS = (
    "Create", "Update", "Delete", "Like", "Dislike", "Announce", "Add", "View",
    "Follow", "Tag", "Invite", "Join", "Leave", "Remove", "Flag", "Read",
)
DOMAIN_VERBS = ("Accept", "Vote", "Kudos", "Attend", "Mention", "Reply")
VERBS: frozenset[str] = frozenset(AS2_VERBS + DOMAIN_VERBS)
"""Every verb the store accepts. `Read` is folded into `View` by connectors;
`Reply` and `Mention` are kept distinct because metrics weigh them apart."""

VERB_ALIASES = {
    "read": "View", "view": "View", "share": "Announce", "announce": "Announce",
    "bookmark": "Add", "favorite": "Add", "add": "Add", "like": "Like",
    "dislike": "Dislike", "create": "Create", "post": "Create", "update": "Update",
    "edit": "Update", "delete": "Delete", "follow": "Follow", "tag": "Tag",
    "invite": "Invite", "join": "Join", "leave": "Leave", "remove": "Remove",
    "flag": "Flag", "accept": "Accept", "vote": "Vote", "kudos": "Kudos",
    "attend": "Attend", "mention": "Mention", "reply": "Reply",
}
"""Case-insensitive spellings accepted from loose sources (CSV, chat)."""

# --- item kinds ------------------------------------------------------------
ITEM_KINDS: frozenset[str] = frozenset({
    "post", "comment", "question", "answer", "message", "file", "wiki", "link",
    "meeting", "opportunity", "account", "email", "event", "page", "tagwiki",
})

# AS2 object types -> item kind
AS2_OBJECT_KINDS = {
    "Note": "post", "Article": "post", "Page": "page", "Document": "file",
    "Image": "file", "Video": "file", "Audio": "file", "Question": "question",
    "Answer": "answer", "Comment": "comment", "Message": "message", "Event": "meeting",
    "Link": "link", "Wiki": "wiki", "Opportunity": "opportunity", "Email": "email",
}

# What the object of an event is.
OBJECT_ITEM = "item"
OBJECT_PERSON = "person"


# --- Arrow schemas: the wire format between sources and the store --------------
PROVENANCE_FIELDS = [
    pa.field("file", pa.string()),   # source file the record came from
    pa.field("line", pa.int64()),    # line or record number in that file (1-based)
    pa.field("raw", pa.string()),    # the record's raw text, kept for the quarantine
]

EVENT_SCHEMA = pa.schema([
    pa.field("source", pa.string()),
    pa.field("native_id", pa.string()),
    pa.field("time", pa.timestamp("us")),  # UTC, naive
    pa.field("actor", pa.string()),        # identity key, NULL = anonymous
    pa.field("verb", pa.string()),
    pa.field("object", pa.string()),       # item id or identity key
    pa.field("object_type", pa.string()),  # 'item' | 'person'
    pa.field("target", pa.string()),
    pa.field("recipients", pa.list_(pa.string())),
    pa.field("value", pa.float64()),       # vote +1/-1, amounts, durations
    pa.field("ctx_meeting", pa.string()),
    pa.field("ctx_account", pa.string()),
    pa.field("ctx_opportunity", pa.string()),
    pa.field("ctx_item", pa.string()),
    pa.field("extra", pa.string()),        # JSON text
    *PROVENANCE_FIELDS,
])

ITEM_SCHEMA = pa.schema([
    pa.field("item_id", pa.string()),
    pa.field("source", pa.string()),
    pa.field("native_id", pa.string()),
    pa.field("kind", pa.string()),
    pa.field("author", pa.string()),       # identity key
    pa.field("parent_id", pa.string()),
    pa.field("container", pa.string()),
    pa.field("title", pa.string()),
    pa.field("text", pa.string()),
    pa.field("tags", pa.list_(pa.string())),
    pa.field("created", pa.timestamp("us")),
    pa.field("url", pa.string()),
    pa.field("extra", pa.string()),
    *PROVENANCE_FIELDS,
])

PROFILE_SCHEMA = pa.schema([
    pa.field("source", pa.string()),
    pa.field("native_id", pa.string()),
    pa.field("identities", pa.list_(pa.string())),  # identity keys this profile owns
    pa.field("display_name", pa.string()),
    pa.field("emails", pa.list_(pa.string())),
    pa.field("handles", pa.list_(pa.string())),
    pa.field("manager_ref", pa.string()),  # identity key of the manager
    pa.field("department", pa.string()),
    pa.field("location", pa.string()),
    pa.field("title", pa.string()),
    pa.field("role", pa.string()),
    pa.field("start_date", pa.date32()),
    pa.field("is_external", pa.bool_()),
    pa.field("organization", pa.string()),
    pa.field("extra", pa.string()),
    *PROVENANCE_FIELDS,
])

REJECT_SCHEMA = pa.schema([
    pa.field("source", pa.string()),
    pa.field("file", pa.string()),
    pa.field("line", pa.int64()),
    pa.field("field", pa.string()),
    pa.field("reason", pa.string()),
    pa.field("raw", pa.string()),
])


# --- identity keys -------------------------------------------------------------
def email_identity(address: str) -> str:
    """The identity key of an e-mail address (case-folded)."""
    return "email:" + address.strip().lower()


def source_identity(source: str, native_id: str) -> str:
    """The identity key of a source-native account, e.g. `hr:E042`."""
    return f"{source}:{native_id}"


# --- dataclasses for small, hand-built records ---------------------------------
@dataclass(slots=True)
class Context:
    """Business context of an event: what it was about."""

    meeting: str | None = None
    account: str | None = None
    opportunity: str | None = None
    item: str | None = None


@dataclass(slots=True)
class Person:
    person_id: str
    display_name: str | None = None
    emails: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)
    manager_id: str | None = None
    department: str | None = None
    location: str | None = None
    title: str | None = None
    role: str | None = None
    start_date: date | None = None
    is_external: bool = False
    organization: str | None = None


@dataclass(slots=True)
class Item:
    item_id: str
    kind: str
    author: str | None = None
    parent_id: str | None = None
    container: str | None = None
    title: str | None = None
    text: str | None = None
    tags: list[str] = field(default_factory=list)
    created: datetime | None = None


@dataclass(slots=True)
class Event:
    source: str
    native_id: str
    time: datetime
    actor: str | None
    verb: str
    object: str | None = None
    object_type: str = OBJECT_ITEM
    target: str | None = None
    recipients: list[str] = field(default_factory=list)
    value: float | None = None
    context: Context = field(default_factory=Context)
    extra: dict | None = None

    @property
    def event_id(self) -> str:
        return f"{self.source}:{self.native_id}"
