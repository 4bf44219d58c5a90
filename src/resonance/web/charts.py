"""Charts as server-rendered inline SVG: no script, no inline style (CSP-safe), accessible.

Every chart has a `<title>` and a `<desc>` listing its data (screen readers read
them), native tooltips on data points, and colours from CSS classes so that the
stylesheet's theme applies.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fmt(value: float) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.1f}"


def trend_chart(
    points: Sequence[tuple[str, float | None]],
    uid: str,
    label: str,
    width: int = 320,
    height: int = 96,
) -> Markup:
    """A line chart of (period, value) pairs, oldest first; missing values are gaps at zero."""
    if not points:
        return Markup('<p class="empty-chart">No history yet.</p>')
    pad_l, pad_r, pad_t, pad_b = 6, 6, 10, 20
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    values = [float(v or 0.0) for _, v in points]
    top = max(values) or 1.0
    step = inner_w / max(len(points) - 1, 1)
    coords = [
        (pad_l + i * step if len(points) > 1 else pad_l + inner_w / 2, pad_t + inner_h * (1 - v / top))
        for i, v in enumerate(values)
    ]
    line = " ".join(f"{_n(x)},{_n(y)}" for x, y in coords)
    base = pad_t + inner_h
    area = f"{_n(coords[0][0])},{_n(base)} {line} {_n(coords[-1][0])},{_n(base)}"
    desc = "; ".join(f"{p}: {_fmt(v)}" for (p, _), v in zip(points, values, strict=True))
    parts = [
        f'<svg class="chart trend" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" focusable="false">',
        f'<title id="{uid}-t">{escape(label)}</title><desc id="{uid}-d">{escape(desc)}</desc>',
        f'<line class="grid" x1="{pad_l}" y1="{_n(base)}" x2="{width - pad_r}" y2="{_n(base)}"/>',
        f'<line class="grid faint" x1="{pad_l}" y1="{pad_t}" x2="{width - pad_r}" y2="{pad_t}"/>',
        f'<polygon class="area" points="{area}"/>',
        f'<polyline class="line" points="{line}"/>',
    ]
    for (period, _), v, (x, y) in zip(points, values, coords, strict=True):
        parts.append(
            f'<circle class="dot" cx="{_n(x)}" cy="{_n(y)}" r="3">'
            f"<title>{escape(period)}: {_fmt(v)}</title></circle>"
        )
    parts.append(f'<text class="axis" x="{pad_l}" y="{height - 4}">{escape(points[0][0])}</text>')
    if len(points) > 1:
        parts.append(
            f'<text class="axis" x="{width - pad_r}" y="{height - 4}" text-anchor="end">'
            f"{escape(points[-1][0])}</text>"
        )
    parts.append(
        f'<text class="axis" x="{width - pad_r}" y="{pad_t - 2}" text-anchor="end">{_fmt(top)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    rows: Sequence[tuple[str, float]],
    uid: str,
    label: str,
    width: int = 320,
    bar_height: int = 18,
    label_width: int = 110,
) -> Markup:
    """Horizontal bars, largest first as given."""
    if not rows:
        return Markup('<p class="empty-chart">Nothing to show yet.</p>')
    gap = 6
    height = len(rows) * (bar_height + gap) + gap
    top = max((float(v or 0) for _, v in rows), default=0.0) or 1.0
    value_w = 48
    track = width - label_width - value_w
    desc = "; ".join(f"{name}: {_fmt(float(v or 0))}" for name, v in rows)
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" focusable="false">',
        f'<title id="{uid}-t">{escape(label)}</title><desc id="{uid}-d">{escape(desc)}</desc>',
    ]
    for i, (name, v) in enumerate(rows):
        y = gap + i * (bar_height + gap)
        w = max(track * float(v or 0) / top, 1.5)
        short = name if len(name) <= 16 else name[:15] + "…"
        parts.append(
            f"<g><title>{escape(name)}: {_fmt(float(v or 0))}</title>"
            f'<text class="label" x="0" y="{y + bar_height - 5}">{escape(short)}</text>'
            f'<rect class="track" x="{label_width}" y="{y}" width="{track}" height="{bar_height}" rx="3"/>'
            f'<rect class="bar" x="{label_width}" y="{y}" width="{_n(w)}" height="{bar_height}" rx="3"/>'
            f'<text class="value" x="{width}" y="{y + bar_height - 5}" text-anchor="end">'
            f"{_fmt(float(v or 0))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def percentile_meter(percentile: float | None, uid: str, group: str) -> Markup:
    """Where the person stands among peers: a 0-100 track with a marker."""
    if percentile is None:
        return Markup('<span class="muted">no peers to compare with</span>')
    p = min(max(float(percentile), 0.0), 100.0)
    x = 2 + p * 1.96
    return Markup(
        f'<svg class="chart meter" viewBox="0 0 200 14" role="img" '
        f'aria-labelledby="{uid}-m" focusable="false">'
        f'<title id="{uid}-m">Percentile {p:.0f} among {escape(group)} peers</title>'
        f'<rect class="track" x="2" y="4" width="196" height="6" rx="3"/>'
        f'<rect class="bar" x="2" y="4" width="{_n(x - 2)}" height="6" rx="3"/>'
        f'<line class="tick" x1="100" y1="2" x2="100" y2="12"/>'
        f'<circle class="marker" cx="{_n(x)}" cy="7" r="5"/></svg>'
    )
