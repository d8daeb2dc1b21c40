"""Small file helpers every stage shares: atomic writes, sha256 of files and bytes, canonical
JSON (the hash input of every content key) and the UTC timestamp written into manifests, results
and study records.

A file is written to a temporary name in its folder and moved into place with ``os.replace``,
so readers never see a half-written file. Files and folders get the permissions the process
umask allows (``0o666 & ~umask``, ``0o777 & ~umask``), as ``open()`` and ``mkdir()`` would give
them: ``tempfile`` alone would leave them private (0600 / 0700).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def process_umask() -> int:
    """The process umask, read without changing it (Linux: /proc/self/status; elsewhere the
    set-and-restore dance, under a lock)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        old = os.umask(0o022)
        os.umask(old)
    return old


_UMASK_LOCK = threading.Lock()


def file_mode() -> int:
    """Permissions of a new file under the process umask (``0o666 & ~umask``)."""
    return 0o666 & ~process_umask()


def dir_mode() -> int:
    """Permissions of a new folder under the process umask (``0o777 & ~umask``)."""
    return 0o777 & ~process_umask()


def make_temp_dir(prefix: str, dir: str | Path) -> Path:
    """``tempfile.mkdtemp`` with the permissions ``mkdir`` would give (not 0700)."""
    p = Path(tempfile.mkdtemp(prefix=prefix, dir=dir))
    os.chmod(p, dir_mode())
    return p


def make_temp_file(prefix: str, suffix: str, dir: str | Path) -> tuple[int, str]:
    """``tempfile.mkstemp`` with the permissions ``open`` would give (not 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dir)
    try:
        os.fchmod(fd, file_mode())
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def atomic_write_bytes(path: str | Path, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (creating parent folders), with the permissions of
    the process umask. ``fsync=False`` skips the flush to disk (still atomic for readers and
    after a killed process)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp_file(f".{p.name}.", ".tmp", p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks (flat memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def inside(path: Path, root: Path, root_resolved: bool = False) -> bool:
    """True when ``path`` resolves (symlinks followed) inside ``root`` (resolved too, unless
    ``root_resolved`` says it already is); False also when it cannot be resolved (a link loop)."""
    try:
        path.resolve().relative_to(root if root_resolved else root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def safe_join(root: str | Path, rel: Any) -> Path | None:
    """``root / rel``, resolved, when ``rel`` is a plain relative path (a non-empty string, not
    absolute, no ``..``, no NUL) that stays inside ``root`` through any symlinks; else None. The
    one rule for a path read from a file (a split's shard list, a run's samples table)."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        return None
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts:
        return None
    try:
        rootp = Path(root).resolve()
        full = (rootp / p).resolve()
    except (OSError, RuntimeError):  # a link loop
        return None
    return full if inside(full, rootp, root_resolved=True) else None


def canonical_json(obj: Any) -> str:
    """Sorted, compact JSON: the hash input of every content key."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_sha256(obj: Any) -> str:
    """sha256 of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


_SURROGATE = re.compile("[\ud800-\udfff]")


def surrogate_problem(text: str) -> str | None:
    """Where ``text`` holds a lone surrogate (``"\\ud800"`` from a JSON escape: not Unicode
    text, it cannot be encoded as UTF-8), or None."""
    m = _SURROGATE.search(text)
    if m is None:
        return None
    return (
        f"lone surrogate U+{ord(m.group()):04X} at character {m.start()} (not valid Unicode text)"
    )


def utf8_problem(data: bytes, exc: UnicodeDecodeError) -> str:
    """``exc`` as a sentence naming the byte offset and line of the first non-UTF-8 byte."""
    line = data.count(b"\n", 0, exc.start) + 1
    bad = data[exc.start : exc.end].hex(" ")
    return f"byte offset {exc.start} (line {line}): bytes {bad} are not UTF-8 ({exc.reason})"
