"""Sharing a review: only the employee creates the link, only their manager opens it (signed in),
every view is in the access log, and a revoked link is refused."""

from __future__ import annotations

import pytest
from tests.web.conftest import Web

pytestmark = pytest.mark.xdist_group("web")


def test_share_view_log_revoke(web: Web):
    ada, mara, liam, hana = (web.client(w) for w in ("employee", "manager", "other", "analyst"))
    csrf = web.csrf(ada)
    created = ada.post("/api/me/review/shares", json={"period": "2025-H2"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    share = created.json()
    assert (
        share["recipient_id"] == "hr:E02" and share["active"] and share["url"].startswith(web.base + "/shared/review/")
    )
    path = share["url"][len(web.base) :]
    before = web.rows("SELECT count(*) FROM access_log WHERE subject_person_id = 'hr:E03' AND username = 'mara'")[0][0]

    page = mara.get(path)
    assert page.status_code == 200 and "Shared with you" in page.text and "Ada Brook" in page.text
    assert "Kudos" in page.text and "<svg" in page.text
    logged = web.rows(
        """SELECT username, role, endpoint, purpose FROM access_log WHERE subject_person_id = 'hr:E03'
           AND username = 'mara' ORDER BY access_id DESC LIMIT 1"""
    )
    assert logged[0] == ("mara", "manager", path, f"shared review #{share['share_id']}")
    assert (
        web.rows("SELECT count(*) FROM access_log WHERE subject_person_id = 'hr:E03' AND username = 'mara'")[0][0]
        == before + 1
    )
    # The link is useless to anyone else, signed in or not.
    assert liam.get(path).status_code == 404 and hana.get(path).status_code == 404
    assert web.client().get(path).status_code == 303
    # Ada sees the view in her list and in her access log.
    mine = ada.get("/api/me/review/shares").json()
    assert next(s for s in mine if s["share_id"] == share["share_id"])["views"] == 1
    assert any(e["username"] == "mara" for e in ada.get("/api/me/access-log").json()["items"])
    # Mara's inbox lists it; nobody else can revoke it.
    assert any(s["share_id"] == share["share_id"] for s in mara.get("/api/shared/reviews").json())
    other = liam.delete(f"/api/me/review/shares/{share['share_id']}", headers={"X-CSRF-Token": web.csrf(liam)})
    assert other.status_code == 404

    revoked = ada.delete(f"/api/me/review/shares/{share['share_id']}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200 and not revoked.json()["active"]
    refused = mara.get(path)
    assert refused.status_code == 410 and "no longer shared" in refused.text.lower()
    assert (
        web.rows("SELECT count(*) FROM access_log WHERE subject_person_id = 'hr:E03' AND username = 'mara'")[0][0]
        == before + 1
    )
    audit = web.rows(
        "SELECT action, by_user, via FROM review_share_log WHERE share_id = ? ORDER BY change_id", [share["share_id"]]
    )
    assert audit == [("create", "ada", "api"), ("revoke", "ada", "api")]


def test_review_downloads(web: Web):
    ada = web.client("employee")
    html = ada.get("/api/me/review/report", params={"period": "2025-H2", "format": "html"})
    assert html.status_code == 200 and html.text.lower().startswith("<!doctype html>")
    pdf = ada.get("/api/me/review/report", params={"period": "2025-H2", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert ada.get("/api/me/review/report", params={"period": "1999-01"}).status_code == 404


def test_advice_api_is_private_and_explained(web: Web):
    ada = web.client("employee")
    doc = ada.get("/api/me/advice").json()
    assert doc["person_id"] == "hr:E03" and doc["peers"]["group"] == "role"
    for a in doc["advice"]:
        assert a["text"] and a["assumption"] and 0 <= a["effect"]["new_percentile"] <= 100
        assert a["effect"]["new_percentile"] >= a["effect"]["percentile"]
    assert web.client("admin").get("/api/me/advice").status_code == 403
