"""The evaluation runner: split -> requests -> model -> cached PNG outputs -> metrics -> results.

* Preprocessing lives here only: the ground truth is the source image at the protocol geometry
  (256, short side + centre crop, bicubic), stored once as PNG; models get its L* and gray
  rendering (``lcad_bench.imaging``).
* Outputs are cached as PNG under ``RUNDIR/outputs/<config_hash>/<level>/``; the key of an output
  hashes the model config, pair id, level, seed and the request content (description, masks,
  input). Each PNG is written to a temporary name and moved into place, then appended to
  ``index.jsonl`` with its sha256, so a killed run resumes without recomputing finished samples.
* Bad model output (wrong count, shape or dtype, NaN, an exception) is recorded per sample and
  the run goes on; ``strict`` stops with exit code 5 instead.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lcad_bench.errors import ExitCode, LcadBenchError, UsageError
from lcad_bench.fileio import atomic_write_bytes
from lcad_bench.imaging import (
    EVAL_RESOLUTION,
    luminance_and_gray,
    mask_to_eval_geometry,
    to_eval_geometry,
)
from lcad_bench.models.base import ColorizationRequest, Colorizer
from lcad_bench.splits.format import LEVELS, PairRecord, Split, load_split

SEED_RULE = "sha256('{base_seed}|{pair_id}|{s}')[:4] big-endian"
PNG_COMPRESS_LEVEL = 1  # lossless either way; level 1 encodes several times faster than 6


class SamplesFailedError(LcadBenchError):
    """``--strict`` and a sample failed."""

    exit_code = ExitCode.SAMPLES_FAILED


def canonical_json(obj: Any) -> str:
    """Sorted, compact JSON (hash input)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def config_hash(cfg: Any) -> str:
    """sha256 of the canonical JSON of ``cfg``."""
    return hashlib.sha256(canonical_json(cfg).encode("utf-8")).hexdigest()


def pair_seed(base_seed: int, pair_id: str, s: int) -> int:
    """The protocol's per-pair seed (section 1)."""
    return int.from_bytes(hashlib.sha256(f"{base_seed}|{pair_id}|{s}".encode()).digest()[:4], "big")


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> (i, n)."""
    if not spec:
        return None
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError as exc:
        raise UsageError(
            f"--shard {spec!r}: expected i/n with 0 <= i < n, e.g. --shard 0/4"
        ) from exc
    if not 0 <= i < n:
        raise UsageError(f"--shard {spec!r}: expected i/n with 0 <= i < n, e.g. --shard 0/4")
    return i, n


def in_shard(pair_id: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic shard membership of a pair."""
    if shard is None:
        return True
    return int(hashlib.sha256(pair_id.encode()).hexdigest()[:8], 16) % shard[1] == shard[0]


@dataclass
class Item:
    """One (pair, level, seed) of the run."""

    record: PairRecord
    level: str
    s: int
    seed: int
    description: str
    key: str = ""
    path: Path | None = None
    error: str | None = None
    computed: bool = False


@dataclass
class Prepared:
    """Model inputs of one pair at evaluation geometry."""

    gt: np.ndarray
    luminance: np.ndarray
    gray: np.ndarray
    masks: np.ndarray | None
    phrases: tuple[dict[str, Any], ...]
    mask_kept: tuple[float, ...] = ()


@dataclass
class RunPlan:
    """What a run will do, resolved from its arguments."""

    split: Split
    items: list[Item]
    model: Colorizer
    model_info: dict[str, Any]
    config: dict[str, Any]
    config_hash: str
    out: Path
    levels: list[str]
    base_seed: int
    n_seeds: int
    shard: tuple[int, int] | None
    resolution: int = EVAL_RESOLUTION
    resize_policy: str = "short_side_center_crop"
    counts: dict[str, int] = field(default_factory=dict)


