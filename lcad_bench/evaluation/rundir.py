"""The run folder: the one module that knows its layout and file formats.

::

    RUN/
      results.json            :class:`Results` (typed, ``schema_version``); records the sha256 of
                              the samples table it summarises
      samples.parquet         one row per pair x level x seed: :data:`BASE_COLUMNS` + the metric
                              columns, typed (json columns are marked in the arrow schema)
      distribution_state.npz  per level, the sufficient statistics of distribution metrics (FID)
      run_log.jsonl           one line per invocation (cached / computed / failed counts)
      outputs/<config16>/<level>/<file>.png   model outputs, with outputs/<config16>/index.jsonl
      gt/<file>.png           ground truths at evaluation geometry, with gt/index.jsonl (the source
                              image's sha256, the geometry and the PNG's sha256 of each)
      .lcad-bench.lock        held (flock) by the process writing the folder; names it

``merge``, ``show``, ``summarize`` and the leaderboard read run folders only through this module
(:func:`open_run`, :func:`read_samples`, :func:`~lcad_bench.fileio.safe_join`). File names of outputs and ground
truths are collision-free: a readable part plus a hash of the full key.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import socket
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from lcad_bench.errors import ExitCode, InputFormatError, LcadBenchError, MissingInputError
from lcad_bench.fileio import (
    atomic_write_bytes,
    atomic_write_text,
    file_mode,
    file_sha256,
    make_temp_file,
    safe_join,
    utc_now,
)
from lcad_bench.metrics.base import ColumnInfo

SCHEMA_VERSION = 2
RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.parquet"
DIST_STATE_FILE = "distribution_state.npz"
RUN_LOG_FILE = "run_log.jsonl"
OUTPUTS_DIR = "outputs"
GT_DIR = "gt"
INDEX_FILE = "index.jsonl"
GT_INDEX = f"{GT_DIR}/{INDEX_FILE}"
LOCK_FILE = ".lcad-bench.lock"
JSON_MARK = {b"lcad_bench.dtype": b"json"}

# (name, arrow type) of the columns every samples table has, in order
BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pair_id", "string"), ("image_key", "string"), ("level", "string"), ("seed", "int64"),
    ("description", "string"), ("output_path", "string"), ("output_sha256", "string"),
    ("error", "string"),
)  # fmt: skip
BASE_COLUMN_NAMES = frozenset(n for n, _ in BASE_COLUMNS)


# --------------------------------------------------------------------------------------------
# file names


def file_name(key: str) -> str:
    """A collision-free file name for ``key``: its characters outside ``[A-Za-z0-9._-]`` become
    ``_`` (readable, at most 80 characters) and a 12-hex sha256 of the full key follows, so
    ``cat/1`` and ``cat_1`` never share a file."""
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", key)[:80]
    return f"{readable}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}"


def outputs_relroot(config_hash: str) -> str:
    """Folder of one model configuration's outputs, relative to the run folder."""
    return f"{OUTPUTS_DIR}/{config_hash[:16]}"


def output_relpath(config_hash: str, level: str, pair_id: str, s: int) -> str:
    """Relative path of one output PNG."""
    return f"{outputs_relroot(config_hash)}/{level}/{file_name(f'{pair_id}|s{s}')}.png"


def gt_relpath(image_key: str) -> str:
    """Relative path of an image's ground-truth PNG."""
    return f"{GT_DIR}/{file_name(image_key)}.png"


def require_unique(paths: Iterable[str], what: str) -> None:
    """Every path of a run is distinct (the file names are collision-free by construction; this
    is the check that they are): a repeated one is a bug, never a silently shared file."""
    dup = [p for p, n in Counter(paths).items() if n > 1]
    if dup:
        raise LcadBenchError(
            f"{len(dup)} {what} would share a file name, e.g. {dup[0]}; this is a bug in lcad-bench, please report it",
            ExitCode.BUG,
        )


# --------------------------------------------------------------------------------------------
# results.json


