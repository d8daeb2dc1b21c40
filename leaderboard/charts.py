"""Altair charts as functions returning the chart (tested through ``to_dict()``)."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd
from lcad_bench.leaderboard.columns import LEVELS, ColumnInfo


def degradation_chart(
    frame: pd.DataFrame, info: ColumnInfo, levels: Sequence[str] = LEVELS
) -> alt.Chart:
    """How each run's ``info`` metric changes from complete to sparse (and none) descriptions.

    ``frame`` comes from ``tables.degradation_frame`` (run, level, value, ci_low, ci_high). One
    layer: a line with points per run; the 95% interval is in the tooltip."""
    present = [lv for lv in levels if lv in set(frame["level"])] or list(levels)
    fmt = f".{info.decimals}f"
    title = f"{info.label} by description level"
    return (
        alt.Chart(frame, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "level:N", sort=present, title="description level", scale=alt.Scale(domain=present)
            ),
            y=alt.Y("value:Q", title=info.label, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run"),
            tooltip=[
                alt.Tooltip("run:N"),
                alt.Tooltip("level:N"),
                alt.Tooltip("value:Q", format=fmt, title=info.display_name),
                alt.Tooltip("ci_low:Q", format=fmt, title="95% CI low"),
                alt.Tooltip("ci_high:Q", format=fmt, title="95% CI high"),
            ],
        )
        .properties(width="container", height=320)
    )


def preference_chart(pref: pd.DataFrame) -> alt.Chart:
    """Preference % per method (one bar per method, Wilson interval in the tooltip)."""
    return (
        alt.Chart(pref, title="preference (chosen / shown)")
        .mark_bar()
        .encode(
            x=alt.X(
                "preference:Q",
                title="preference",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y("method:N", sort="-x", title=None),
            tooltip=[
                alt.Tooltip("method:N"),
                alt.Tooltip("preference:Q", format=".1%"),
                alt.Tooltip("ci_low:Q", format=".1%", title="Wilson 95% low"),
                alt.Tooltip("ci_high:Q", format=".1%", title="Wilson 95% high"),
                alt.Tooltip("shown:Q"),
            ],
        )
        .properties(width="container", height=40 + 30 * max(1, len(pref)))
    )
