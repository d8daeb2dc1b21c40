"""Any-level description of captions: the library behind ``lcad-bench describe``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcad_bench.errors import InputFormatError, MissingInputError
from lcad_bench.fileio import surrogate_problem, utf8_problem
from lcad_bench.text.levels import Descriptions, NaturalLevel, controlled_levels, natural_level
from lcad_bench.text.records import Analysis


@dataclass(frozen=True, slots=True)
class Caption:
    """One caption to describe, with a stable id (line number, COCO annotation id, ...)."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Described:
    """A caption with its analysis, natural level and controlled descriptions."""

    caption: Caption
    analysis: Analysis
    natural: NaturalLevel
    levels: Descriptions

    def to_dict(self) -> dict[str, Any]:
        """JSON record (one line of ``describe --json`` output)."""
        a = self.analysis
        return {
            "id": self.caption.id,
            "text": self.caption.text,
            "natural_level": self.natural.level,
            "level_basis": self.natural.basis,
            "nonhue_only": self.natural.nonhue_only,
            "bw_photo_mention": a.bw_photo_mention,
            "colour_phrases": [p.to_dict() for p in a.phrases],
            "object_mentions": [
                {"text": m.text, "lemma": m.lemma, "span": list(m.span), "has_colour": m.has_colour}
                for m in a.mentions
            ],
            "descriptions": self.levels.as_dict(),
            "partial_kept_phrase_ids": None
            if self.levels.kept_phrase_ids is None
            else list(self.levels.kept_phrase_ids),
            "review": list(self.levels.problems),
            "log": list(a.log),
        }


def describe_analyses(
    captions: Sequence[Caption], analyses: Sequence[Analysis], base_seed: int = 0
) -> list[Described]:
    """Levels for already analysed captions (pair id = caption id, for the partial seed)."""
    return [describe_one(c, a, base_seed) for c, a in zip(captions, analyses)]


def describe_one(caption: Caption, analysis: Analysis, base_seed: int = 0) -> Described:
    """One caption's natural level and controlled descriptions."""
    return Described(
        caption,
        analysis,
        natural_level(analysis),
        controlled_levels(analysis, pair_id=caption.id, base_seed=base_seed),
    )


def describe_many(
    captions: Sequence[Caption],
    extractor: Any,
    base_seed: int = 0,
    n_process: int | None = None,
    progress: Any = None,
) -> list[Described]:
    """Describe many captions, the way ``lcad-bench describe --file`` does: captions with a
    lexicon word are parsed once per distinct text in forked workers that also derive their
    levels, while this process describes the others from the gazetteer (no parse). Equal to
    ``describe_analyses(captions, extractor.analyse_many(texts, fast=False))`` (a test checks
    it)."""
    from lcad_bench.text.pool import start_chunks
    from lcad_bench.text.rules import may_contain_colour

    out: list[Described | None] = [None] * len(captions)
    todo: dict[str, list[int]] = {}
    for i, c in enumerate(captions):
        if may_contain_colour(c.text):
            todo.setdefault(c.text, []).append(i)
    jobs = [(t, tuple(captions[i].id for i in idx)) for t, idx in todo.items()]
    results = start_chunks(jobs, n_process, _describe_chunk, (extractor, base_seed))
    for i, c in enumerate(captions):
        if c.text not in todo:
            out[i] = describe_one(c, extractor.unparsed(c.text), base_seed)
            if progress is not None:
                progress.update(1)
    for (_text, _ids), described in zip(jobs, results):
        for i, d in zip(todo[_text], described):
            out[i] = d
        if progress is not None:
            progress.update(len(described))
    return out  # type: ignore[return-value]


def describe_lines(
    captions: Sequence[Caption],
    pipeline: str | None = None,
    base_seed: int = 0,
    n_process: int | None = None,
    progress: Any = None,
) -> tuple[list[str], dict[str, Any]]:
    """The JSON Lines of ``describe --file`` (one JSON document per caption, no newline) and a
    summary {captions, phrases, levels, review}. Equal to ``[json.dumps(d.to_dict()) for d in
    describe_many(...)]``, only faster: a child forked before spaCy is loaded describes the
    captions that need no parse while this process loads the pipeline, then forked workers parse
    and describe the rest, returning finished JSON lines."""
    from collections import Counter

    from lcad_bench.text.extract import get_extractor
    from lcad_bench.text.pool import start_chunks
    from lcad_bench.text.rules import may_contain_colour

    parse_idx = [i for i, c in enumerate(captions) if may_contain_colour(c.text)]
    todo: dict[str, list[int]] = {}
    for i in parse_idx:
        todo.setdefault(captions[i].text, []).append(i)
    other = [c for c in captions if c.text not in todo]
    child = _Background(_describe_unparsed, other, base_seed)
    extractor = get_extractor(pipeline)
    # the workers return finished JSON lines (a distinct text parsed once, described under each
    # of its ids), so this process neither unpickles analyses nor serialises them
    jobs = [(t, tuple(captions[i].id for i in idx)) for t, idx in todo.items()]
    results = start_chunks(jobs, n_process, _describe_lines_chunk, (extractor, base_seed))
    lines: list[str | None] = [None] * len(captions)
    levels: Counter[str] = Counter()
    n_phrases = n_review = 0
    for (text, _ids), rows in zip(jobs, results):
        for i, (line, level, phrases, review) in zip(todo[text], rows):
            lines[i] = line
            levels[level] += 1
            n_phrases += phrases
            n_review += review
    if progress is not None:
        progress.update(len(parse_idx))
    other_lines, other_levels = child.result()
    it = iter(other_lines)
    for i in range(len(captions)):
        if lines[i] is None:
            lines[i] = next(it)
    levels.update(other_levels)
    if progress is not None:
        progress.update(len(other))
    summary = {"captions": len(captions), "phrases": n_phrases, "levels": dict(levels),
               "review": n_review}  # fmt: skip
    return lines, summary  # type: ignore[return-value]


