"""The pages of the Streamlit app, one function each (the scripts in ``app_pages/`` call them).

Everything computed here comes from ``tables``, ``paired``, ``charts``, ``samples``, ``export``,
``studies`` and ``lcad_bench.study``; this module lays out widgets, keeps the view in the URL
(:mod:`.urlstate`) and passes every untrusted string through ``safe.md_escape`` before it
reaches an element that renders Markdown (tables render plain text).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from lcad_bench.leaderboard import export, urlstate
from lcad_bench.leaderboard.board import Board, board_path, load_board, signature
from lcad_bench.leaderboard.charts import degradation_chart, preference_chart
from lcad_bench.leaderboard.columns import (
    AVG_RANK,
    LEVELS,
    column_config,
    column_label,
    metric_info,
    order_metrics,
)
from lcad_bench.leaderboard.safe import md_escape
from lcad_bench.leaderboard.samples import (
    cwhr_units,
    descriptions,
    gray_input,
    gt_path,
    load_samples,
    metric_columns,
    read_rgb,
    safe_join,
    sample_row,
)
from lcad_bench.leaderboard.tables import (
    Group,
    GroupTable,
    SplitChoice,
    best_line,
    comparison_groups,
    context_table,
    degradation_frame,
    degradation_table,
    display_frame,
    group_table,
    levels_present,
    split_choices,
    split_rows,
)

from lcad_bench.protocol import PROTOCOL_VERSION
from lcad_bench.study.stats import is_study_column

VALUE_MODES = {
    "paired": "paired: Δ to complete on the same pairs",
    "unpaired": "unpaired: each level on its own pairs",
}
VIEWS = {"headline": "Headline", "diagnostics": "Diagnostics"}
ORACLE_SUFFIX = " (oracle / upper bound)"
MISSING = "—"


# ------------------------------------------------------------------------------------------
# shared


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_board(path: str, sig: tuple[Any, ...]) -> Board:
    """Shared between sessions and never mutated (metric facts hold functions: not picklable)."""
    return load_board(path)


def get_board() -> Board:
    """The board of ``$LCAD_BENCH_LEADERBOARD`` (cached until a board file changes)."""
    p = board_path()
    return _load_board(str(p), signature(p))


def _db_signature(url: str) -> Any:
    if url.startswith("sqlite:///"):
        try:
            s = Path(url[len("sqlite:///") :]).stat()
            return (s.st_mtime_ns, s.st_size)
        except OSError:
            return None
    return time.time() // 30  # another database: refresh every 30 s


@st.cache_data(show_spinner=False, max_entries=4)
def _study_cells(
    url: str, db_sig: Any, board_key: str, board_sig: Any
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    from lcad_bench.leaderboard.studies import study_cells

    from lcad_bench.errors import LcadBenchError
    from lcad_bench.study.store import StudyStore

    board = _load_board(board_key, board_sig)
    try:
        responses = StudyStore(url).frame()
        rows, infos, warnings = study_cells(responses, board.frame)
    except LcadBenchError as exc:
        return pd.DataFrame(), {}, [f"study results left out: {exc}"]
    return rows, infos, warnings


def board_cells(board: Board) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The board's cells with the user-study results as extra metric columns."""
    from lcad_bench.study.store import default_url

    url = default_url(board.path)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        return board.frame, dict(board.infos)
    p = board_path()
    rows, infos, warnings = _study_cells(url, _db_signature(url), str(p), signature(p))
    for w in warnings:
        st.warning(md_escape(w), icon="⚠️")
    if rows.empty:
        return board.frame, dict(board.infos)
    return pd.concat([board.frame, rows], ignore_index=True), {**board.infos, **infos}


MAX_WARNINGS_SHOWN = 50


def show_warnings(board: Board) -> None:
    """The board's warnings, and the inputs summarize left out (the first 50 of each shown)."""
    for w in board.warnings[:MAX_WARNINGS_SHOWN]:
        st.warning(md_escape(w), icon="⚠️")
    if board.summary_warnings:
        n = len(board.summary_warnings)
        with st.expander(
            f"{n} warning(s) from summarize (inputs or values left out)", expanded=False
        ):
            for w in board.summary_warnings[:MAX_WARNINGS_SHOWN]:
                st.warning(md_escape(w), icon="⚠️")
            if n > MAX_WARNINGS_SHOWN:
                st.caption(
                    f"… and {n - MAX_WARNINGS_SHOWN} more: see the warnings in the board's runs.json"
                )


def labels_of(board: Board) -> dict[str, str]:
    """Run labels, oracle runs marked."""
    labels = board.labels
    oracle = board.frame.drop_duplicates("run_id").set_index("run_id")["oracle"]
    return {
        r: (lab + ORACLE_SUFFIX if bool(oracle.get(r, False)) else lab) for r, lab in labels.items()
    }


def shown_table(t: GroupTable) -> pd.DataFrame:
    """A group table as the page shows it: helper and oracle columns dropped (the oracle label is
    in the run name), failures and the run id last. Numbers stay numbers (sortable); the page
    passes ``placeholder="—"`` for missing values."""
    f = display_frame(t.frame).drop(columns=["oracle"], errors="ignore")
    tail = [c for c in ("failed", "run_id") if c in f.columns]
    return f[[c for c in f.columns if c not in tail] + tail]


def _split_widget(choices: list[SplitChoice], key: str, param: str = "split") -> SplitChoice:
    by_key = {c.key: c for c in choices}
    urlstate.init(key, param, list(by_key), choices[0].key)
    k = st.sidebar.selectbox(
        "Split (name · content hash)", list(by_key), key=key, format_func=lambda x: by_key[x].label
    )
    return by_key[k]


