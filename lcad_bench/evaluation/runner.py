"""The evaluation runner: split -> requests -> model -> cached PNG outputs -> metrics -> run folder.

One pass generates and scores in plan order: :mod:`.plan` resolves the items, :mod:`.inputs`
prepares each pair, :mod:`.cache` keeps outputs, the :class:`~.suite.MetricSuite` scores, and
:mod:`.rundir` writes the run folder. Bad input (an image that cannot be decoded or does not
match the split, a malformed mask) and bad model output (wrong count, shape or dtype, NaN, an
exception, ``SystemExit``, a timeout) are recorded per sample and the run goes on; ``strict``
stops with exit code 5. A batch that fails is retried one sample at a time, so the failures do
not depend on ``--batch-size``. The model gets read-only arrays; what it returns is copied once,
and that copy is both scored and written (docs/evaluating.md#failures).
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lcad_bench.errors import ExitCode, LcadBenchError, UsageError
from lcad_bench.evaluation import rundir
from lcad_bench.evaluation.aggregate import aggregate, nonfinite_warnings
from lcad_bench.evaluation.cache import OutputCache, request_key
from lcad_bench.evaluation.inputs import InputPreparer, Prepared, frozen, read_png, request_for
from lcad_bench.evaluation.plan import Item, RunPlan, check_run_args, plan_run
from lcad_bench.evaluation.provenance import environment
from lcad_bench.evaluation.suite import MetricSuite
from lcad_bench.fileio import utc_now
from lcad_bench.models import Colorizer, SampleFailure
from lcad_bench.protocol import (
    BOOTSTRAP_B,
    BOOTSTRAP_SEED,
    EVAL_RESOLUTION,
    PARTIAL_SEED_RULE,
    RESIZE_POLICY,
    SEED_RULE,
)

METRIC_BATCH = 16


class SamplesFailedError(LcadBenchError):
    """``--strict`` and a sample failed."""

    exit_code = ExitCode.SAMPLES_FAILED


class SampleTimeout(BaseException):  # noqa: N818  (a BaseException: a model's `except Exception` cannot swallow it)
    """Raised inside ``model.colorize`` when ``--sample-timeout`` expires."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`SampleTimeout` in this (the main) thread after ``seconds`` (SIGALRM). A
    model stuck inside one C call is interrupted when that call returns to Python."""
    if not seconds:
        yield
        return

    def _expired(signum: int, frame: Any) -> None:
        raise SampleTimeout()

    old = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def describe_exception(exc: BaseException) -> str:
    """``model raised T: message`` with a hint where the cause is known."""
    msg = f"model raised {type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, SystemExit):
        msg = f"model called exit ({type(exc).__name__}({exc.code!r})); a model must return or raise, never exit"
    elif isinstance(exc, ValueError) and "read-only" in str(exc):
        msg += " (request arrays are read-only: copy one before changing it, e.g. r.gray.copy())"
    return msg


def validate_output(out: Any, shape: tuple[int, int]) -> str | None:
    """A clear message when a model output is not a uint8 H x W x 3 array, else None."""
    if isinstance(out, SampleFailure):
        return out.message
    if not isinstance(out, np.ndarray):
        return f"model returned {type(out).__name__}, expected a numpy uint8 array of shape {shape + (3,)}"
    if out.dtype != np.uint8:
        if np.issubdtype(out.dtype, np.floating) and not np.isfinite(out).all():
            return f"model output contains NaN/inf (dtype {out.dtype}); expected uint8 RGB"
        return f"model output has dtype {out.dtype}, expected uint8 (round [0,1] floats with np.rint(x*255))"
    if out.shape != shape + (3,):
        return f"model output has shape {out.shape}, expected {shape + (3,)}"
    return None


@dataclass
class _Entry:
    item: Item
    prep: Prepared | None
    state: str  # pending | ready | cached | failed
    pred: np.ndarray | None = None
    request: Any = None  # the ColorizationRequest (with its key) of a prepared item


def run_items(
    plan: RunPlan,
    suite: MetricSuite,
    batch_size: int = 8,
    strict: bool = False,
    quiet: bool = False,
    sample_timeout: float | None = None,
) -> tuple[rundir.RowSpool, dict[str, int]]:
    """Colorize every item whose output is not cached, and score every item, in one pass.

    Items are scored in plan order with fixed metric-batch boundaries whether their output was
    computed now or read from the cache, so a resumed run gives exactly the rows and
    distribution statistics of an uninterrupted one. Fresh outputs are scored from memory; only
    cached ones are decoded. Only the current pair's inputs and the pending batches are held in
    memory (flat in the number of samples); the rows go to a :class:`~.rundir.RowSpool`."""
    from collections import deque

    from tqdm import tqdm

    model = plan.model
    cache = OutputCache(plan.out, plan.config_hash)
    inputs = InputPreparer(plan.split, plan.out, cache.submit)
    counts = {"cached": 0, "computed": 0, "failed": 0}
    key_memo: dict[int, Any] = {}
    real_seen: set[tuple[str, str]] = set()  # (pair, level) whose GT is in FID's real set
    rows = rundir.RowSpool(plan.out)  # on disk, in plan order: memory flat in the number of rows
    queue: deque[_Entry] = deque()
    pending: list[_Entry] = []
    to_score: list[_Entry] = []
    bar = tqdm(total=len(plan.items), desc=f"evaluate {plan.model_info['name']}", unit="sample", file=sys.stderr,
               disable=True if quiet else None)  # fmt: skip

    def fail(e: _Entry, msg: str) -> None:
        e.item.error, e.state = msg, "failed"
        counts["failed"] += 1
        if strict:
            raise SamplesFailedError(
                f"{e.item.record.pair_id} [{e.item.level}]: {msg}. --strict stops here; finished outputs are kept in {cache.root}"
            )

    def score_flush() -> None:
        if not to_score:
            return
        items = [e.item for e in to_score]
        preds = [e.pred for e in to_score]
        gts = [e.prep.gt for e in to_score]  # type: ignore[union-attr]
        vals = suite.per_sample(items, preds, gts, [e.prep for e in to_score])  # type: ignore[misc]
        for it, v in zip(items, vals):
            rows.append(_base_row(it, cache) | v)
        for lv in sorted({it.level for it in items}):
            sel = [e for e in to_score if e.item.level == lv]
            # every output is a fake; the ground truth of each pair with a successful output is
            # real once, at its first successful seed (docs/protocol.md#fid): plan order, so the
            # same in a resumed, sharded or data-parallel run
            reals = []
            for e in sel:
                if (e.item.record.pair_id, lv) not in real_seen:
                    real_seen.add((e.item.record.pair_id, lv))
                    reals.append(e.prep.gt)  # type: ignore[union-attr]
            suite.update_distribution(lv, [e.pred for e in sel], reals)
        bar.update(len(to_score))
        to_score.clear()

    def drain() -> None:
        while queue and queue[0].state != "pending":
            e = queue.popleft()
            if e.state == "cached":
                try:
                    e.pred = frozen(read_png(e.item.path))  # type: ignore[arg-type]
                except Exception as exc:  # noqa: BLE001  (any decoder error: recompute next time)
                    counts["cached"] -= 1  # each sample is counted once: this one as failed
                    fail(
                        e,
                        f"cached output {e.item.path} is unreadable ({exc}); delete it to recompute",
                    )
            if e.state == "failed":
                score_flush()  # keep rows in plan order
                rows.append(_base_row(e.item, cache))
                bar.update(1)
                continue
            to_score.append(e)
            if len(to_score) >= METRIC_BATCH:
                score_flush()

    def call(entries: list[_Entry]) -> tuple[list[Any], list[str | None], bool]:
        """One model call: (outputs, per-sample errors, failed as a whole). A call that fails as
        a whole (an exception, an exit, a timeout, a wrong number of outputs) gives one error
        for all."""
        reqs = [e.request for e in entries]
        limit = sample_timeout * len(reqs) if sample_timeout else None
        try:
            with deadline(limit):
                outs = model.colorize(reqs)
            if not isinstance(outs, (list, tuple)) or len(outs) != len(reqs):
                n = len(outs) if isinstance(outs, (list, tuple)) else type(outs).__name__
                raise ValueError(f"model returned {n} outputs for a batch of {len(reqs)}")
        except KeyboardInterrupt:
            raise  # a clean interrupted stop: written outputs are kept, rerunning resumes
        except SampleTimeout:
            msg = f"model did not return within {limit:g} s (--sample-timeout {sample_timeout:g} s per sample)"
            return [None] * len(reqs), [msg] * len(reqs), True
        except BaseException as exc:  # noqa: BLE001  (a model's failure, even an exit, is a per-sample result)
            return [None] * len(reqs), [describe_exception(exc)] * len(reqs), True
        errors = [validate_output(o, e.prep.gt.shape[:2]) for o, e in zip(outs, entries)]  # type: ignore[union-attr]
        return list(outs), errors, False

    def generate_flush() -> None:
        if not pending:
            return
        outs, errors, whole = call(pending)
        if whole and len(pending) > 1:
            # the batch failed as a whole: retry one by one, so one bad sample fails alone and
            # the failure count does not depend on --batch-size
            results = [call([e]) for e in pending]
            outs, errors = [r[0][0] for r in results], [r[1][0] for r in results]
        for e, o, err in zip(pending, outs, errors):
            if err is not None:
                fail(e, err)
                continue
            o = frozen(
                np.array(o, dtype=np.uint8, copy=True)
            )  # the scored array is the written one
            cache.put_async(e.item, o)
            e.item.computed, e.pred, e.state = True, o, "ready"
            counts["computed"] += 1
        pending.clear()
        drain()

    ok = False
    try:
        current: tuple[str, Prepared | str] | None = None
        for it in plan.items:
            rec = it.record
            if current is None or current[0] != rec.pair_id:
                try:
                    current = (rec.pair_id, inputs.prepare(rec))
                except LcadBenchError as exc:
                    current = (rec.pair_id, str(exc))
            p = current[1]
            e = _Entry(it, p if isinstance(p, Prepared) else None, "pending")
            queue.append(e)
            if isinstance(p, str):
                fail(e, p)
                drain()
                continue
            req = request_for(it, p, model.uses_instance_masks)
            it.key = request_key(plan.config_hash, req, key_memo)
            e.request = dataclasses.replace(req, key=it.key)
            it.path = cache.path(it)
            if cache.has(it):
                e.state = "cached"
                counts["cached"] += 1
                drain()
                continue
            pending.append(e)
            if len(pending) >= batch_size:
                generate_flush()
        generate_flush()
        drain()
        score_flush()
        ok = True
    finally:
        try:
            cache.join()
        finally:
            bar.close()
            if not ok:
                rows.close()
    return rows, counts


def _base_row(it: Item, cache: OutputCache) -> dict[str, Any]:
    return {
        "pair_id": it.record.pair_id, "image_key": it.record.image_key, "level": it.level, "seed": it.seed,
        "description": it.description, "output_path": cache.relpath(it) if it.path else None,
        "output_sha256": None, "error": it.error,
    }  # fmt: skip


def run_id(plan: RunPlan) -> str:
    """The run's identity (:mod:`.identity`): a content hash of model config, split content,
    protocol, levels, limit and seeds, plus the shard."""
    from lcad_bench.evaluation.identity import run_id_of, run_identity

    m = plan.split.manifest
    ident = run_identity(
        model_config=plan.config, split_content_hash=m.content_hash, protocol=m.protocol,
        levels=plan.levels, limit=plan.limit, seeds={"base_seed": plan.base_seed, "n_seeds": plan.n_seeds},
    )  # fmt: skip
    return run_id_of(plan.model_info["name"], ident, plan.shard)


def summarize_levels(
    suite: MetricSuite, rows: Sequence[dict[str, Any]], levels: Sequence[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per level, each metric's summary of its rows, and the warnings they raise."""
    out: list[dict[str, Any]] = []
    warnings: list[str] = []
    for lv in levels:
        lrows = rundir.level_rows(rows, lv)
        if not lrows:
            continue
        for name, summary in suite.summarize(lv, lrows).items():
            out.append({"scheme": "controlled", "level": lv, "metric": name, **summary})
            warnings += [f"{w} ({name}, level {lv})" for w in summary.get("warnings", []) or []]
    return out, warnings


