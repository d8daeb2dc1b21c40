"""User studies (benchmark-protocol.md section 8): item draw, response store, analysis.

* Design: pairwise forced choice (2AFC) on ``correspondence`` ("Which result best matches the
  description?", shown with the text and the gray input) or ``realism`` ("Which image looks most
  natural?", no text). Items are a seeded draw stratified by level; the left/right order of each
  item is randomised from the seed and logged (``shown_methods``). Catch trials put the ground
  truth against the gray input (the ground truth is the right answer for both criteria).
* Store: SQLAlchemy Core, ``sqlite:///<board>/study.db`` by default, any SQLAlchemy URL for a
  server database. Rater ids are stored only as salted sha256 hashes.
* Analysis: preference % with Wilson 95% intervals; MOS with a bootstrap interval over raters
  and items for Likert imports; Bradley-Terry strengths (MM algorithm, first method fixed at 0,
  bootstrap over raters); Krippendorff's alpha; raters failing more than 20% of catch trials are
  excluded and listed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError

STUDY_PROTOCOL_VERSION = "1.0"
CRITERIA = {
    "correspondence": "Which result best matches the description?",
    "realism": "Which image looks most natural?",
}
DESIGNS = ("2afc", "likert")
GT = "__gt__"
GRAY = "__gray__"
CATCH_FAIL_LIMIT = 0.20
Z95 = 1.959963984540054
RESPONSE_COLUMNS = [
    "study_id", "protocol_version", "rater_id", "item_id", "pair_id", "scheme", "level", "criterion",
    "design", "shown_methods", "choice", "score", "response_time_ms", "timestamp", "is_catch",
]  # fmt: skip


# ------------------------------------------------------------------------------------------
# raters and items


def hash_rater(raw_id: str, salt: str) -> str:
    """Salted sha256 of a rater id (the raw id is never stored)."""
    if not raw_id.strip():
        raise UsageError("empty rater id")
    return hashlib.sha256(f"{salt}\0{raw_id.strip()}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StudyConfig:
    """What a study shows. ``runs`` are run ids (with their folders in the board's runs.json)."""

    study_id: str
    runs: tuple[str, ...]
    criterion: str = "correspondence"
    design: str = "2afc"
    levels: tuple[str, ...] = ("complete", "partial", "sparse", "none")
    n_items: int = 20
    seed: int = 0
    catch_every: int = 0  # one catch trial after every N items (0: none)

    def __post_init__(self) -> None:
        if self.criterion not in CRITERIA:
            raise UsageError(f"criterion {self.criterion!r}: expected one of {sorted(CRITERIA)}")
        if self.design != "2afc":
            raise UsageError(
                "the study page runs 2afc studies; import Likert ratings with `lcad-bench study import-likert`"
            )
        if len(self.runs) < 2:
            raise UsageError("a pairwise study needs at least two runs")
        if self.n_items < 1:
            raise UsageError("n_items must be at least 1")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudyConfig:
        d = json.loads(text)
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


@dataclass(frozen=True, slots=True)
class StudyItem:
    """One judgement to make: a pair at a level, two methods in display order."""

    item_id: str
    pair_id: str
    level: str
    description: str
    shown: tuple[str, str]
    is_catch: bool = False
    scheme: str = "controlled"


def draw_items(
    config: StudyConfig, available: Mapping[str, Mapping[tuple[str, str], str]]
) -> list[StudyItem]:
    """A seeded draw of items, stratified by level.

    ``available[run_id][(pair_id, level)] = description`` lists the samples each run has (no
    error). Only (pair, level) keys present in every run of the study are drawn. Method pairs
    cycle through every combination; the left/right order is random and logged."""
    runs = list(config.runs)
    missing = [r for r in runs if r not in available]
    if missing:
        raise MissingInputError(
            f"no samples for run(s) {missing}; summarize run folders with samples.parquet"
        )
    common = set.intersection(*(set(available[r]) for r in runs))
    keys_by_level = {lv: sorted(k for k in common if k[1] == lv) for lv in config.levels}
    keys_by_level = {lv: ks for lv, ks in keys_by_level.items() if ks}
    if not keys_by_level:
        raise MissingInputError(f"the runs {runs} share no sample at levels {list(config.levels)}")
    rng = random.Random(f"lcad-study|{config.study_id}|{config.seed}")
    for ks in keys_by_level.values():
        rng.shuffle(ks)
    levels = sorted(keys_by_level)
    chosen: list[tuple[str, str]] = []
    i = 0
    while len(chosen) < config.n_items and any(keys_by_level.values()):
        lv = levels[i % len(levels)]
        if keys_by_level[lv]:
            chosen.append(keys_by_level[lv].pop())
        i += 1
    combos = [(a, b) for k, a in enumerate(runs) for b in runs[k + 1 :]]
    items: list[StudyItem] = []
    for j, (pair_id, level) in enumerate(chosen):
        a, b = combos[j % len(combos)]
        shown = (a, b) if rng.random() < 0.5 else (b, a)
        desc = available[runs[0]][(pair_id, level)]
        items.append(
            StudyItem(
                f"{pair_id}|controlled|{level}|{shown[0]}|{shown[1]}", pair_id, level, desc, shown
            )
        )
        if config.catch_every and (j + 1) % config.catch_every == 0:
            cshown = (GT, GRAY) if rng.random() < 0.5 else (GRAY, GT)
            items.append(
                StudyItem(f"catch|{pair_id}|controlled|{level}", pair_id, level, desc, cshown, True)
            )
    return items


def rater_order(items: Sequence[StudyItem], rater_hash: str, seed: int) -> list[StudyItem]:
    """Each rater sees the items in their own seeded order."""
    out = list(items)
    random.Random(f"{seed}|{rater_hash}").shuffle(out)
    return out


# ------------------------------------------------------------------------------------------
# store


def default_url(board: str | Path) -> str:
    """``$LCAD_BENCH_STUDY_DB`` or ``sqlite:///<board>/study.db``."""
    env = os.environ.get("LCAD_BENCH_STUDY_DB", "").strip()
    if env:
        return env
    return f"sqlite:///{Path(board).resolve() / 'study.db'}"


class StudyStore:
    """Responses and study configs in a SQL database (SQLAlchemy Core)."""

    def __init__(self, url: str) -> None:
        try:
            import sqlalchemy as sa
        except ImportError as exc:  # pragma: no cover
            raise MissingInputError(
                "the user study needs SQLAlchemy: pip install sqlalchemy"
            ) from exc
        self.sa = sa
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = sa.create_engine(url, future=True)
        except Exception as exc:  # noqa: BLE001  (bad URL or missing driver)
            raise UsageError(f"study database {url!r}: {exc}") from exc
        md = sa.MetaData()
        self.studies = sa.Table(
            "studies", md,
            sa.Column("study_id", sa.String(200), primary_key=True),
            sa.Column("created_at", sa.String(40), nullable=False),
            sa.Column("config", sa.Text, nullable=False),
            sa.Column("salt", sa.String(64), nullable=False),
        )  # fmt: skip
        self.responses = sa.Table(
            "responses", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("study_id", sa.String(200), nullable=False, index=True),
            sa.Column("protocol_version", sa.String(20), nullable=False),
            sa.Column("rater_id", sa.String(64), nullable=False, index=True),
            sa.Column("item_id", sa.String(1000), nullable=False),
            sa.Column("pair_id", sa.String(400), nullable=False),
            sa.Column("scheme", sa.String(40), nullable=False),
            sa.Column("level", sa.String(40), nullable=False),
            sa.Column("criterion", sa.String(40), nullable=False),
            sa.Column("design", sa.String(20), nullable=False),
            sa.Column("shown_methods", sa.Text, nullable=False),
            sa.Column("choice", sa.String(400)),
            sa.Column("score", sa.Float),
            sa.Column("response_time_ms", sa.Integer),
            sa.Column("timestamp", sa.String(40), nullable=False),
            sa.Column("is_catch", sa.Boolean, nullable=False, default=False),
        )  # fmt: skip
        try:
            md.create_all(self.engine)
        except Exception as exc:  # noqa: BLE001
            raise MissingInputError(f"cannot open the study database {url!r}: {exc}") from exc

    def ensure_study(self, config: StudyConfig) -> str:
        """Register a study (or check it matches); returns its salt."""
        sa = self.sa
        with self.engine.begin() as con:
            row = con.execute(
                sa.select(self.studies).where(self.studies.c.study_id == config.study_id)
            ).first()
            if row is not None:
                if StudyConfig.from_json(row.config) != config:
                    raise UsageError(
                        f"study {config.study_id!r} already exists with another configuration; choose a new study id"
                    )
                return str(row.salt)
            salt = os.environ.get("LCAD_BENCH_STUDY_SALT") or secrets.token_hex(16)
            con.execute(
                self.studies.insert().values(
                    study_id=config.study_id, created_at=_now(), config=config.to_json(), salt=salt
                )
            )
            return salt

    def study_config(self, study_id: str) -> StudyConfig | None:
        sa = self.sa
        with self.engine.connect() as con:
            row = con.execute(
                sa.select(self.studies.c.config).where(self.studies.c.study_id == study_id)
            ).first()
        return None if row is None else StudyConfig.from_json(row.config)

    def record(self, *, study_id: str, rater_id: str, item: StudyItem, criterion: str, choice: str | None = None,
               score: float | None = None, response_time_ms: int | None = None, design: str = "2afc") -> None:  # fmt: skip
        """Store one response (``rater_id`` must already be hashed)."""
        if design == "2afc" and choice not in item.shown:
            raise UsageError(f"choice {choice!r} is not one of the shown methods {item.shown}")
        with self.engine.begin() as con:
            con.execute(self.responses.insert().values(
                study_id=study_id, protocol_version=STUDY_PROTOCOL_VERSION, rater_id=rater_id, item_id=item.item_id,
                pair_id=item.pair_id, scheme=item.scheme, level=item.level, criterion=criterion, design=design,
                shown_methods=json.dumps(list(item.shown)), choice=choice, score=score,
                response_time_ms=response_time_ms, timestamp=_now(), is_catch=item.is_catch,
            ))  # fmt: skip

    def insert_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        rows = [dict(r) for r in rows]
        if rows:
            with self.engine.begin() as con:
                con.execute(self.responses.insert(), rows)
        return len(rows)

    def answered(self, study_id: str, rater_id: str) -> set[str]:
        sa = self.sa
        r = self.responses
        with self.engine.connect() as con:
            res = con.execute(
                sa.select(r.c.item_id).where(r.c.study_id == study_id, r.c.rater_id == rater_id)
            )
            return {row.item_id for row in res}

    def frame(self, study_id: str | None = None) -> pd.DataFrame:
        """All responses (of one study) as a DataFrame with RESPONSE_COLUMNS."""
        sa = self.sa
        r = self.responses
        q = sa.select(*[r.c[c] for c in RESPONSE_COLUMNS]).order_by(r.c.id)
        if study_id:
            q = q.where(r.c.study_id == study_id)
        with self.engine.connect() as con:
            rows = [dict(row._mapping) for row in con.execute(q)]
        return pd.DataFrame(rows, columns=RESPONSE_COLUMNS)

    def study_ids(self) -> list[str]:
        sa = self.sa
        with self.engine.connect() as con:
            a = {row[0] for row in con.execute(sa.select(self.studies.c.study_id))}
            b = {row[0] for row in con.execute(sa.select(self.responses.c.study_id).distinct())}
        return sorted(a | b)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def import_likert(
    store: StudyStore, path: str | Path, study_id: str, salt: str | None = None
) -> int:
    """Import Likert/MOS ratings from CSV (columns: rater, pair_id, level, method, score [1-5],
    optional criterion, response_time_ms). Rater ids are hashed on import."""
    p = Path(path)
    if not p.is_file():
        raise MissingInputError(f"{p}: no such file")
    df = pd.read_csv(p, dtype=str)
    need = {"rater", "pair_id", "level", "method", "score"}
    if not need <= set(df.columns):
        raise InputFormatError(f"{p}: needs columns {sorted(need)}, has {list(df.columns)}")
    salt = salt or os.environ.get("LCAD_BENCH_STUDY_SALT") or secrets.token_hex(16)
    rows = []
    for i, r in df.iterrows():
        try:
            score = float(r["score"])
        except ValueError as exc:
            raise InputFormatError(
                f"{p}: row {i + 2}: score {r['score']!r} is not a number"
            ) from exc
        if not 1 <= score <= 5:
            raise InputFormatError(f"{p}: row {i + 2}: score {score} outside 1-5")
        crit = r.get("criterion") if isinstance(r.get("criterion"), str) else "realism"
        rt = r.get("response_time_ms")
        rows.append({
            "study_id": study_id, "protocol_version": STUDY_PROTOCOL_VERSION, "rater_id": hash_rater(str(r["rater"]), salt),
            "item_id": f"{r['pair_id']}|controlled|{r['level']}|{r['method']}", "pair_id": r["pair_id"], "scheme": "controlled",
            "level": r["level"], "criterion": crit, "design": "likert", "shown_methods": json.dumps([r["method"]]),
            "choice": None, "score": score, "response_time_ms": int(float(rt)) if isinstance(rt, str) and rt.strip() else None,
            "timestamp": _now(), "is_catch": False,
        })  # fmt: skip
    return store.insert_rows(rows)


# ------------------------------------------------------------------------------------------
# analysis


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95% by default)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def _shown(v: Any) -> list[str]:
    if isinstance(v, list):
        return [str(x) for x in v]
    try:
        out = json.loads(v)
    except (TypeError, ValueError):
        return []
    return [str(x) for x in out] if isinstance(out, list) else []