@st.cache_data(show_spinner=False, max_entries=32)
def _samples(
    run_id: str, run_dir: str, rel: str, sha: Any, sig: Any
) -> tuple[pd.DataFrame | None, str | None]:
    return load_samples(
        {"run_id": run_id, "run_dir": run_dir, "samples": rel, "samples_sha256": sha}
    )


def run_samples(entry: dict[str, Any]) -> tuple[pd.DataFrame | None, str | None]:
    """A run's samples table, checked against the sha256 the board recorded (cached until the
    file changes)."""
    run_dir, rel = entry.get("run_dir"), entry.get("samples")
    if not run_dir or not rel:
        return load_samples(entry)
    p = safe_join(run_dir, rel)
    try:
        sig = (p.stat().st_mtime_ns, p.stat().st_size) if p is not None else None
    except OSError:
        sig = None
    sha = entry.get("samples_sha256")
    return _samples(
        str(entry.get("run_id")), str(run_dir), str(rel), sha if isinstance(sha, str) else None, sig
    )


# ------------------------------------------------------------------------------------------
# (a) leaderboard


def _metric_sets(frame: pd.DataFrame, infos: dict[str, Any]) -> dict[str, list[str]]:
    present = order_metrics(frame["metric"].dropna().astype(str).unique().tolist())
    headline = [m for m in present if (m in infos and infos[m].headline) or is_study_column(m)]
    return {"headline": headline, "diagnostics": [m for m in present if m not in headline]}


def page_leaderboard() -> None:
    st.title("Leaderboard")
    board = get_board()
    show_warnings(board)
    if board.frame.empty:
        st.info(
            md_escape(
                f"The board at {board.path} has no results yet. Run `lcad-bench summarize RUNS... --out {board.path}`."
            )
        )
        return
    frame, infos = board_cells(board)
    choices = split_choices(frame)
    choice = _split_widget(choices, "lb_split")
    repro, ctx = split_rows(frame, choice)
    levels = levels_present(repro) or levels_present(ctx) or [LEVELS[0]]
    urlstate.init("lb_levels", "level", levels, [levels[0]], multi=True)
    urlstate.init("lb_values", "values", list(VALUE_MODES), "paired")
    urlstate.init("lb_view", "view", list(VIEWS), "headline")
    models = sorted(repro["model"].dropna().astype(str).unique().tolist())
    urlstate.init("lb_models", "model", models, [], multi=True)
    urlstate.init_flag("lb_rank_oracle", "rank_oracle", False)
    urlstate.init_flag("lb_other", "other", True)
    urlstate.init_flag("lb_ci", "ci", False)
    with st.sidebar:
        chosen_levels = st.multiselect("Levels", levels, key="lb_levels", placeholder="complete")
        mode = st.radio("Per-level values", list(VALUE_MODES), key="lb_values", format_func=VALUE_MODES.get,
                        help="Paired: the complete value and each level's difference to complete on the pairs "
                             "defined at both levels for every run (n stated below each table). Unpaired: the "
                             "per-level means of results.json, each level on its own pairs.")  # fmt: skip
        chosen_models = st.multiselect("Models", models, key="lb_models", placeholder="all models")
        rank_oracle = st.checkbox("Rank oracle / upper-bound models", key="lb_rank_oracle",
                                  help="Off: oracle runs are shown, labelled, below the ranked runs")  # fmt: skip
        other = st.checkbox("Show partial runs and other protocol versions", key="lb_other",
                            help="Runs with --limit, a subset of levels, an unmerged shard or another protocol version: "
                                 "each set is ranked only within itself")  # fmt: skip
        with_ci = st.checkbox("Show 95% CI columns", key="lb_ci")
    chosen_levels = chosen_levels or [levels[0]]
    top = st.columns([2, 3])
    view = top[0].radio("Columns", list(VIEWS), key="lb_view", format_func=VIEWS.get, horizontal=True,
                    help="Headline: PSNR, SSIM, LPIPS, FID, ΔCF, CWHR and user-study results; diagnostics: every other column")  # fmt: skip
    metrics = _metric_sets(repro if len(repro) else ctx, infos)[view]
    st.caption(
        md_escape(
            f"Split {choice.label} · protocol {PROTOCOL_VERSION} · "
            + (f"values at level {chosen_levels[0]} · " if len(chosen_levels) == 1 else "")
            + "runs on other content are on other splits, never in this table"
        )
    )
    groups = comparison_groups(
        repro[repro["model"].isin(chosen_models)] if chosen_models else repro
    )
    hidden = [g for g in groups if not g.full] if not other else []
    if not other:
        groups = [g for g in groups if g.full]
    labels = labels_of(board)
    auto = [m for m in metrics if not is_study_column(m)]
    sort_key = st.session_state.get("lb_sort") or urlstate.get("sort")
    tables: list[tuple[Any, GroupTable]] = []
    for g in groups:
        t = group_table(repro, board.pairs, infos, g.run_ids, metrics=metrics, levels=chosen_levels,
                        paired=mode == "paired", ranked=g.ranked, rank_oracle=rank_oracle, sort_by=sort_key,
                        with_ci=with_ci, labels=labels, avg_rank_metrics=auto, failures=board.failures)  # fmt: skip
        tables.append((g, t))
    options = [AVG_RANK] + list(dict.fromkeys(c for _, t in tables for c in t.value_columns))
    if st.session_state.get("lb_sort") not in options:
        st.session_state["lb_sort"] = sort_key if sort_key in options else AVG_RANK
    top[1].selectbox(
        "Sort by", options, key="lb_sort", format_func=lambda c: column_label(c, infos)
    )
    if not tables:
        st.info(
            "No full run at the current protocol on this split: tick 'Show partial runs and other protocol versions'."
            if hidden
            else "No reproduced run on this split for this selection."
        )
    for g, t in tables:
        st.subheader(md_escape(g.title))
        st.markdown(md_escape(best_line(t, infos)))
        shown = shown_table(t)
        st.dataframe(shown, hide_index=True, column_config=column_config(shown.columns, infos, len(chosen_levels) > 1), key=f"lb_table_{g.key}",
                     placeholder=MISSING, height="content")  # fmt: skip
        notes = ([g.note] if g.note else []) + t.notes
        st.caption(md_escape(" · ".join(notes)))
        for rid in t.frame.loc[t.frame["failed"] > 0, "run_id"]:
            n = board.failures.get(rid, 0)
            st.warning(md_escape(f"{labels.get(rid, rid)}: {n} samples failed and are left out of every value; "
                                 "the Run details page lists them with their errors."), icon="⚠️")  # fmt: skip
    ctx_table = context_table(ctx, board.runs, metrics, chosen_levels)
    if not ctx_table.empty:
        st.subheader("Reported numbers (context, never ranked)")
        same = bool(choice.content_hash) and bool(
            (ctx["split_hash"] == choice.content_hash).fillna(False).all()
        )
        st.caption(md_escape(f"Published numbers for a split named {choice.name!r}"
                             + (" with this content hash" if same else " (matched by name: the content may differ)")
                             + "; their protocol may differ too (see each source's notes)."))  # fmt: skip
        st.dataframe(ctx_table, hide_index=True, column_config=column_config(ctx_table.columns, infos), key="lb_context",
                     placeholder=MISSING)  # fmt: skip
    _downloads(board, tables, infos, choice, with_ci)
    urlstate.sync({
        "split": (st.session_state["lb_split"], choices[0].key), "level": (st.session_state["lb_levels"], [levels[0]]),
        "values": (mode, "paired"), "view": (view, "headline"), "model": (chosen_models, []),
        "rank_oracle": (rank_oracle, False), "other": (other, True), "ci": (with_ci, False),
        "sort": (st.session_state["lb_sort"], AVG_RANK),
    })  # fmt: skip