def _describe_unparsed(captions: list[Caption], base_seed: int) -> tuple[list[str], dict]:
    """JSON lines and natural-level counts of captions that need no parse (no spaCy here)."""
    from collections import Counter

    from lcad_bench.text.extract import unparsed_analysis

    out, levels = [], Counter()
    for c in captions:
        d = describe_one(c, unparsed_analysis(c.text), base_seed)
        levels[d.natural.level] += 1
        out.append(json.dumps(d.to_dict(), ensure_ascii=False))
    return out, dict(levels)


class _Background:
    """``fn(*args)`` in a forked child (in this process where fork is unavailable)."""

    def __init__(self, fn: Any, *args: Any) -> None:
        import multiprocessing as mp

        self._value: Any = None
        self._proc = None
        if "fork" not in mp.get_all_start_methods():
            self._value = fn(*args)
            return
        ctx = mp.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_run_and_send, args=(send, fn, args), daemon=True)
        self._proc.start()
        send.close()

    def result(self) -> Any:
        if self._proc is None:
            return self._value
        try:
            ok, value = self._recv.recv()
        except EOFError:
            ok, value = False, "the child process ended without a result"
        self._proc.join()
        if not ok:
            raise RuntimeError(f"describing captions in a child process failed: {value}")
        return value


def _run_and_send(conn: Any, fn: Any, args: tuple) -> None:
    try:
        conn.send((True, fn(*args)))
    except BaseException as exc:  # reported by the parent
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _describe_chunk(jobs: list[tuple[str, tuple[str, ...]]]) -> list[list[Described]]:
    """Worker side of :func:`describe_many`: parse each distinct text once, describe it under
    each of its caption ids (the partial subset is seeded by the id)."""
    from lcad_bench.text.pool import state

    extractor, base_seed = state()
    texts = [t for t, _ in jobs]
    out = []
    for (text, ids), doc in zip(jobs, extractor._docs(texts)):
        a = extractor._analyse(doc, True)
        out.append([describe_one(Caption(cid, text), a, base_seed) for cid in ids])
    return out


def _describe_lines_chunk(
    jobs: list[tuple[str, tuple[str, ...]]],
) -> list[list[tuple[str, str, int, bool]]]:
    """Worker side of :func:`describe_lines`: :func:`_describe_chunk` turned into (JSON line,
    natural level, number of phrases, sent to review) per caption id."""
    return [
        [
            (json.dumps(d.to_dict(), ensure_ascii=False), d.natural.level,
             len(d.analysis.phrases), bool(d.levels.problems))
            for d in described
        ]
        for described in _describe_chunk(jobs)
    ]  # fmt: skip


def read_captions(path: str | Path) -> list[Caption]:
    """Captions from a text file (one per line; blank lines and ``#`` comments skipped) or a
    COCO captions JSON (``{"annotations": [{"id", "image_id", "caption"}, ...]}``).

    Errors name the file and the offending line or annotation."""
    p = Path(path)
    if not p.is_file():
        raise MissingInputError(
            f"{p}: no such file. Pass a text file with one caption per line or a COCO captions JSON."
        )
    data = p.read_bytes()
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            f"{p}: not UTF-8 text at {utf8_problem(data, exc)}; re-save the file as UTF-8."
        ) from exc
    stripped = raw.lstrip("\ufeff").lstrip()
    if p.suffix.lower() == ".json" or stripped.startswith("{"):
        return _coco_captions(p, stripped)
    out = []
    for n, line in enumerate(raw.lstrip("\ufeff").splitlines(), start=1):
        t = line.strip()
        if t and not t.startswith("#"):
            out.append(Caption(f"line{n}", t))
    return out


def _coco_captions(p: Path, text: str) -> list[Caption]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFormatError(
            f"{p}: malformed JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "expected a COCO captions file such as captions_val2017.json."
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise InputFormatError(
            f"{p}: no 'annotations' list; a COCO captions file has "
            '{"annotations": [{"id": ..., "image_id": ..., "caption": "..."}]}.'
        )
    out = []
    for k, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or not isinstance(ann.get("caption"), str):
            raise InputFormatError(
                f"{p}: annotation #{k} has no string 'caption' field: {str(ann)[:80]!r}"
            )
        cid = ann.get("id", k)
        img = ann.get("image_id")
        if bad := surrogate_problem(ann["caption"]):
            raise InputFormatError(
                f"{p}: annotation #{k} (id {cid}) has a caption with a {bad}; fix that caption"
            )
        out.append(Caption(f"{img}:{cid}" if img is not None else str(cid), ann["caption"]))
    return out
