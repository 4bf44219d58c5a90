"""Kudos from chat: a Slack-compatible `/kudos` slash command, and a Mattermost webhook.

    /kudos @alice for the Acme review #customer-first

Slack signs every request (https://api.slack.com/authentication/verifying-requests-from-slack):
`X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>" under the app's
signing secret>` and `X-Slack-Request-Timestamp`. A request is accepted only with a valid
signature and a timestamp within 5 minutes of now (a captured request cannot be replayed
later; within the window a replay records nothing new, kudos being idempotent).

The giver is the Slack user who typed the command (`slack:<user_id>`); the receiver is the
mention (`<@U123|alice>` when the app escapes users, else `@alice`, an e-mail address),
resolved through identity resolution; `#tags` that are company values become value tags;
a customer named in the message becomes the kudos' account context. The answer is in
Slack's response format (`{"response_type": "in_channel" | "ephemeral", "text": ...}`).

Mattermost: an outgoing webhook or a slash command sends a form (or JSON) with its
`token`, checked in constant time against `Settings.mattermost_token`; the giver is
`mattermost:<user_id>` if the store knows it, else the sender's handle (`user_name`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from resonance.kudos.context import PersonRef, guess_account, resolve_person
from resonance.kudos.operations import give_kudos
from resonance.kudos.rules import KudosError, KudosRules, normalise_tag

TOLERANCE_SECONDS = 300
USAGE = (
    "Give kudos with context: `/kudos @alice for the Acme review #customer-first`. "
    "Name a customer in the message to link the kudos to it; tags from the company's values: {values}."
)


class SignatureError(ValueError):
    """A chat request whose signature or token is missing, wrong or stale."""


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` value Slack sends for `body` at `timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> None:
    """Raise SignatureError unless the request is signed with `secret` within the last 5 minutes."""
    if not timestamp or not signature:
        raise SignatureError("missing X-Slack-Signature or X-Slack-Request-Timestamp")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("X-Slack-Request-Timestamp is not a number") from None
    if abs((now if now is not None else time.time()) - ts) > TOLERANCE_SECONDS:
        raise SignatureError("stale request: the timestamp is more than 5 minutes from now")
    if not hmac.compare_digest(slack_signature(secret, timestamp, body).encode(), signature.encode()):
        raise SignatureError("the signature does not match")


def verify_token(expected: str, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise SignatureError("the token does not match")


@dataclass(frozen=True, slots=True)
class ChatCommand:
    receiver: str | None
    message: str
    tags: list[str]


_MENTION = re.compile(r"^(<@[A-Z0-9]+(?:\|[^>]*)?>|@?[\w.+\-]+@[\w.\-]+\.\w+|@[\w.\-]+)")


def parse_command(text: str, values: tuple[str, ...]) -> ChatCommand:
    """`@alice for the Acme review #teamwork` -> receiver, message, value tags (other #words stay text)."""
    text = (text or "").strip()
    m = _MENTION.match(text)
    receiver = m.group(1) if m else None
    if receiver and receiver.startswith("@") and "@" in receiver[1:]:
        receiver = receiver[1:]  # `@dana@acme.example`: an e-mail address typed as a mention
    rest = text[m.end():].strip() if m else text
    tags: list[str] = []
    kept: list[str] = []
    for word in rest.split():
        tag = normalise_tag(word) if word.startswith("#") else ""
        if tag and tag in values:
            if tag not in tags:
                tags.append(tag)
        else:
            kept.append(word)
    return ChatCommand(receiver, " ".join(kept), tags)


def handle_chat(
    con: duckdb.DuckDBPyConnection,
    giver_refs: list[str],
    text: str,
    rules: KudosRules,
    channel: str,
    giver_mention: str | None = None,
) -> dict[str, str]:
    """Run a `/kudos` command; returns the answer as Slack's response JSON (Mattermost reads it too)."""
    usage = USAGE.format(values=", ".join(f"#{v}" for v in rules.values) or "none configured")
    cmd = parse_command(text, rules.values)
    if not cmd.receiver or text.strip().lower() in ("help", "?"):
        return {"response_type": "ephemeral", "text": usage}
    giver: PersonRef | None = None
    for ref in giver_refs:
        try:
            giver = resolve_person(con, ref, "giver")
            break
        except KudosError:
            continue
    if giver is None:
        return {
            "response_type": "ephemeral",
            "text": "Resonance does not know your chat account yet: it is linked to you when the directory "
            "or a chat export is imported. Ask your Resonance admin.",
        }
    try:
        receiver = resolve_person(con, cmd.receiver, "receiver")
        account = guess_account(con, cmd.message)
        result = give_kudos(
            con, giver, receiver, rules, account=account, message=cmd.message or None, values=cmd.tags,
            channel=channel, actor=f"{channel}:{giver_refs[0] if giver_refs else '?'}",
        )
    except KudosError as exc:
        return {"response_type": "ephemeral", "text": f"No kudos sent: {exc}"}
    k = result.kudos
    about = f" ({k['account_name']})" if k.get("account_name") else ""
    tags = " " + " ".join(f"#{t}" for t in k["values"]) if k["values"] else ""
    who = giver_mention or giver.display_name or "Someone"
    if not result.created:
        return {"response_type": "ephemeral",
                "text": f"You already thanked {k['receiver_name']} for this{about}; nothing changed."}
    message = f": “{k['message']}”" if k.get("message") else ""
    return {
        "response_type": "in_channel" if rules.chat_in_channel else "ephemeral",
        "text": f":clap: {who} thanked {k['receiver_name']}{about}{message}{tags}",
    }


def slack_givers(form: Mapping[str, str]) -> list[str]:
    """Who typed a Slack command: `slack:<user_id>` only. Slack's `user_name` is a display name users
    may change, so it never identifies the giver (else anyone could thank as someone else)."""
    return [f"slack:{form['user_id']}"] if form.get("user_id") else []


def mattermost_givers(form: Mapping[str, str]) -> list[str]:
    """`mattermost:<user_id>` when the store knows it, else the Mattermost username as a handle
    (Mattermost usernames are unique on a server; see docs/kudos.md for the trust this implies)."""
    refs = []
    if form.get("user_id"):
        refs.append(f"mattermost:{form['user_id']}")
    if form.get("user_name"):
        refs.append("@" + form["user_name"])
    return refs


def mattermost_text(form: Mapping[str, str]) -> str:
    """The command's text without its trigger word (`kudos @alice ...` from an outgoing webhook)."""
    text = (form.get("text") or "").strip()
    trigger = (form.get("trigger_word") or "").strip()
    if trigger and text.lower().startswith(trigger.lower()):
        text = text[len(trigger):].strip()
    return text