def _downloads(board: Board, tables: list[tuple[Any, GroupTable]], infos: dict[str, Any], choice: SplitChoice,
               with_ci: bool) -> None:  # fmt: skip
    if not tables:
        return
    splits = [
        board.runs.get(r, {}).get("details", {}).get("split", {})
        for _, t in tables
        for r in t.frame["run_id"]
    ]
    parts_md: list[str] = []
    parts_tex: list[str] = []
    parts_csv: list[tuple[str, pd.DataFrame, list[str]]] = []
    for g, t in tables:
        f = t.frame
        cap = f"{g.title}; split {choice.label}; " + " ".join(t.notes)
        parts_md.append(
            f"### {md_escape(g.title)}\n\n"
            + export.to_markdown(
                f, t.value_columns, infos, ci=with_ci, caption=cap, unranked=t.unranked
            )
        )
        parts_tex.append(export.to_latex(f, t.value_columns, infos, ci=with_ci, caption=cap,
                                         label=f"tab:lcad-bench-{len(parts_tex) + 1}", unranked=t.unranked))  # fmt: skip
        parts_csv.append((g.title, f, t.value_columns))
    tex = "\n".join(parts_tex) + export.bibtex_comment([s for s in splits if isinstance(s, dict)])
    st.subheader("Export")
    c = st.columns(4)
    c[0].download_button(
        "LaTeX table", tex, file_name="leaderboard.tex", mime="text/x-tex", key="dl_tex"
    )
    c[1].download_button("BibTeX", export.bibtex([s for s in splits if isinstance(s, dict)]), file_name="lcad-bench.bib",
                         mime="text/x-bibtex", key="dl_bib")  # fmt: skip
    c[2].download_button(
        "Markdown",
        "\n".join(parts_md),
        file_name="leaderboard.md",
        mime="text/markdown",
        key="dl_md",
    )
    c[3].download_button(
        "CSV",
        export.groups_to_csv(parts_csv, infos),
        file_name="leaderboard.csv",
        mime="text/csv",
        key="dl_csv",
    )
    st.caption("The URL of this page holds the filters: copy it to share this view.")


# ------------------------------------------------------------------------------------------
# (b) per-level charts


