"""E-mail address normalisation and organisation names derived from domains.

Strong identity evidence is an exact identity key. Several spellings of one
mailbox are the same key once normalised:

- case: `Dana.Scully@ACME.example` -> `dana.scully@acme.example`;
- plus-addressing (RFC 5233 sub-addresses): `dana+crm@acme.example` -> `dana@acme.example`;
- known domain aliases, given by configuration (`acme.com` -> `acme.example`).

Connectors keep the address as written (`email:<lowercase>`) and add the
normalised key when it differs, so both spellings resolve to one person and
nothing about the original is lost. No fuzzy logic here: that is `matching.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

FREEMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "ymail.com",
    "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "outlook.com", "live.com", "msn.com",
    "aol.com", "icloud.com", "me.com", "mac.com", "gmx.de", "gmx.net", "gmx.com", "web.de",
    "protonmail.com", "proton.me", "mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com",
    "126.com", "naver.com", "fastmail.com", "zoho.com", "mail.com", "free.fr", "orange.fr",
    "laposte.net", "libero.it", "t-online.de", "comcast.net", "verizon.net", "att.net",
})
"""Public mail providers: an address there says nothing about an organisation."""

# Second-level labels under which registrable names sit one level deeper (example.co.uk).
_SECOND_LEVEL = frozenset({"co", "com", "ac", "edu", "gov", "org", "net", "ne", "or", "go", "gob", "mil"})

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def is_address(text: str | None) -> bool:
    """True when `text` looks like a bare e-mail address (local@domain.tld)."""
    return bool(text) and bool(_ADDRESS.match(text.strip()))  # type: ignore[union-attr]


def parse_domain_aliases(value: str | Mapping[str, str] | None) -> dict[str, str]:
    """`acme.com:acme.example,acme.de:acme.example` -> {'acme.com': 'acme.example', ...}."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {k.strip().lower(): v.strip().lower() for k, v in value.items()}
    aliases: dict[str, str] = {}
    for part in value.split(","):
        if ":" in part:
            alias, canonical = part.split(":", 1)
        elif "=" in part:
            alias, canonical = part.split("=", 1)
        else:
            continue
        aliases[alias.strip().lower()] = canonical.strip().lower()
    return aliases


def parse_domains(value: str | Iterable[str] | None) -> frozenset[str]:
    """`acme.example,acme.com` (or a list) -> a set of lowercase domains."""
    if not value:
        return frozenset()
    parts = value.split(",") if isinstance(value, str) else list(value)
    return frozenset(p.strip().lower().lstrip("@") for p in parts if p.strip())


def normalize_email(address: str, domain_aliases: Mapping[str, str] | None = None) -> str:
    """The canonical spelling of a mailbox: lowercase, no `+tag`, domain alias applied."""
    address = address.strip().lower()
    local, sep, domain = address.rpartition("@")
    if not sep:
        return address
    if "+" in local and not local.startswith("+"):
        local = local.split("+", 1)[0]
    if domain_aliases:
        domain = domain_aliases.get(domain, domain)
    return f"{local}@{domain}"


def email_keys(address: str, domain_aliases: Mapping[str, str] | None = None) -> list[str]:
    """Identity keys of an address: as written (lowercase) and, when it differs, normalised."""
    written = "email:" + address.strip().lower()
    canonical = "email:" + normalize_email(address, domain_aliases)
    return [written] if canonical == written else [written, canonical]


def domain_of(address: str | None) -> str | None:
    """The lowercase domain of an address, or None."""
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().lower().rstrip(".") or None


def registrable_domain(domain: str) -> str:
    """`ihf.tu-bs.de` -> `tu-bs.de`; `mail.example.co.uk` -> `example.co.uk` (a small
    heuristic, not the Public Suffix List: good enough to group colleagues)."""
    labels = domain.lower().strip(".").split(".")
    if len(labels) <= 2:
        return ".".join(labels)
    if len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def organization_of(domain: str | None) -> str | None:
    """The organisation an address's domain stands for (its registrable domain), or
    None for public mail providers (a gmail user is not an employee of Google)."""
    if not domain:
        return None
    reg = registrable_domain(domain)
    if domain in FREEMAIL_DOMAINS or reg in FREEMAIL_DOMAINS:
        return None
    return reg


def in_domains(domain: str | None, domains: frozenset[str]) -> bool:
    """True when `domain` is one of `domains` or a subdomain of one."""
    if not domain:
        return False
    if domain in domains:
        return True
    return any(domain.endswith("." + d) for d in domains)


def infer_company_domains(counts: Mapping[str, int]) -> frozenset[str]:
    """Guess the company's own domains from how often each sender domain occurs.

    The most frequent non-freemail registrable domain is the company's, together
    with any other whose count reaches half of it (a second brand). With no such
    domain at all (only public providers), the result is empty and callers treat
    everyone as internal. Documented in docs/connectors.md (e-mail).
    """
    by_org: dict[str, int] = {}
    for domain, n in counts.items():
        org = organization_of(domain)
        if org:
            by_org[org] = by_org.get(org, 0) + n
    if not by_org:
        return frozenset()
    top = max(by_org.values())
    return frozenset(org for org, n in by_org.items() if n * 2 >= top)
