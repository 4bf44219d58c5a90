"""The chat endpoints through the real server: Slack's v0 signature (valid, invalid, stale, missing),
handle resolution, value tags and customer context, the Slack answer format; Mattermost's token."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from tests.kudos.conftest import MATTERMOST_TOKEN, SLACK_SECRET

from resonance.kudos.slack import parse_command, slack_signature

SLACK = "/api/integrations/slack/kudos"
MATTERMOST = "/api/integrations/mattermost/kudos"
VALUES = ("customer-first", "teamwork")


def slack_post(server, form: dict, secret: str = SLACK_SECRET, ts: int | None = None, sign: bool = True):
    body = urlencode(form).encode()
    stamp = str(int(time.time()) if ts is None else ts)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if sign:
        headers |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": slack_signature(secret, stamp, body)}
    return server.client().post(SLACK, content=body, headers=headers)


def command(text: str, user: str = "U0CHLOE") -> dict:
    return {"token": "ignored", "team_id": "T1", "command": "/kudos", "user_id": user, "user_name": "chloe",
            "text": text, "response_url": "https://hooks.slack.com/commands/x"}


def test_parse_command():
    c = parse_command("<@U0ADA|ada.brook> for the Globex review #teamwork #yolo", VALUES)
    assert (c.receiver, c.message, c.tags) == ("<@U0ADA|ada.brook>", "for the Globex review #yolo", ["teamwork"])
    assert parse_command("@ada.brook thanks! #Customer-First", VALUES).tags == ["customer-first"]
    assert parse_command("ada.brook@acme.example great", VALUES).receiver == "ada.brook@acme.example"
    assert parse_command("thanks everyone", VALUES).receiver is None


def test_slack_signed_command_records_kudos_once(kserver, ids):
    sql = "SELECT count(*) FROM kudos WHERE channel = 'slack'"
    form = command("<@U0ADA|ada.brook> for the Globex review #teamwork")
    r = slack_post(kserver, form)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["response_type"] == "in_channel"
    assert "Ada Brook" in answer["text"] and "Globex Industries" in answer["text"] and "#teamwork" in answer["text"]
    stored = kserver.rows("""SELECT giver_id, receiver_id, ctx_account, value_tags, message FROM kudos
                             WHERE channel = 'slack'""")
    assert stored == [("hr:E09", "hr:E03", ids["account"], ["teamwork"], "for the Globex review")]
    # Slack retries, or someone replays the captured request within 5 minutes: nothing new.
    r = slack_post(kserver, form)
    assert r.json()["response_type"] == "ephemeral" and "already thanked" in r.json()["text"]
    assert kserver.rows(sql)[0][0] == 1
    # A plain handle works too (apps that do not escape mentions).
    r = slack_post(kserver, command("@omar.farouk@acme.example nice call"))
    assert r.status_code == 200 and "Omar Farouk" in r.json()["text"]


def test_slack_bad_signatures_are_refused(kserver):
    before = kserver.rows("SELECT count(*) FROM kudos")[0][0]
    form = command("<@U0ADA|ada.brook> forged")
    refused = [
        slack_post(kserver, form, secret="not-the-signing-secret"),
        slack_post(kserver, form, ts=int(time.time()) - 6 * 60),  # correctly signed, but stale
        slack_post(kserver, form, ts=int(time.time()) + 6 * 60),
        slack_post(kserver, form, sign=False),
    ]
    for r in refused:
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json", r.text
    assert "stale" in refused[1].json()["detail"]
    # A valid signature over another body does not transfer.
    body = urlencode(form).encode()
    stamp = str(int(time.time()))
    r = kserver.client().post(SLACK, content=body + b"&text=x", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(SLACK_SECRET, stamp, body)})
    assert r.status_code == 401
    assert kserver.rows("SELECT count(*) FROM kudos")[0][0] == before


def test_slack_answers_explain_problems(kserver):
    r = slack_post(kserver, command("<@U0ADA|ada.brook> thanks", user="U0UNKNOWN"))
    assert r.status_code == 200 and r.json()["response_type"] == "ephemeral"
    assert "does not know your chat account" in r.json()["text"]
    r = slack_post(kserver, command("<@U0CHLOE|chloe> me, myself"))
    assert "No kudos sent" in r.json()["text"] and "yourself" in r.json()["text"]
    r = slack_post(kserver, command("help"))
    assert "/kudos @alice" in r.json()["text"] and "#teamwork" in r.json()["text"]


def test_mattermost_token(kserver):
    form = {"token": MATTERMOST_TOKEN, "user_id": "mm1", "user_name": "chloe", "trigger_word": "kudos",
            "text": "kudos @ada.brook for the onboarding docs"}
    r = kserver.client().post(MATTERMOST, data=form)
    assert r.status_code == 200 and "Ada Brook" in r.json()["text"], r.text
    assert kserver.rows("SELECT count(*) FROM kudos WHERE channel = 'mattermost'")[0][0] == 1
    r = kserver.client().post(MATTERMOST, data={**form, "token": "wrong"})
    assert r.status_code == 401
    r = kserver.client().post(MATTERMOST, json={**form, "token": MATTERMOST_TOKEN})
    assert r.status_code == 200 and "already thanked" in r.json()["text"]