def catch_exclusions(df: pd.DataFrame, limit: float = CATCH_FAIL_LIMIT) -> dict[str, float]:
    """Raters failing more than ``limit`` of their catch trials -> their failure rate."""
    c = df[df["is_catch"].astype(bool)]
    out = {}
    for rater, g in c.groupby("rater_id"):
        fail = float((g["choice"] != GT).mean())
        if fail > limit:
            out[str(rater)] = fail
    return out


def preference_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per criterion x method: times chosen / times shown, % and Wilson 95% interval."""
    rows = []
    f = df[(df["design"] == "2afc") & ~df["is_catch"].astype(bool)]
    for crit, g in f.groupby("criterion"):
        shown: dict[str, int] = {}
        won: dict[str, int] = {}
        for s, ch in zip(g["shown_methods"], g["choice"]):
            for m in _shown(s):
                shown[m] = shown.get(m, 0) + 1
            won[str(ch)] = won.get(str(ch), 0) + 1
        for m in sorted(shown):
            k, n = won.get(m, 0), shown[m]
            lo, hi = wilson_interval(k, n)
            rows.append(
                {
                    "criterion": crit,
                    "method": m,
                    "chosen": k,
                    "shown": n,
                    "preference": k / n,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    return pd.DataFrame(
        rows, columns=["criterion", "method", "chosen", "shown", "preference", "ci_low", "ci_high"]
    )


def comparisons(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(winner, loser) per pairwise judgement."""
    out = []
    for s, ch in zip(df["shown_methods"], df["choice"]):
        ms = _shown(s)
        if len(ms) != 2 or ch not in ms:
            continue
        out.append((str(ch), ms[1] if ms[0] == ch else ms[0]))
    return out


