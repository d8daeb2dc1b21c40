"""Exports of a leaderboard table: Markdown, a paper-ready LaTeX table, tidy CSV, and a BibTeX
block for the splits and the protocol. Used by the board's download buttons and by
``lcad-bench show --format``.

The input is a table as :func:`lcad_bench.leaderboard.tables.group_table` builds it: a ``run``
label, a ``rank`` (None: not ranked), value columns named ``metric · level`` (or
``metric · level − complete`` for a paired difference) and hidden numeric interval columns.
Run labels and split names are untrusted text: every format escapes them (Markdown: backslash
escapes, so a label never becomes a link or an image; LaTeX: the special characters).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd
from lcad_bench.leaderboard.columns import (
    AVG_RANK,
    LEVELS,
    SEP,
    ColumnInfo,
    column_direction,
    finite_or_none,
    parse_column,
    ranks_column,
)
from lcad_bench.leaderboard.safe import latex_escape, md_escape
from lcad_bench.leaderboard.tables import (
    hi_column,
    lo_column,
    value_column,
)

from lcad_bench.protocol import (
    BOOTSTRAP_B,
    BOOTSTRAP_SEED,
    EVAL_RESOLUTION,
    PROTOCOL_VERSION,
    RESIZE_POLICY,
)

FORMATS = ("markdown", "latex", "csv")


def _decimals(col: str, infos: Mapping[str, ColumnInfo]) -> int:
    p = parse_column(col)
    info = infos.get(p[0]) if p else None
    return info.decimals if info else 3


def _header(col: str, infos: Mapping[str, ColumnInfo]) -> tuple[str, str]:
    """(metric label with arrow, level part) of a value column."""
    metric, rest = col.split(SEP, 1)
    info = infos.get(metric)
    return (info.label if info else metric), (f"Δ {rest}" if " − " in rest else rest)


def best_rows(frame: pd.DataFrame, col: str, infos: Mapping[str, ColumnInfo],
              unranked: Collection[str] = ()) -> set[int]:  # fmt: skip
    """Index labels of the best value of ``col`` among ranked rows (ties: all of them); none
    for a column that is not ranked (no direction, a paired difference, or one of ``unranked``:
    the table's ``GroupTable.unranked``) or with fewer than two ranked values."""
    if col in unranked or not ranks_column(col, infos):
        return set()
    hib = column_direction(col, infos)
    ranked = frame[frame["rank"].notna()] if "rank" in frame.columns else frame
    vals = pd.to_numeric(ranked[col], errors="coerce").dropna()
    if len(vals) < 2:
        return set()
    best = vals.max() if hib else vals.min()
    return set(vals.index[vals == best])


def _fmt(v: Any, d: int) -> str:
    f = finite_or_none(v)
    return "–" if f is None else f"{f:.{d}f}"


def _pm(frame: pd.DataFrame, i: Any, col: str) -> float | None:
    lo = finite_or_none(frame.at[i, lo_column(col)]) if lo_column(col) in frame.columns else None
    hi = finite_or_none(frame.at[i, hi_column(col)]) if hi_column(col) in frame.columns else None
    return None if lo is None or hi is None else (hi - lo) / 2


def _rank_text(v: Any) -> str:
    return (
        "" if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else str(int(v))
    )


def to_markdown(frame: pd.DataFrame, columns: Sequence[str], infos: Mapping[str, ColumnInfo], *,
                ci: bool = False, caption: str = "", unranked: Collection[str] = ()) -> str:  # fmt: skip
    """A GitHub-flavoured Markdown table (best ranked value in bold, ± half the 95% interval)."""
    heads = ["#", "run"] + [" ".join(_header(c, infos)) for c in columns]
    if AVG_RANK in frame.columns and frame[AVG_RANK].notna().any():
        heads.insert(2, "avg rank")
    lines = ["| " + " | ".join(md_escape(h) for h in heads) + " |", "|" + "---|" * len(heads)]
    bold = {c: best_rows(frame, c, infos, unranked) for c in columns}
    for i, r in frame.iterrows():
        cells = [_rank_text(r.get("rank")), md_escape(r["run"])]
        if len(heads) == len(columns) + 3:
            cells.append(_fmt(r.get(AVG_RANK), 2))
        for c in columns:
            d = _decimals(c, infos)
            t = _fmt(r[c], d)
            pm = _pm(frame, i, c) if ci else None
            if pm is not None and t != "–":
                t += f" ± {pm:.{d}f}"
            cells.append(f"**{t}**" if i in bold[c] else t)
        lines.append("| " + " | ".join(cells) + " |")
    out = "\n".join(lines) + "\n"
    return (md_escape(caption) + "\n\n" + out) if caption else out


def to_latex(frame: pd.DataFrame, columns: Sequence[str], infos: Mapping[str, ColumnInfo], *, ci: bool = False,
             caption: str = "", label: str = "tab:lcad-bench", unranked: Collection[str] = ()) -> str:  # fmt: skip
    """A booktabs table: one column group per metric with its levels below, best ranked value
    in bold, optional ``±`` half the 95% bootstrap interval (an approximation: the interval need
    not be symmetric; the caption says so). Needs ``\\usepackage{booktabs}``."""
    groups: list[tuple[str, list[str]]] = []
    for c in columns:
        head, _ = _header(c, infos)
        if groups and groups[-1][0] == head:
            groups[-1][1].append(c)
        else:
            groups.append((head, [c]))
    spec = "rl" + "".join("r" * len(cs) for _, cs in groups)
    top = ["", ""] + [rf"\multicolumn{{{len(cs)}}}{{c}}{{{latex_escape(h)}}}" for h, cs in groups]
    rules, k = [], 3
    for _, cs in groups:
        rules.append(rf"\cmidrule(lr){{{k}-{k + len(cs) - 1}}}")
        k += len(cs)
    sub = ["\\#", "Method"] + [latex_escape(_header(c, infos)[1]) for c in columns]
    bold = {c: best_rows(frame, c, infos, unranked) for c in columns}
    body = []
    for i, r in frame.iterrows():
        cells = [_rank_text(r.get("rank")), latex_escape(r["run"])]
        for c in columns:
            d = _decimals(c, infos)
            t = _fmt(r[c], d).replace("–", "--")
            if t != "--" and finite_or_none(r[c]) is not None and float(r[c]) < 0:
                t = "$-$" + t.lstrip("-")
            pm = _pm(frame, i, c) if ci else None
            if pm is not None and t != "--":
                t += rf"\,{{\scriptsize$\pm${pm:.{d}f}}}"
            cells.append(rf"\textbf{{{t}}}" if i in bold[c] else t)
        body.append(" & ".join(cells) + r" \\")
    cap = latex_escape(caption)
    if ci:
        cap += (" Values $\\pm$ half the width of the 95\\% bootstrap interval (resampling images; the interval "
                "need not be symmetric).")  # fmt: skip
    return "\n".join([
        r"% generated by lcad-bench; needs \usepackage{booktabs}",
        r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{cap}}}", rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(top) + r" \\", " ".join(rules),
        " & ".join(sub) + r" \\", r"\midrule", *body, r"\bottomrule", r"\end{tabular}", r"\end{table}", "",
    ])  # fmt: skip


