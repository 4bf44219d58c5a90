"""How each source spells each person: the aliases identity resolution has to undo.

Real sources disagree: chat profiles lack e-mails, CRM users type their address
with capitals, mail clients use plus-addressing or a legacy domain, the
directory lists some handles but not all. Decisions are drawn once per person
from the seed, so every writer spells a person the same way, and every
alias a writer uses is recorded in the truth table (`truth.py`).
"""

from __future__ import annotations

import numpy as np

from resonance.generate.company import Company
from resonance.generate.seeds import stream

PLUS_TAGS = ("lists", "work", "crm", "travel", "news")


def case_variant(address: str) -> str:
    """`dana.scully@acme.example` -> `Dana.Scully@Acme.example` (same mailbox, different spelling)."""
    local, _, domain = address.partition("@")
    local = ".".join(part[:1].upper() + part[1:] for part in local.split("."))
    return f"{local}@{domain[:1].upper()}{domain[1:]}"


class Aliases:
    """Per-person spelling decisions, per source."""

    def __init__(self, company: Company) -> None:
        self.c = company
        rng = stream(company.seed, "aliases")
        n = company.n
        u = rng.random((n, 8))
        self.directory_lists_slack = u[:, 0] < 0.88
        self.directory_lists_crm = u[:, 1] < 0.5
        self.directory_lists_github = (u[:, 2] < 0.5) & (
            company.dept == company.departments.index("Engineering")
        )
        # Slack profile e-mail: canonical, capitalised, or missing.
        self.slack_email = np.where(u[:, 3] < 0.85, 0, np.where(u[:, 3] < 0.93, 1, 2))
        # Mail sender style: canonical only, or also capitalised / plus-addressed / legacy domain.
        self.mail_style = np.where(u[:, 4] < 0.8, 0, np.where(u[:, 4] < 0.88, 1, np.where(u[:, 4] < 0.95, 2, 3)))
        self.plus_tag = rng.integers(len(PLUS_TAGS), size=n)
        self.crm_caps = u[:, 5] < 0.15
        self.scim_caps = u[:, 6] < 0.2
        self.calendar_caps = u[:, 7] < 0.1

    def github(self, p: int) -> str:
        """A GitHub login, unique like the e-mail it derives from (`dana.scully2` -> `dana-scully2`)."""
        return self.c.emails[p].split("@")[0].replace(".", "-")

    def slack_profile_email(self, p: int) -> str | None:
        style = int(self.slack_email[p])
        email = self.c.emails[p]
        return email if style == 0 else case_variant(email) if style == 1 else None

    def mail_variant(self, p: int) -> str:
        """The other address this person sometimes sends from (canonical for most)."""
        email = self.c.emails[p]
        style = int(self.mail_style[p])
        local, _, domain = email.partition("@")
        if style == 1:
            return case_variant(email)
        if style == 2:
            return f"{local}+{PLUS_TAGS[int(self.plus_tag[p])]}@{domain}"
        if style == 3:
            return f"{local}@{self.c.alias_domain}"
        return email

    def crm_email(self, p: int) -> str:
        return case_variant(self.c.emails[p]) if self.crm_caps[p] else self.c.emails[p]

    def scim_username(self, p: int) -> str:
        return case_variant(self.c.emails[p]) if self.scim_caps[p] else self.c.emails[p]

    def calendar_address(self, p: int) -> str:
        return case_variant(self.c.emails[p]) if self.calendar_caps[p] else self.c.emails[p]
