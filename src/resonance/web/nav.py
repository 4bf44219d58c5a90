"""The navigation bar: each feature registers its entries and the roles that see them."""

from __future__ import annotations

from dataclasses import dataclass

from resonance.privacy.guard import ADMIN, ANALYST, EMPLOYEE, MANAGER, Principal

PERSONAL = frozenset({EMPLOYEE, MANAGER, ANALYST})
EVERYONE = frozenset({EMPLOYEE, MANAGER, ANALYST, ADMIN})


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[str]
    order: int = 50


NAV: list[NavItem] = [
    NavItem("My dashboard", "/me", PERSONAL, 10),
    NavItem("My items", "/me/items", PERSONAL, 20),
    NavItem("Kudos", "/me/kudos", PERSONAL, 30),
    NavItem("Admin", "/admin", frozenset({ADMIN}), 60),
    NavItem("Quarantine", "/admin/quarantine", frozenset({ADMIN}), 61),
    NavItem("Users", "/admin/users", frozenset({ADMIN}), 62),
    NavItem("How it's computed", "/rules", EVERYONE, 80),
    NavItem("Settings", "/me/settings", EVERYONE, 90),
]


def register(item: NavItem) -> None:
    """Add a feature's entry (e.g. the org dashboard for managers and analysts)."""
    if all(existing.href != item.href for existing in NAV):
        NAV.append(item)


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return sorted((i for i in NAV if principal.role in i.roles), key=lambda i: i.order)


def home_for(principal: Principal | None) -> str:
    """Where a principal lands after signing in."""
    if principal is None:
        return "/login"
    return "/admin" if principal.role == ADMIN else "/me"