def page_charts() -> None:
    st.title("Per-level degradation")
    board = get_board()
    show_warnings(board)
    if board.frame.empty:
        st.info("No results on the board yet.")
        return
    frame, infos = board_cells(board)
    choices = [c for c in split_choices(frame) if c.n_runs]
    if not choices:
        st.info("No reproduced run on the board.")
        return
    choice = _split_widget(choices, "ch_split")
    repro, _ = split_rows(frame, choice)
    groups = comparison_groups(repro)
    full = [g for g in groups if g.full]
    if len(full) > 1:  # a degradation chart compares no ranks: both L* groups may share it
        both = tuple(sorted(r for g in full for r in g.run_ids))
        groups = [Group("full-all", "All full runs (own and replaced L*)", False, both), *groups]
    gkeys = {g.key: g for g in groups}
    urlstate.init("ch_group", "group", list(gkeys), groups[0].key)
    metrics = order_metrics(repro["metric"].dropna().astype(str).unique().tolist())
    default_metric = next((m for m in metrics if m in infos and infos[m].headline), metrics[0])
    urlstate.init("ch_metric", "metric", metrics, default_metric)
    urlstate.init("ch_values", "values", list(VALUE_MODES), "paired")
    with st.sidebar:
        gk = st.selectbox(
            "Runs compared", list(gkeys), key="ch_group", format_func=lambda k: gkeys[k].title
        )
        metric = st.selectbox("Metric", metrics, key="ch_metric",
                              format_func=lambda m: infos[m].label if m in infos else m)  # fmt: skip
        mode = st.radio("Values", list(VALUE_MODES), key="ch_values", format_func=VALUE_MODES.get)
    group = gkeys[gk]
    labels = labels_of(board)
    lum = repro.drop_duplicates("run_id").set_index("run_id")["luminance_replaced"]
    labels = {
        r: lab + (" (L* replaced)" if lum.get(r) is True else "") for r, lab in labels.items()
    }
    urlstate.init("ch_runs", "run", list(group.run_ids), list(group.run_ids), multi=True)
    chosen = st.sidebar.multiselect(
        "Runs", list(group.run_ids), key="ch_runs", format_func=lambda r: labels.get(r, r)
    )
    run_ids = chosen or list(group.run_ids)
    info = infos.get(metric) or metric_info(metric)
    paired = mode == "paired"
    f = degradation_frame(repro, board.pairs, info, run_ids, paired=paired, labels=labels)
    if paired and f.empty:
        st.info(md_escape(f"{info.display_name} has no per-pair values (a distribution metric, a user-study result or a board "
                          "without pairs.parquet): showing the unpaired per-level values."))  # fmt: skip
        paired = False
        f = degradation_frame(repro, board.pairs, info, run_ids, paired=False, labels=labels)
    if f.empty:
        st.info("No values for this selection.")
    else:
        st.subheader(
            md_escape(
                f"{info.label}: "
                + ("paired difference to complete" if paired else "per-level means (unpaired)")
            )
        )
        st.altair_chart(degradation_chart(f, info, paired=paired), width="stretch")
        direction = (
            "Information only."
            if info.higher_is_better is None
            else ("Higher is better." if info.higher_is_better else "Lower is better.")
        )
        if paired:
            st.caption(md_escape(f"Paired difference to complete: each level on the pairs defined at that level and at "
                                 f"complete for every run shown (n per level in the table); 95% bootstrap intervals "
                                 f"resampling images. {direction}"))  # fmt: skip
        else:
            st.caption(md_escape(f"Unpaired per-level means as in results.json: each level on its own pairs (n per level "
                                 f"in the table), so levels with fewer pairs (partial) average a different subset. {direction}"))  # fmt: skip
        tab = degradation_table(f, info, paired)
        cfg = {c: st.column_config.NumberColumn(c, format=info.number_format) for c in tab.columns
               if c != "run" and not c.endswith("95% CI")}  # fmt: skip
        st.dataframe(tab, hide_index=True, key="ch_table", column_config=cfg, placeholder=MISSING)
    urlstate.sync({"split": (st.session_state["ch_split"], choices[0].key), "group": (gk, groups[0].key),
                   "metric": (metric, default_metric), "values": (mode, "paired"),
                   "run": (chosen, list(group.run_ids))})  # fmt: skip


# ------------------------------------------------------------------------------------------
# (c) sample viewer


def _reset_runs(*keys: str) -> None:
    for k in keys:
        st.session_state.pop(k, None)


def _full_run(entry: dict[str, Any]) -> bool:
    """A full run at the current protocol (runs.json's ``rankable``: not partial, current
    protocol version)."""
    return bool(entry.get("rankable")) and not entry.get("partial")


