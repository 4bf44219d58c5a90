"""CRM exports in Salesforce style: `crm/Account.csv`, `Contact.csv`, `Opportunity.csv`,
`OpportunityTeamMember.csv`, `User.csv`.

Ids are 15-character Salesforce ids (`001…` accounts, `003…` contacts, `006…`
opportunities, `005…` users). `User.csv` (Id, Email, Name) links CRM users to
employees: owners, deal-team members, Sales and Customer Success, the CEO;
some typed their e-mail with capitals. Opportunities are open, won or lost;
won ones are the deals whose helpers the truth table names.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from resonance.generate.aliases import case_variant
from resonance.generate.company import Company
from resonance.generate.seeds import stream


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> int:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return len(rows)


def write(world: Any, out: Path, progress: Any) -> dict[str, Any]:
    c: Company = world.company
    cust = world.customers
    truth = world.truth
    rng = stream(c.seed, "crm")
    folder = out / "crm"
    folder.mkdir(parents=True, exist_ok=True)
    progress("crm", 0, 1)

    users = []
    for p in cust.crm_users:
        email = world.aliases.crm_email(p)
        users.append([c.crm_ids[p], email, c.names[p]])
        truth.alias(p, "crm", c.crm_ids[p], "crm")
        truth.alias(p, "crm", email)
    accounts = [[a.id, a.name, a.industry, c.crm_ids[a.owner]] for a in cust.accounts]
    contacts = []
    for ci, ct in enumerate(cust.contacts):
        email = case_variant(ct.email) if rng.random() < 0.1 else ct.email
        contacts.append([ct.id, cust.accounts[ct.account].id, email, ct.name, ct.title])
        truth.contact_alias(ci, "crm", ct.id, "crm")
        truth.contact_alias(ci, "crm", email)
    opps = [
        [o.id, cust.accounts[o.account].id, o.name, o.stage, f"{o.amount:.2f}", o.close.isoformat(),
         c.crm_ids[o.owner], str(o.is_closed).lower(), str(o.is_won).lower(), f"{o.created.isoformat()}T09:00:00Z"]
        for o in cust.opportunities
    ]
    # Team members join when the deal is opened (Salesforce exports carry CreatedDate on both).
    team = [
        [o.id, c.crm_ids[p], role, f"{o.created.isoformat()}T09:00:00Z"]
        for o in cust.opportunities for p, role in o.team
    ]
    counts = {
        "User.csv": _write(folder / "User.csv", ["Id", "Email", "Name"], users),
        "Account.csv": _write(folder / "Account.csv", ["Id", "Name", "Industry", "OwnerId"], accounts),
        "Contact.csv": _write(folder / "Contact.csv", ["Id", "AccountId", "Email", "Name", "Title"], contacts),
        "Opportunity.csv": _write(
            folder / "Opportunity.csv",
            ["Id", "AccountId", "Name", "StageName", "Amount", "CloseDate", "OwnerId", "IsClosed", "IsWon",
             "CreatedDate"], opps),
        "OpportunityTeamMember.csv": _write(
            folder / "OpportunityTeamMember.csv", ["OpportunityId", "UserId", "TeamMemberRole", "CreatedDate"], team),
    }
    progress("crm", 1, 1)
    won = sum(o.is_won for o in cust.opportunities)
    open_ = sum(not o.is_closed for o in cust.opportunities)
    return {"crm": {"records": sum(counts.values()), **counts, "won": won, "open": open_}}
