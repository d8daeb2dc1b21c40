"""Altair charts as functions returning the chart (tested through ``to_dict()``). Texts drawn by
Vega (titles, axis labels, tooltips) are plain text, never Markdown."""

from __future__ import annotations

import altair as alt
import pandas as pd
from lcad_bench.leaderboard.columns import LEVELS, ColumnInfo

LEVEL_COLOURS = {
    "complete": "#1f77b4",
    "partial": "#ff7f0e",
    "sparse": "#2ca02c",
    "none": "#9467bd",
    "all": "#7f7f7f",
}


def _level_axis(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Adds ``level_n``: the level with its number of pairs ("partial · n=9")."""
    f = frame.copy()
    ns = {}
    for lv, g in f.groupby("level"):
        vals = sorted({int(x) for x in g["n_pairs"].dropna()})
        ns[lv] = "/".join(map(str, vals)) if vals else "?"
    f["level_n"] = [f"{lv} · n={ns.get(lv, '?')}" for lv in f["level"]]
    order = [f"{lv} · n={ns[lv]}" for lv in LEVELS if lv in ns] + [
        f"{lv} · n={ns[lv]}" for lv in sorted(ns) if lv not in LEVELS
    ]
    return f, order


def degradation_chart(frame: pd.DataFrame, info: ColumnInfo, paired: bool = True) -> alt.LayerChart:
    """How each run's ``info`` metric changes from complete to the other levels.

    ``frame`` comes from ``tables.degradation_frame`` (run, level, value, ci_low, ci_high,
    n_pairs). Paired: the difference to complete on the same pairs (a rule marks 0). Each
    point has its 95% bootstrap interval as an error bar; the x axis states n per level."""
    f, order = _level_axis(frame)
    fmt = f".{info.decimals}f"
    y_title = f"Δ {info.label} vs complete (paired)" if paired else info.label
    x = alt.X("level_n:N", sort=order, title="description level (pairs compared)", scale=alt.Scale(domain=order),
              axis=alt.Axis(labelAngle=0))  # fmt: skip
    colour = alt.Color("run:N", title="run", scale=alt.Scale(scheme="tableau10"),  # distinct hues
                       legend=alt.Legend(orient="bottom", columns=2, labelLimit=400))  # fmt: skip
    tooltip = [
        alt.Tooltip("run:N"), alt.Tooltip("level:N"), alt.Tooltip("value:Q", format=fmt, title=y_title),
        alt.Tooltip("ci_low:Q", format=fmt, title="95% CI low"), alt.Tooltip("ci_high:Q", format=fmt, title="95% CI high"),
        alt.Tooltip("n_pairs:Q", title="pairs"), alt.Tooltip("n_images:Q", title="images"),
    ]  # fmt: skip
    base = alt.Chart(f)
    line = base.mark_line(point=alt.OverlayMarkDef(size=60)).encode(
        x=x,
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=paired), axis=alt.Axis(format=fmt)),
        color=colour,
        tooltip=tooltip,
    )
    bars = base.mark_rule(strokeWidth=2, opacity=0.6).encode(
        x=x, y="ci_low:Q", y2="ci_high:Q", color=colour
    )
    layers: list[alt.Chart] = [bars, line]
    if paired:
        layers.insert(
            0,
            alt.Chart(pd.DataFrame({"zero": [0.0]}))
            .mark_rule(strokeDash=[4, 4], color="gray")
            .encode(y="zero:Q"),
        )
    return alt.layer(*layers).properties(width="container", height=360)


def preference_chart(by_level: pd.DataFrame) -> alt.LayerChart:
    """Win rate per method and level, one bar each (grouped by method, coloured by level) with
    its Wilson 95% interval as a line through the bar; a dashed rule marks 50 %. ``by_level``
    has method, level, win_rate, ci_low, ci_high, shown (``lcad_bench.study.stats.by_level_table``
    with readable method names)."""
    f = by_level.copy()
    f["level"] = f["level"].astype(str)
    levels = [lv for lv in [*LEVELS, "all"] if lv in set(f["level"])]
    methods = list(dict.fromkeys(f["method"].astype(str)))
    order = {lv: i for i, lv in enumerate(levels)}
    f = f.assign(_m=f["method"].map(methods.index), _l=f["level"].map(order)).sort_values(
        ["_m", "_l"]
    )
    f["row"] = f["method"].astype(str) + " · " + f["level"]
    y = alt.Y(
        "row:N", sort=list(f["row"]), title=None, axis=alt.Axis(labelLimit=420, labelOverlap=False)
    )
    colour = alt.Color("level:N", sort=levels, title="level",
                       scale=alt.Scale(domain=levels, range=[LEVEL_COLOURS[lv] for lv in levels]))  # fmt: skip
    tooltip = [alt.Tooltip("method:N"), alt.Tooltip("level:N"), alt.Tooltip("win_rate:Q", format=".1%", title="win rate"),
               alt.Tooltip("ci_low:Q", format=".1%", title="Wilson 95% low"),
               alt.Tooltip("ci_high:Q", format=".1%", title="Wilson 95% high"), alt.Tooltip("shown:Q")]  # fmt: skip
    x = alt.X(
        "win_rate:Q",
        title="win rate (chosen / shown)",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    base = alt.Chart(f.drop(columns=["_m", "_l"]))
    bars = base.mark_bar().encode(x=x, y=y, color=colour, tooltip=tooltip)
    errs = base.mark_rule(color="black", strokeWidth=1.5).encode(x="ci_low:Q", x2="ci_high:Q", y=y)
    half = (
        alt.Chart(pd.DataFrame({"x": [0.5]}))
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(x="x:Q")
    )
    return alt.layer(bars, errs, half).properties(
        width="container", height=max(160, 26 * len(f) + 40)
    )