def page_samples() -> None:
    st.title("Sample viewer")
    board = get_board()
    show_warnings(board)
    with_samples = {
        rid: e for rid, e in board.runs.items() if e.get("run_dir") and e.get("samples")
    }
    if not with_samples:
        st.info("No run on the board has a samples table (reported numbers have none).")
        return
    labels = labels_of(board)
    by_split: dict[str, list[str]] = {}
    for r, e in with_samples.items():
        by_split.setdefault(str(e.get("split_hash") or f"name:{e.get('split')}"), []).append(r)
    split_label = {k: str(with_samples[v[0]].get("split_label") or with_samples[v[0]].get("split")) + f" ({len(v)} runs)"
                   for k, v in by_split.items()}  # fmt: skip
    keys = sorted(by_split, key=lambda k: (-len(by_split[k]), split_label[k]))
    urlstate.init("sv_split", "split", keys, keys[0])
    split = st.sidebar.selectbox("Split (name · content hash)", keys, key="sv_split", format_func=split_label.get,
                                 on_change=_reset_runs, args=("sv_runs", "sv_pair", "sv_level"))  # fmt: skip
    full = {r for r in by_split[split] if _full_run(with_samples[r])}
    rids = sorted(by_split[split], key=lambda r: (r not in full, labels.get(r, r)))
    default = [r for r in rids if r in full][:4] or rids[:4]  # the first four full runs
    urlstate.init("sv_runs", "run", rids, default, multi=True)
    chosen = st.sidebar.multiselect("Runs", rids, key="sv_runs", format_func=lambda r: labels.get(r, r),
                                    on_change=_reset_runs, args=("sv_pair",))  # fmt: skip
    if not chosen:
        chosen = default
        st.caption("No run chosen: showing the first full runs of the split.")
    tables: dict[str, pd.DataFrame] = {}
    for r in chosen:
        df, warn = run_samples(with_samples[r])
        if warn:
            st.warning(md_escape(warn), icon="⚠️")
        if df is not None:
            tables[r] = df
    if not tables:
        return
    first = next(iter(tables.values()))
    pairs = sorted(set.intersection(*(set(t["pair_id"].astype(str)) for t in tables.values())))
    if not pairs:
        st.info("The chosen runs share no pair.")
        return
    urlstate.init("sv_pair", "pair", pairs, pairs[0])
    pair = st.sidebar.selectbox("Pair", pairs, key="sv_pair")
    levels = [lv for lv in LEVELS if lv in set(first[first["pair_id"] == pair]["level"])]
    urlstate.init("sv_level", "level", levels, levels[0])
    if st.session_state.get("sv_level") not in levels:
        st.session_state["sv_level"] = levels[0]
    level = st.sidebar.radio("Level", levels, key="sv_level")
    st.subheader("Descriptions")
    desc = descriptions(first, pair)
    desc["description"] = [
        d if isinstance(d, str) and d else "(empty)" for d in desc["description"]
    ]
    st.dataframe(desc, hide_index=True, key="sv_desc")
    row0 = sample_row(first, pair, level) or {}
    run_dir0 = with_samples[next(iter(tables))]["run_dir"]
    gt = read_rgb(gt_path(run_dir0, str(row0.get("image_key", ""))))
    cols = st.columns(2 + len(tables))
    if gt is not None:
        cols[0].image(gray_input(gt), caption="gray input", width="stretch")
        cols[1].image(gt, caption="ground truth", width="stretch")
    else:
        cols[0].info("ground truth not found")
    metric_rows = []
    for i, (r, t) in enumerate(tables.items()):
        row = sample_row(t, pair, level)
        label = labels.get(r, r)
        if row is None:
            cols[2 + i].info(md_escape(f"{label}: no sample"))
            continue
        img = read_rgb(safe_join(with_samples[r]["run_dir"], row.get("output_path")))
        if img is not None:
            cols[2 + i].image(img, caption=md_escape(label), width="stretch")
        else:
            cols[2 + i].warning(md_escape(f"{label}: {row.get('error') or 'output image missing'}"))
        metric_rows.append({"run": label, **{m: row.get(m) for m in metric_columns(t)}})
    st.markdown(
        f"**Description ({level}):** "
        + (md_escape(row0.get("description")) if row0.get("description") else "—")
    )
    st.subheader("Per-sample metrics")
    mr = pd.DataFrame(metric_rows)
    st.dataframe(mr, hide_index=True, key="sv_metrics", placeholder=MISSING)
    st.subheader("CWHR per phrase")
    for r, t in tables.items():
        row = sample_row(t, pair, level)
        units = cwhr_units(row or {})
        st.markdown("**" + md_escape(labels.get(r, r)) + "**")
        if units.empty:
            st.caption("no CWHR units recorded for this sample")
        else:
            st.dataframe(units, hide_index=True, key=f"sv_cwhr_{r}", placeholder=MISSING)
    urlstate.sync({"split": (split, keys[0]), "run": (st.session_state.get("sv_runs", []), default),
                   "pair": (pair, pairs[0]), "level": (level, levels[0])})  # fmt: skip


# ------------------------------------------------------------------------------------------
# (d) run details


def _weights(metrics_meta: Any) -> pd.DataFrame:
    rows = []
    if isinstance(metrics_meta, dict):
        for name, meta in metrics_meta.items():
            if not isinstance(meta, dict):
                continue
            w = meta.get("weights") or meta.get("weight_files") or {}
            if isinstance(w, dict):
                for k, v in w.items():
                    rows.append({"metric": name, "file": str(k), "sha256": str(v)})
            elif isinstance(w, list):
                for x in w:
                    rows.append({"metric": name, "file": str(x.get("name", x) if isinstance(x, dict) else x),
                                 "sha256": str(x.get("sha256", "")) if isinstance(x, dict) else ""})  # fmt: skip
            if not w:
                rows.append({"metric": name, "file": f"backend {meta.get('backend', '?')} {meta.get('version', '')}".strip(),
                             "sha256": ""})  # fmt: skip
    return pd.DataFrame(rows, columns=["metric", "file", "sha256"])


