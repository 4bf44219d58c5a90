"""SCIM 2.0 (RFC 7643/7644) exports: `scim/Users.json` and `scim/Groups.json`, ListResponse documents.

Every employee is a User with the enterprise extension (`employeeNumber` = the
directory id, `department`, `organization`, `manager` as the manager's SCIM id),
`userName` the work e-mail (capitalised for a few), `emails`, `title`,
`addresses`. Groups: one per department and one of all people managers.
Users.json is streamed resource by resource, so 100k users cost no memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from resonance.generate.company import Company

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _stream(path: Path, resources: Any, total: int) -> None:
    with open(path, "wb") as f:
        f.write(b'{"schemas":["' + LIST.encode() + b'"],"totalResults":' + str(total).encode()
                + b',"itemsPerPage":' + str(total).encode() + b',"startIndex":1,"Resources":[\n')
        for k, resource in enumerate(resources):
            f.write((b",\n" if k else b"") + orjson.dumps(resource))
        f.write(b"\n]}\n")


def write(world: Any, out: Path, progress: Any) -> dict[str, Any]:
    c: Company = world.company
    truth = world.truth
    folder = out / "scim"
    folder.mkdir(parents=True, exist_ok=True)
    base = f"https://scim.{c.domain}/scim/v2"
    starts = c.start_date.astype(str).tolist()

    def users() -> Any:
        for p in range(c.n):
            user_name = world.aliases.scim_username(p)
            truth.alias(p, "scim", c.scim_ids[p], "scim")
            truth.alias(p, "scim", c.ids[p], "hr")  # employeeNumber
            truth.alias(p, "scim", user_name)
            truth.alias(p, "scim", c.emails[p])
            city, country, *_ = c.locations[int(c.location[p])]
            enterprise: dict[str, Any] = {
                "employeeNumber": c.ids[p], "organization": c.name,
                "department": c.departments[int(c.dept[p])],
            }
            m = int(c.manager[p])
            if m >= 0:
                enterprise["manager"] = {"value": c.scim_ids[m], "$ref": f"{base}/Users/{c.scim_ids[m]}",
                                         "displayName": c.names[m]}
            yield {
                "schemas": [USER, ENTERPRISE], "id": c.scim_ids[p], "externalId": c.ids[p], "userName": user_name,
                "name": {"formatted": c.names[p], "givenName": c.first[p], "familyName": c.last[p]},
                "displayName": c.names[p], "title": c.titles[p], "active": True,
                "emails": [{"value": c.emails[p], "type": "work", "primary": True}],
                "addresses": [{"type": "work", "locality": city, "country": country, "primary": True}],
                ENTERPRISE: enterprise,
                "meta": {"resourceType": "User", "created": f"{starts[p]}T09:00:00Z",
                         "lastModified": f"{c.end.isoformat()}T00:00:00Z", "location": f"{base}/Users/{c.scim_ids[p]}"},
            }
            if p % 5000 == 0:
                progress("scim", p, c.n)

    _stream(folder / "Users.json", users(), c.n)

    groups = []
    for d, name in enumerate(c.departments):
        members = c.dept_members(d).tolist()
        if members:
            groups.append((f"dept-{d:02d}", name, members))
    groups.append(("managers", "People Managers", [p for p in range(c.n) if c.reports[p] > 0]))

    def group_resources() -> Any:
        for gid, name, members in groups:
            yield {
                "schemas": [GROUP], "id": f"{gid}-{c.domain.split('.')[0]}", "displayName": name,
                "members": [{"value": c.scim_ids[p], "$ref": f"{base}/Users/{c.scim_ids[p]}", "display": c.names[p]}
                            for p in members],
                "meta": {"resourceType": "Group", "location": f"{base}/Groups/{gid}"},
            }

    _stream(folder / "Groups.json", group_resources(), len(groups))
    progress("scim", c.n, c.n)
    return {"scim": {"records": c.n + len(groups), "users": c.n, "groups": len(groups)}}
