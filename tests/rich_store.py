"""A store with something in every component: the web tests' company (directory, items,
reactions, kudos with messages, a quarantined record), accounts, consent, the access log
and computed metrics. For backup round-trips and the right-to-be-forgotten test."""

from __future__ import annotations

from tests.web.company import build_company

from resonance.privacy.consent import set_consent
from resonance.privacy.guard import Principal, log_access
from resonance.store import Store
from resonance.web.accounts import create_token, create_user, ensure_auth_schema


def fill(store: Store, metrics: bool = True) -> dict:
    con = store.con
    ids = build_company(con)
    ensure_auth_schema(con)
    ada = create_user(con, "ada", "correct-horse-battery", "employee", person="hr:E03")
    create_user(con, "liam", "correct-horse-battery", "employee", person="hr:E04")
    create_user(con, "root", "correct-horse-battery", "admin")
    create_token(con, "ada", "integration", actor="ada")
    set_consent(con, "hr:E03", "expert_finding", False, changed_by="ada", via="web")
    set_consent(con, "hr:E04", "analytics", False, changed_by="liam", via="web")
    log_access(con, Principal(ada.user_id, "ada", "employee", "hr:E03"), "hr:E03", "/api/me/metrics", "dashboard")
    if metrics:
        from resonance.metrics.pipeline import run_pipeline

        run_pipeline(con, periods=["month"])
    return ids