def page_run() -> None:
    st.title("Run details")
    board = get_board()
    show_warnings(board)
    if not board.runs:
        st.info("No runs on the board.")
        return
    labels = labels_of(board)
    rids = sorted(board.runs, key=lambda r: (bool(board.runs[r].get("reported")), labels.get(r, r)))
    urlstate.init("rd_run", "run", rids, rids[0])
    rid = st.sidebar.selectbox("Run", rids, key="rd_run",
                               format_func=lambda r: f"{labels.get(r) or board.runs[r].get('label') or r}")  # fmt: skip
    e = board.runs[rid]
    d = e.get("details", {}) if isinstance(e.get("details"), dict) else {}
    urlstate.sync({"run": (rid, rids[0])})
    if e.get("reported"):
        st.badge("reported", color="orange")
        cit = d.get("citation", {}) if isinstance(d.get("citation"), dict) else {}
        ref = pd.DataFrame([
            {"field": "source", "value": str(cit.get("text", "?"))},
            {"field": "link", "value": str(cit.get("url") or cit.get("doi") or "")},
            {"field": "where", "value": str(cit.get("table") or cit.get("figure") or cit.get("page") or cit.get("comment") or "")},
            {"field": "status", "value": str(d.get("status", ""))},
            {"field": "protocol notes", "value": str(d.get("protocol_notes", ""))},
            {"field": "split", "value": str(e.get("split_label") or e.get("split"))},
        ])  # fmt: skip
        st.dataframe(ref, hide_index=True, key="rd_reported")
        st.json(d.get("provenance", {}))
        return
    st.badge("reproduced", color="green")
    if e.get("oracle"):
        st.badge("oracle / upper bound: not ranked by default", color="violet")
    if not e.get("rankable", True):
        st.warning(md_escape(f"Not in the main ranking: {e.get('not_rankable_reason')}"))
    model = d.get("model", {}) if isinstance(d.get("model"), dict) else {}
    split = d.get("split", {}) if isinstance(d.get("split"), dict) else {}
    overview = pd.DataFrame([
        {"field": "run id", "value": rid},
        {"field": "model", "value": f"{model.get('name')} {model.get('version') or ''}".strip()},
        {"field": "config hash", "value": str(model.get("config_hash", ""))},
        {"field": "luminance replaced", "value": str(model.get("luminance_replaced"))},
        {"field": "oracle / upper bound", "value": str(bool(model.get("oracle")))},
        {"field": "uses instance masks", "value": str(model.get("uses_instance_masks"))},
        {"field": "split", "value": f"{e.get('split')} (content {str(split.get('content_hash', ''))[:16]})"},
        {"field": "pairs / images", "value": f"{split.get('n_pairs')} / {split.get('n_images')}"},
        {"field": "partial run", "value": "; ".join(map(str, e.get("partial") or [])) or "no (full run)"},
        {"field": "levels", "value": ", ".join(map(str, d.get("protocol", {}).get("levels") or []))},
        {"field": "failed samples", "value": str((e.get("failures") or {}).get("count", 0))},
        {"field": "created", "value": str(e.get("date"))},
        {"field": "run folder", "value": str(e.get("run_dir"))},
    ])  # fmt: skip
    st.dataframe(overview, hide_index=True, key="rd_overview", height="content")
    fails = (e.get("failures") or {}).get("listed") or []
    if fails:
        st.subheader("Failed samples")
        st.caption(md_escape(f"{(e.get('failures') or {}).get('count', len(fails))} samples failed; they are left out of every mean "
                             "(and of the paired comparisons for every run of the group)."))  # fmt: skip
        st.dataframe(pd.DataFrame(fails).astype(str), hide_index=True, key="rd_failures")
    st.subheader("Model config")
    st.json(model.get("config", {}))
    st.subheader("Seeds")
    st.dataframe(pd.DataFrame([{"key": k, "value": str(v)} for k, v in (d.get("seeds") or {}).items()]),
                 hide_index=True, key="rd_seeds")  # fmt: skip
    st.subheader("Versions")
    st.dataframe(pd.DataFrame([{"package": k, "version": str(v)} for k, v in (d.get("environment") or {}).items()]),
                 hide_index=True, key="rd_env")  # fmt: skip
    st.subheader("Weights")
    weights = _weights(d.get("metrics"))
    mw = model.get("weights") or model.get("weights_sha256")
    if mw:
        weights = pd.concat(
            [
                pd.DataFrame(
                    [{"metric": "(model)", "file": str(model.get("name")), "sha256": str(mw)}]
                ),
                weights,
            ]
        )
    st.dataframe(weights, hide_index=True, key="rd_weights")
    st.subheader("Skipped metrics")
    skipped = d.get("skipped_metrics") or {}
    st.dataframe(pd.DataFrame([{"metric": k, "reason": str(v)} for k, v in skipped.items()], columns=["metric", "reason"]),
                 hide_index=True, key="rd_skipped")  # fmt: skip
    if d.get("warnings"):
        st.subheader("Warnings")
        for w in d["warnings"]:
            st.warning(md_escape(str(w)))
    with st.expander("Protocol"):
        st.json(d.get("protocol", {}))


# ------------------------------------------------------------------------------------------
# (e) user-study results and (f) running a study


def _store(board: Board) -> Any:
    from lcad_bench.study.store import StudyStore, default_url

    return StudyStore(default_url(board.path))


def _method_label(board: Board, labels: dict[str, str]) -> Any:
    from lcad_bench.study.design import GRAY, GT

    names = {GT: "ground truth", GRAY: "gray input"}

    def f(m: Any) -> str:
        return names.get(m) or labels.get(str(m)) or str(m)

    return f