def plan_run(
    model: Colorizer,
    split_path: str | Path,
    out: str | Path,
    levels: Sequence[str] | None = None,
    limit: int | None = None,
    base_seed: int = 0,
    n_seeds: int = 1,
    shard: tuple[int, int] | None = None,
) -> RunPlan:
    """Resolve the run: records (sharded, limited), items, model config hash, cache layout."""
    split = load_split(split_path)
    lv = list(levels or LEVELS)
    bad = [x for x in lv if x not in LEVELS]
    if bad:
        raise UsageError(f"unknown level(s) {bad}; levels are {', '.join(LEVELS)}")
    records = [r for r in split.records if in_shard(r.pair_id, shard)]
    if limit is not None:
        records = records[:limit]
    info = model.describe()
    text_field = "instance_prompt" if any(r.instance_prompt for r in records) else "caption"
    cfg = {
        "model": {k: info[k] for k in ("name", "version", "config")},
        "resolution": EVAL_RESOLUTION,
        "resize_policy": "short_side_center_crop",
        "text_field": text_field,
        "seed_rule": SEED_RULE,
        "base_seed": base_seed,
    }
    h = config_hash(cfg)
    outp = Path(out)
    items = []
    for r in records:
        for level in lv:
            desc = r.descriptions.get(level)
            if desc is None:
                continue
            for s in range(n_seeds):
                items.append(Item(r, level, s, pair_seed(base_seed, r.pair_id, s), desc))
    return RunPlan(split, items, model, info, cfg, h, outp, lv, base_seed, n_seeds, shard)


def _safe(pair_id: str) -> str:
    return pair_id.replace("#", "__").replace("/", "_")


