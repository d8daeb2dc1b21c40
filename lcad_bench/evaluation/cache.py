"""The output cache of one model configuration: PNGs under
``RUN/outputs/<config16>/<level>/`` with an append-only sha256 index. Each PNG is written to a
temporary name and moved into place, then indexed, so a killed run resumes without recomputing
finished samples; the key of an output hashes the model config and every field of the request
the model got (:func:`request_key`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from lcad_bench.evaluation.inputs import encode_png
from lcad_bench.evaluation.plan import Item
from lcad_bench.evaluation.rundir import INDEX_FILE, output_relpath, outputs_relroot, writing
from lcad_bench.fileio import atomic_write_bytes, canonical_json, file_sha256
from lcad_bench.models import ColorizationRequest

WRITE_QUEUE = 64  # queued writes (each holds one image) before the run waits for the writer


KEY_VERSION = b"lcad-bench request key 2"  # 2: every request field (1: no prompt, no phrases)


def request_key(
    cfg_hash: str, request: ColorizationRequest, memo: dict[int, Any] | None = None
) -> str:
    """Output-cache key: the model config hash and every field of the ``request`` the model gets
    (all but ``key`` itself): pair, level, seed, description, instance prompt, the phrase records
    (canonical JSON) and the bytes, dtype and shape of every array (L*, gray, masks). A field added
    to :class:`~lcad_bench.models.ColorizationRequest` is covered without a change here, so an
    output is reused only for a request the model cannot tell apart from the one that made it.
    ``memo``: a small dict that keeps the digests of arrays shared between requests (the L* and
    gray of an image), keyed by identity."""
    h = hashlib.sha256(KEY_VERSION + b"\0" + cfg_hash.encode("utf-8") + b"\0")
    for f in dataclasses.fields(request):
        if f.name == "key":
            continue
        h.update(f.name.encode("utf-8") + b"\0" + _digest(getattr(request, f.name), memo) + b"\0")
    return h.hexdigest()


def _digest(value: Any, memo: dict[int, Any] | None) -> bytes:
    if not isinstance(value, np.ndarray):
        return canonical_json(value).encode("utf-8")
    hit = memo.get(id(value)) if memo is not None else None
    if hit is not None and hit[0] is value:
        return hit[1]
    a = np.ascontiguousarray(value)
    d = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + b"\0" + a.tobytes()).digest()
    if memo is not None:
        if len(memo) > 32:
            memo.clear()
        memo[id(value)] = (value, d)  # the reference keeps the id from being reused
    return d


class OutputCache:
    """PNG outputs of one model config, with an append-only sha256 index."""

    def __init__(self, run_dir: Path, config_hash: str) -> None:
        self.run_dir = run_dir
        self.config_hash = config_hash
        self.root = run_dir / outputs_relroot(config_hash)
        self.index_path = self.root / INDEX_FILE
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

    def relpath(self, item: Item) -> str:
        """The item's output path relative to the run folder."""
        return output_relpath(self.config_hash, item.level, item.record.pair_id, item.s)

    def path(self, item: Item) -> Path:
        return self.run_dir / self.relpath(item)

    def has(self, item: Item) -> bool:
        """True when the item's PNG exists and matches its indexed sha256."""
        p = self.path(item)
        sha = self.index.get(item.key)
        if sha is None or not p.is_file():
            return False
        return file_sha256(p) == sha

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
        if len(self._futures) > WRITE_QUEUE:
            keep = []
            for f in self._futures:
                if f.done():
                    f.result()  # a failed write (disk full) stops the run now
                else:
                    keep.append(f)
            while len(keep) > WRITE_QUEUE // 2:  # the writer is behind: wait (flat memory)
                keep.pop(0).result()
            self._futures = keep

    def join(self) -> None:
        """Wait for every queued write, then re-raise the first write error (the writer is
        always drained first: nothing is written after this returns or raises)."""
        futures, self._futures = self._futures, []
        try:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
        finally:
            self._writer = None
        for f in futures:
            f.result()

    def put(self, item: Item, rgb: np.ndarray) -> str:
        data = encode_png(rgb)
        sha = hashlib.sha256(data).hexdigest()
        # atomic (temporary name + os.replace), then indexed: a killed process leaves either no
        # file or a complete one; the sha256 check on resume catches anything else. A failed
        # write (disk full) is a RunWriteError (exit 3); what was indexed before stays valid.
        with writing(self.path(item)):
            atomic_write_bytes(self.path(item), data, fsync=False)
        with writing(self.index_path), open(self.index_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"key": item.key, "pair_id": item.record.pair_id, "level": item.level,
                                "seed": item.seed, "sha256": sha}) + "\n")  # fmt: skip
        self.index[item.key] = sha
        return sha
