"""The pages of the Streamlit app, one function each (the scripts in ``pages/`` call them).

Everything computed here comes from ``tables``, ``charts``, ``samples`` and
``lcad_bench.study``; this module only lays out widgets.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from lcad_bench.leaderboard.board import Board, board_path, load_board, signature
from lcad_bench.leaderboard.charts import degradation_chart, preference_chart
from lcad_bench.leaderboard.columns import LEVELS, column_config, metric_info, order_metrics
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
    SOURCES,
    best_line,
    degradation,
    degradation_frame,
    leaderboard,
    levels_present,
)

SOURCE_LABEL = {"reproduced": "reproduced", "reported": "📄 reported"}


# ------------------------------------------------------------------------------------------
# shared


@st.cache_data(show_spinner=False, max_entries=4)
def _load_board(path: str, sig: tuple[Any, ...]) -> Board:
    return load_board(path)


def get_board() -> Board:
    """The board of ``$LCAD_BENCH_LEADERBOARD`` (cached until a board file changes)."""
    p = board_path()
    return _load_board(str(p), signature(p))


def show_warnings(board: Board) -> None:
    for w in board.warnings:
        st.warning(w, icon="⚠️")
    if board.summary_warnings:
        with st.expander(
            f"{len(board.summary_warnings)} input(s) left out by summarize", expanded=False
        ):
            for w in board.summary_warnings:
                st.warning(w, icon="⚠️")


def _split_select(board: Board, key: str) -> str | None:
    splits = board.splits
    if not splits:
        return None
    return st.sidebar.selectbox("Split", splits, key=key)


@st.cache_data(show_spinner=False, max_entries=32)
def _samples(run_dir: str, rel: str, sig: Any) -> tuple[pd.DataFrame | None, str | None]:
    return load_samples({"run_id": run_dir, "run_dir": run_dir, "samples": rel})


def run_samples(entry: dict[str, Any]) -> tuple[pd.DataFrame | None, str | None]:
    run_dir, rel = entry.get("run_dir"), entry.get("samples")
    if not run_dir or not rel:
        return load_samples(entry)
    p = safe_join(run_dir, rel)
    try:
        sig = p.stat().st_mtime_ns if p is not None else None
    except OSError:
        sig = None
    df, warn = _samples(str(run_dir), str(rel), sig)
    if warn:
        warn = warn.replace(str(run_dir) + ":", f"{entry.get('run_id')}:", 1)
    return df, warn


# ------------------------------------------------------------------------------------------
# (a) leaderboard


def page_leaderboard() -> None:
    st.title("Leaderboard")
    board = get_board()
    show_warnings(board)
    if board.frame.empty:
        st.info(
            f"The board at {board.path} has no results yet. Run `lcad-bench summarize RUNS... --out {board.path}`."
        )
        return
    split = _split_select(board, "lb_split")
    df = board.frame
    in_split = df[df["split"] == split]
    levels = levels_present(in_split)
    metrics = order_metrics(in_split["metric"].dropna().unique().tolist())
    models = sorted(in_split["model"].dropna().astype(str).unique().tolist())
    with st.sidebar:
        level = st.radio("Level", ["all", *levels], key="lb_level")
        chosen_metrics = st.multiselect("Metrics", metrics, default=metrics, key="lb_metrics")
        chosen_models = st.multiselect(
            "Models", models, default=[], key="lb_models", placeholder="all models"
        )
        source = st.radio("Source", list(SOURCES), key="lb_source", horizontal=True)
        other = st.checkbox("Include runs with other settings", value=True, key="lb_other",
                            help="Runs at another protocol version, with --limit or unmerged shards (not ranked)")  # fmt: skip
        with_ci = st.checkbox("Show 95% CI columns", value=False, key="lb_ci")
    rankable = [
        m
        for m in (chosen_metrics or metrics)
        if board.infos.get(m) is None or board.infos[m].higher_is_better is not None
    ]
    sort_metric = st.selectbox("Sort by", rankable or metrics, key="lb_sort",
                               format_func=lambda m: board.infos[m].label if m in board.infos else m)  # fmt: skip
    table, by = leaderboard(df, board.infos, split=split, level=None if level == "all" else level,
                              metrics=chosen_metrics or metrics, models=chosen_models, source=source,
                              include_other_settings=other, sort_metric=sort_metric, with_ci=with_ci)  # fmt: skip
    st.markdown(best_line(table, by, board.infos.get(sort_metric)))
    shown = table.drop(columns=["rankable"], errors="ignore").copy()
    shown["source"] = shown["source"].map(lambda s: SOURCE_LABEL.get(s, s))
    st.dataframe(
        shown,
        hide_index=True,
        column_config=column_config(shown.columns, board.infos),
        key="lb_table",
    )
    st.caption(f"{len(table)} runs · split {split} · ranked: reproduced runs at protocol "
               f"{_protocol(board)} with default settings; reported rows are context only.")  # fmt: skip
    rep = table[table["source"] == "reported"]
    if not rep.empty:
        st.subheader("Reported numbers")
        for rid, model in zip(rep["run_id"], rep["model"]):
            e = board.runs.get(str(rid), {})
            d = e.get("details", {})
            cit = d.get("citation", {})
            st.markdown(f":orange-badge[reported] **{model}** — {cit.get('text', '?')} "
                        f"({cit.get('table') or cit.get('figure') or cit.get('page') or cit.get('comment') or ''}; "
                        f"status: {d.get('status', '?')}) · {d.get('protocol_notes', '')}")  # fmt: skip


def _protocol(board: Board) -> str:
    from lcad_bench.protocol import PROTOCOL_VERSION

    return PROTOCOL_VERSION


# ------------------------------------------------------------------------------------------
# (b) per-level charts


def page_charts() -> None:
    st.title("Per-level degradation")
    board = get_board()
    show_warnings(board)
    if board.frame.empty:
        st.info("No results on the board yet.")
        return
    split = _split_select(board, "ch_split")
    in_split = board.frame[board.frame["split"] == split]
    metrics = order_metrics(in_split["metric"].dropna().unique().tolist())
    models = sorted(in_split["model"].dropna().astype(str).unique().tolist())
    with st.sidebar:
        metric = st.selectbox(
            "Metric",
            metrics,
            key="ch_metric",
            format_func=lambda m: board.infos[m].label if m in board.infos else m,
        )
        chosen_models = st.multiselect(
            "Models", models, default=[], key="ch_models", placeholder="all models"
        )
        source = st.radio("Source", list(SOURCES), key="ch_source", horizontal=True)
    info = board.infos.get(metric) or metric_info(metric)
    frame = degradation_frame(board.frame, metric, split=split, models=chosen_models, source=source)
    if frame.empty:
        st.info("No values for this selection.")
        return
    st.altair_chart(degradation_chart(frame, info), width="stretch")
    st.caption("How each method degrades from complete to sparse (and no) colour descriptions. "
               f"{'Higher' if info.higher_is_better else 'Lower'} is better." if info.higher_is_better is not None else "Information only.")  # fmt: skip
    deg = degradation(board.frame[board.frame["run_id"].isin(frame["run_id"])], metric, split=split)
    cfg = {
        c: st.column_config.NumberColumn(c, format=info.number_format)
        for c in deg.columns
        if c != "run"
    }
    st.dataframe(deg, hide_index=True, column_config=cfg, key="ch_table")


# ------------------------------------------------------------------------------------------
# (c) sample viewer


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
    splits = sorted({str(e.get("split")) for e in with_samples.values()})
    split = st.sidebar.selectbox("Split", splits, key="sv_split")
    rids = sorted(r for r, e in with_samples.items() if str(e.get("split")) == split)
    labels = {r: f"{with_samples[r].get('model')} [{r[-12:]}]" for r in rids}
    chosen = st.sidebar.multiselect(
        "Runs", rids, default=rids[:3], key="sv_runs", format_func=lambda r: labels[r]
    )
    if not chosen:
        st.info("Choose at least one run.")
        return
    tables: dict[str, pd.DataFrame] = {}
    for r in chosen:
        df, warn = run_samples(with_samples[r])
        if warn:
            st.warning(warn, icon="⚠️")
        if df is not None:
            tables[r] = df
    if not tables:
        return
    first = next(iter(tables.values()))
    pairs = sorted(set.intersection(*(set(t["pair_id"].astype(str)) for t in tables.values())))
    if not pairs:
        st.info("The chosen runs share no pair.")
        return
    pair = st.sidebar.selectbox("Pair", pairs, key="sv_pair")
    levels = [lv for lv in LEVELS if lv in set(first[first["pair_id"] == pair]["level"])]
    level = st.sidebar.radio("Level", levels, key="sv_level")
    st.subheader("Descriptions")
    st.dataframe(descriptions(first, pair), hide_index=True, key="sv_desc")
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
        label = labels[r]
        if row is None:
            cols[2 + i].info(f"{label}: no sample")
            continue
        img = read_rgb(safe_join(with_samples[r]["run_dir"], row.get("output_path")))
        if img is not None:
            cols[2 + i].image(img, caption=label, width="stretch")
        else:
            cols[2 + i].warning(f"{label}: {row.get('error') or 'output image missing'}")
        metric_rows.append({"run": label, **{m: row.get(m) for m in metric_columns(t)}})
    st.markdown(f"**Description ({level}):** {row0.get('description') or '—'}")
    st.subheader("Per-sample metrics")
    st.dataframe(pd.DataFrame(metric_rows), hide_index=True, key="sv_metrics")
    st.subheader("CWHR per phrase")
    for r, t in tables.items():
        row = sample_row(t, pair, level)
        units = cwhr_units(row or {})
        st.markdown(f"**{labels[r]}**")
        if units.empty:
            st.caption("no CWHR units recorded for this sample")
        else:
            st.dataframe(units, hide_index=True, key=f"sv_cwhr_{r}")


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
                rows.append(
                    {
                        "metric": name,
                        "file": f"backend {meta.get('backend', '?')} {meta.get('version', '')}".strip(),
                        "sha256": "",
                    }
                )
    return pd.DataFrame(rows, columns=["metric", "file", "sha256"])


def page_run() -> None:
    st.title("Run details")
    board = get_board()
    show_warnings(board)
    if not board.runs:
        st.info("No runs on the board.")
        return
    rids = sorted(board.runs)
    rid = st.sidebar.selectbox(
        "Run", rids, key="rd_run", format_func=lambda r: f"{board.runs[r].get('model')} [{r}]"
    )
    e = board.runs[rid]
    d = e.get("details", {}) if isinstance(e.get("details"), dict) else {}
    if e.get("reported"):
        st.badge("reported", color="orange")
        cit = d.get("citation", {})
        st.markdown(f"**Source:** {cit.get('text', '?')}  \n{cit.get('url') or cit.get('doi') or ''}  \n"
                    f"where: {cit.get('table') or cit.get('figure') or cit.get('page') or cit.get('comment')} · status: {d.get('status')}")  # fmt: skip
        st.markdown(f"**Protocol notes:** {d.get('protocol_notes', '')}")
        st.json(d.get("provenance", {}))
        return
    st.badge("reproduced", color="green")
    if not e.get("rankable", True):
        st.warning(f"Not ranked: {e.get('not_rankable_reason')}")
    model = d.get("model", {}) if isinstance(d.get("model"), dict) else {}
    overview = pd.DataFrame([
        {"field": "run id", "value": rid},
        {"field": "model", "value": f"{model.get('name')} {model.get('version') or ''}".strip()},
        {"field": "config hash", "value": str(model.get("config_hash", ""))},
        {"field": "luminance replaced", "value": str(model.get("luminance_replaced"))},
        {"field": "uses instance masks", "value": str(model.get("uses_instance_masks"))},
        {"field": "split", "value": f"{e.get('split')} ({str(d.get('split', {}).get('content_hash', ''))[:16]})"},
        {"field": "created", "value": str(e.get("date"))},
        {"field": "run folder", "value": str(e.get("run_dir"))},
    ])  # fmt: skip
    st.dataframe(overview, hide_index=True, key="rd_overview")
    st.subheader("Model config")
    st.json(model.get("config", {}))
    st.subheader("Seeds")
    st.dataframe(
        pd.DataFrame([{"key": k, "value": str(v)} for k, v in (d.get("seeds") or {}).items()]),
        hide_index=True,
        key="rd_seeds",
    )
    st.subheader("Versions")
    st.dataframe(
        pd.DataFrame(
            [{"package": k, "version": str(v)} for k, v in (d.get("environment") or {}).items()]
        ),
        hide_index=True,
        key="rd_env",
    )
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
    st.dataframe(
        pd.DataFrame(
            [{"metric": k, "reason": str(v)} for k, v in skipped.items()],
            columns=["metric", "reason"],
        ),
        hide_index=True,
        key="rd_skipped",
    )
    if d.get("warnings"):
        st.subheader("Warnings")
        for w in d["warnings"]:
            st.warning(str(w))
    with st.expander("Protocol"):
        st.json(d.get("protocol", {}))


# ------------------------------------------------------------------------------------------
# (e) user-study results and (f) running a study


def _store(board: Board) -> Any:
    from lcad_bench.study.store import StudyStore, default_url

    return StudyStore(default_url(board.path))


def page_study_results() -> None:
    from lcad_bench.study.design import GRAY, GT
    from lcad_bench.study.stats import analyze
    from lcad_bench.study.store import default_url

    st.title("User-study results")
    board = get_board()
    url = default_url(board.path)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        st.info(
            f"No study database yet ({url}). Run a study on the 'Run a study' page or import Likert ratings."
        )
        return
    store = _store(board)
    df = store.frame()
    if df.empty:
        st.info("No responses recorded yet.")
        return
    ids = sorted(df["study_id"].unique())
    sid = st.sidebar.selectbox("Study", ids, key="sr_study")
    res = analyze(df[df["study_id"] == sid]).get(sid, {})
    st.caption("Each study is its own panel, outside the automatic ranking.")
    c = st.columns(4)
    c[0].metric("raters", res.get("n_raters", 0))
    c[1].metric("items", res.get("n_items", 0))
    c[2].metric("judgements", res.get("n_judgements", 0))
    alpha = res.get("krippendorff_alpha_choice")
    if alpha is None:
        alpha = res.get("krippendorff_alpha_score")
    c[3].metric("Krippendorff α", "—" if alpha is None or alpha != alpha else f"{alpha:.3f}")
    st.markdown(f"**{sid}** · criteria: {', '.join(res.get('criteria', []))} · levels: {', '.join(res.get('levels', []))} · "
                f"{res.get('first')} – {res.get('last')}")  # fmt: skip
    if res.get("excluded_raters"):
        st.warning(
            f"{len(res['excluded_raters'])} rater(s) excluded for failing more than 20% of catch trials"
        )
    labels = {rid: str(e.get("model")) for rid, e in board.runs.items()}
    labels.update({GT: "ground truth", GRAY: "gray input"})
    pref = pd.DataFrame(res.get("preference", []))
    if not pref.empty:
        pref["method"] = pref["method"].map(lambda m: labels.get(m, m))
        st.subheader("Preference (Wilson 95% interval)")
        pct = st.column_config.NumberColumn(format="percent")
        st.dataframe(
            pref,
            hide_index=True,
            key="sr_pref",
            column_config={"preference": pct, "ci_low": pct, "ci_high": pct},
        )
        st.altair_chart(preference_chart(pref), width="stretch")
    bt = pd.DataFrame(res.get("bradley_terry", []))
    if not bt.empty:
        bt["method"] = bt["method"].map(lambda m: labels.get(m, m) if isinstance(m, str) else m)
        st.subheader("Bradley–Terry log-strengths (bootstrap over raters)")
        st.dataframe(bt, hide_index=True, key="sr_bt")
    mos = pd.DataFrame(res.get("mos", []))
    if not mos.empty:
        mos["method"] = mos["method"].map(lambda m: labels.get(m, m))
        st.subheader("MOS (1–5, bootstrap over raters and items)")
        st.dataframe(mos, hide_index=True, key="sr_mos")


def _available(board: Board, rids: list[str]) -> dict[str, dict[tuple[str, str], str]]:
    out: dict[str, dict[tuple[str, str], str]] = {}
    for r in rids:
        df, warn = run_samples(board.runs[r])
        if df is None:
            if warn:
                st.warning(warn)
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
    rt = int(round((time.monotonic() - shown) * 1000)) if shown is not None else None
    store.record(
        study_id=sid,
        rater_id=rater,
        item=item,
        criterion=criterion,
        choice=choice,
        response_time_ms=rt,
    )
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


def page_study() -> None:
    from lcad_bench.errors import LcadBenchError
    from lcad_bench.study.design import (
        CRITERIA,
        GRAY,
        Session,
        StudyConfig,
        draw_items,
        hash_rater,
        rater_order,
    )

    st.title("Run a user study")
    board = get_board()
    runs = sorted(r for r, e in board.runs.items() if e.get("run_dir") and e.get("samples"))
    if len(runs) < 2:
        st.info("A study needs at least two runs with samples on the board.")
        return
    with st.expander("Study set-up", expanded=True):
        sid = st.text_input("Study id", value="study-1", key="st_id")
        chosen = st.multiselect(
            "Runs",
            runs,
            default=runs[:2],
            key="st_runs",
            format_func=lambda r: f"{board.runs[r].get('model')} [{r[-12:]}]",
        )
        criterion = st.radio("Criterion", list(CRITERIA), key="st_crit", horizontal=True)
        levels = st.multiselect("Levels", list(LEVELS), default=list(LEVELS), key="st_levels")
        n_items = int(st.number_input("Items", 1, 1000, 20, key="st_n"))
        seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, key="st_seed"))
        catch = int(
            st.number_input("Catch trial every N items (0: none)", 0, 100, 0, key="st_catch")
        )
    raw = st.text_input("Rater id (stored only as a salted hash)", key="st_rater")
    if not raw.strip():
        st.info("Enter a rater id to start.")
        return
    try:
        cfg = StudyConfig(
            sid.strip(), tuple(chosen), criterion, "2afc", tuple(levels), n_items, seed, catch
        )
        store = _store(board)
        salt = store.ensure_study(cfg)
        rater = hash_rater(raw, salt)
        items = rater_order(draw_items(cfg, _available(board, list(chosen))), rater, seed)
    except LcadBenchError as exc:
        st.error(str(exc))
        return
    answered = store.answered(cfg.study_id, rater)
    done = sum(1 for it in items if it.item_id in answered)
    st.progress(done / len(items), text=f"{done} of {len(items)} answered")
    item = Session(cfg, rater, items).next_item(answered)
    if item is None:
        st.success("All items answered — thank you!")
        return
    st.session_state.setdefault("study_shown_at", {}).setdefault(item.item_id, time.monotonic())
    st.subheader(CRITERIA[criterion])
    if criterion == "correspondence":
        st.markdown(f"**Description:** {item.description or '(empty)'}")
        gray = _image_of(board, GRAY, item, chosen[0])
        if gray is not None:
            st.image(gray, caption="gray input", width=256)
    cols = st.columns(2)
    for i, method in enumerate(item.shown):
        img = _image_of(board, method, item, chosen[0])
        with cols[i]:
            if img is not None:
                st.image(img, caption="left" if i == 0 else "right", width="stretch")
            st.button("Choose " + ("left" if i == 0 else "right"), key=f"choose_{i}", on_click=_answer,
                      args=(store, cfg.study_id, rater, item, criterion, method), width="stretch")  # fmt: skip
