"""What every builder shares: reading JSON inputs with clear errors, problem accounting
(skip-and-count by default, stop before writing with ``--strict``), image checks, progress bars."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lcad_bench.errors import ExitCode, InputFormatError, LcadBenchError, MissingInputError
from lcad_bench.splits import Exclusion


class StrictBuildError(LcadBenchError):
    """``--strict`` and the build met a bad item: nothing was written."""

    exit_code = ExitCode.VERIFY


@dataclass
class Problems:
    """Bad items met during a build. Each is reported once on stderr with the item and the fix;
    by default the item is skipped and counted (manifest ``exclusions``), with ``strict`` the
    first one stops the build before anything is written."""

    strict: bool = False
    quiet: bool = False
    items: list[Exclusion] = field(default_factory=list)
    review: list[Exclusion] = field(default_factory=list)

    def skip(self, item: str, reason: str, detail: str = "") -> None:
        """Record a skipped item (or stop, under ``strict``)."""
        msg = f"{item}: {reason}" + (f" ({detail})" if detail else "")
        if self.strict:
            raise StrictBuildError(
                f"{msg}. --strict stops here; nothing was written. Fix the input or drop --strict to skip such items."
            )
        self.items.append(Exclusion(item=item, reason=reason, detail=detail))
        if not self.quiet:
            print(f"skipped {msg}", file=sys.stderr)

    def require(self, obj: Any, keys: tuple[str, ...], item: str, reason: str) -> bool:
        """True when ``obj`` is a mapping holding ``keys``; else the item is skipped (or, under
        ``strict``, the build stops) with ``reason`` and the keys it needs."""
        if isinstance(obj, dict) and all(k in obj for k in keys):
            return True
        self.skip(item, reason, "needs " + ", ".join(keys))
        return False

    def flag(self, item: str, reason: str, detail: str = "") -> None:
        """Record an item kept but queued for manual review."""
        self.review.append(Exclusion(item=item, reason=reason, detail=detail))

    def counts(self) -> dict[str, int]:
        """Skipped items per reason."""
        return dict(Counter(e.reason for e in self.items))


def as_int(value: Any) -> int:
    """A JSON id or size as an int: an integer, an integral float (``3.0``) or a decimal
    string (``"3"``); anything else (``"x"``, ``1.5``, ``true``, null, a list) is a
    ``ValueError`` naming the value, never truncated."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    raise ValueError(f"{str(value)[:40]!r} is not an integer")


def read_json(path: str | Path, what: str, object_pairs_hook: Any = None) -> Any:
    """Parse a JSON input; a missing, unreadable or malformed file is a clear error.
    ``object_pairs_hook`` is passed to :func:`json.loads`."""
    p = Path(path)
    text = read_text(p, what)
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        hint = (
            " (the file looks truncated; re-download it)"
            if exc.pos >= len(text.rstrip()) - 1
            else ""
        )
        raise InputFormatError(
            f"{p}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint} ({what})."
        ) from exc


def read_text(path: str | Path, what: str) -> str:
    """A text input decoded as strict UTF-8; a missing file is exit 3, non-UTF-8 bytes exit 4
    with the byte offset and line of the first bad byte."""
    from lcad_bench.fileio import utf8_problem

    p = Path(path)
    if not p.is_file():
        raise MissingInputError(f"{p}: no such file ({what}).")
    data = p.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            f"{p}: not UTF-8 text at {utf8_problem(data, exc)} ({what}); re-save it as UTF-8 or re-download it."
        ) from exc


def require_keys(obj: Any, keys: tuple[str, ...], where: str, fix: str) -> None:
    """A mapping must hold ``keys``; else an error naming the first missing one."""
    if not isinstance(obj, dict):
        raise InputFormatError(f"{where}: expected a JSON object, got {type(obj).__name__}. {fix}")
    for k in keys:
        if k not in obj:
            raise InputFormatError(f"{where}: missing key {k!r}. {fix}")


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """An image that passed the checks, as uint8 RGB."""

    rgb: np.ndarray
    width: int
    height: int
    sha256: str
    grayscale: bool = False  # one channel in the file (R = G = B), only with allow_gray


def check_image(path: Path, allow_gray: bool = False) -> CheckedImage | tuple[str, str]:
    """Read and decode an image with :func:`lcad_bench.imaging.decode_image` (the decoder the
    evaluation uses); else (reason, detail) for the problem report.

    Accepted: 8-bit and 48-bit RGB (16-bit samples scaled by their high byte), and with
    ``allow_gray`` 8- or 16-bit grayscale as R = G = B. Refused, never converted: CMYK, palette,
    alpha, 1-bit, float and 32-bit images, empty, truncated or unidentifiable files and images
    over the decompression-bomb limit, so a split never holds silently changed pixels."""
    import hashlib

    from lcad_bench.imaging import ImageDecodeError, decode_image

    if not path.is_file():
        return ("missing image", f"{path} not found")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ("unreadable image", f"{path.name}: {exc.strerror or exc}")
    try:
        img = decode_image(data, path.name, allow_gray=allow_gray)
    except ImageDecodeError as exc:
        return (exc.reason, str(exc))
    return CheckedImage(
        img.rgb, img.width, img.height, hashlib.sha256(data).hexdigest(), img.grayscale
    )


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot go into a split (lone surrogates such as ``"\\ud800"`` from a JSON
    escape are not Unicode text and cannot be written as UTF-8), or None."""
    from lcad_bench.fileio import surrogate_problem

    return surrogate_problem(text)


def printable(text: str) -> str:
    """``text`` with lone surrogates as ``\\udcff`` escapes (safe to print and to write as UTF-8)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def require_found_images(
    n_missing: int, n_total: int, folder: str | Path, example: str = ""
) -> None:
    """When every image the inputs name is missing, --images points at the wrong folder: stop
    with exit 3 instead of writing an empty split."""
    if n_total and n_missing == n_total:
        eg = f" (e.g. {example})" if example else ""
        raise MissingInputError(
            f"{folder}: none of the {n_total} images the annotations name is there{eg}; "
            "point --images at the folder that holds them"
        )


def progress(total: int, desc: str, quiet: bool = False) -> Any:
    """A tqdm bar on stderr (hidden when quiet or not a terminal)."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="item", file=sys.stderr, disable=True if quiet else None
    )


def refuse_existing_out(out: str | Path, overwrite: bool) -> None:
    """Fail before any work when ``out`` cannot take the split (the rule of
    :func:`lcad_bench.splits.writer.refuse_out`, which ``write_split`` checks again when it
    writes): a file (or a path under one) is exit 3, an existing non-empty folder without
    ``overwrite`` exit 2."""
    from lcad_bench.splits.writer import refuse_out

    refuse_out(out, overwrite)
