"""SVG charts of the org dashboard: distributions (box rows), shares (stacked bar), the flow matrix
(heat map). Like web/charts.py: no script, no inline style, a title and a description listing the data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from resonance.web.charts import _fmt, _n


def box_row(stats: Mapping[str, float], top: float, uid: str, label: str, width: int = 240) -> Markup:
    """A horizontal box: the middle half (p25..p75) as a box, the median as a line, the mean as a dot."""
    top = top or 1.0
    pad = 4
    track = width - 2 * pad

    def x(v: float) -> float:
        return pad + track * min(max(float(v or 0) / top, 0.0), 1.0)

    desc = ", ".join(
        f"{name} {_fmt(stats[key])}"
        for name, key in (("p25", "p25"), ("median", "median"), ("p75", "p75"), ("mean", "mean"))
    )
    x25, x50, x75, xm = x(stats["p25"]), x(stats["median"]), x(stats["p75"]), x(stats["mean"])
    return Markup(
        f'<svg class="chart box" viewBox="0 0 {width} 22" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" focusable="false">'
        f'<title id="{uid}-t">{escape(label)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        f'<line class="grid" x1="{pad}" y1="11" x2="{width - pad}" y2="11"/>'
        f'<rect class="bar" x="{_n(x25)}" y="4" width="{_n(max(x75 - x25, 1.5))}" height="14" rx="2"/>'
        f'<line class="median" x1="{_n(x50)}" y1="2" x2="{_n(x50)}" y2="20"/>'
        f'<circle class="marker" cx="{_n(xm)}" cy="11" r="3"><title>mean {_fmt(stats["mean"])}</title></circle>'
        "</svg>"
    )


def share_bar(shares: Mapping[str, float], uid: str, label: str, width: int = 320) -> Markup:
    """One bar split by share (personas), with a legend."""
    parts = [
        f'<svg class="chart shares" viewBox="0 0 {width} 20" role="img" aria-labelledby="{uid}-t {uid}-d" '
        f'focusable="false"><title id="{uid}-t">{escape(label)}</title>'
        f'<desc id="{uid}-d">{escape("; ".join(f"{k}: {v:.0%}" for k, v in shares.items()))}</desc>'
    ]
    x = 0.0
    for i, (name, share) in enumerate(shares.items()):
        w = width * float(share or 0)
        if w <= 0:
            continue
        parts.append(
            f'<rect class="s{i}" x="{_n(x)}" y="0" width="{_n(w)}" height="20">'
            f"<title>{escape(name)}: {share:.0%}</title></rect>"
        )
        x += w
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch s{i}" aria-hidden="true"></span>{escape(name)} {share:.0%}</li>'
        for i, (name, share) in enumerate(shares.items())
    )
    return Markup("".join(parts) + f'<ul class="legend">{legend}</ul>')


def heatmap(units: Sequence[Mapping], matrix: Sequence[Mapping], uid: str, label: str) -> Markup:
    """The flow matrix: rows give (knowledge used by the columns), darker = more interactions."""
    if not units or not matrix:
        return Markup('<p class="empty-chart">No knowledge flow to show for this period.</p>')
    keys = [u["unit"] for u in units]
    names = {u["unit"]: u["label"] for u in units}
    value = {(m["from"], m["to"]): m["interactions"] for m in matrix}
    # Shades on a square-root scale of the largest flow *between* units, so that crossing flows show
    # next to the (much larger) flows inside each unit, which take the darkest shade.
    crossing = [n for (a, b), n in value.items() if a != b]
    top = max(crossing or value.values()) or 1
    cell, left = 26, 170
    head = 20 + 6 * min(24, max(len(n) for n in names.values()))
    width, height = left + cell * len(keys) + 4, head + cell * len(keys) + 4
    desc = "; ".join(
        f"{names[a]} to {names[b]}: {n}" for (a, b), n in sorted(value.items()) if a in names and b in names
    )
    out = [
        f'<svg class="chart heat" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{uid}-t {uid}-d" '
        f'focusable="false"><title id="{uid}-t">{escape(label)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
    ]
    for j, b in enumerate(keys):
        short = names[b] if len(names[b]) <= 22 else names[b][:21] + "…"
        x = left + j * cell + cell / 2
        out.append(
            f'<text class="axis" transform="translate({_n(x + 4)},{head - 6}) rotate(-60)">{escape(short)}</text>'
        )
    for i, a in enumerate(keys):
        y = head + i * cell
        short = names[a] if len(names[a]) <= 24 else names[a][:23] + "…"
        out.append(f'<text class="label" x="{left - 6}" y="{y + cell - 9}" text-anchor="end">{escape(short)}</text>')
        for j, b in enumerate(keys):
            n = value.get((a, b), 0)
            level = 0 if n == 0 else 1 + min(4, int(5 * (n / top) ** 0.5 * 0.999))
            out.append(
                f'<rect class="h{level}" x="{left + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3">'
                f"<title>{escape(names[a])} → {escape(names[b])}: {n}</title></rect>"
            )
    out.append("</svg>")
    return Markup("".join(out))


def share_trend(points: Sequence[tuple[str, float]], uid: str, label: str) -> Markup:
    """A 0..100 % line chart (the trend chart scaled to percentages)."""
    from resonance.web.charts import trend_chart

    return trend_chart([(p, round(100 * float(v or 0), 1)) for p, v in points], uid, label)