def is_connected(methods: Sequence[str], pairs: Iterable[tuple[str, str]]) -> bool:
    adj: dict[str, set[str]] = {m: set() for m in methods}
    for a, b in pairs:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    if not adj:
        return False
    start = next(iter(adj))
    seen, stack = {start}, [start]
    while stack:
        for nb in adj[stack.pop()]:
            if nb not in seen:
                seen.add(nb)
                stack.append(nb)
    return len(seen) == len(adj)


def bradley_terry(comps: Sequence[tuple[str, str]], methods: Sequence[str] | None = None,
                  max_iter: int = 10_000, tol: float = 1e-10) -> dict[str, float]:  # fmt: skip
    """Bradley-Terry log-strengths by the MM algorithm (Hunter 2004); the first method is 0.

    ``comps`` are (winner, loser) pairs. Needs a connected comparison graph in which every method
    wins and loses at least once (otherwise the MLE does not exist)."""
    ms = list(methods) if methods else sorted({x for c in comps for x in c})
    idx = {m: i for i, m in enumerate(ms)}
    k = len(ms)
    if k < 2:
        raise UsageError("Bradley-Terry needs at least two methods")
    wins = np.zeros((k, k))
    for w, lo in comps:
        wins[idx[w], idx[lo]] += 1
    if not is_connected(ms, [(a, b) for a, b in comps]):
        raise UsageError(
            "the comparison graph is not connected: some methods were never compared, even indirectly"
        )
    n = wins + wins.T
    w = wins.sum(axis=1)
    if (w == 0).any() or (wins.sum(axis=0) == 0).any():
        raise UsageError("a method never won or never lost: the Bradley-Terry MLE does not exist")
    p = np.ones(k)
    for _ in range(max_iter):
        denom = (n / (p[:, None] + p[None, :])).sum(axis=1)
        new = w / denom
        new /= new[0]
        if np.max(np.abs(np.log(new) - np.log(p))) < tol:
            p = new
            break
        p = new
    return {m: float(np.log(p[i])) for m, i in idx.items()}