class OutputCache:
    """PNG outputs of one model config, with an append-only sha256 index."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index_path = root / "index.jsonl"
        self.index: dict[str, str] = {}
        self._writer: Any = None
        self._futures: list[Any] = []
        if self.index_path.is_file():
            for line in self.index_path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                    self.index[rec["key"]] = rec["sha256"]
                except (json.JSONDecodeError, KeyError):
                    continue  # a line torn by a kill: that sample is simply recomputed

    def path(self, item: Item) -> Path:
        return self.root / item.level / f"{_safe(item.record.pair_id)}__s{item.s}.png"

    def has(self, item: Item) -> bool:
        """True when the item's PNG exists and matches its indexed sha256."""
        p = self.path(item)
        sha = self.index.get(item.key)
        if sha is None or not p.is_file():
            return False
        return hashlib.sha256(p.read_bytes()).hexdigest() == sha

    def put_async(self, item: Item, rgb: np.ndarray) -> None:
        """:meth:`put` on a background writer thread (PNG encoding and file I/O overlap the
        metrics); one writer keeps the index in write order. Call :meth:`join` before reading
        the index."""
        self.submit(self.put, item, rgb)

    def submit(self, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` on the writer thread."""
        if self._writer is None:
            from concurrent.futures import ThreadPoolExecutor

            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="png-writer")
        self._futures.append(self._writer.submit(fn, *args))
        if len(self._futures) > 64:
            self._futures = [f for f in self._futures if not f.done() or f.result() is None]

    def join(self) -> None:
        """Wait for every queued write (re-raising a write error)."""
        for f in self._futures:
            f.result()
        self._futures = []
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def put(self, item: Item, rgb: np.ndarray) -> str:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(rgb, "RGB").save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        data = buf.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        # atomic (temporary name + os.replace), then indexed: a killed process leaves either no
        # file or a complete one; the sha256 check on resume catches anything else
        atomic_write_bytes(self.path(item), data, fsync=False)
        with open(self.index_path, "a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {
                        "key": item.key,
                        "pair_id": item.record.pair_id,
                        "level": item.level,
                        "seed": item.seed,
                        "sha256": sha,
                    }
                )
                + "\n"
            )
        self.index[item.key] = sha
        return sha


def prepare(split: Split, rec: PairRecord, gt_dir: Path, submit: Any = None) -> Prepared:
    """Ground truth at evaluation geometry (stored once as PNG), the model inputs (L*, gray) and
    the linked masks at evaluation geometry."""
    from PIL import Image

    gt_path = gt_dir / f"{_safe(rec.image_key)}.png"
    if gt_path.is_file():
        gt = np.asarray(Image.open(gt_path).convert("RGB"))
    else:
        gt = np.asarray(to_eval_geometry(split.load_image(rec)))
        (submit or (lambda fn, *a: fn(*a)))(_write_png, gt_path, gt)
    lum, gray = luminance_and_gray(gt)
    masks = None
    phrases: tuple[dict[str, Any], ...] = ()
    kept: list[float] = []
    linked = rec.linked_instances()
    if linked:
        from lcad_bench.imaging import mask_kept_fraction

        by_name: dict[str, list] = {}
        for inst in linked:
            by_name.setdefault(inst.mask_name or "", []).append(inst)
        names = sorted(by_name)
        ms = []
        pmap = {p.phrase_id: p for p in rec.colour_phrases}
        plist = []
        for n in names:
            full = np.zeros((rec.height, rec.width), bool)
            for inst in by_name[n]:
                full |= inst.decode()
            kept.append(mask_kept_fraction(full))
            ms.append(mask_to_eval_geometry(full))
            pid = by_name[n][0].phrase_id
            plist.append(pmap[pid].to_dict() | {"link": by_name[n][0].link} if pid in pmap else {})
        masks = np.stack(ms) if ms else None
        phrases = tuple(plist)
    return Prepared(gt, lum, gray, masks, phrases, tuple(kept))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    atomic_write_bytes(path, buf.getvalue(), fsync=False)


def request_key(cfg_hash: str, item: Item, prep: Prepared, uses_masks: bool) -> str:
    """Output-cache key: config hash, pair, level, seed and a hash of the request content."""
    h = hashlib.sha256()
    for part in (cfg_hash, item.record.pair_id, item.level, str(item.seed), item.description):
        h.update(part.encode("utf-8") + b"\0")
    h.update(hashlib.sha256(prep.gt.tobytes()).digest())
    if uses_masks and prep.masks is not None:
        h.update(np.packbits(prep.masks).tobytes())
    return h.hexdigest()


def validate_output(out: Any, shape: tuple[int, int]) -> str | None:
    """A clear message when a model output is not a uint8 H x W x 3 array, else None."""
    if not isinstance(out, np.ndarray):
        return f"model returned {type(out).__name__}, expected a numpy uint8 array of shape {shape + (3,)}"
    if out.dtype != np.uint8:
        if np.issubdtype(out.dtype, np.floating) and not np.isfinite(out).all():
            return f"model output contains NaN/inf (dtype {out.dtype}); expected uint8 RGB"
        return f"model output has dtype {out.dtype}, expected uint8 (round [0,1] floats with np.rint(x*255))"
    if out.shape != shape + (3,):
        return f"model output has shape {out.shape}, expected {shape + (3,)}"
    return None


def timestamp() -> str:
    """UTC time for results."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------------------------
# metrics and results


class MetricSuite:
    """The metrics of a run behind one small interface (built by ``lcad_bench.metrics``).

    ``per_sample(items, preds, gts, preps)`` returns one dict of values per sample;
    ``update_distribution(level, preds, gts)`` feeds distribution metrics (FID) per level;
    ``compute_distribution()`` returns {level: {metric: result}}."""

    names: list[str] = []
    distribution_names: list[str] = []
    skipped: dict[str, str] = {}

    def per_sample(
        self,
        items: Sequence[Item],
        preds: Sequence[np.ndarray],
        gts: Sequence[np.ndarray],
        preps: Sequence[Prepared],
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def update_distribution(
        self, level: str, preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]
    ) -> None:
        return None

    def compute_distribution(self) -> dict[str, dict[str, Any]]:
        return {}

    def metadata(self) -> dict[str, Any]:
        return {}

    def distribution_state(self) -> dict[str, dict[str, Any]]:
        """{level: {metric: state}} of the distribution metrics (for ``merge``)."""
        return {}

    def merge_distribution_state(self, state: dict[str, dict[str, Any]]) -> None:
        """Add another shard's distribution state."""
        return None


METRIC_BATCH = 16
DIST_STATE = "distribution_state.npz"


def save_distribution_state(path: Path, state: dict[str, dict[str, Any]]) -> None:
    """Flatten {level: {metric: nested dict of arrays/numbers}} into an .npz (no pickles)."""
    flat: dict[str, np.ndarray] = {}

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}/{k}" if prefix else str(k), v)
        else:
            flat[prefix] = np.asarray(obj)

    walk("", state)
    buf = io.BytesIO()
    np.savez(buf, **flat)
    atomic_write_bytes(path, buf.getvalue())


def load_distribution_state(path: Path) -> dict[str, dict[str, Any]]:
    """Inverse of :func:`save_distribution_state` (``allow_pickle=False``)."""
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


@dataclass
class _Entry:
    item: Item
    prep: Prepared | None
    state: str  # pending | ready | cached | failed
    pred: np.ndarray | None = None


def run_items(
    plan: RunPlan,
    suite: MetricSuite,
    batch_size: int = 8,
    strict: bool = False,
    quiet: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Colorize every item whose output is not cached, and score every item, in one pass.

    Items are scored in plan order with fixed metric-batch boundaries whether their output was
    computed now or read from the cache, so a resumed run gives exactly the rows and
    distribution statistics of an uninterrupted one. Fresh outputs are scored from memory; only
    cached ones are decoded. Only the current pair's inputs and the pending batches are held in
    memory (flat in the number of samples)."""
    from collections import deque

    from PIL import Image
    from tqdm import tqdm

    model = plan.model
    cache = OutputCache(plan.out / "outputs" / plan.config_hash[:16])
    gt_dir = plan.out / "gt"
    counts = {"cached": 0, "computed": 0, "failed": 0}
    rows: list[dict[str, Any]] = []
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
            rows.append(_base_row(it) | v)
        for lv in sorted({it.level for it in items}):
            sel = [e for e in to_score if e.item.level == lv]
            suite.update_distribution(lv, [e.pred for e in sel], [e.prep.gt for e in sel])  # type: ignore[union-attr]
        bar.update(len(to_score))
        to_score.clear()

    def drain() -> None:
        while queue and queue[0].state != "pending":
            e = queue.popleft()
            if e.state == "cached":
                try:
                    e.pred = np.asarray(Image.open(e.item.path).convert("RGB"))  # type: ignore[arg-type]
                except (OSError, ValueError) as exc:
                    fail(
                        e,
                        f"cached output {e.item.path} is unreadable ({exc}); delete it to recompute",
                    )
            if e.state == "failed":
                score_flush()  # keep rows in plan order
                rows.append(_base_row(e.item))
                bar.update(1)
                continue
            to_score.append(e)
            if len(to_score) >= METRIC_BATCH:
                score_flush()

    def generate_flush() -> None:
        if not pending:
            return
        reqs = [
            ColorizationRequest(
                key=e.item.key,
                pair_id=e.item.record.pair_id,
                level=e.item.level,
                luminance=e.prep.luminance,  # type: ignore[union-attr]
                gray=e.prep.gray,
                description=e.item.description,  # type: ignore[union-attr]
                instance_prompt=e.item.record.instance_prompt
                if e.item.level == "complete"
                else None,
                masks=e.prep.masks if model.uses_instance_masks else None,  # type: ignore[union-attr]
                phrases=e.prep.phrases if model.uses_instance_masks else (),
                seed=e.item.seed,  # type: ignore[union-attr]
            )  # fmt: skip
            for e in pending
        ]
        try:
            outs = model.colorize(reqs)
            if not isinstance(outs, (list, tuple)) or len(outs) != len(reqs):
                n = len(outs) if isinstance(outs, (list, tuple)) else type(outs).__name__
                raise ValueError(f"model returned {n} outputs for a batch of {len(reqs)}")
            errors = [validate_output(o, e.prep.gt.shape[:2]) for o, e in zip(outs, pending)]  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001  (a model's failure is a per-sample result)
            outs = [None] * len(reqs)
            errors = [f"model raised {type(exc).__name__}: {exc}"] * len(reqs)
        for e, o, err in zip(pending, outs, errors):
            if err is not None:
                fail(e, err)
                continue
            cache.put_async(e.item, o)
            e.item.computed, e.pred, e.state = True, o, "ready"
            counts["computed"] += 1
        pending.clear()
        drain()

    try:
        current: tuple[str, Prepared | str] | None = None
        for it in plan.items:
            rec = it.record
            if current is None or current[0] != rec.pair_id:
                try:
                    current = (rec.pair_id, prepare(plan.split, rec, gt_dir, cache.submit))
                except LcadBenchError as exc:
                    current = (rec.pair_id, str(exc))
            p = current[1]
            e = _Entry(it, p if isinstance(p, Prepared) else None, "pending")
            queue.append(e)
            if isinstance(p, str):
                fail(e, p)
                drain()
                continue
            it.key = request_key(plan.config_hash, it, p, model.uses_instance_masks)
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
    finally:
        cache.join()
        bar.close()
    return rows, counts


def _rel(path: Path | None) -> str | None:
    """Output path relative to the run folder (outputs/<hash>/<level>/<file>)."""
    if path is None:
        return None
    return "/".join(path.parts[-4:])


def _base_row(it: Item) -> dict[str, Any]:
    return {
        "pair_id": it.record.pair_id, "image_key": it.record.image_key, "level": it.level, "seed": it.seed,
        "description": it.description, "output_path": _rel(it.path),
        "output_sha256": None, "error": it.error,
    }  # fmt: skip


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
) -> Any:
    """Run ``model`` on a split and write ``results.json`` + ``samples.parquet`` in ``out``.

    Resumable: outputs already cached (and matching their sha256) are never recomputed, and the
    results of a resumed run equal those of an uninterrupted one (apart from ``created_at``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lcad_bench.evaluation.results import (
        BOOTSTRAP_B,
        BOOTSTRAP_SEED,
        Results,
        aggregate,
        environment,
        write_results,
    )

    plan = plan_run(model, split_path, out, levels, limit, base_seed, n_seeds, shard)
    plan.out.mkdir(parents=True, exist_ok=True)
    if suite is None:
        from lcad_bench.evaluation.suite import build_suite

        suite = build_suite(metrics, explicit=metrics is not None)
    rows, counts = run_items(plan, suite, batch_size=batch_size, strict=strict, quiet=quiet)
    with open(plan.out / "run_log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"time": timestamp(), **counts}) + "\n")
    cache = OutputCache(plan.out / "outputs" / plan.config_hash[:16])
    for r, it in zip(rows, plan.items):
        r["output_sha256"] = cache.index.get(it.key) if it.error is None else None
    # samples.parquet: one row per pair x level x seed; nested values as JSON
    table_rows = [
        {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()}
        for r in rows
    ]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(table_rows), buf)
    atomic_write_bytes(plan.out / "samples.parquet", buf.getvalue())
    cells = aggregate(rows, suite.names, plan.levels)
    n_failed = sum(1 for r in rows if r.get("error"))
    warnings = []
    if n_failed:
        warnings.append(f"{n_failed} samples failed (see the error column of samples.parquet)")
    save_distribution_state(plan.out / DIST_STATE, suite.distribution_state())
    dist = suite.compute_distribution()
    dist_rows = [
        {"scheme": "controlled", "level": lv, "metric": n, **res}
        for lv, d in dist.items()
        for n, res in d.items()
    ]
    for d in dist_rows:
        for w in d.get("warnings", []) or []:
            if w not in warnings:
                warnings.append(w)
    m = plan.split.manifest
    res = Results(
        run_id=f"{plan.model_info['name']}-{plan.config_hash[:12]}-{m.content_hash[:12]}"
        + (f"-shard{shard[0]}of{shard[1]}" if shard else ""),
        created_at=timestamp(),
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
            "resize_policy": "short_side_center_crop",
            "text_field": plan.config["text_field"],
            "levels": plan.levels,
        },  # fmt: skip
        seeds={
            "base_seed": base_seed,
            "n_seeds": n_seeds,
            "seed_rule": SEED_RULE,
            "bootstrap_seed": BOOTSTRAP_SEED,
            "bootstrap_b": BOOTSTRAP_B,
            "partial_rule": m.protocol.get("partial_seed_rule"),
        },  # fmt: skip
        environment=environment(),
        metrics=suite.metadata(),
        skipped_metrics=dict(suite.skipped),
        aggregates=cells,
        distribution_metrics=dist_rows,
        counts={"samples": len(rows), "failed": n_failed},
        warnings=warnings,
        samples={
            "path": "samples.parquet",
            "rows": len(rows),
            "sha256": hashlib.sha256((plan.out / "samples.parquet").read_bytes()).hexdigest(),
        },
    )
    write_results(plan.out / "results.json", res)
    if strict and n_failed:
        raise SamplesFailedError(f"{n_failed} samples failed; see {plan.out / 'samples.parquet'}")
    return res