class Cell(BaseModel):
    """One aggregate: a metric column's mean over the pairs of a level, with its interval."""

    model_config = ConfigDict(extra="forbid")
    scheme: str = "controlled"
    level: str
    metric: str
    mean: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n_pairs: int
    n_images: int
    n_failed: int = 0
    n_nonfinite: int = 0  # successful samples whose value was NaN/inf, left out of the mean


class Results(BaseModel):
    """results.json (docs/protocol.md#results-file)."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str
    model: dict[str, Any]
    split: dict[str, Any]
    protocol: dict[str, Any]
    seeds: dict[str, Any]
    environment: dict[str, Any]
    metrics: dict[str, Any]
    skipped_metrics: dict[str, str] = {}
    aggregates: list[Cell]
    summaries: list[dict[str, Any]] = []
    distribution_metrics: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    warnings: list[str] = []
    samples: dict[str, Any] = {}
    distribution_state: dict[str, Any] = {}  # {path, sha256} of the saved FID statistics


def write_results(run_dir: str | Path, results: Results) -> Path:
    """Atomic write of ``RUN/results.json`` (written last: it names the sha256 of the samples
    table and distribution state it summarises)."""
    path = Path(run_dir) / RESULTS_FILE
    with writing(path):
        atomic_write_text(path, results.model_dump_json(indent=2) + "\n")
    return path


def load_results(path: str | Path) -> Results:
    """Read and validate a results.json (``path``: the file or its run folder)."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_FILE
    if not p.is_file():
        raise MissingInputError(f"{p}: no {RESULTS_FILE}; run `lcad-bench evaluate` first")
    try:
        return Results.model_validate(json.loads(p.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise InputFormatError(f"{p}: not a valid results file ({str(exc)[:200]})") from exc


# --------------------------------------------------------------------------------------------
# samples.parquet


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return {"string": pa.string(), "int64": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
            "json": pa.string()}[kind]  # fmt: skip


def samples_schema(metric_columns: Sequence[ColumnInfo]) -> Any:
    """The arrow schema of a samples table: base columns, then one per metric column."""
    import pyarrow as pa

    fields = [pa.field(n, _arrow_type(t)) for n, t in BASE_COLUMNS]
    for c in metric_columns:
        if c.derived_from or c.name in BASE_COLUMN_NAMES:
            continue  # derived columns exist only as aggregates
        fields.append(
            pa.field(
                c.name, _arrow_type(c.dtype), metadata=JSON_MARK if c.dtype == "json" else None
            )
        )
    return pa.schema(fields)


def _encode(v: Any, kind: str) -> Any:
    if v is None:
        return None
    if kind == "json":
        return json.dumps(v, ensure_ascii=False, default=_json_default)
    if kind == "float":
        return float(v)
    if kind == "bool":
        return bool(v)
    return v


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


SAMPLES_ROW_GROUP = 1024  # rows per row group of samples.parquet (written one group at a time)


def write_samples(
    run_dir: str | Path, rows: Sequence[dict[str, Any]], metric_columns: Sequence[ColumnInfo]
) -> dict[str, Any]:
    """Write ``RUN/samples.parquet`` (typed) and return its ``{path, rows, sha256}`` record.

    ``rows`` is read in order, :data:`SAMPLES_ROW_GROUP` rows at a time, and streamed into a
    temporary file of the run folder that replaces the table atomically: memory stays flat in the
    number of rows (``rows`` may be a :class:`RowSpool`), and the bytes depend only on the rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    extra = infer_columns(rows, metric_columns)
    schema = samples_schema([*metric_columns, *extra])
    kinds = {
        f.name: ("json" if (f.metadata or {}).get(b"lcad_bench.dtype") == b"json" else None)
        for f in schema
    }
    floats = {c.name: c.dtype for c in (*metric_columns, *extra)}
    enc = [(f.name, kinds[f.name] or floats.get(f.name, "")) for f in schema]
    path = Path(run_dir) / SAMPLES_FILE
    n = 0
    with writing(path):
        fd, tmp = make_temp_file(f".{SAMPLES_FILE}.", ".tmp", Path(run_dir))
        try:
            with os.fdopen(fd, "wb") as f:
                writer = pq.ParquetWriter(f, schema)
                try:
                    chunk: list[dict[str, Any]] = []

                    def flush() -> None:
                        data = {
                            name: [_encode(r.get(name), kind) for r in chunk] for name, kind in enc
                        }
                        writer.write_table(pa.Table.from_pydict(data, schema=schema))
                        chunk.clear()

                    wrote = False
                    for r in rows:
                        chunk.append(r)
                        n += 1
                        if len(chunk) >= SAMPLES_ROW_GROUP:
                            flush()
                            wrote = True
                    if chunk or not wrote:
                        flush()
                finally:
                    writer.close()
                f.flush()
                os.fsync(f.fileno())
            digest = file_sha256(tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    return {"path": SAMPLES_FILE, "rows": n, "sha256": digest}


class RowSpool(Sequence[dict[str, Any]]):
    """The per-sample rows of a run while it runs, kept on disk rather than in memory: each row
    pickled into an unlinked temporary file of the run folder (gone when closed or when the
    process dies), with 9 bytes per row in memory. Reading gives the rows back equal (same keys,
    same value types) and in order; :meth:`level_rows` and :meth:`select` give lazy views, so
    writing the table, aggregating and summarising stay flat in the number of rows.
    ``fixup(k, row)``, when set, completes row ``k`` as it is read (e.g. a sha256 known only
    after the outputs are written)."""

    def __init__(self, run_dir: str | Path) -> None:
        fd, tmp = make_temp_file(".samples-spool.", ".tmp", Path(run_dir))
        os.unlink(tmp)
        self._f = os.fdopen(fd, "w+b")
        self._off = array("q", [0])
        self._lvl = array("H")
        self._levels: dict[str, int] = {}
        self._dirty = False
        self.fixup: Any = None

    def append(self, row: dict[str, Any]) -> None:
        """Add a row at the end."""
        import pickle

        raw = pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
        self._f.write(raw)
        self._dirty = True
        self._off.append(self._off[-1] + len(raw))
        self._lvl.append(self._levels.setdefault(str(row.get("level")), len(self._levels)))

    def __len__(self) -> int:
        return len(self._lvl)

    def _read(self, k: int) -> dict[str, Any]:
        import pickle

        if self._dirty:
            self._f.flush()
            self._dirty = False
        a, b = self._off[k], self._off[k + 1]
        row = pickle.loads(os.pread(self._f.fileno(), b - a, a))
        if self.fixup is not None:
            self.fixup(k, row)
        return row

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return _RowView(self, range(len(self))[k])
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(k)
        return self._read(k)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for k in range(len(self)):
            yield self._read(k)

    def level_rows(self, level: str) -> Sequence[dict[str, Any]]:
        """The rows of one level, in order (lazy)."""
        code = self._levels.get(level)
        return _RowView(
            self, [] if code is None else [k for k, c in enumerate(self._lvl) if c == code]
        )

    def select(self, pred: Any) -> Sequence[dict[str, Any]]:
        """The rows for which ``pred(row)`` is true, in order (lazy)."""
        return _RowView(self, [k for k in range(len(self)) if pred(self._read(k))])

    def close(self) -> None:
        """Drop the rows (the file is already unlinked)."""
        self._f.close()


class _RowView(Sequence[dict[str, Any]]):
    """Some rows of a :class:`RowSpool`, read on access."""

    def __init__(self, spool: RowSpool, index: Sequence[int]) -> None:
        self._spool = spool
        self._index = array("q", index)

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return _RowView(self._spool, self._index[k])
        return self._spool._read(self._index[k])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for k in self._index:
            yield self._spool._read(k)

    def level_rows(self, level: str) -> Sequence[dict[str, Any]]:
        """The rows of one level, in order (lazy)."""
        return _RowView(
            self._spool, [k for k in self._index if self._spool._read(k).get("level") == level]
        )

    def select(self, pred: Any) -> Sequence[dict[str, Any]]:
        """The rows for which ``pred(row)`` is true, in order (lazy)."""
        return _RowView(self._spool, [k for k in self._index if pred(self._spool._read(k))])


def level_rows(rows: Sequence[dict[str, Any]], level: str) -> Sequence[dict[str, Any]]:
    """The rows of one level, in order (lazy for a :class:`RowSpool`)."""
    lazy = getattr(rows, "level_rows", None)
    return lazy(level) if lazy is not None else [r for r in rows if r["level"] == level]


def select_rows(rows: Sequence[dict[str, Any]], pred: Any) -> Sequence[dict[str, Any]]:
    """The rows for which ``pred(row)`` is true, in order (lazy for a :class:`RowSpool`)."""
    lazy = getattr(rows, "select", None)
    return lazy(pred) if lazy is not None else [r for r in rows if pred(r)]


def infer_columns(
    rows: Sequence[dict[str, Any]], declared: Sequence[ColumnInfo]
) -> list[ColumnInfo]:
    """Columns a suite wrote without declaring them (plug-in suites), typed from their values:
    numbers -> float, booleans -> bool, anything else -> json. Nothing a suite returns is dropped."""
    known = BASE_COLUMN_NAMES | {c.name for c in declared}
    out: dict[str, str] = {}
    for r in rows:
        for k, v in r.items():
            if k in known or k == "key" or v is None:
                continue
            kind = (
                "bool"
                if isinstance(v, (bool, np.bool_))
                else "float"
                if isinstance(v, (int, float, np.number))
                else "json"
            )
            prev = out.get(k)
            out[k] = kind if prev in (None, kind) else "json"
    return [ColumnInfo(k, k, "", None, dtype=t, aggregate=t == "float") for k, t in out.items()]  # type: ignore[arg-type]


def read_samples(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a samples table (``path``: the file or its run folder), json columns decoded
    by the schema's marks (never by looking at the text)."""
    import pyarrow.parquet as pq

    p = Path(path)
    if p.is_dir():
        p = p / SAMPLES_FILE
    if not p.is_file():
        raise MissingInputError(f"{p}: no {SAMPLES_FILE}; run `lcad-bench evaluate` first")
    try:
        table = pq.read_table(p)
    except Exception as exc:  # noqa: BLE001  (pyarrow raises several types for a bad file)
        raise InputFormatError(
            f"{p}: unreadable samples table ({type(exc).__name__}: {str(exc)[:160]})"
        ) from exc
    json_cols = [
        f.name for f in table.schema if (f.metadata or {}).get(b"lcad_bench.dtype") == b"json"
    ]
    rows = table.to_pylist()
    for r in rows:
        for c in json_cols:
            if r.get(c) is not None:
                r[c] = json.loads(r[c])
    return rows


# --------------------------------------------------------------------------------------------
# distribution state, run log


def save_distribution_state(
    run_dir: str | Path, state: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Flatten {level: {metric: nested dict of arrays/numbers}} into an .npz (no pickles) and
    return its ``{path, sha256}`` record (for results.json)."""
    flat: dict[str, np.ndarray] = {}

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}/{k}" if prefix else str(k), v)
        else:
            flat[prefix] = np.asarray(obj)

    walk("", state)
    buf = io.BytesIO()
    np.savez(buf, **flat)  # zip members carry the fixed 1980 date: the same state, the same bytes
    raw = buf.getvalue()
    with writing(Path(run_dir) / DIST_STATE_FILE):
        atomic_write_bytes(Path(run_dir) / DIST_STATE_FILE, raw)
    return {"path": DIST_STATE_FILE, "sha256": hashlib.sha256(raw).hexdigest()}


def load_distribution_state(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Inverse of :func:`save_distribution_state` (``allow_pickle=False``); {} when absent."""
    path = Path(run_dir) / DIST_STATE_FILE
    out: dict[str, Any] = {}
    if not path.is_file():
        return out
    with np.load(path, allow_pickle=False) as z:
        for key in z.files:
            parts = key.split("/")
            d = out
            for p in parts[:-1]:
                d = d.setdefault(p, {})
            v = z[key]
            d[parts[-1]] = v.item() if v.ndim == 0 else v
    return out


def append_run_log(run_dir: str | Path, record: dict[str, Any]) -> None:
    """One line per invocation of the run."""
    path = Path(run_dir) / RUN_LOG_FILE
    with writing(path), open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"time": utc_now(), **record}) + "\n")


