"""CRM exports: Salesforce-style CSV files (column maps for other CRMs).

Reads, from a folder or from files named after their object:

- `User.csv` (Id, Email, Name): employee profiles, identities `crm:<UserId>` + `email:`;
- `Account.csv` (Id, Name, Industry, OwnerId): items kind `account` (`crm-account:<Id>`);
- `Contact.csv` (Id, AccountId, Email, Name, Title): external persons, `crm:<ContactId>` +
  `email:`, organisation = the account's name;
- `Opportunity.csv` (Id, AccountId, Name, StageName, Amount, CloseDate, OwnerId, IsClosed,
  IsWon): items kind `opportunity` (`crm-opportunity:<Id>`), a `Create` by the owner, and
  for a won deal an `Update` event at CloseDate with `extra.won = true`;
- `OpportunityTeamMember.csv` (OpportunityId, UserId, TeamMemberRole): `Join` events of
  employees on the opportunity, role in `extra`.

All files of one ingest are read together, so references are checked: a row whose
AccountId (or OpportunityId) is not in the export is quarantined, naming file, line
and field. Other CRMs: `--map Object.Field=column` (or `Field=column` for every
object) and `--option files=Account:companies.csv;Contact:people.csv`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import orjson

from resonance.identity.normalize import (
    domain_of,
    email_keys,
    in_domains,
    is_address,
    parse_domain_aliases,
    parse_domains,
)
from resonance.sources.base import BatchBuilder, Source, SourceError, open_text
from resonance.store.loader import Batch

SOURCE = "crm"
OBJECTS = ("User", "Account", "Contact", "Opportunity", "OpportunityTeamMember")
"""Read in this order: later objects refer to earlier ones."""

FIELDS: dict[str, tuple[str, ...]] = {
    "User": ("Id", "Email", "Name", "FirstName", "LastName", "Title", "Department", "IsActive"),
    "Account": ("Id", "Name", "Industry", "OwnerId", "Website", "BillingCountry", "Type", "CreatedDate"),
    "Contact": ("Id", "AccountId", "Email", "Name", "FirstName", "LastName", "Title", "OwnerId", "CreatedDate"),
    "Opportunity": ("Id", "AccountId", "Name", "StageName", "Amount", "CloseDate", "OwnerId", "IsClosed",
                    "IsWon", "CreatedDate", "Probability", "Type"),
    "OpportunityTeamMember": ("Id", "OpportunityId", "UserId", "TeamMemberRole", "CreatedDate"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "User": ("Id",), "Account": ("Id", "Name"), "Contact": ("Id",), "Opportunity": ("Id", "AccountId", "Name"),
    "OpportunityTeamMember": ("OpportunityId", "UserId"),
}
TRUE = frozenset({"true", "1", "yes", "y", "t"})


def account_item(account_id: str) -> str:
    return f"crm-account:{account_id}"


def opportunity_item(opportunity_id: str) -> str:
    return f"crm-opportunity:{opportunity_id}"


@dataclass(slots=True)
class Row:
    """One CSV record with its provenance."""

    values: dict[str, str]
    file: str
    line: int
    raw: str

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value.strip() if value and value.strip() else None


@dataclass(slots=True)
class CrmExport:
    """The rows of every object found, mapped to Salesforce field names."""

    rows: dict[str, list[Row]] = field(default_factory=dict)

    def accounts(self) -> dict[str, Row]:
        return {r.get("Id"): r for r in self.rows.get("Account", []) if r.get("Id")}  # type: ignore[misc]

    def account_domains(self) -> dict[str, tuple[str, str]]:
        """e-mail domain -> (account id, account name), from contacts' addresses and websites.
        Used by the calendar connector to link external attendees to their customer."""
        accounts = self.accounts()
        domains: dict[str, tuple[str, str]] = {}
        for row in self.rows.get("Contact", []):
            email, account = row.get("Email"), row.get("AccountId")
            if email and "@" in email and account in accounts:
                domains.setdefault(email.rsplit("@", 1)[1].lower(), (account, accounts[account].get("Name") or account))
        for account_id, row in accounts.items():
            website = row.get("Website")
            if website:
                host = website.lower().split("://", 1)[-1].split("/", 1)[0].removeprefix("www.")
                if "." in host:
                    domains.setdefault(host, (account_id, row.get("Name") or account_id))
        return domains


class CrmSource(Source):
    kind = "crm"
    summary = "CRM CSV exports (Salesforce-style): users, accounts, contacts, opportunities, team members"
    option_help = {
        "column_map": "Object.Field=column (or Field=column) for CRMs other than Salesforce",
        "files": "Object:file pairs, ';'-separated, for other file names (Account:companies.csv)",
        "object": "the object of a single file whose name does not say it (Account, Contact, ...)",
        "domain_aliases": "alias:canonical e-mail domain pairs, comma-separated",
        "delimiter": "field delimiter (default ,)",
        "domains": "company e-mail domains: a contact there is an employee record, not external",
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.aliases = parse_domain_aliases(options.get("domain_aliases"))
        self.domains = parse_domains(options.get("domains"))

    def read(self, path: Path) -> Iterator[Batch]:
        yield from self.read_all([path])

    def read_all(self, paths: Sequence[Path]) -> Iterator[Batch]:
        out = BatchBuilder(SOURCE)
        export = read_export(paths, self.options, out)
        self._users(out, export)
        accounts = self._accounts(out, export)
        self._contacts(out, export, accounts)
        opportunities = self._opportunities(out, export, accounts)
        self._team(out, export, opportunities)
        yield from out.flush()

    # -- objects -------------------------------------------------------------------------
    def _users(self, out: BatchBuilder, export: CrmExport) -> None:
        for row in export.rows.get("User", []):
            user_id, email = row.get("Id"), row.get("Email")
            identities = [f"crm:{user_id}"] + (email_keys(email, self.aliases) if email and is_address(email) else [])
            extra = {"is_active": _bool(row.get("IsActive"))} if row.get("IsActive") else None
            out.profile(native_id=f"User/{user_id}", identities=identities, display_name=_name(row),
                        emails=[email.lower()] if email and is_address(email) else [], title=row.get("Title"),
                        department=row.get("Department"), is_external=False,
                        extra=orjson.dumps(extra).decode() if extra else None,
                        file=row.file, line=row.line, raw=row.raw)

    def _accounts(self, out: BatchBuilder, export: CrmExport) -> dict[str, str]:
        """Emit account items; return account id -> name."""
        names: dict[str, str] = {}
        for row in export.rows.get("Account", []):
            account_id, name = row.get("Id"), row.get("Name")
            created = _datetime(row.get("CreatedDate"))
            names[account_id] = name  # type: ignore[index]
            extra = {k.lower(): row.get(k) for k in ("Industry", "Website", "BillingCountry", "Type") if row.get(k)}
            owner = row.get("OwnerId")
            out.item(item_id=account_item(account_id), native_id=f"Account/{account_id}", kind="account",  # type: ignore[arg-type]
                     author=f"crm:{owner}" if owner else None, title=name, tags=[], created=created,
                     extra=orjson.dumps(extra).decode() if extra else None,
                     file=row.file, line=row.line, raw=row.raw)
        return names

    def _contacts(self, out: BatchBuilder, export: CrmExport, accounts: dict[str, str]) -> None:
        check = "Account" in export.rows
        for row in export.rows.get("Contact", []):
            contact_id, account_id, email = row.get("Id"), row.get("AccountId"), row.get("Email")
            if account_id and check and account_id not in accounts:
                out.reject(row.file, row.line, "AccountId", f"unknown AccountId {account_id}", row.raw)
                continue
            keys = email_keys(email, self.aliases) if email and is_address(email) else []
            identities = [f"crm:{contact_id}", *keys]
            extra = {"account": account_item(account_id)} if account_id else None
            out.profile(native_id=f"Contact/{contact_id}", identities=identities, display_name=_name(row),
                        emails=[email.lower()] if email and is_address(email) else [], title=row.get("Title"),
                        is_external=not (self.domains and in_domains(domain_of(email), self.domains)),
                        organization=accounts.get(account_id) if account_id else None,  # type: ignore[arg-type]
                        manager_ref=None, extra=orjson.dumps(extra).decode() if extra else None,
                        file=row.file, line=row.line, raw=row.raw)

    def _opportunities(self, out: BatchBuilder, export: CrmExport, accounts: dict[str, str]) -> dict[str, datetime]:
        """Emit opportunity items and events; return opportunity id -> creation time."""
        created_at: dict[str, datetime] = {}
        check = "Account" in export.rows
        for row in export.rows.get("Opportunity", []):
            opp_id, account_id = row.get("Id"), row.get("AccountId")
            if check and account_id not in accounts:
                out.reject(row.file, row.line, "AccountId", f"unknown AccountId {account_id}", row.raw)
                continue
            amount_text = row.get("Amount")
            amount = _float(amount_text)
            if amount_text and amount is None:
                out.reject(row.file, row.line, "Amount", f"not a number: {amount_text!r}", row.raw)
                continue
            close_text = row.get("CloseDate")
            close = _datetime(close_text)
            if close_text and close is None:
                out.reject(row.file, row.line, "CloseDate", f"unparseable date {close_text!r}", row.raw)
                continue
            created = _datetime(row.get("CreatedDate")) or close
            if created is None:
                out.reject(row.file, row.line, "CreatedDate", "no CreatedDate nor CloseDate: no time", row.raw)
                continue
            is_closed, is_won = _bool(row.get("IsClosed")), _bool(row.get("IsWon"))
            stage = row.get("StageName")
            if row.get("IsWon") is None and stage:  # CRMs without the flag: read the stage name
                is_won = stage.lower() in ("closed won", "won")
                is_closed = is_won or stage.lower() in ("closed lost", "lost")
            owner = row.get("OwnerId")
            item_id = opportunity_item(opp_id)  # type: ignore[arg-type]
            account = account_item(account_id)  # type: ignore[arg-type]
            extra = {"amount": amount, "stage": stage, "close_date": close.date().isoformat() if close else None,
                     "is_closed": is_closed, "is_won": is_won, "account": account}
            for key in ("Probability", "Type"):
                if row.get(key):
                    extra[key.lower()] = row.get(key)
            extra_json = orjson.dumps(extra).decode()
            created_at[opp_id] = created  # type: ignore[index]
            out.item(item_id=item_id, native_id=f"Opportunity/{opp_id}", kind="opportunity",
                     author=f"crm:{owner}" if owner else None, container=account, title=row.get("Name"), tags=[],
                     created=created, extra=extra_json, file=row.file, line=row.line, raw=row.raw)
            if owner:
                out.event(native_id=f"Opportunity/{opp_id}/create", time=created, actor=f"crm:{owner}",
                          verb="Create", object=item_id, object_type="item", value=amount,
                          ctx_account=account, ctx_opportunity=item_id, extra=extra_json,
                          file=row.file, line=row.line, raw=row.raw)
                if is_won and close is not None:
                    out.event(native_id=f"Opportunity/{opp_id}/won", time=close, actor=f"crm:{owner}",
                              verb="Update", object=item_id, object_type="item", value=amount,
                              ctx_account=account, ctx_opportunity=item_id,
                              extra=orjson.dumps({"won": True, "stage": stage}).decode(),
                              file=row.file, line=row.line, raw=row.raw)
        return created_at

    def _team(self, out: BatchBuilder, export: CrmExport, opportunities: dict[str, datetime]) -> None:
        check = "Opportunity" in export.rows
        for row in export.rows.get("OpportunityTeamMember", []):
            opp_id, user_id = row.get("OpportunityId"), row.get("UserId")
            if check and opp_id not in opportunities:
                out.reject(row.file, row.line, "OpportunityId", f"unknown OpportunityId {opp_id}", row.raw)
                continue
            when = _datetime(row.get("CreatedDate")) or opportunities.get(opp_id)  # type: ignore[arg-type]
            if when is None:
                out.reject(row.file, row.line, "CreatedDate", "no CreatedDate and no known opportunity", row.raw)
                continue
            role = row.get("TeamMemberRole")
            item_id = opportunity_item(opp_id)  # type: ignore[arg-type]
            out.event(native_id=f"OpportunityTeamMember/{row.get('Id') or f'{opp_id}:{user_id}'}", time=when,
                      actor=f"crm:{user_id}", verb="Join", object=item_id, object_type="item",
                      ctx_opportunity=item_id, extra=orjson.dumps({"role": role}).decode() if role else None,
                      file=row.file, line=row.line, raw=row.raw)


# --- reading the files --------------------------------------------------------------------
def read_export(paths: Sequence[Path], options: Mapping[str, Any], out: BatchBuilder | None = None) -> CrmExport:
    """Every object's rows from `paths` (folders or files), mapped to Salesforce names.
    Rows missing a required field are quarantined through `out` (or skipped without it)."""
    files = _object_files(paths, options)
    column_map = _column_map(options.get("column_map"))
    delimiter = options.get("delimiter") or ","
    export = CrmExport()
    for obj in OBJECTS:
        for file in files.get(obj, []):
            export.rows.setdefault(obj, []).extend(_read_rows(file, obj, column_map, delimiter, out))
    return export


def _object_files(paths: Sequence[Path], options: Mapping[str, Any]) -> dict[str, list[Path]]:
    named = {}
    for part in (options.get("files") or "").replace(",", ";").split(";"):
        if ":" in part:
            obj, name = part.split(":", 1)
            named[name.strip().lower()] = _object_name(obj.strip())
    found: dict[str, list[Path]] = {}
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for file in candidates:
            obj = named.get(file.name.lower()) or _object_for(file)
            if obj is None and not path.is_dir():
                obj = _object_name(options.get("object") or "")
                if obj is None:
                    raise SourceError(f"{file}: which CRM object is this? Name it Account.csv, Contact.csv, "
                                      "Opportunity.csv, OpportunityTeamMember.csv or User.csv, or pass "
                                      "--option object=Account")
            if obj is not None:
                found.setdefault(obj, []).append(file)
    if not found:
        raise SourceError(f"{', '.join(map(str, paths))}: no CRM files found (Account.csv, Contact.csv, ...)")
    return found


def _object_name(text: str) -> str | None:
    key = text.lower().replace("_", "").replace("-", "")
    for obj in OBJECTS:
        if key in (obj.lower(), obj.lower() + "s", obj.lower() + "es"):
            return obj
    if key in ("opportunityteammembers", "teammember", "teammembers", "opportunityteam"):
        return "OpportunityTeamMember"
    if key == "users":
        return "User"
    return None


def _object_for(file: Path) -> str | None:
    name = file.name.lower()
    for suffix in (".gz", ".csv", ".tsv", ".txt"):
        name = name.removesuffix(suffix)
    return _object_name(name)


def _column_map(value: Any) -> dict[tuple[str | None, str], str]:
    """{(object or None, Salesforce field): column in the file}."""
    mapping: dict[tuple[str | None, str], str] = {}
    for key, column in (value or {}).items():
        obj, _, fld = key.rpartition(".")
        mapping[(_object_name(obj) if obj else None, fld)] = column
    return mapping


def _read_rows(
    file: Path, obj: str, column_map: dict[tuple[str | None, str], str], delimiter: str, out: BatchBuilder | None
) -> list[Row]:
    with open_text(file) as f:
        text = f.read()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        return []
    index = {h.strip(): i for i, h in enumerate(header)}
    lower = {h.strip().lower(): i for i, h in enumerate(header)}
    columns: dict[str, int] = {}
    for fld in FIELDS[obj]:
        column = column_map.get((obj, fld)) or column_map.get((None, fld)) or fld
        i = index.get(column, lower.get(column.lower()))
        if i is not None:
            columns[fld] = i
    missing = [f for f in REQUIRED[obj] if f not in columns]
    if missing:
        raise SourceError(f"{file}: no column for {', '.join(missing)} ({obj}); columns are "
                          f"{', '.join(header)}; map them with --map {obj}.{missing[0]}=COLUMN")
    name = str(file)
    rows: list[Row] = []
    lines = text.splitlines()
    line = reader.line_num  # the header may span lines (quoted newlines)
    for record in reader:
        start, line = line + 1, reader.line_num
        if not any(v.strip() for v in record):
            continue
        raw = "\n".join(lines[start - 1: line])
        values = {fld: record[i] for fld, i in columns.items() if i < len(record)}
        row = Row(values, name, start, raw)
        absent = [f for f in REQUIRED[obj] if not row.get(f)]
        if absent:
            if out is not None:
                out.reject(name, start, absent[0], f"missing {absent[0]}", raw)
            continue
        rows.append(row)
    return rows


# --- values -------------------------------------------------------------------------------
def _name(row: Row) -> str | None:
    if row.get("Name"):
        return row.get("Name")
    parts = [p for p in (row.get("FirstName"), row.get("LastName")) if p]
    return " ".join(parts) or None


def _bool(text: str | None) -> bool:
    return bool(text) and text.strip().lower() in TRUE  # type: ignore[union-attr]


def _float(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text.replace(",", "").replace("$", "").replace("€", "").strip())
    except ValueError:
        return None


def _datetime(text: str | None) -> datetime | None:
    """ISO dates and Salesforce datetimes (`2026-01-15T10:00:00.000Z`, `+0000`) -> naive UTC."""
    if not text:
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time())
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    offset = value.utcoffset()
    return (value - offset).replace(tzinfo=None) if offset is not None else value
