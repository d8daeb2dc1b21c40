"""Reading a large JSON object file (COCO instances: 450 MB, 860k annotations) in one pass with
flat memory: the top-level members are decoded one by one from a sliding text buffer, and the
elements of the arrays named in ``stream`` one element at a time, each passed through a hook
that may compact it (e.g. polygons -> float64 arrays) before the next is read. Peak memory is
the decoded result plus a few MB of buffer, instead of the whole text plus the whole
object tree that ``json.loads`` holds at its end.

The decoding itself is the standard library's (``JSONDecoder.raw_decode``, the C scanner); this
module only walks the top-level ``{"key": [item, item, ...], ...}`` structure, so the values are
exactly ``json.loads``'s (a later duplicate top-level key wins, as there). Errors name the file,
line and column like :func:`~lcad_bench.builders.common.read_json`. Hand-written because no
streaming JSON parser is among the dependencies; the walk is a few dozen lines around the
standard decoder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from lcad_bench.errors import InputFormatError, MissingInputError

CHUNK_CHARS = 1 << 22
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Buffer:
    """A sliding window over a text file with absolute positions for error messages."""

    def __init__(self, f: Any, path: Path, what: str) -> None:
        self.f, self.path, self.what = f, path, what
        self.buf, self.pos, self.eof = "", 0, False
        self.dropped = 0  # characters before buf[0]
        self.lines = 0  # newlines before buf[0]
        self.line_start = 0  # absolute offset just after the last newline before buf[0]

    def fill(self) -> bool:
        """Read another chunk (dropping what was consumed); False at the end of the file."""
        if self.eof:
            return False
        try:
            data = self.f.read(CHUNK_CHARS)
        except UnicodeDecodeError as exc:
            raise InputFormatError(
                f"{self.path}: not UTF-8 ({self.what}); re-download it."
            ) from exc
        if not data:
            self.eof = True
            return False
        if self.pos:
            gone = self.buf[: self.pos]
            n = gone.count("\n")
            if n:
                self.lines += n
                self.line_start = self.dropped + gone.rfind("\n") + 1
            self.dropped += self.pos
            self.buf, self.pos = self.buf[self.pos :], 0
        self.buf += data
        return True

    def peek(self) -> str | None:
        """The next non-blank character (None at the end of the file)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return None

    def value(self) -> Any:
        """Decode the JSON value at the cursor, reading more while it may continue."""
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                near_end = exc.pos >= len(self.buf) - 64 or exc.msg.startswith(
                    "Unterminated string"
                )
                if near_end and self.fill():
                    continue
                raise self.error(exc.msg, exc.pos) from exc
            if end + 3 > len(self.buf) and self.fill():
                continue  # a number cut at "1." / "1e" / "1e-" may go on in the next chunk
            self.pos = end
            return obj

    def expect(self, chars: str, msg: str) -> str:
        c = self.peek()
        if c is None or c not in chars:
            raise self.error(msg, self.pos)
        self.pos += 1
        return c

    def error(self, msg: str, pos: int) -> InputFormatError:
        before = self.buf[:pos]
        nl = before.rfind("\n")
        line = self.lines + before.count("\n") + 1
        col = pos - nl if nl >= 0 else self.dropped + pos - self.line_start + 1
        at_end = self.eof and pos >= len(self.buf.rstrip()) - 1
        hint = " (the file looks truncated; re-download it)" if at_end else ""
        return InputFormatError(
            f"{self.path}: malformed JSON at line {line}, column {col}: {msg}{hint} ({self.what})."
        )


def read_json_object(
    path: str | Path,
    what: str,
    stream: Collection[str] = (),
    hook: Callable[[str, Any], Any] | None = None,
) -> dict[str, Any]:
    """The JSON object in ``path``; the elements of its top-level arrays named in ``stream`` are
    decoded one at a time and replaced by ``hook(key, element)`` when a hook is given."""
    p = Path(path)
    if not p.is_file():
        raise MissingInputError(f"{p}: no such file ({what}).")
    out: dict[str, Any] = {}
    with open(p, encoding="utf-8") as f:
        b = _Buffer(f, p, what)
        if b.peek() != "{":
            if b.peek() is None:
                raise b.error("Expecting value", b.pos)
            raise InputFormatError(f"{p}: expected a JSON object at the top level. ({what})")
        b.pos += 1
        if b.peek() == "}":
            b.pos += 1
        else:
            while True:
                if b.peek() != '"':
                    raise b.error("Expecting property name enclosed in double quotes", b.pos)
                key = b.value()
                b.expect(":", "Expecting ':' delimiter")
                if key in stream and b.peek() == "[":
                    b.pos += 1
                    items: list[Any] = []
                    if b.peek() == "]":
                        b.pos += 1
                    else:
                        while True:
                            b.peek()
                            item = b.value()
                            items.append(hook(key, item) if hook else item)
                            if b.expect(",]", "Expecting ',' delimiter") == "]":
                                break
                    out[key] = items
                else:
                    b.peek()
                    out[key] = b.value()
                if b.expect(",}", "Expecting ',' delimiter") == "}":
                    break
        if b.peek() is not None:
            raise b.error("Extra data", b.pos)
    return out