def bradley_terry_table(df: pd.DataFrame, b: int = 200, seed: int = 0) -> pd.DataFrame:
    """Per criterion: BT log-strengths with a 95% bootstrap interval over raters."""
    rows = []
    f = df[(df["design"] == "2afc") & ~df["is_catch"].astype(bool)]
    for crit, g in f.groupby("criterion"):
        comps = comparisons(g)
        methods = sorted({x for c in comps for x in c})
        try:
            est = bradley_terry(comps, methods)
        except UsageError as exc:
            rows.append(
                {
                    "criterion": crit,
                    "method": None,
                    "strength": None,
                    "ci_low": None,
                    "ci_high": None,
                    "note": str(exc),
                }
            )
            continue
        raters = sorted(g["rater_id"].unique())
        by_rater = {r: comparisons(g[g["rater_id"] == r]) for r in raters}
        rng = np.random.default_rng(seed)
        boots: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(b if len(raters) > 1 else 0):
            pick = rng.integers(0, len(raters), len(raters))
            cs = [c for i in pick for c in by_rater[raters[i]]]
            try:
                e = bradley_terry(cs, methods, max_iter=2000, tol=1e-8)
            except (UsageError, KeyError):
                continue
            for m in methods:
                boots[m].append(e[m])
        for m in methods:
            lo, hi = (
                np.percentile(boots[m], [2.5, 97.5])
                if len(boots[m]) >= 20
                else (math.nan, math.nan)
            )
            rows.append(
                {
                    "criterion": crit,
                    "method": m,
                    "strength": est[m],
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "note": f"{methods[0]} fixed at 0",
                }
            )
    return pd.DataFrame(
        rows, columns=["criterion", "method", "strength", "ci_low", "ci_high", "note"]
    )


