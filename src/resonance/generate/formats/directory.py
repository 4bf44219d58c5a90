"""The HR directory CSV, read by the `directory` connector without a column map.

Header: `id,name,email,manager_id,department,location,title,role,start_date,handles`;
`handles` lists identity keys separated by `;` (`slack:U…;crm:005…;github:…`):
the directory is the authority that ties a person's chat and CRM accounts to them.
"""

from __future__ import annotations

import csv
from pathlib import Path

from resonance.generate.aliases import Aliases
from resonance.generate.company import Company
from resonance.generate.truth import Truth

HEADER = ["id", "name", "email", "manager_id", "department", "location", "title", "role", "start_date", "handles"]


def write_directory(company: Company, aliases: Aliases, crm_users: set[int], truth: Truth, path: Path) -> int:
    c = company
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        starts = c.start_date.astype(str).tolist()
        for p in range(c.n):
            handles = []
            if aliases.directory_lists_slack[p]:
                handles.append(f"slack:{c.slack_ids[p]}")
                truth.alias(p, "directory", c.slack_ids[p], "slack")
            if p in crm_users and aliases.directory_lists_crm[p]:
                handles.append(f"crm:{c.crm_ids[p]}")
                truth.alias(p, "directory", c.crm_ids[p], "crm")
            if aliases.directory_lists_github[p]:
                login = aliases.github(p)
                handles.append(f"github:{login}")
                truth.alias(p, "directory", login, "github")
            m = int(c.manager[p])
            w.writerow([
                c.ids[p], c.names[p], c.emails[p], c.ids[m] if m >= 0 else "", c.departments[int(c.dept[p])],
                c.locations[int(c.location[p])][0], c.titles[p], c.roles[p], starts[p], ";".join(handles),
            ])
            truth.alias(p, "directory", c.ids[p], "hr")
            truth.alias(p, "directory", c.emails[p])
    return c.n
