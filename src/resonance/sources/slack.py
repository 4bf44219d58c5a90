"""Slack workspace export (a .zip or its unpacked folder).

Layout: `users.json`, `channels.json` (and `groups.json`, `mpims.json`, `dms.json`
for private conversations when the export has them), then one folder per
conversation with a file per day, `<channel>/<YYYY-MM-DD>.json`, each a JSON list
of messages.

Mapping (docs/connectors.md#slack):
- message -> item kind `message` (`slack-msg:<channel id>:<ts>`), container
  `slack:#<channel>`, `Create` event by its author; a thread reply has the thread's
  parent message as `parent_id`;
- reaction -> one `Like` per reacting user and emoji (`extra.emoji`); Slack exports
  carry no reaction time, so the event takes the message's time;
- `<@U…>` mention -> `Mention` event, object = the mentioned person (`slack:U…`);
- shared file -> item kind `file` (`slack-file:<file id>`, parent = the message) with
  its own `Create`; shared link -> `Announce` event whose object is the URL;
- user -> profile with identity `slack:<UserId>` and `email:` from profile.email.

Zip archives are read in memory, never extracted; entries with unsafe names (absolute,
`..`) are quarantined, sizes and counts are capped against zip bombs.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from resonance.identity.normalize import email_keys, parse_domain_aliases
from resonance.sources.base import BatchBuilder, Source, SourceError
from resonance.store.loader import Batch

SOURCE = "slack"
CONVERSATION_FILES = ("channels.json", "groups.json", "mpims.json", "dms.json")
SYSTEM_SUBTYPES = frozenset({
    "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name", "channel_archive",
    "channel_unarchive", "group_join", "group_leave", "group_topic", "group_purpose", "group_name",
    "pinned_item", "unpinned_item", "reminder_add", "tombstone",
})
"""Workspace bookkeeping, not anyone's contribution: read and skipped (counted in no metric)."""

DEFAULT_LIMITS = {
    "max_entries": 200_000,            # entries in a zip
    "max_total_bytes": 8 << 30,        # uncompressed bytes read from a zip, all entries
    "max_entry_bytes": 1 << 30,        # uncompressed bytes of one entry
    "max_ratio": 200,                  # uncompressed/compressed of one entry above 1 MiB
}

# Never across a "<": markup that never closes must not make each match scan to the end of a
# long message (quadratic time).
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_LINK = re.compile(r"<(https?://[^<>|\s]+)(?:\|[^<>]*)?>")
_TS = re.compile(r"^\d{1,12}(?:\.\d{1,9})?$")
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


