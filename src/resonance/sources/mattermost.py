"""Mattermost bulk export (JSONL: one `{"type": ..., "<type>": {...}}` object per line).

The same model as Slack (docs/connectors.md#mattermost):
- `user` -> profile `mattermost:<username>` + `email:`, name, position as title;
- `post` -> item kind `message` (`mattermost-post:<team>/<channel>/<create_at>/<user>`:
  bulk exports carry no post ids, so the id is what identifies a post), container
  `mattermost:<team>/<channel>`, `Create` by the author; each of its `replies` an item
  whose parent is the post;
- `reactions` -> `Like` per user and emoji at the reaction's own time (`extra.emoji`);
- `@username` of a known user -> `Mention` (object = the person);
- `attachments` -> items kind `file` (parent = the post) with a `Create`;
- `direct_post` -> a message in `mattermost:direct/<members>`, addressed (recipients)
  to the other members.
Lines of other types (version, team, channel, emoji, ...) are read and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from resonance.identity.normalize import email_keys, is_address, parse_domain_aliases
from resonance.sources.base import BatchBuilder, Source, SourceError, open_binary
from resonance.store.loader import Batch

SOURCE = "mattermost"
_MENTION = re.compile(r"(?<![\w@.])@([a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9])", re.IGNORECASE)
SKIPPED_TYPES = frozenset({"version", "team", "channel", "direct_channel", "emoji", "scheme", "role", "bot"})


class MattermostSource(Source):
    kind = "mattermost"
    summary = "Mattermost bulk export (JSONL): users, posts, replies, reactions, mentions, files, DMs"
    option_help = {"domain_aliases": "alias:canonical e-mail domain pairs, comma-separated"}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.aliases = parse_domain_aliases(options.get("domain_aliases"))

    def read(self, path: Path) -> Iterator[Batch]:
        yield from self.read_all([path])

    def read_all(self, paths: Sequence[Path]) -> Iterator[Batch]:
        files: list[Path] = []
        for path in paths:
            path = Path(path)
            if not path.exists():
                raise SourceError(f"{path}: no such file or folder")
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and ".jsonl" in p.name.lower())
                         if path.is_dir() else [path])
        out = BatchBuilder(SOURCE)
        records: list[tuple[str, int, str, dict[str, Any], str]] = []
        users: set[str] = set()
        for file in files:  # users first: mentions are checked against them
            with open_binary(file) as f:
                for n, raw_line in enumerate(f, start=1):
                    if not raw_line.strip():
                        continue
                    text = raw_line.decode("utf-8", "replace").rstrip("\r\n")
                    try:
                        record = orjson.loads(raw_line)
                    except orjson.JSONDecodeError as exc:
                        out.reject(str(file), n, "json", f"malformed JSON: {exc}", text)
                        continue
                    kind = record.get("type") if isinstance(record, dict) else None
                    body = record.get(kind) if kind else None
                    if not isinstance(body, dict):
                        if kind not in SKIPPED_TYPES:
                            out.reject(str(file), n, "type", f"no {kind!r} object in the record", text)
                        continue
                    if kind == "user" and body.get("username"):
                        users.add(str(body["username"]).lower())
                    records.append((str(file), n, kind, body, text))
        for file, n, kind, body, text in records:
            if kind == "user":
                self._user(out, file, n, body, text)
            elif kind in ("post", "direct_post"):
                self._post(out, file, n, body, text, users, direct=kind == "direct_post")
            yield from out.flush_if_full()
        yield from out.flush()

    def _user(self, out: BatchBuilder, file: str, line: int, user: dict[str, Any], raw: str) -> None:
        username = user.get("username")
        if not username:
            out.reject(file, line, "username", "user without username", raw)
            return
        email = (user.get("email") or "").strip()
        identities = [f"mattermost:{username.lower()}"] + (email_keys(email, self.aliases) if is_address(email) else [])
        name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or user.get("nickname")
        out.profile(native_id=username.lower(), identities=identities, display_name=name or username,
                    emails=[email.lower()] if is_address(email) else [], handles=[username],
                    title=user.get("position") or None, file=file, line=line, raw=raw)

    def _post(self, out: BatchBuilder, file: str, line: int, post: dict[str, Any], raw: str, users: set[str],
              direct: bool) -> None:
        author = str(post.get("user") or "").lower()
        when = _ms_time(post.get("create_at"))
        if not author:
            out.reject(file, line, "user", "post without user", raw)
            return
        if when is None:
            out.reject(file, line, "create_at", f"missing or unparseable create_at {post.get('create_at')!r}", raw)
            return
        if direct:
            members = sorted({str(m).lower() for m in post.get("channel_members") or []} | {author})
            where = "direct/" + ",".join(members)
            recipients = [f"mattermost:{m}" for m in members if m != author]
        else:
            where = f"{post.get('team') or ''}/{post.get('channel') or ''}"
            recipients = []
        container = f"mattermost:{where}"
        post_id = f"mattermost-post:{where}/{post['create_at']}/{author}"
        self._message(out, file, line, raw, post, post_id, None, author, when, container, recipients, users)
        for reply in post.get("replies") or []:
            if not isinstance(reply, dict):
                continue
            r_author = str(reply.get("user") or "").lower()
            r_when = _ms_time(reply.get("create_at"))
            if not r_author or r_when is None:
                out.reject(file, line, "replies", "reply without user or create_at", orjson.dumps(reply).decode())
                continue
            reply_id = f"mattermost-post:{where}/{reply['create_at']}/{r_author}"
            self._message(out, file, line, raw, reply, reply_id, post_id, r_author, r_when, container, recipients,
                          users)

    def _message(self, out: BatchBuilder, file: str, line: int, raw: str, post: dict[str, Any], item_id: str,
                 parent: str | None, author: str, when: datetime, container: str, recipients: list[str],
                 users: set[str]) -> None:
        actor = f"mattermost:{author}"
        native = item_id.removeprefix("mattermost-post:")
        text = post.get("message") or ""
        out.item(item_id=item_id, native_id=native, kind="message", author=actor, parent_id=parent,
                 container=container, text=text or None, tags=[], created=when, file=file, line=line, raw=raw)
        out.event(native_id=f"post:{native}", time=when, actor=actor, verb="Create", object=item_id,
                  object_type="item", target=container, recipients=recipients, file=file, line=line, raw=raw)
        for reaction in post.get("reactions") or []:
            if not isinstance(reaction, dict) or not reaction.get("user") or not reaction.get("emoji_name"):
                continue
            who, emoji = str(reaction["user"]).lower(), reaction["emoji_name"]
            out.event(native_id=f"react:{native}:{emoji}:{who}", time=_ms_time(reaction.get("create_at")) or when,
                      actor=f"mattermost:{who}", verb="Like", object=item_id, object_type="item", target=container,
                      extra=orjson.dumps({"emoji": emoji}).decode(), file=file, line=line, raw=raw)
        for mentioned in dict.fromkeys(m.lower() for m in _MENTION.findall(text)):
            if mentioned in users and mentioned != author:
                out.event(native_id=f"mention:{native}:{mentioned}", time=when, actor=actor, verb="Mention",
                          object=f"mattermost:{mentioned}", object_type="person", target=container,
                          ctx_item=item_id, file=file, line=line, raw=raw)
        for n, attachment in enumerate(post.get("attachments") or []):
            path = attachment.get("path") if isinstance(attachment, dict) else None
            if not path:
                continue
            file_item = f"{item_id}/file/{n}"
            out.item(item_id=file_item, native_id=f"{native}/file/{n}", kind="file", author=actor, parent_id=item_id,
                     container=container, title=Path(str(path)).name, tags=[], created=when, url=str(path),
                     file=file, line=line, raw=raw)
            out.event(native_id=f"file:{native}/{n}", time=when, actor=actor, verb="Create", object=file_item,
                      object_type="item", target=container, ctx_item=item_id, file=file, line=line, raw=raw)


def _ms_time(value: Any) -> datetime | None:
    """Mattermost's create_at (milliseconds since the epoch) -> naive UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        ms = int(value)
    except ValueError:
        return None
    if not 0 < ms < 7_000_000_000_000:
        return None
    return datetime.fromtimestamp(ms // 1000, UTC).replace(tzinfo=None, microsecond=(ms % 1000) * 1000)
