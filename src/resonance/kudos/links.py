"""Signed one-click kudos links, for meeting follow-up e-mails, CRM records and business apps.

A link is `<base>/k/<payload>.<signature>`:
- payload: base64url of a small JSON object `{"v": 1, "g": giver, "r": receiver,
  "c": {"m": meeting, "a": account, "o": opportunity, "i": item}, "x": expiry}` (person
  ids, context ids, expiry in Unix seconds);
- signature: base64url of HMAC-SHA256 over `v1.<payload>` with a key derived from the
  server secret for this purpose only (`store/secret.py`).

Changing any character of the payload (another receiver, a later expiry) or of the
signature breaks the signature (compared as canonical text, in constant time); a link
past its expiry is refused; following a link twice records the kudos once (the kudos'
idempotency key), so a replay changes nothing. Links carry no secret of
the giver and no session: whoever holds the link can send that one thank-you, nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import duckdb

from resonance.kudos.context import meeting_participants, resolve_context
from resonance.kudos.rules import KudosError, KudosRules
from resonance.privacy.consent import consent_granted
from resonance.store.secret import derived_key, server_secret

VERSION = 1
PURPOSE = "kudos-link/v1"
MAX_TOKEN_LENGTH = 4096


class LinkError(ValueError):
    """A link that must be refused. `reason`: malformed | forged | expired."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class KudosLink:
    giver_id: str
    receiver_id: str
    meeting: str | None
    account: str | None
    opportunity: str | None
    item: str | None
    expires: int  # Unix seconds

    @property
    def context(self) -> dict[str, str | None]:
        return {"meeting": self.meeting, "account": self.account, "opportunity": self.opportunity, "item": self.item}


def link_key(con: duckdb.DuckDBPyConnection, configured_secret: str | None) -> bytes:
    """The signing key of links: derived from the server secret (generated and kept if none is set)."""
    return derived_key(server_secret(con, configured_secret), PURPOSE)


def sign_link(key: bytes, link: KudosLink) -> str:
    """The token (`payload.signature`) for a link."""
    ctx = {k: v for k, v in (("m", link.meeting), ("a", link.account), ("o", link.opportunity), ("i", link.item)) if v}
    payload = {"v": VERSION, "g": link.giver_id, "r": link.receiver_id, "c": ctx, "x": int(link.expires)}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64(_mac(key, body))}"


def verify_link(key: bytes, token: str, now: float | None = None) -> KudosLink:
    """The link a token stands for, if its signature is right and it has not expired; else LinkError."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise LinkError("malformed", "This kudos link is incomplete or damaged: copy the whole link and try again.")
    body, signature = token.split(".")
    if not signature or any(c not in _B64_ALPHABET for c in signature):
        raise LinkError("malformed", "This kudos link is damaged: copy the whole link and try again.")
    # Compare the signature's canonical text, not its decoded bytes: base64 decoders ignore the
    # unused low bits of the last character, so decoding first would let an altered link through.
    if not hmac.compare_digest(signature.encode(), _b64(_mac(key, body)).encode()):
        raise LinkError(
            "forged",
            "This kudos link is not valid: it was not made by this Resonance server, or it was changed after.",
        )
    try:
        data = json.loads(_unb64(body))
        ctx = data.get("c") or {}
        link = KudosLink(
            giver_id=str(data["g"]),
            receiver_id=str(data["r"]),
            meeting=ctx.get("m"),
            account=ctx.get("a"),
            opportunity=ctx.get("o"),
            item=ctx.get("i"),
            expires=int(data["x"]),
        )
        if data.get("v") != VERSION:
            raise ValueError("version")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LinkError("malformed", "This kudos link is not one this server understands.") from None
    if (now if now is not None else time.time()) >= link.expires:
        day = time.strftime("%Y-%m-%d", time.gmtime(link.expires))
        raise LinkError("expired", f"This kudos link expired on {day}. Ask for a new one, or thank them in Resonance.")
    return link


def meeting_links(
    con: duckdb.DuckDBPyConnection,
    key: bytes,
    meeting: str,
    base_url: str,
    rules: KudosRules,
    giver_id: str | None = None,
    now: float | None = None,
) -> dict:
    """One link per colleague on a meeting, for its organiser (or `giver_id`) to thank them.

    Returns {"meeting", "title", "account", "account_name", "giver_id", "giver_name", "expires",
    "links": [{"receiver_id", "name", "email", "role", "url"}]}. External attendees (customers)
    get no link: kudos go to colleagues in the directory."""
    ctx = resolve_context(con, meeting=meeting)
    people = meeting_participants(con, ctx.meeting or meeting)
    organizer = next((p for p, role in people.items() if role == "organizer"), None)
    giver = giver_id or organizer
    if giver is None:
        raise KudosError(f"The meeting {ctx.meeting_title or meeting!r} has no organiser in the store.", 404, "meeting")
    expires = int((now if now is not None else time.time()) + rules.link_days * 86400)
    rows = con.execute(
        """SELECT person_id, display_name, emails[1], coalesce(is_external, false), len(coalesce(sources, []))
           FROM people WHERE person_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY display_name, person_id""",
        [[p for p in people if p != giver]],
    ).fetchall()
    links = []
    for person_id, name, email, external, sources in rows:
        if external or not sources or not consent_granted(con, person_id, "kudos"):
            continue
        token = sign_link(key, KudosLink(giver, person_id, ctx.meeting, ctx.account, None, None, expires))
        links.append({"receiver_id": person_id, "name": name, "email": email, "role": people[person_id],
                      "url": f"{base_url.rstrip('/')}/k/{token}"})
    giver_name = con.execute("SELECT display_name FROM people WHERE person_id = ?", [giver]).fetchall()
    return {
        "meeting": ctx.meeting,
        "title": ctx.meeting_title,
        "account": ctx.account,
        "account_name": ctx.account_name,
        "giver_id": giver,
        "giver_name": giver_name[0][0] if giver_name else None,
        "expires": expires,
        "links": links,
    }


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, f"v{VERSION}.{body}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_ALPHABET for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
