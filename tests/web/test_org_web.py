"""The org dashboard's API through the real server: managers see their subtree, analysts the company,
figures respect k, nothing names a member, exports are formula-safe."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from tests.web.company import PEOPLE
from tests.web.conftest import Web

pytestmark = pytest.mark.xdist_group("web")

TEAM_NAMES = {name for pid, name, manager, *_ in PEOPLE if manager == "E02"}


def _all_sizes(doc: dict) -> list[int]:
    return [g["size"] for g in doc.get("groups", [])] + ([doc["scope"]["size"]] if doc.get("scope") else [])


def test_manager_sees_their_organisation_and_nothing_about_a_single_report(web: Web):
    mara = web.client("manager")
    rollup = mara.get("/api/org/rollup", params={"by": "manager"}).json()
    assert rollup["min_group_size"] == 5
    assert rollup["scope"] is None or rollup["scope"]["label"] == "Organisation of Mara Quinn"
    assert all(size >= 5 for size in _all_sizes(rollup))
    flow = mara.get("/api/org/flow").json()
    trends = mara.get("/api/org/trends").json()
    key = mara.get("/api/org/key-person").json()
    page = mara.get("/org").text
    for doc in (json.dumps(rollup), json.dumps(flow), json.dumps(trends), json.dumps(key), page):
        for name in TEAM_NAMES:
            assert name not in doc, name
        for pid in ("hr:E03", "hr:E04", "hr:E05", "hr:E06", "hr:E07", "hr:E08"):
            assert pid not in doc
    assert trends["size"] in (5, 6) and all(0 <= p["adoption"] <= 1 for p in trends["points"])
    assert all(u["size"] >= 5 for u in flow["units"])
    assert all(
        t["held_by"] in (1, 2) and set(t) == {"topic", "held_by", "concentration", "rank"} for t in key["topics"]
    )


def test_a_manager_cannot_widen_the_scope(web: Web):
    mara = web.client("manager")
    # Outside the subtree: the filter only narrows, it never reaches Sales.
    sales = mara.get("/api/org/rollup", params={"by": "department", "department": "Sales"}).json()
    assert sales["groups"] == [] and sales["scope"] is None
    assert mara.get("/api/org/rollup", params={"by": "manager", "unit": "hr:E09"}).status_code == 404


def test_analyst_sees_the_company_and_k_holds(web: Web):
    hana = web.client("analyst")
    for by in ("department", "location", "role", "manager"):
        doc = hana.get("/api/org/rollup", params={"by": by}).json()
        assert all(size >= 5 for size in _all_sizes(doc))
        assert doc["suppressed"] >= 1  # the hand-built company has several units under 5 people


def test_export_csv_and_parquet(web: Web):
    hana = web.client("analyst")
    r = hana.get("/api/org/export", params={"by": "location", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert all(int(row["size"]) >= 5 for row in rows)
    assert {"unit", "size", "activity_median", "knowledge_value_p75", "persona_engager"} <= set(
        rows[0] if rows else {"unit", "size", "activity_median", "knowledge_value_p75", "persona_engager"}
    )
    p = hana.get("/api/org/export", params={"by": "location", "format": "parquet"})
    assert p.status_code == 200 and p.content[:4] == b"PAR1"
    table = pq.read_table(io.BytesIO(p.content))
    assert table.num_rows == len(rows)


def test_employees_and_admins_get_no_aggregates(web: Web):
    for who in ("employee", "admin"):
        r = web.client(who).get("/api/org/rollup")
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