def mos_table(df: pd.DataFrame, b: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per criterion x method: mean opinion score with a 95% bootstrap over raters and items."""
    rows = []
    f = df[(df["design"] == "likert") & df["score"].notna()].copy()
    if f.empty:
        return pd.DataFrame(columns=["criterion", "method", "mos", "ci_low", "ci_high", "n"])
    f["method"] = [(_shown(s) or [None])[0] for s in f["shown_methods"]]
    f["unit"] = f["pair_id"].astype(str) + "|" + f["level"].astype(str)
    rng = np.random.default_rng(seed)
    for (crit, m), g in f.groupby(["criterion", "method"]):
        raters = g["rater_id"].unique()
        units = g["unit"].unique()
        means = []
        for _ in range(b):
            rs = pd.Series(rng.choice(raters, len(raters))).value_counts()
            us = pd.Series(rng.choice(units, len(units))).value_counts()
            wgt = (
                g["rater_id"].map(rs).fillna(0).to_numpy() * g["unit"].map(us).fillna(0).to_numpy()
            )
            if wgt.sum() > 0:
                means.append(float(np.average(g["score"].to_numpy(float), weights=wgt)))
        lo, hi = np.percentile(means, [2.5, 97.5]) if means else (math.nan, math.nan)
        rows.append(
            {
                "criterion": crit,
                "method": m,
                "mos": float(g["score"].mean()),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "n": len(g),
            }
        )
    return pd.DataFrame(rows, columns=["criterion", "method", "mos", "ci_low", "ci_high", "n"])


def krippendorff_alpha(units: Mapping[str, Sequence[Any]], metric: str = "nominal") -> float:
    """Krippendorff's alpha from {unit: [values of the raters who coded it]}."""
    vals = {u: [v for v in vs if v is not None] for u, vs in units.items()}
    vals = {u: vs for u, vs in vals.items() if len(vs) >= 2}
    if not vals:
        return math.nan

    def delta(a: Any, b: Any) -> float:
        if metric == "interval":
            return (float(a) - float(b)) ** 2
        return 0.0 if a == b else 1.0

    d_o, n_total = 0.0, 0
    pooled: list[Any] = []
    for vs in vals.values():
        m = len(vs)
        s = sum(delta(a, b) for i, a in enumerate(vs) for j, b in enumerate(vs) if i != j)
        d_o += s / (m - 1)
        n_total += m
        pooled.extend(vs)
    d_o /= n_total
    s = (
        sum(delta(a, b) for i, a in enumerate(pooled) for j, b in enumerate(pooled) if i != j)
        if len(pooled) <= 3000
        else None
    )
    if s is None:  # large: count distinct values instead of pairs
        from collections import Counter

        cnt = Counter(pooled)
        keys = list(cnt)
        s = sum(cnt[a] * cnt[b] * delta(a, b) for a in keys for b in keys)
    d_e = s / (n_total * (n_total - 1))
    if d_e == 0:
        return 1.0 if d_o == 0 else math.nan
    return 1.0 - d_o / d_e


def analyze(df: pd.DataFrame, b: int = 200, seed: int = 0) -> dict[str, Any]:
    """Everything the study panel shows, per study."""
    out: dict[str, Any] = {}
    for sid, g in df.groupby("study_id"):
        excluded = catch_exclusions(g)
        kept = g[~g["rater_id"].isin(excluded)]
        real = kept[~kept["is_catch"].astype(bool)]
        pairwise = real[real["design"] == "2afc"]
        methods_per_item = [tuple(sorted(_shown(s))) for s in pairwise["shown_methods"]]
        all_methods = sorted({m for t in methods_per_item for m in t})
        all_together = bool(methods_per_item) and all(
            len(t) == len(all_methods) for t in methods_per_item
        )
        units_nom = {}
        for (item, crit), gg in pairwise.groupby(["item_id", "criterion"]):
            units_nom[f"{item}|{crit}"] = list(gg["choice"])
        lik = real[real["design"] == "likert"]
        units_int = {
            f"{i}|{c}": list(gg["score"]) for (i, c), gg in lik.groupby(["item_id", "criterion"])
        }
        res: dict[str, Any] = {
            "n_raters": int(real["rater_id"].nunique()),
            "n_items": int(real["item_id"].nunique()),
            "n_judgements": len(real),
            "criteria": sorted(real["criterion"].unique().tolist()),
            "levels": sorted(real["level"].unique().tolist()),
            "first": str(g["timestamp"].min()) if len(g) else None,
            "last": str(g["timestamp"].max()) if len(g) else None,
            "excluded_raters": excluded,
            "n_catch": int(g["is_catch"].astype(bool).sum()),
            "preference": preference_table(real).to_dict("records"),
            "mos": mos_table(real, b=b, seed=seed).to_dict("records"),
            "krippendorff_alpha_choice": krippendorff_alpha(units_nom) if units_nom else None,
            "krippendorff_alpha_score": krippendorff_alpha(units_int, "interval")
            if units_int
            else None,
            "all_methods_shown_together": all_together,
        }
        res["bradley_terry"] = (
            bradley_terry_table(real, b=b, seed=seed).to_dict("records")
            if (len(pairwise) and not all_together)
            else []
        )
        out[str(sid)] = res
    return json.loads(json.dumps(out, default=_json_default, allow_nan=True))


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


@dataclass
class Session:
    """A rater's progress through a study (used by the Streamlit page)."""

    config: StudyConfig
    rater_id: str
    items: list[StudyItem] = field(default_factory=list)

    def next_item(self, answered: set[str]) -> StudyItem | None:
        for it in self.items:
            if it.item_id not in answered:
                return it
        return None