# --------------------------------------------------------------------------------------------
# write errors, the lock


class RunWriteError(LcadBenchError):
    """The run folder cannot be written (disk full, read-only, --out is a file): exit 3. Everything
    already written is kept; rerunning the same command resumes."""

    exit_code = ExitCode.MISSING


def write_error(path: str | Path, exc: OSError) -> RunWriteError:
    """The user-facing error of a failed write to ``path``, with the fix."""
    code = exc.errno
    why = exc.strerror or str(exc)
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = ("free some space (or choose another --out) and rerun the same command: finished outputs are "
               "kept and only the rest is computed")  # fmt: skip
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a writable --out or fix the folder's permissions"
    elif code in (errno.ENOTDIR, errno.EEXIST):
        fix = "--out must be a folder (or not exist yet), not a file; choose another --out"
    elif code == errno.EISDIR:
        fix = "a folder stands where this file goes; remove it or choose another --out"
    else:
        fix = "check the disk and rerun the same command (finished outputs are kept)"
    return RunWriteError(f"cannot write {path}: {why}; {fix}")


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into a :class:`RunWriteError`."""
    try:
        yield
    except OSError as exc:
        # os.replace(tmp, target) names the target second: name the file being written, not
        # its temporary name
        name = getattr(exc, "filename2", None) or getattr(exc, "filename", None) or path
        raise write_error(name, exc) from exc


def make_run_dir(run_dir: str | Path) -> Path:
    """Create the run folder (and parents); a file in the way or no permission is exit 3."""
    p = Path(run_dir)
    if p.exists() and not p.is_dir():
        raise write_error(p, OSError(errno.ENOTDIR, "it is a file, not a folder"))
    with writing(p):
        p.mkdir(parents=True, exist_ok=True)
    if not os.access(p, os.W_OK | os.X_OK):
        raise write_error(p, OSError(errno.EACCES, "permission denied"))
    return p


class RunLockedError(LcadBenchError):
    """Another process writes the same run folder."""

    exit_code = ExitCode.USAGE


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_lock(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def locked(run_dir: str | Path, command: str = "") -> Iterator[dict[str, Any]]:
    """Hold the run folder's lock while writing it: ``RUN/.lcad-bench.lock``, an advisory
    ``flock`` (released by the kernel when the process dies, so a killed run never blocks the
    next) whose content names the holder (pid, host, command, start time). A second process gets
    :class:`RunLockedError` naming the first. Yields the previous holder's record when it died
    without releasing (a stale lock, taken over), else {}."""
    import fcntl

    p = make_run_dir(run_dir)
    path = p / LOCK_FILE
    with writing(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, file_mode())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held_by_kernel = True
        except BlockingIOError:
            info = _read_lock(path)
            raise RunLockedError(
                f"{p} is being written by another lcad-bench process (pid {info.get('pid', '?')} on "
                f"{info.get('host', '?')}, `{info.get('command', '?')}`, since {info.get('started', '?')}); "
                "wait for it to finish or choose another --out"
            ) from None
        except OSError:  # a file system without flock: fall back to the recorded pid
            held_by_kernel = False
        prev = _read_lock(path)
        same_host = prev.get("host") == socket.gethostname()
        if (
            not held_by_kernel
            and prev.get("pid")
            and same_host
            and _pid_alive(int(prev["pid"]))
            and int(prev["pid"]) != os.getpid()
        ):
            raise RunLockedError(
                f"{p} is being written by another lcad-bench process (pid {prev['pid']}, `{prev.get('command', '?')}`, "
                f"since {prev.get('started', '?')}); wait for it to finish or choose another --out"
            )  # fmt: skip
        stale = prev if prev.get("pid") else {}
        if stale:
            alive = same_host and _pid_alive(int(stale["pid"]))
            print(
                f"note: {p} was left locked by pid {stale['pid']} ({'its lock is released' if alive else 'no longer running'}; "
                f"`{stale.get('command', '?')}`, since {stale.get('started', '?')}): an interrupted run, resumed",
                file=sys.stderr,
            )  # fmt: skip
        me = {"pid": os.getpid(), "host": socket.gethostname(), "command": command or " ".join(sys.argv),
              "started": utc_now()}  # fmt: skip
        with writing(path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(me).encode("utf-8"), 0)
        try:
            yield stale
        finally:
            # the file stays (removing it would let two processes lock different files); an
            # empty lock file means "released cleanly"
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


# --------------------------------------------------------------------------------------------
# ground truths


def read_gt_index(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """``gt/index.jsonl``: image key -> {source_sha256, geometry, sha256} of its GT PNG (the last
    line of a key wins; a line torn by a kill is skipped: that GT is simply made again)."""
    path = Path(run_dir) / GT_INDEX
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
            out[str(rec["image_key"])] = rec
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return out


def append_gt_index(run_dir: str | Path, record: dict[str, Any]) -> None:
    """Add one GT's record to ``gt/index.jsonl``."""
    path = Path(run_dir) / GT_INDEX
    with writing(path), open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------
