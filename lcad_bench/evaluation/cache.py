"""The output cache of one model configuration: PNGs under
``RUN/outputs/<config16>/<level>/`` with an append-only sha256 index. Each PNG is written to a
temporary name and moved into place, then indexed, so a killed run resumes without recomputing
finished samples; the key of an output hashes the model config, pair id, level, seed and the
request content (description, masks, input)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from lcad_bench.evaluation.inputs import Prepared, encode_png
from lcad_bench.evaluation.plan import Item
from lcad_bench.evaluation.rundir import INDEX_FILE, output_relpath, outputs_relroot, writing
from lcad_bench.fileio import atomic_write_bytes, file_sha256

WRITE_QUEUE = 64  # queued writes (each holds one image) before the run waits for the writer


def request_key(cfg_hash: str, item: Item, prep: Prepared, uses_masks: bool) -> str:
    """Output-cache key: config hash, pair, level, seed and a hash of the request content."""
    h = hashlib.sha256()
    for part in (cfg_hash, item.record.pair_id, item.level, str(item.seed), item.description):
        h.update(part.encode("utf-8") + b"\0")
    h.update(hashlib.sha256(prep.gt.tobytes()).digest())
    if uses_masks and prep.masks is not None:
        h.update(np.packbits(prep.masks).tobytes())
    return h.hexdigest()


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
