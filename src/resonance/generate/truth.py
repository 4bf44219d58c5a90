"""Truth tables: what really is, so tests and benchmarks can measure the product.

- `identities.csv`: every alias of every person in every source
  (person_id, kind, source, alias as written, identity key as the store spells it).
  Employees have their directory id; customer contacts a `C…` id.
- `lookalikes.csv`: pairs of different people with the same name or first name.
- `behaviour.csv`: each employee's behaviour type and activity level.
- `reaction_ring.csv`: the planted mutual-admiration ring.
- `deal_helpers.csv`: who really helped which won opportunity, how, and the evidence.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from resonance.generate.company import BEHAVIOURS, Company
from resonance.generate.customers import Customers


def identity_key(source_kind: str, value: str) -> str:
    """The identity key the store uses for an alias (docs/model.md)."""
    if source_kind == "email":
        return "email:" + value.strip().lower()
    return f"{source_kind}:{value}"


class Truth:
    """Collects aliases as writers use them; writes every truth table at the end."""

    def __init__(self, company: Company, customers: Customers) -> None:
        self.c = company
        self.customers = customers
        self._aliases: dict[tuple[str, str, str], str] = {}  # (person, source, alias) -> identity

    def alias(self, person: int, source: str, alias: str, kind: str = "email") -> None:
        """Employee `person` appears in `source` as `alias` (an e-mail or a native id of `kind`)."""
        self._aliases.setdefault((self.c.ids[person], source, alias), identity_key(kind, alias))

    def contact_alias(self, contact: int, source: str, alias: str, kind: str = "email") -> None:
        truth_id = self.customers.contacts[contact].truth_id
        self._aliases.setdefault((truth_id, source, alias), identity_key(kind, alias))

    def write(self, folder: Path, ring: np.ndarray | None) -> dict[str, int]:
        folder.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        rows = sorted((pid, src, alias, ident) for (pid, src, alias), ident in self._aliases.items())
        counts["identities.csv"] = _write(folder / "identities.csv",
                                          ["person_id", "source", "alias", "identity"], rows)
        c = self.c
        counts["lookalikes.csv"] = _write(
            folder / "lookalikes.csv", ["person_a", "person_b", "name_a", "name_b", "kind"],
            [(c.ids[a], c.ids[b], c.names[a], c.names[b], kind) for a, b, kind in c.lookalikes],
        )
        counts["behaviour.csv"] = _write(
            folder / "behaviour.csv", ["person_id", "email", "behaviour", "activity_level"],
            [(c.ids[i], c.emails[i], BEHAVIOURS[int(c.behaviour[i])], f"{c.activity[i]:.4f}") for i in range(c.n)],
        )
        if ring is not None:
            counts["reaction_ring.csv"] = _write(
                folder / "reaction_ring.csv", ["ring_id", "person_id", "email", "name"],
                [("ring-1", c.ids[i], c.emails[i], c.names[i]) for i in ring.tolist()],
            )
            cust = self.customers
            counts["deal_helpers.csv"] = _write(
                folder / "deal_helpers.csv",
                ["opportunity_id", "opportunity_name", "account_id", "close_date", "amount", "person_id",
                 "email", "how", "time", "evidence"],
                [
                    (cust.opportunities[h.opportunity].id, cust.opportunities[h.opportunity].name,
                     cust.accounts[cust.opportunities[h.opportunity].account].id,
                     cust.opportunities[h.opportunity].close.isoformat(), cust.opportunities[h.opportunity].amount,
                     c.ids[h.person], c.emails[h.person], h.how, _iso(h.time), h.evidence)
                    for h in sorted(self.customers.helps, key=lambda h: (h.opportunity, h.time, h.person))
                ],
            )
        return counts


def _iso(t: int) -> str:
    return str(np.datetime64(t, "s")) + "Z"


def _write(path: Path, header: list[str], rows: list) -> int:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return len(rows)