def evaluate(
    model: Colorizer,
    split_path: str | Path,
    out: str | Path,
    *,
    suite: MetricSuite | None = None,
    metrics: Sequence[str] | None = None,
    levels: Sequence[str] | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    base_seed: int = 0,
    n_seeds: int = 1,
    shard: tuple[int, int] | None = None,
    strict: bool = False,
    quiet: bool = False,
    sample_timeout: float | None = None,
    world: Any = None,
) -> rundir.Results:
    """Run ``model`` on a split and write the run folder ``out`` (:mod:`.rundir`).

    Resumable: outputs already cached (and matching their sha256) are never recomputed, and the
    results of a resumed run equal those of an uninterrupted one (apart from ``created_at``).
    ``world`` (:func:`.distributed.detect`): run this process's share of a data-parallel launch;
    rank 0 locks and writes the run folder and every process returns its Results. The folder is
    locked while the run writes it (:func:`.rundir.locked`); a folder that cannot be written is
    exit 3 (:class:`.rundir.RunWriteError`)."""
    check_run_args(levels, limit, n_seeds, batch_size)
    if sample_timeout is not None:
        if not sample_timeout > 0:
            raise UsageError(
                f"--sample-timeout must be a positive number of seconds, got {sample_timeout}"
            )
        if threading.current_thread() is not threading.main_thread():
            raise UsageError("--sample-timeout works only when evaluate runs in the main thread")
    full = plan_run(model, split_path, out, levels, limit, base_seed, n_seeds, shard)
    plan = full if world is None else world.rank_plan(full)
    if suite is None:
        from lcad_bench.evaluation.suite import build_suite

        suite = build_suite(metrics)
    if world is not None:
        from lcad_bench.evaluation import distributed

        distributed.check_suite(suite)
    with _run_lock(plan.out, f"evaluate {plan.model_info['name']} on {split_path}", world):
        return _evaluate_locked(plan, full, suite, split_path, limit, batch_size, base_seed, n_seeds,
                                shard, strict, quiet, sample_timeout, world)  # fmt: skip