# a run folder as a whole


@dataclass
class Run:
    """A run folder whose results.json and samples table belong together."""

    path: Path
    results: Results

    @property
    def samples_path(self) -> Path:
        """The samples table."""
        return self.path / SAMPLES_FILE

    def samples(self) -> list[dict[str, Any]]:
        """The per-sample rows."""
        return read_samples(self.samples_path)

    def file(self, rel: Any) -> Path | None:
        """A file named by a relative path of the samples table, if it stays inside the run."""
        return safe_join(self.path, rel)

    def gt_file(self, image_key: str) -> Path | None:
        """The ground-truth PNG of an image."""
        return safe_join(self.path, gt_relpath(image_key))


def open_run(path: str | Path, verify: bool = True) -> Run:
    """Open a run folder (or its results.json). With ``verify``, the samples table must exist and
    match the sha256 its results.json recorded: a results file never describes another table."""
    p = Path(path)
    run_dir = p.parent if p.name == RESULTS_FILE else p
    res = load_results(run_dir)
    run = Run(run_dir, res)
    if verify:
        want = (res.samples or {}).get("sha256")
        f = run.samples_path
        if not f.is_file():
            raise MissingInputError(
                f"{run_dir}: {SAMPLES_FILE} is missing; rerun `lcad-bench evaluate` with the same --out"
            )
        got = file_sha256(f)
        if want != got:
            raise InputFormatError(
                f"{f}: sha256 {got[:16]}… differs from the {want and want[:16]}… recorded in {RESULTS_FILE}; the two files "
                "do not belong together (an interrupted write or two runs on one --out): rerun `lcad-bench evaluate` "
                "with the same --out to rewrite both (finished outputs are reused)"
            )  # fmt: skip
        dist = res.distribution_state or {}
        if dist.get("sha256"):
            d = run_dir / DIST_STATE_FILE
            got_d = file_sha256(d) if d.is_file() else None
            if got_d != dist["sha256"]:
                raise InputFormatError(
                    f"{d}: {'missing' if got_d is None else f'sha256 {got_d[:16]}…'} where {RESULTS_FILE} recorded "
                    f"{dist['sha256'][:16]}…; the two files do not belong together (an interrupted write): rerun "
                    "`lcad-bench evaluate` with the same --out to rewrite both"
                )  # fmt: skip
    return run


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (copy across file systems); an existing equal file stays."""
    import os
    import shutil

    if dst.exists():
        if file_sha256(dst) == file_sha256(src):
            return
        dst.unlink()
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def adopt_files(src_run: str | Path, dst_run: str | Path, rels: Iterable[str]) -> None:
    """Link (or copy) files of one run folder into another at the same relative paths."""
    for rel in rels:
        src = safe_join(src_run, rel)
        if src is None or not src.is_file():
            continue
        with writing(Path(dst_run) / rel):
            link_or_copy(src, Path(dst_run) / rel)
