"""The response store of user studies: SQLAlchemy Core, ``sqlite:///<board>/study.db`` by
default or any SQLAlchemy URL; rater ids are stored only as salted sha256 hashes."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from lcad_bench.errors import InputFormatError, LcadBenchError, MissingInputError, UsageError
from lcad_bench.fileio import utc_now
from lcad_bench.protocol import LEVELS
from lcad_bench.study.design import (
    CRITERIA,
    RESPONSE_COLUMNS,
    STUDY_PROTOCOL_VERSION,
    StudyConfig,
    StudyItem,
    hash_rater,
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


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
        try:
            self.shown_url = sa.engine.make_url(url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001  (not a URL: create_engine says so below)
            self.shown_url = url
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
            sa.UniqueConstraint("study_id", "rater_id", "item_id", name="one_response_per_rater_and_item"),
        )  # fmt: skip
        try:
            md.create_all(self.engine)
        except Exception as exc:  # noqa: BLE001
            raise MissingInputError(
                f"cannot open the study database {self.shown_url!r}: {_first_line(exc)}; check the file or "
                "point --db / $LCAD_BENCH_STUDY_DB at another database"
            ) from exc

    @contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Database errors (a damaged file, a table of another layout) as an InputFormatError
        naming the database."""
        try:
            yield
        except self.sa.exc.SQLAlchemyError as exc:
            raise InputFormatError(
                f"study database {self.shown_url!r}: cannot {what} ({_first_line(exc)}); check the file or "
                "point --db / $LCAD_BENCH_STUDY_DB at another database"
            ) from exc

    def ensure_study(self, config: StudyConfig) -> str:
        """Register a study (or check it matches); returns its salt."""
        sa = self.sa
        with self._reading("register the study"), self.engine.begin() as con:
            row = con.execute(
                sa.select(self.studies).where(self.studies.c.study_id == config.study_id)
            ).first()
            if row is not None:
                if self._config(config.study_id, row.config) != config:
                    raise UsageError(
                        f"study {config.study_id!r} already exists with another configuration; choose a new study id"
                    )
                return str(row.salt)
            salt = os.environ.get("LCAD_BENCH_STUDY_SALT") or secrets.token_hex(16)
            con.execute(
                self.studies.insert().values(
                    study_id=config.study_id,
                    created_at=utc_now(),
                    config=config.to_json(),
                    salt=salt,
                )
            )
            return salt

    def study_config(self, study_id: str) -> StudyConfig | None:
        sa = self.sa
        with self._reading("read the study set-up"), self.engine.connect() as con:
            row = con.execute(
                sa.select(self.studies.c.config).where(self.studies.c.study_id == study_id)
            ).first()
        return None if row is None else self._config(study_id, row.config)

    def _config(self, study_id: str, text: str) -> StudyConfig:
        try:
            return StudyConfig.from_json(text)
        except (TypeError, ValueError, AttributeError, LcadBenchError) as exc:
            raise InputFormatError(
                f"study database {self.shown_url!r}: the set-up of study {study_id!r} is unreadable ({exc})"
            ) from exc

    def record(self, *, study_id: str, rater_id: str, item: StudyItem, criterion: str, choice: str | None = None,
               score: float | None = None, response_time_ms: int | None = None, design: str = "2afc") -> bool:  # fmt: skip
        """Store one response (``rater_id`` must already be hashed). A rater answers an item once:
        a second answer (a double click) is not stored and returns False. The table's unique
        constraint enforces it; the check before the insert covers databases created before it."""
        if design == "2afc" and choice not in item.shown:
            raise UsageError(f"choice {choice!r} is not one of the shown methods {item.shown}")
        r = self.responses
        with self._reading("record the response"):
            try:
                with self.engine.begin() as con:
                    done = con.execute(self.sa.select(r.c.id).where(
                        r.c.study_id == study_id, r.c.rater_id == rater_id, r.c.item_id == item.item_id)).first()  # fmt: skip
                    if done is not None:
                        return False
                    con.execute(r.insert().values(
                        study_id=study_id, protocol_version=STUDY_PROTOCOL_VERSION, rater_id=rater_id,
                        item_id=item.item_id, pair_id=item.pair_id, scheme=item.scheme, level=item.level,
                        criterion=criterion, design=design, shown_methods=json.dumps(list(item.shown)), choice=choice,
                        score=score, response_time_ms=response_time_ms, timestamp=utc_now(), is_catch=item.is_catch,
                    ))  # fmt: skip
            except self.sa.exc.IntegrityError:
                if (rater_id, item.item_id) in self.response_keys(study_id):
                    return False  # a concurrent click stored it first
                raise
        return True

    def insert_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        rows = [dict(r) for r in rows]
        if rows:
            with self._reading("store the responses"), self.engine.begin() as con:
                con.execute(self.responses.insert(), rows)
        return len(rows)

    def response_keys(self, study_id: str) -> set[tuple[str, str]]:
        """(rater id, item id) of every response stored for a study."""
        r = self.responses
        with self._reading("read the responses"), self.engine.connect() as con:
            res = con.execute(
                self.sa.select(r.c.rater_id, r.c.item_id).where(r.c.study_id == study_id)
            )
            return {(row.rater_id, row.item_id) for row in res}

    def answered(self, study_id: str, rater_id: str) -> set[str]:
        sa = self.sa
        r = self.responses
        with self._reading("read the answered items"), self.engine.connect() as con:
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
        with self._reading("read the responses"), self.engine.connect() as con:
            rows = [dict(row._mapping) for row in con.execute(q)]
        return pd.DataFrame(rows, columns=RESPONSE_COLUMNS)

    def study_ids(self) -> list[str]:
        sa = self.sa
        with self._reading("list the studies"), self.engine.connect() as con:
            a = {row[0] for row in con.execute(sa.select(self.studies.c.study_id))}
            b = {row[0] for row in con.execute(sa.select(self.responses.c.study_id).distinct())}
        return sorted(a | b)