@contextlib.contextmanager
def _run_lock(out: Path, command: str, world: Any) -> Iterator[None]:
    """The run folder's lock; in a data-parallel launch rank 0 holds it for every process and
    tells the others whether it got it (so all ranks stop with the same error)."""
    if world is None:
        with rundir.locked(out, command):
            yield
        return
    from lcad_bench.evaluation.distributed import ProcessFailedError

    with contextlib.ExitStack() as stack:
        error: dict[str, Any] | None = None
        if world.is_main:
            try:
                stack.enter_context(rundir.locked(out, command))
            except LcadBenchError as exc:  # locked by another process, or not writable (exit 3)
                error = {"error": str(exc), "exit_code": int(exc.exit_code)}
                own: LcadBenchError = exc
        error = world.broadcast(error)
        if error:
            if world.is_main:
                raise own
            raise ProcessFailedError(f"process 0 of {world.size}: {error['error']}",
                                     ExitCode(error["exit_code"]))  # fmt: skip
        yield


def _evaluate_locked(
    plan: RunPlan, full: RunPlan, suite: MetricSuite, split_path: str | Path, limit: int | None,
    batch_size: int, base_seed: int, n_seeds: int, shard: tuple[int, int] | None, strict: bool,
    quiet: bool, sample_timeout: float | None, world: Any,
) -> rundir.Results:  # fmt: skip
    def work() -> tuple[rundir.RowSpool, dict[str, int]]:
        rows, counts = run_items(plan, suite, batch_size=batch_size, strict=strict, quiet=quiet,
                                 sample_timeout=sample_timeout)  # fmt: skip
        index = OutputCache(plan.out, plan.config_hash).index
        items = plan.items

        def fixup(k: int, r: dict[str, Any]) -> None:  # row k is item k (plan order)
            it = items[k]
            r["output_sha256"] = index.get(it.key) if it.error is None else None

        rows.fixup = fixup
        return rows, counts

    def finish(rows: Sequence[dict[str, Any]], log: dict[str, Any]) -> rundir.Results:
        return _write_run(
            full, suite, rows, log, split_path, limit, base_seed, n_seeds, shard, world
        )

    if world is None:
        rows, counts = work()
        try:
            res = finish(rows, dict(counts))
        finally:
            rows.close()
    else:
        from lcad_bench.evaluation import distributed

        def rank_work() -> dict[str, Any]:
            spool, counts = work()
            try:
                rows = list(spool)  # gathered on rank 0 (pickled): plain rows
            finally:
                spool.close()
            return {"rows": rows, "counts": counts, "dist": suite.distribution_state()}

        def gathered(parts: list[dict[str, Any]]) -> rundir.Results:
            return finish(*distributed.combine(world, full, parts, suite))

        # every process gets rank 0's Results, or the first error of any process
        res = distributed.all_or_none(world, rank_work, gathered)
    if strict and res.counts.get("failed"):
        raise SamplesFailedError(
            f"{res.counts['failed']} samples failed; see {plan.out / rundir.SAMPLES_FILE}"
        )
    return res


