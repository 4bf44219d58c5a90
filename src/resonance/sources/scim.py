"""SCIM 2.0 (RFC 7643) Users and Groups as a directory source.

Input: a ListResponse JSON document (`{"Resources": [...]}`), a JSON array, one
resource, or NDJSON (one resource per line); files or a folder (e.g. `Users.json`
and `Groups.json`), gzip ok. All files of one ingest are read together so that
group memberships land on the users.

A User becomes a profile (source `scim`, ranked just below the HR directory):
- identities `scim:<id>`, every `emails[].value` and an address `userName` as
  `email:` keys, and `hr:<employeeNumber>` from the enterprise extension (the HR
  id the directory connector uses: strong evidence that links the two);
- display name (`displayName`, else `name.formatted`, else given + family name),
  `title`, `userType` as role, the work address's locality as location;
- enterprise extension: `department`, `manager.value` (-> `scim:<id>` of the
  manager), `organization`, `division`, `costCenter` (in `extra`);
- `active` in `extra` (inactive users stay: their history still counts).
Groups become `extra.groups` (display names) on each member's profile.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from resonance.identity.normalize import email_keys, is_address, parse_domain_aliases
from resonance.sources.base import BatchBuilder, Source, SourceError, open_binary
from resonance.store.loader import Batch

SOURCE = "scim"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class ScimSource(Source):
    kind = "scim"
    summary = "SCIM 2.0 Users and Groups (ListResponse JSON or NDJSON) with the enterprise extension"
    option_help = {"domain_aliases": "alias:canonical e-mail domain pairs, comma-separated"}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.aliases = parse_domain_aliases(options.get("domain_aliases"))

    def read(self, path: Path) -> Iterator[Batch]:
        yield from self.read_all([path])

    def read_all(self, paths: Sequence[Path]) -> Iterator[Batch]:
        out = BatchBuilder(SOURCE)
        users: list[tuple[str, int, dict[str, Any]]] = []
        groups: dict[str, list[str]] = {}  # user id -> group names
        for file in _files(paths):
            for line, resource in _resources(file, out):
                kind = _resource_kind(resource)
                if kind == "User":
                    users.append((str(file), line, resource))
                elif kind == "Group":
                    name = resource.get("displayName") or resource.get("id")
                    for member in resource.get("members") or []:
                        if isinstance(member, dict) and member.get("value"):
                            groups.setdefault(str(member["value"]), []).append(str(name))
                else:
                    out.reject(str(file), line, "schemas", "neither a SCIM User nor a Group", _raw(resource))
        for file, line, user in users:
            try:
                self._user(out, file, line, user, groups)
            except (AttributeError, TypeError, ValueError) as exc:  # a field of the wrong JSON type
                out.reject(file, line, "User", f"User with a field of the wrong type ({exc})", _raw(user))
        yield from out.flush()

    def _user(self, out: BatchBuilder, file: str, line: int, user: dict[str, Any],
              groups: dict[str, list[str]]) -> None:
        user_id = user.get("id")
        if not user_id:
            out.reject(file, line, "id", "User without id", _raw(user))
            return
        if not isinstance(user_id, str | int):
            out.reject(file, line, "id", "User id is not a string", _raw(user))
            return
        user_name = user.get("userName")
        if not user_name:
            out.reject(file, line, "userName", "User without userName", _raw(user))
            return
        if not isinstance(user_name, str):
            out.reject(file, line, "userName", "userName is not a string", _raw(user))
            return
        emails: list[str] = []
        for entry in user.get("emails") or []:
            value = entry.get("value") if isinstance(entry, dict) else entry
            if isinstance(value, str) and is_address(value) and value.strip().lower() not in emails:
                # the primary address first
                if isinstance(entry, dict) and entry.get("primary"):
                    emails.insert(0, value.strip().lower())
                else:
                    emails.append(value.strip().lower())
        if is_address(user_name) and user_name.strip().lower() not in emails:
            emails.append(user_name.strip().lower())
        ext = user.get(ENTERPRISE) or {}
        employee_number = ext.get("employeeNumber")
        identities = [f"scim:{user_id}"]
        for email in emails:
            identities.extend(k for k in email_keys(email, self.aliases) if k not in identities)
        if employee_number:
            identities.append(f"hr:{employee_number}")
        manager = ext.get("manager")
        manager_id = manager.get("value") if isinstance(manager, dict) else manager
        name = user.get("name") or {}
        display = (user.get("displayName") or name.get("formatted")
                   or " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p) or user_name)
        location = None
        for address in user.get("addresses") or []:
            if isinstance(address, dict) and (address.get("primary") or address.get("type") == "work" or not location):
                location = address.get("locality") or address.get("region") or address.get("country") or location
        extra = {
            "userName": user_name, "active": user.get("active", True), "externalId": user.get("externalId"),
            "employeeNumber": employee_number, "organization": ext.get("organization"),
            "division": ext.get("division"), "costCenter": ext.get("costCenter"),
            "groups": sorted(set(groups.get(str(user_id), []))) or None,
        }
        out.profile(
            native_id=str(user_id), identities=identities, display_name=display, emails=emails,
            handles=[user_name] if not is_address(user_name) else [],
            manager_ref=f"scim:{manager_id}" if manager_id else None, department=ext.get("department"),
            location=location, title=user.get("title"), role=user.get("userType"), is_external=False,
            extra=orjson.dumps({k: v for k, v in extra.items() if v is not None}).decode(),
            file=file, line=line, raw=_raw(user),
        )


def _files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        if path.is_dir():
            # Groups after Users is not needed (all files are read before profiles are made).
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and _is_json_name(p.name)))
        else:
            files.append(path)
    return files


def _is_json_name(name: str) -> bool:
    name = name.lower().removesuffix(".gz")
    return name.endswith((".json", ".ndjson", ".jsonl"))


def _resources(file: Path, out: BatchBuilder) -> Iterator[tuple[int, dict[str, Any]]]:
    """(record number, resource) of a ListResponse, an array, one resource or NDJSON."""
    with open_binary(file) as f:
        data = f.read()
    name = str(file)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        doc = None
    if doc is None:  # NDJSON: one resource per line
        for n, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                resource = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                out.reject(name, n, "json", f"malformed JSON: {exc}", line.decode("utf-8", "replace"))
                continue
            if isinstance(resource, dict):
                yield n, resource
            else:
                out.reject(name, n, "json", "record is not a JSON object", line.decode("utf-8", "replace"))
        return
    if isinstance(doc, dict) and ("Resources" in doc or LIST_RESPONSE in (doc.get("schemas") or [])):
        doc = doc.get("Resources") or []
    for n, resource in enumerate(doc if isinstance(doc, list) else [doc], start=1):
        if isinstance(resource, dict):
            yield n, resource
        else:
            out.reject(name, n, "json", "resource is not a JSON object", _raw(resource))


def _resource_kind(resource: dict[str, Any]) -> str | None:
    schemas = resource.get("schemas") or []
    meta = resource.get("meta") or {}
    if USER_SCHEMA in schemas or meta.get("resourceType") == "User" or "userName" in resource:
        return "User"
    if GROUP_SCHEMA in schemas or meta.get("resourceType") == "Group" or "members" in resource:
        return "Group"
    return None


def _raw(value: Any) -> str:
    return orjson.dumps(value).decode()