class SlackSource(Source):
    kind = "slack"
    summary = "Slack export (zip or folder): messages, threads, reactions, mentions, files, links, users"
    option_help = {
        "domain_aliases": "alias:canonical e-mail domain pairs, comma-separated",
        "max_entries": f"zip: most entries read (default {DEFAULT_LIMITS['max_entries']:,})",
        "max_total_bytes": f"zip: most uncompressed bytes in all (default {DEFAULT_LIMITS['max_total_bytes']:,})",
        "max_entry_bytes": f"zip: most uncompressed bytes per entry (default {DEFAULT_LIMITS['max_entry_bytes']:,})",
        "max_ratio": f"zip: highest compression ratio of an entry (default {DEFAULT_LIMITS['max_ratio']})",
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.aliases = parse_domain_aliases(options.get("domain_aliases"))
        self.limits = {k: int(options.get(k) or v) for k, v in DEFAULT_LIMITS.items()}

    def read(self, path: Path) -> Iterator[Batch]:
        out = BatchBuilder(SOURCE)
        if path.is_dir():
            files = _FolderExport(path)
        elif zipfile.is_zipfile(path):
            files = _ZipExport(path, self.limits, out)
        else:
            raise SourceError(f"{path}: not a Slack export (expected a .zip or a folder with users.json)")
        try:
            yield from self._read_export(files, out)
        finally:
            files.close()

    # -- the export ------------------------------------------------------------------
    def _read_export(self, files: _Export, out: BatchBuilder) -> Iterator[Batch]:
        names = files.names()
        if "users.json" not in names and not any(n.endswith("/users.json") for n in names):
            raise SourceError(f"{files.label}: not a Slack export (no users.json)")
        root = _root_of(names)
        users = self._load_list(files, out, root + "users.json") or []
        for line, user in enumerate(users, start=1):
            self._user(out, files.label_of(root + "users.json"), line, user)
        yield from out.flush_if_full()

        channels: dict[str, dict[str, Any]] = {}  # folder name -> conversation
        for conv_file in CONVERSATION_FILES:
            for conv in self._load_list(files, out, root + conv_file) or []:
                if isinstance(conv, dict) and conv.get("id"):
                    folder = conv.get("name") or conv["id"]
                    channels[folder] = conv
        for name in sorted(names):
            if not name.startswith(root):
                continue
            rel = PurePosixPath(name[len(root):])
            if len(rel.parts) != 2 or not _DAY_FILE.match(rel.parts[1]):
                continue
            folder = rel.parts[0]
            conv = channels.get(folder) or {"id": folder, "name": folder}
            messages = self._load_list(files, out, name)
            if messages is None:
                continue
            label = files.label_of(name)
            for line, message in enumerate(messages, start=1):
                self._message(out, label, line, conv, message)
                yield from out.flush_if_full()
        yield from out.flush()

    @staticmethod
    def _load_list(files: _Export, out: BatchBuilder, name: str) -> list[Any] | None:
        """A JSON list from the export, or None (quarantined when it is broken)."""
        data = files.read(name)
        if data is None:
            return None
        label = files.label_of(name)
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            out.reject(label, 1, "json", f"malformed JSON: {exc}", data[:65536].decode("utf-8", "replace"))
            return None
        if not isinstance(value, list):
            out.reject(label, 1, "json", "expected a JSON list", data[:65536].decode("utf-8", "replace"))
            return None
        return value

    # -- records ---------------------------------------------------------------------------
    def _user(self, out: BatchBuilder, file: str, line: int, user: Any) -> None:
        if not isinstance(user, dict) or not user.get("id"):
            out.reject(file, line, "id", "user without id", _raw(user))
            return
        profile = user.get("profile") or {}
        email = (profile.get("email") or "").strip()
        identities = [f"slack:{user['id']}"] + (email_keys(email, self.aliases) if "@" in email else [])
        name = (profile.get("real_name") or user.get("real_name") or profile.get("display_name")
                or user.get("name"))
        extra = {k: user[k] for k in ("is_bot", "deleted", "tz") if user.get(k) is not None}
        out.profile(
            native_id=user["id"], identities=identities, display_name=name or None,
            emails=[email.lower()] if "@" in email else [], handles=[user["name"]] if user.get("name") else [],
            title=profile.get("title") or None, extra=orjson.dumps(extra).decode() if extra else None,
            file=file, line=line, raw=_raw(user),
        )

    def _message(self, out: BatchBuilder, file: str, line: int, conv: dict[str, Any], msg: Any) -> None:
        if not isinstance(msg, dict):
            out.reject(file, line, "message", "message is not a JSON object", _raw(msg))
            return
        if msg.get("subtype") in SYSTEM_SUBTYPES:
            return
        ts = msg.get("ts")
        when = _ts_time(ts)
        if when is None:
            out.reject(file, line, "ts", f"missing or unparseable ts {ts!r}", _raw(msg))
            return
        author_id = msg.get("user") or msg.get("bot_id")
        if not author_id:
            out.reject(file, line, "user", "message without user", _raw(msg))
            return
        channel_id = conv["id"]
        author = f"slack:{author_id}"
        item_id = f"slack-msg:{channel_id}:{ts}"
        container = f"slack:#{conv.get('name') or channel_id}"
        thread_ts = msg.get("thread_ts")
        parent = f"slack-msg:{channel_id}:{thread_ts}" if thread_ts and thread_ts != ts else None
        text = msg.get("text") or ""
        raw = _raw(msg)
        extra: dict[str, Any] = {}
        if msg.get("subtype"):
            extra["subtype"] = msg["subtype"]
        links = list(dict.fromkeys(_LINK.findall(text)))
        for att in msg.get("attachments") or []:
            url = isinstance(att, dict) and (att.get("from_url") or att.get("title_link"))
            if url and url not in links:
                links.append(url)
        if links:
            extra["links"] = links
        extra_json = orjson.dumps(extra).decode() if extra else None
        out.item(item_id=item_id, native_id=f"{channel_id}:{ts}", kind="message", author=author,
                 parent_id=parent, container=container, title=None, text=text or None, tags=[],
                 created=when, extra=extra_json, file=file, line=line, raw=raw)
        out.event(native_id=f"msg:{channel_id}:{ts}", time=when, actor=author, verb="Create", object=item_id,
                  object_type="item", target=container, extra=extra_json, file=file, line=line, raw=raw)
        for reaction in msg.get("reactions") or []:
            if not isinstance(reaction, dict) or not reaction.get("name"):
                continue
            emoji = reaction["name"]
            for user in dict.fromkeys(reaction.get("users") or []):
                out.event(native_id=f"react:{channel_id}:{ts}:{emoji}:{user}", time=when, actor=f"slack:{user}",
                          verb="Like", object=item_id, object_type="item", target=container,
                          extra=orjson.dumps({"emoji": emoji}).decode(), file=file, line=line, raw=raw)
        for mentioned in dict.fromkeys(_MENTION.findall(text)):
            out.event(native_id=f"mention:{channel_id}:{ts}:{mentioned}", time=when, actor=author,
                      verb="Mention", object=f"slack:{mentioned}", object_type="person", target=container,
                      ctx_item=item_id, file=file, line=line, raw=raw)
        for n, url in enumerate(links):
            out.event(native_id=f"link:{channel_id}:{ts}:{n}", time=when, actor=author, verb="Announce",
                      object=url, object_type="item", target=container, ctx_item=item_id,
                      file=file, line=line, raw=raw)
        for f in msg.get("files") or []:
            if not isinstance(f, dict) or not f.get("id") or f.get("mode") == "tombstone":
                continue
            file_item = f"slack-file:{f['id']}"
            created = _ts_time(f.get("created")) or when
            out.item(item_id=file_item, native_id=f"file:{f['id']}", kind="file", author=author, parent_id=item_id,
                     container=container, title=f.get("title") or f.get("name"), text=None, tags=[],
                     created=created, url=f.get("permalink") or f.get("url_private"),
                     extra=orjson.dumps({k: f[k] for k in ("name", "mimetype", "filetype", "size") if k in f}
                                        ).decode(),
                     file=file, line=line, raw=raw)
            out.event(native_id=f"file:{channel_id}:{ts}:{f['id']}", time=when, actor=author, verb="Create",
                      object=file_item, object_type="item", target=container, ctx_item=item_id,
                      file=file, line=line, raw=raw)


def _raw(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


def _ts_time(ts: Any) -> datetime | None:
    """Slack's `ts` ("1614265000.000200", seconds since the epoch) -> naive UTC, exact to
    the microsecond (the string is split, never rounded through a float)."""
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        ts = f"{ts:.6f}"
    if not isinstance(ts, str) or not _TS.match(ts):
        return None
    seconds, _, fraction = ts.partition(".")
    if not 0 < int(seconds) < 7_000_000_000:
        return None
    micros = int((fraction + "000000")[:6])
    return datetime.fromtimestamp(int(seconds), UTC).replace(tzinfo=None, microsecond=micros)


def _root_of(names: set[str]) -> str:
    """The folder inside the export holding users.json ('' when at the top)."""
    if "users.json" in names:
        return ""
    candidates = sorted((n for n in names if n.endswith("/users.json")), key=len)
    return candidates[0][: -len("users.json")]


# --- where the files come from: a folder or a zip ------------------------------------------
class _Export:
    label: str

    def names(self) -> set[str]:
        raise NotImplementedError

    def read(self, name: str) -> bytes | None:
        raise NotImplementedError

    def label_of(self, name: str) -> str:
        return f"{self.label}/{name}"

    def close(self) -> None:
        pass


class _FolderExport(_Export):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)

    def names(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*.json") if p.is_file()}

    def read(self, name: str) -> bytes | None:
        path = self.root / name
        return path.read_bytes() if path.is_file() else None


class _ZipExport(_Export):
    """Entries of a zip, read in memory with limits; unsafe entries quarantined."""

    def __init__(self, path: Path, limits: dict[str, int], out: BatchBuilder) -> None:
        self.label = str(path)
        self.limits = limits
        self.out = out
        self.total = 0
        self.exhausted = False
        try:
            self.zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise SourceError(f"{path}: unreadable zip: {exc}") from exc
        infos = self.zf.infolist()
        if len(infos) > limits["max_entries"]:
            self.zf.close()
            raise SourceError(
                f"{path}: {len(infos):,} entries, more than the limit of {limits['max_entries']:,} "
                "(a zip bomb? raise --option max_entries=N if the export is genuine)"
            )
        self.entries: dict[str, zipfile.ZipInfo] = {}
        for n, info in enumerate(infos, start=1):
            if info.is_dir():
                continue
            if not _safe_name(info.filename):
                out.reject(self.label_of(info.filename), n, "path",
                           "unsafe path in zip (absolute or '..'): entry not read", info.filename)
                continue
            self.entries[info.filename] = info

    def names(self) -> set[str]:
        return {n for n in self.entries if n.endswith(".json")}

    def read(self, name: str) -> bytes | None:
        info = self.entries.get(name)
        if info is None:
            return None
        label = self.label_of(name)
        limits = self.limits
        if self.exhausted:
            self.out.reject(label, None, "size", f"not read: the zip's total of {limits['max_total_bytes']:,} "
                            "uncompressed bytes was reached", name)
            return None
        if info.file_size > limits["max_entry_bytes"] or (
            info.file_size > (1 << 20) and info.file_size > limits["max_ratio"] * max(info.compress_size, 1)
        ):
            self.out.reject(label, None, "size",
                            f"entry too large or too compressed ({info.file_size:,} bytes from "
                            f"{info.compress_size:,}): a zip bomb? not read", name)
            return None
        budget = min(limits["max_entry_bytes"], limits["max_total_bytes"] - self.total)
        # Declared sizes can lie: read at most the budget plus one byte and check.
        with self.zf.open(info) as f:
            data = f.read(budget + 1)
        if len(data) > budget:
            if budget < limits["max_entry_bytes"]:
                self.exhausted = True
            self.out.reject(label, None, "size", f"entry inflates beyond {budget:,} bytes (declared "
                            f"{info.file_size:,}): a zip bomb? not read", name)
            return None
        self.total += len(data)
        return data

    def close(self) -> None:
        self.zf.close()


def _safe_name(name: str) -> bool:
    """Zip entry names we accept: relative, no `..`, no drive letters or backslashes."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return False
    return ".." not in PurePosixPath(name).parts