def page_study_results() -> None:
    from lcad_bench.errors import LcadBenchError
    from lcad_bench.study.stats import analyze
    from lcad_bench.study.store import default_url

    st.title("User-study results")
    board = get_board()
    url = default_url(board.path)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        st.info(
            md_escape(
                f"No study database yet ({url}). Set up a study on the 'Run a study' page or import Likert ratings."
            )
        )
        return
    try:
        df = _store(board).frame()
    except LcadBenchError as exc:
        st.error(md_escape(str(exc)))
        return
    if df.empty:
        st.info("No responses recorded yet.")
        return
    ids = sorted(df["study_id"].astype(str).unique())
    urlstate.init("sr_study", "study", ids, ids[0])
    sid = st.sidebar.selectbox("Study", ids, key="sr_study")
    urlstate.sync({"study": (sid, ids[0])})
    res = analyze(df[df["study_id"] == sid]).get(sid, {})
    st.caption(
        "Win rates and Bradley–Terry scores also appear as columns of the leaderboard and in the per-level chart."
    )
    c = st.columns(4)
    c[0].metric("raters", res.get("n_raters", 0))
    c[1].metric("items", res.get("n_items", 0))
    c[2].metric("judgements", res.get("n_judgements", 0))
    alpha = res.get("krippendorff_alpha_choice")
    if alpha is None:
        alpha = res.get("krippendorff_alpha_score")
    c[3].metric("Krippendorff α", "—" if alpha is None or alpha != alpha else f"{alpha:.3f}")
    lvls = [lv for lv in LEVELS if lv in res.get("levels", [])] + [
        lv for lv in res.get("levels", []) if lv not in LEVELS
    ]
    st.markdown(md_escape(f"{sid} · criteria: {', '.join(res.get('criteria', []))} · levels: {', '.join(lvls)} · "
                          f"{res.get('first')} – {res.get('last')}"))  # fmt: skip
    st.page_link(
        "app_pages/study.py",
        label="Link for raters: join this study",
        query_params={"study": sid},
        icon=":material/link:",
    )
    if res.get("excluded_raters"):
        st.warning(
            f"{len(res['excluded_raters'])} rater(s) excluded for failing more than 20% of catch trials"
        )
    label = _method_label(board, labels_of(board))
    by = pd.DataFrame(res.get("by_level", []))
    if not by.empty:
        by["method"] = by["method"].map(label)
        by["level"] = pd.Categorical(by["level"], [*LEVELS, "all"], ordered=True)
        by = by.sort_values(["criterion", "level", "win_rate"], ascending=[True, True, False])
        st.subheader("Win rate by level (Wilson 95%)")
        st.altair_chart(preference_chart(by), width="stretch")
        shown = by.copy()
        shown["win rate"] = [f"{100 * v:.1f}%" for v in shown["win_rate"]]
        shown["Wilson 95%"] = [
            f"[{100 * a:.1f}, {100 * b:.1f}]" for a, b in zip(shown["ci_low"], shown["ci_high"])
        ]
        shown["BT score"] = [MISSING if v is None or v != v else f"{v:.3f}" for v in shown["bt"]]
        shown["BT 95%"] = [
            "" if a is None or a != a else f"[{a:.3f}, {b:.3f}]"
            for a, b in zip(shown["bt_low"], shown["bt_high"])
        ]
        shown = shown[
            [
                "criterion",
                "level",
                "method",
                "chosen",
                "shown",
                "win rate",
                "Wilson 95%",
                "BT score",
                "BT 95%",
            ]
        ]
        st.dataframe(shown.astype({"level": str}), hide_index=True, key="sr_by_level")
    pref = pd.DataFrame(res.get("preference", []))
    if not pref.empty:
        pref["method"] = pref["method"].map(label)
        st.subheader("Preference over all levels (Wilson 95% interval)")
        pct = st.column_config.NumberColumn(format="percent")
        st.dataframe(pref, hide_index=True, key="sr_pref", column_config={"preference": pct, "ci_low": pct, "ci_high": pct},
                     placeholder=MISSING)  # fmt: skip
    bt = pd.DataFrame(res.get("bradley_terry", []))
    if not bt.empty:
        bt["method"] = bt["method"].map(lambda m: label(m) if isinstance(m, str) else MISSING)
        st.subheader("Bradley–Terry log-strengths (bootstrap over raters)")
        st.dataframe(bt, hide_index=True, key="sr_bt", placeholder=MISSING)
    mos = pd.DataFrame(res.get("mos", []))
    if not mos.empty:
        mos["method"] = mos["method"].map(label)
        st.subheader("MOS (1–5, bootstrap over raters and items)")
        st.dataframe(mos, hide_index=True, key="sr_mos", placeholder=MISSING)


def _available(board: Board, rids: list[str]) -> dict[str, dict[tuple[str, str], str]]:
    out: dict[str, dict[tuple[str, str], str]] = {}
    for r in rids:
        if r not in board.runs:
            continue
        df, warn = run_samples(board.runs[r])
        if df is None:
            if warn:
                st.warning(md_escape(warn))
            continue
        ok = df[df["error"].isna() & df["output_path"].notna()] if "error" in df.columns else df
        ok = ok.sort_values("seed", kind="stable") if "seed" in ok.columns else ok
        ok = ok.drop_duplicates(["pair_id", "level"])
        out[r] = {
            (str(p), str(lv)): str(dsc or "")
            for p, lv, dsc in zip(ok["pair_id"], ok["level"], ok["description"])
        }
    return out


def _answer(store: Any, sid: str, rater: str, item: Any, criterion: str, choice: str) -> None:
    shown = st.session_state.get("study_shown_at", {}).get(item.item_id)
    from lcad_bench.errors import LcadBenchError

    rt = int(round((time.monotonic() - shown) * 1000)) if shown is not None else None
    try:
        store.record(
            study_id=sid,
            rater_id=rater,
            item=item,
            criterion=criterion,
            choice=choice,
            response_time_ms=rt,
        )
    except LcadBenchError as exc:  # shown at the top of the page on the rerun
        st.session_state["study_error"] = f"your answer was not recorded: {exc}"
        return
    st.session_state["study_last"] = item.item_id


def _image_of(board: Board, method: str, item: Any, gt_run: str) -> Any:
    from lcad_bench.study.design import GRAY, GT

    if method in (GT, GRAY):
        df, _ = run_samples(board.runs[gt_run])
        row = sample_row(df, item.pair_id, item.level) if df is not None else None
        gt = read_rgb(gt_path(board.runs[gt_run]["run_dir"], str((row or {}).get("image_key", ""))))
        if gt is None:
            return None
        return gt if method == GT else gray_input(gt)
    df, _ = run_samples(board.runs[method])
    row = sample_row(df, item.pair_id, item.level) if df is not None else None
    return read_rgb(safe_join(board.runs[method]["run_dir"], (row or {}).get("output_path")))