CSV_COLUMNS = ["group", "rank", "run", "run_id", "column", "metric", "level", "difference_to", "value", "ci_low",
               "ci_high"]  # fmt: skip


def to_csv(frame: pd.DataFrame, columns: Sequence[str], infos: Mapping[str, ColumnInfo], group: str = "",
           header: bool = True) -> str:  # fmt: skip
    """Tidy CSV: one line per run x column with its comparison group (ranks hold within a
    group only), the value and its 95% interval."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(CSV_COLUMNS)
    for _, r in frame.iterrows():
        for c in columns:
            metric, rest = c.split(SEP, 1)
            level, _, base = rest.partition(" − ")
            lo = r.get(lo_column(c))
            hi = r.get(hi_column(c))
            w.writerow([_csv_text(group), _rank_text(r.get("rank")), _csv_text(r["run"]), _csv_text(r.get("run_id", "")),
                        c, metric, level, base, _csv_num(r[c]), _csv_num(lo), _csv_num(hi)])  # fmt: skip
    return buf.getvalue()


def groups_to_csv(
    tables: Sequence[tuple[str, pd.DataFrame, Sequence[str]]], infos: Mapping[str, ColumnInfo]
) -> str:
    """Several group tables ``(group title, frame, value columns)`` as one tidy CSV (one header)."""
    return "".join(
        to_csv(f, cols, infos, group=title, header=i == 0)
        for i, (title, f, cols) in enumerate(tables)
    )


def _csv_text(v: Any) -> str:
    """Text cells never start a spreadsheet formula."""
    s = str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def _csv_num(v: Any) -> str:
    f = finite_or_none(v)
    return "" if f is None else repr(f)


def _bib_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60] or "x"


def bibtex(splits: Sequence[Mapping[str, Any]], protocol_version: str = PROTOCOL_VERSION) -> str:
    """@misc entries for the protocol and each split (identified by its content hash). Every
    text from a split record (name, builder, content hash) is LaTeX-escaped: a record is
    untrusted input, and an unbalanced brace would break the .bib file."""
    out = [
        f"@misc{{lcadbench_protocol_{_bib_key(protocol_version)},\n"
        f"  title = {{{{lcad-bench benchmark protocol, version {latex_escape(protocol_version)}}}}},\n"
        f"  note = {{Language-based image colorization evaluated per description level ({', '.join(LEVELS)}); "
        f"evaluation at {EVAL_RESOLUTION} px ({latex_escape(RESIZE_POLICY)}); 95\\% percentile bootstrap over images "
        f"(B = {BOOTSTRAP_B}, seed {BOOTSTRAP_SEED}).}},\n}}"
    ]
    seen = set()
    for sp in splits:
        h = str(sp.get("content_hash") or "")
        name = str(sp.get("id") or sp.get("name") or "split")
        if (name, h) in seen:
            continue
        seen.add((name, h))
        builder = sp.get("builder") if isinstance(sp.get("builder"), Mapping) else {}
        b_txt = f"{builder.get('name', '?')} {builder.get('version', '')}".strip()
        created = str(sp.get("created_at") or "")
        year = created[:4] if created[:4].isdigit() else None
        counts = ", ".join(
            f"{sp[k]} {k[2:]}" for k in ("n_pairs", "n_images") if isinstance(sp.get(k), int)
        )
        out.append(
            f"@misc{{lcadbench_split_{_bib_key(name)}_{_bib_key(h[:8])},\n"
            f"  title = {{{{lcad-bench split {latex_escape(name)} (content sha256 {latex_escape(h[:16]) or 'unknown'})}}}},\n"
            f"  note = {{Built by the lcad-bench builder {latex_escape(b_txt)}"
            + (f"; {counts}" if counts else "")
            + f"; protocol {latex_escape(protocol_version)}; content hash {latex_escape(h) or 'not recorded'}.}},\n"
            + (f"  year = {{{year}}},\n" if year else "")
            + "}"
        )
    return "\n\n".join(out) + "\n"


def bibtex_comment(splits: Sequence[Mapping[str, Any]]) -> str:
    """:func:`bibtex` as LaTeX comments, to follow a table in a .tex file (copy it into a .bib)."""
    lines = bibtex(splits).splitlines()
    return (
        "% BibTeX for the splits and the protocol (copy into your .bib):\n"
        + "\n".join(f"% {x}" if x else "%" for x in lines)
        + "\n"
    )


def results_frame(res: Any, infos: Mapping[str, ColumnInfo]) -> tuple[pd.DataFrame, list[str]]:
    """One run's ``results.json`` as a one-row table: the headline metrics (and its distribution
    metrics) at each level it ran, as recorded (each level on its own pairs)."""
    cells = {(c.level, c.metric): c for c in res.aggregates}
    present = {c.metric for c in res.aggregates if c.mean is not None}
    metrics = [n for n, i in infos.items() if i.headline and n in present]
    dist = {
        (str(d.get("level")), str(d.get("metric"))): d
        for d in res.distribution_metrics
        if isinstance(d, dict)
    }
    metrics += sorted({m for _, m in dist} - set(metrics))
    levels = [
        lv
        for lv in LEVELS
        if any(c.level == lv for c in res.aggregates) or any(k[0] == lv for k in dist)
    ]
    row: dict[str, Any] = {
        "rank": None,
        "run": f"{res.model.get('name', '?')}",
        "run_id": res.run_id,
    }
    cols = []
    for m in metrics:
        for lv in levels:
            c = cells.get((lv, m))
            d = dist.get((lv, m))
            if c is None and d is None:
                continue
            col = value_column(m, lv)
            cols.append(col)
            if c is not None:
                row[col], row[lo_column(col)], row[hi_column(col)] = c.mean, c.ci_low, c.ci_high
            else:
                row[col], row[lo_column(col)], row[hi_column(col)] = (
                    d.get("value"),
                    d.get("ci_low"),
                    d.get("ci_high"),
                )
    return pd.DataFrame([row]), cols


def export_results(res: Any, fmt: str, infos: Mapping[str, ColumnInfo], ci: bool = True) -> str:
    """``lcad-bench show --format``: one run as Markdown, LaTeX (+ BibTeX) or CSV."""
    frame, cols = results_frame(res, infos)
    n: dict[str, int] = {}
    for c in (
        res.aggregates
    ):  # a level's pairs: its widest cell (CWHR scores only pairs with colour units)
        n[c.level] = max(n.get(c.level, 0), c.n_pairs)
    n_txt = ", ".join(f"{lv} {n[lv]}" for lv in LEVELS if lv in n)
    sp = res.split
    caption = (f"{res.model.get('name', '?')} on {sp.get('id', '?')} (content {str(sp.get('content_hash', ''))[:8]}); "
               f"pairs per level: {n_txt}; each level on its own pairs.")  # fmt: skip
    if fmt == "markdown":
        return to_markdown(frame, cols, infos, ci=ci, caption=caption)
    if fmt == "latex":
        return to_latex(frame, cols, infos, ci=ci, caption=caption) + bibtex_comment([sp])
    if fmt == "csv":
        return to_csv(frame, cols, infos)
    raise ValueError(f"format {fmt!r}: expected one of {FORMATS}")