LIKERT_COLUMNS = ("rater", "pair_id", "level", "method", "score")


def import_likert(
    store: StudyStore, path: str | Path, study_id: str, salt: str | None = None
) -> int:
    """Import Likert/MOS ratings from CSV (columns: rater, pair_id, level, method, score [1-5],
    optional criterion (default ``realism``), response_time_ms). Every row is checked before
    anything is stored: non-empty rater, pair_id and method, a protocol level, a study
    criterion, a score in 1-5, a whole non-negative response time, no rating repeated in the
    file or already stored; a bad row is an ``InputFormatError`` naming the file and its line.
    Rater ids are hashed on import."""
    p = Path(path)
    if not p.is_file():
        raise MissingInputError(f"{p}: no such file")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (
        ValueError,
        UnicodeDecodeError,
        pd.errors.ParserError,
    ) as exc:  # EmptyDataError is a ValueError
        raise InputFormatError(f"{p}: not a readable CSV file ({str(exc)[:160]})") from exc
    if not set(LIKERT_COLUMNS) <= set(df.columns):
        raise InputFormatError(
            f"{p}: needs columns {sorted(LIKERT_COLUMNS)}, has {list(df.columns)}"
        )
    salt = salt or os.environ.get("LCAD_BENCH_STUDY_SALT") or secrets.token_hex(16)
    stored = store.response_keys(study_id)
    seen: dict[tuple[str, str], int] = {}
    rows = []
    for i, r in enumerate(df.to_dict("records")):
        line = i + 2  # the header is line 1
        v = {
            k: str(r.get(k, "")).strip() for k in (*LIKERT_COLUMNS, "criterion", "response_time_ms")
        }

        def bad(msg: str, line: int = line) -> InputFormatError:
            return InputFormatError(f"{p}: row {line}: {msg}")

        for k in ("rater", "pair_id", "method"):
            if not v[k]:
                raise bad(f"empty {k}")
        if v["level"] not in LEVELS:
            raise bad(f"level {v['level']!r}: expected one of {list(LEVELS)}")
        crit = v["criterion"] or "realism"
        if crit not in CRITERIA:
            raise bad(f"criterion {crit!r}: expected one of {sorted(CRITERIA)}")
        try:
            score = float(v["score"])
        except ValueError as exc:
            raise bad(f"score {v['score']!r} is not a number") from exc
        if not 1 <= score <= 5:  # NaN fails too
            raise bad(f"score {v['score']} outside 1-5")
        rt: int | None = None
        if v["response_time_ms"]:
            try:
                t = float(v["response_time_ms"])
            except ValueError:
                t = -1.0
            if not (t >= 0 and t.is_integer()):  # NaN and inf fail too
                raise bad(
                    f"response_time_ms {v['response_time_ms']!r}: expected a whole number of milliseconds >= 0"
                )
            rt = int(t)
        item_id = f"{v['pair_id']}|controlled|{v['level']}|{v['method']}"
        rater = hash_rater(v["rater"], salt)
        if (v["rater"], item_id) in seen:
            raise bad(f"rater {v['rater']!r} rated pair {v['pair_id']} at {v['level']} for {v['method']} already "
                      f"in row {seen[(v['rater'], item_id)]}: one rating per rater and item")  # fmt: skip
        if (rater, item_id) in stored:
            raise bad(f"rater {v['rater']!r}'s rating of pair {v['pair_id']} at {v['level']} for {v['method']} is "
                      f"already stored in study {study_id!r} (was this file imported before?)")  # fmt: skip
        seen[(v["rater"], item_id)] = line
        rows.append({
            "study_id": study_id, "protocol_version": STUDY_PROTOCOL_VERSION, "rater_id": rater,
            "item_id": item_id, "pair_id": v["pair_id"], "scheme": "controlled",
            "level": v["level"], "criterion": crit, "design": "likert", "shown_methods": json.dumps([v["method"]]),
            "choice": None, "score": score, "response_time_ms": rt, "timestamp": utc_now(), "is_catch": False,
        })  # fmt: skip
    return store.insert_rows(rows)
