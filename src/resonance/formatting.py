"""Figures for people, shared by the web pages and the review report: thousands separators, few
decimals, ordinals for percentiles, a dash for nothing."""

from __future__ import annotations


def fmt_int(value: object) -> str:
    try:
        return f"{int(value):,}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"


def fmt_num(value: object, digits: int = 1) -> str:
    """A figure for people: thousands separators, few decimals, a dash for nothing."""
    if value is None:
        return "—"
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def fmt_pct(value: object) -> str:
    """A percentile as an ordinal: 42 -> '42nd'."""
    try:
        n = int(round(float(value)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
