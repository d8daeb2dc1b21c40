"""The fork pool of batch extraction: chunks of captions parsed in forked workers that return
phrases (small) rather than spaCy ``Doc`` objects (large)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

PARALLEL_MIN_CAPTIONS = 2000
CHUNK = 4096
_STATE: Any = None  # what the chunk function reads in a forked worker (set before forking)


def state() -> Any:
    """The object the current chunk function works with (in this process or a forked worker)."""
    return _STATE


def _worker_count(n_texts: int, n_process: int | None) -> int:
    """Forked workers for a parse of ``n_texts`` captions (1 = in this process)."""
    import multiprocessing as mp
    import os

    if n_process is not None:
        want = n_process
    elif n_texts < PARALLEL_MIN_CAPTIONS:
        return 1
    else:
        want = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
    # Workers only run spaCy's own (numpy/blis) ops, never torch's OpenMP pool, so forking a
    # process that imported torch is safe here; platforms without fork parse in-process.
    if want <= 1 or "fork" not in mp.get_all_start_methods():
        return 1
    return want


def start_chunks(
    texts: list[Any], n_process: int | None, fn: Callable[[list[Any]], list[Any]], st: Any
) -> Iterator[Any]:
    """Like :func:`run_chunks`, but forked workers start now, so the caller can do other work
    while they run; iterate the result to collect it (in order)."""
    global _STATE
    n = _worker_count(len(texts), n_process)
    if n <= 1:
        return run_chunks(texts, n_process, fn, st)
    import multiprocessing as mp

    _STATE = st
    size = max(64, len(texts) // (n * 4) + 1)
    chunks = [texts[k : k + size] for k in range(0, len(texts), size)]
    pool = mp.get_context("fork").Pool(n)
    results = pool.imap(fn, chunks)
    _STATE = None  # the workers hold their copy

    def collect() -> Iterator[Any]:
        try:
            for res in results:
                yield from res
        finally:
            pool.terminate()
            pool.join()

    return collect()


def run_chunks(
    texts: list[Any], n_process: int | None, fn: Callable[[list[Any]], list[Any]], st: Any
) -> Iterator[Any]:
    """``fn`` over chunks of ``texts``, in order, in this process or in forked workers; ``fn``
    reads ``st`` through :func:`state`."""
    global _STATE
    n = _worker_count(len(texts), n_process)
    if n <= 1:
        prev, _STATE = _STATE, st
        try:
            for k in range(0, len(texts), CHUNK):
                yield from fn(texts[k : k + CHUNK])
        finally:
            _STATE = prev
        return
    import multiprocessing as mp

    _STATE = st
    size = max(64, len(texts) // (n * 4) + 1)
    chunks = [texts[k : k + size] for k in range(0, len(texts), size)]
    try:
        with mp.get_context("fork").Pool(n) as p:
            for res in p.imap(fn, chunks):
                yield from res
    finally:
        _STATE = None