def _write_run(
    plan: RunPlan, suite: MetricSuite, rows: Sequence[dict[str, Any]], log: dict[str, Any],
    split_path: str | Path, limit: int | None, base_seed: int, n_seeds: int,
    shard: tuple[int, int] | None, world: Any,
) -> rundir.Results:  # fmt: skip
    """Write the run folder from every row of ``plan`` and return its Results."""
    rundir.append_run_log(plan.out, log)
    columns = [*suite.columns(), *rundir.infer_columns(rows, suite.columns())]
    # written in this order, results.json last: it records the sha256 of the other two, so a
    # run killed between the writes leaves a pair that `show`/`merge`/`summarize` refuse
    dist_file = rundir.save_distribution_state(plan.out, suite.distribution_state())
    samples = rundir.write_samples(plan.out, rows, columns)
    cells = aggregate(rows, columns, plan.levels)
    summaries, warnings = summarize_levels(suite, rows, plan.levels)
    warnings += nonfinite_warnings(cells)
    n_failed = sum(1 for r in rows if r.get("error"))
    if n_failed:
        warnings.insert(0, f"{n_failed} samples failed (see the error column of samples.parquet)")
    dist_rows = [
        {"scheme": "controlled", "level": lv, "metric": n, **res}
        for lv, d in suite.compute_distribution().items()
        for n, res in d.items()
    ]
    for d in dist_rows:
        warnings += [w for w in d.get("warnings", []) or [] if w not in warnings]
    m = plan.split.manifest
    res = rundir.Results(
        run_id=run_id(plan),
        created_at=utc_now(),
        model={**plan.model_info, "config_hash": plan.config_hash},
        split={
            "id": m.split,
            "builder": m.builder,
            "content_hash": m.content_hash,
            "path": str(Path(split_path)),
            "sources": [i.model_dump() for i in m.inputs],
            "n_pairs": len({it.record.pair_id for it in plan.items}),
            "n_images": len({it.record.image_key for it in plan.items}),
            "limit": limit,
            "shard": list(shard) if shard else None,
        },  # fmt: skip
        protocol={
            **m.protocol,
            "eval_resolution": EVAL_RESOLUTION,
            "resize_policy": RESIZE_POLICY,
            "text_field": plan.config["text_field"],
            "levels": plan.levels,
        },  # fmt: skip
        seeds={
            "base_seed": base_seed,
            "n_seeds": n_seeds,
            "seed_rule": SEED_RULE,
            "bootstrap_seed": BOOTSTRAP_SEED,
            "bootstrap_b": BOOTSTRAP_B,
            "partial_rule": PARTIAL_SEED_RULE,
        },  # fmt: skip
        environment={**environment(), "world_size": world.size if world is not None else 1},
        metrics=suite.metadata(),
        skipped_metrics=dict(suite.skipped),
        aggregates=cells,
        summaries=summaries,
        distribution_metrics=dist_rows,
        counts={"samples": len(rows), "failed": n_failed},
        warnings=warnings,
        samples=samples,
        distribution_state=dist_file,
    )
    rundir.write_results(plan.out, res)
    return res