def _setup_study(board: Board, store: Any, runs: list[str]) -> None:
    """The set-up form (organisers only): fixes the configuration once; raters join by link.
    The runs must share one split content and protocol (``studies.study_runs_problem``)."""
    from lcad_bench.leaderboard.studies import study_runs_problem

    from lcad_bench.errors import LcadBenchError, UsageError
    from lcad_bench.study.design import CRITERIA, StudyConfig

    labels = labels_of(board)
    with st.form("st_setup"):
        sid = st.text_input("Study id", value="study-1", key="st_id")
        chosen = st.multiselect(
            "Runs to compare",
            runs,
            default=runs[:2],
            key="st_runs",
            format_func=lambda r: labels.get(r, r),
        )
        criterion = st.radio("Criterion", list(CRITERIA), key="st_crit", horizontal=True)
        levels = st.multiselect("Levels", list(LEVELS), default=list(LEVELS), key="st_levels")
        n_items = int(st.number_input("Items per rater", 1, 1000, 20, key="st_n"))
        seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, key="st_seed"))
        catch = int(
            st.number_input("Catch trial every N items (0: none)", 0, 100, 0, key="st_catch")
        )
        create = st.form_submit_button("Create study")
    if not create:
        return
    try:
        cfg = StudyConfig(
            sid.strip(), tuple(chosen), criterion, "2afc", tuple(levels), n_items, seed, catch
        )
        problem = study_runs_problem(cfg.runs, board.frame)
        if problem:
            raise UsageError(f"cannot set up study {cfg.study_id!r}: {problem}")
        if store.study_config(cfg.study_id) is not None:
            raise LcadBenchError(
                f"study {cfg.study_id!r} exists already: raters join it by its link; choose another id for a new set-up"
            )
        from lcad_bench.study.design import draw_items

        draw_items(
            cfg, _available(board, list(chosen))
        )  # the runs must share samples at these levels
        store.ensure_study(cfg)
    except LcadBenchError as exc:
        st.error(md_escape(str(exc)))
        return
    st.session_state["st_join"] = cfg.study_id
    st.success(
        md_escape(
            f"Study {cfg.study_id} created. Send raters this page's link with ?study={cfg.study_id}:"
        )
    )
    st.page_link(
        "app_pages/study.py",
        label="Join link",
        query_params={"study": cfg.study_id},
        icon=":material/link:",
    )


def page_study() -> None:
    from lcad_bench.leaderboard.studies import study_runs_problem

    from lcad_bench.errors import LcadBenchError
    from lcad_bench.study.design import CRITERIA, GRAY, Session, draw_items, hash_rater, rater_order

    st.title("Run a user study")
    board = get_board()
    runs = sorted(r for r, e in board.runs.items() if e.get("run_dir") and e.get("samples"))
    if st.session_state.get("study_error"):
        st.error(md_escape(st.session_state.pop("study_error")))
    try:
        store = _store(board)
        ids = store.study_ids()
    except LcadBenchError as exc:
        st.error(md_escape(str(exc)))
        return
    wanted = urlstate.get("study") or st.session_state.get("st_join")
    if wanted not in ids:
        if wanted:
            st.warning(md_escape(f"No study with id {wanted} on this board."))
        st.markdown("Raters: open the link the organiser sent you (it ends in `?study=...`).")
        if ids:
            st.selectbox("Join an existing study", [""] + ids, key="st_pick",
                         on_change=lambda: st.session_state.update(st_join=st.session_state.get("st_pick") or None))  # fmt: skip
        with st.expander("Set up a new study (organisers)", expanded=not ids):
            if len(runs) < 2:
                st.info("A study needs at least two runs with samples on the board.")
            else:
                _setup_study(board, store, runs)
        return
    sid = str(wanted)
    urlstate.sync({"study": (sid, None)})
    try:
        cfg = store.study_config(sid)
    except LcadBenchError as exc:
        st.error(md_escape(str(exc)))
        return
    if cfg is None:
        st.error(
            md_escape(
                f"Study {sid} has responses but no stored set-up (imported ratings); it cannot be run here."
            )
        )
        return
    st.subheader(md_escape(f"Study {sid}"))
    raw = st.text_input("Your rater id (stored only as a salted hash)", key="st_rater")
    if not raw.strip():
        st.info("Enter your rater id to start.")
        return
    problem = study_runs_problem(cfg.runs, board.frame)
    if problem:
        st.error(md_escape(f"Study {sid} cannot run on this board: {problem}."))
        return
    try:
        salt = store.ensure_study(cfg)
        rater = hash_rater(raw, salt)
        items = rater_order(draw_items(cfg, _available(board, list(cfg.runs))), rater, cfg.seed)
        answered = store.answered(cfg.study_id, rater)
    except LcadBenchError as exc:
        st.error(md_escape(str(exc)))
        return
    done = sum(1 for it in items if it.item_id in answered)
    st.progress(done / len(items), text=f"{done} of {len(items)} answered")
    item = Session(cfg, rater, items).next_item(answered)
    if item is None:
        st.success("All items answered — thank you!")
        return
    st.session_state.setdefault("study_shown_at", {}).setdefault(item.item_id, time.monotonic())
    st.markdown(f"#### {CRITERIA[cfg.criterion]}")
    if cfg.criterion == "correspondence":
        st.markdown(
            "**Description:** " + (md_escape(item.description) if item.description else "(empty)")
        )
        gray = _image_of(board, GRAY, item, cfg.runs[0])
        if gray is not None:
            st.image(gray, caption="gray input", width=256)
    cols = st.columns(2)
    for i, method in enumerate(
        item.shown
    ):  # the shown order is drawn per item; names are never shown
        img = _image_of(board, method, item, cfg.runs[0])
        side = "left" if i == 0 else "right"
        with cols[i]:
            if img is not None:
                st.image(img, caption=side, width="stretch")
            st.button(f"Choose {side}", key=f"choose_{i}", on_click=_answer,
                      args=(store, cfg.study_id, rater, item, cfg.criterion, method), width="stretch")  # fmt: skip
