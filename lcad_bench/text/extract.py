"""Colour-phrase extraction with spaCy: the public API (docs/protocol.md#colour-phrase-extraction).

``extract(text)`` / ``extract_many(texts)`` return, per caption, the :class:`ColorPhrase` records
found in it; ``analyse(text)`` / ``analyse_many(texts)`` also return the object mentions the
description levels need. The rules live in :mod:`lcad_bench.text.rules`, the forked worker pool
in :mod:`lcad_bench.text.pool`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from lcad_bench.text.lexicon import load_lexicon
from lcad_bench.text.nouns import find_mentions
from lcad_bench.text.pool import run_chunks, state
from lcad_bench.text.records import Analysis, ColorPhrase
from lcad_bench.text.rules import _analyse_doc, _Extractor, may_contain_colour


class PhraseExtractor:
    """Colour-phrase extraction bound to one spaCy pipeline.

    >>> ex = PhraseExtractor()                       # doctest: +SKIP
    >>> [p.terms for p in ex.extract("a black and white dog")]   # doctest: +SKIP
    [('black', 'white')]
    """

    def __init__(self, pipeline: str | None = None, nlp: Any = None, batch_size: int = 256) -> None:
        from lcad_bench.text.nlp import FastAnnotator, load_pipeline, pipeline_info

        self.nlp = nlp if nlp is not None else load_pipeline(pipeline)
        self.info = pipeline_info(self.nlp)
        self.lexicon = load_lexicon()
        self.batch_size = batch_size
        # the pipeline without attribute ruler and lemmatizer, reproduced (None: plain nlp.pipe)
        self.annotator = FastAnnotator.create(self.nlp)

    def _parse(self, text: str) -> Any:
        return self.annotator(text) if self.annotator is not None else self.nlp(text)

    def _docs(self, texts: list[str], full: bool = False) -> Any:
        """Parsed docs: through :class:`FastAnnotator` unless ``full`` (plain ``nlp.pipe``)."""
        if full or self.annotator is None:
            return self.nlp.pipe(texts, batch_size=self.batch_size)
        return self.annotator.pipe(texts, batch_size=self.batch_size)

    def _analyse(self, doc: Any, with_mentions: bool, full: bool = False) -> Analysis:
        lemma = None if full or self.annotator is None else self.annotator.lemma
        return _analyse_doc(doc, self.lexicon, with_mentions, lemma)

    # -- single ---------------------------------------------------------------------------------
    def analyse(self, text: str) -> Analysis:
        """Phrases and object mentions of one caption. A caption without a lexicon word is not
        parsed: it cannot hold a phrase, and mentions come from the gazetteer either way."""
        if not may_contain_colour(_clean(text)):
            return self.unparsed(text)
        return self._analyse(self._parse(text), True)

    def unparsed(self, text: str) -> Analysis:
        """The analysis of a caption without any lexicon word (:func:`unparsed_analysis`)."""
        return unparsed_analysis(text)

    def extract(self, text: str) -> list[ColorPhrase]:
        """Colour phrases of one caption."""
        if not may_contain_colour(_clean(text)):
            return []
        return list(self._analyse(self._parse(text), False).phrases)

    # -- batched --------------------------------------------------------------------------------
    def analyse_many(
        self,
        texts: Sequence[str],
        progress: Any = None,
        n_process: int | None = None,
        fast: bool = True,
    ) -> list[Analysis]:
        """Like :meth:`analyse` over many captions. With ``fast=True`` only captions that
        contain a lexicon word are parsed (once per distinct text, forked workers for large
        jobs, as in :meth:`extract_many`); the others get :meth:`unparsed`. The output is
        identical to ``fast=False``, which parses every caption with plain ``nlp.pipe``."""
        texts = [_clean(t) for t in texts]
        if not fast:
            out: list[Analysis] = []
            for a in self._run_parallel(texts, n_process, _analyse_chunk_full):
                out.append(a)
                if progress is not None:
                    progress.update(1)
            return out
        res: list[Analysis | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            if may_contain_colour(t):
                todo.setdefault(t, []).append(i)
            else:
                res[i] = self.unparsed(t)
                if progress is not None:
                    progress.update(1)
        uniq = list(todo)
        for t, a in zip(uniq, self._run_parallel(uniq, n_process, _analyse_chunk)):
            for i in todo[t]:
                res[i] = a
            if progress is not None:
                progress.update(len(todo[t]))
        return res  # type: ignore[return-value]

    def extract_many(
        self,
        texts: Sequence[str],
        progress: Any = None,
        fast: bool = True,
        n_process: int | None = None,
    ) -> list[list[ColorPhrase]]:
        """Colour phrases of many captions.

        With ``fast=True`` (the default) only captions that contain a lexicon word are parsed
        (the others cannot yield a phrase), duplicate captions are parsed once, and large jobs
        are split over ``n_process`` forked workers (default: the CPU count, for 2,000 or more
        captions to parse) that return phrases rather than spaCy ``Doc`` objects. The output is
        identical to ``fast=False``, which parses every caption in this process (the benchmark
        asserts it over COCO val2017, a test on a sample).
        """
        out: list[list[ColorPhrase]] = [[] for _ in texts]
        if not fast:
            docs = self._docs([_clean(t) for t in texts], full=True)
            for i, doc in enumerate(docs):
                out[i] = _Extractor(doc, self.lexicon).run()
                if progress is not None:
                    progress.update(1)
            return out
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            if may_contain_colour(_clean(t)):
                todo.setdefault(t, []).append(i)
            elif progress is not None:
                progress.update(1)
        uniq = list(todo)
        for t, phrases in zip(uniq, self._parse_unique(uniq, n_process)):
            for i in todo[t]:
                out[i] = phrases
            if progress is not None:
                progress.update(len(todo[t]))
        return out

    def _parse_unique(self, texts: list[str], n_process: int | None) -> Iterator[list[ColorPhrase]]:
        return self._run_parallel(texts, n_process, _extract_chunk)

    def _run_parallel(self, texts: list[str], n_process: int | None, fn: Any) -> Iterator[Any]:
        """``fn`` over chunks of ``texts``, in order, in this process or in forked workers."""
        return run_chunks(texts, n_process, fn, self)


def unparsed_analysis(text: str) -> Analysis:
    """The analysis of a caption without any lexicon word, without spaCy: no phrase, stray or
    kept word, mentions from the gazetteer -- exactly what a parse gives for it (the pre-filter
    is a superset of the words the rules read; ``tests/test_fastpath.py`` checks it)."""
    return Analysis(
        text=text, phrases=(), mentions=tuple(find_mentions(text, load_lexicon().colour_bearing))
    )


def _analyse_chunk(texts: list[str]) -> list[Analysis]:
    ex: PhraseExtractor = state()
    assert ex is not None
    return [ex._analyse(doc, True) for doc in ex._docs(texts)]


def _analyse_chunk_full(texts: list[str]) -> list[Analysis]:
    ex: PhraseExtractor = state()
    assert ex is not None
    return [ex._analyse(doc, True, full=True) for doc in ex._docs(texts, full=True)]


def _extract_chunk(texts: list[str]) -> list[list[ColorPhrase]]:
    ex: PhraseExtractor = state()
    assert ex is not None
    return [list(ex._analyse(doc, False).phrases) for doc in ex._docs(texts)]


def _clean(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"caption must be a string, got {type(text).__name__}")
    return text


_default: dict[str | None, PhraseExtractor] = {}


def get_extractor(pipeline: str | None = None) -> PhraseExtractor:
    """A cached :class:`PhraseExtractor` for ``pipeline`` (default resolution when None)."""
    ex = _default.get(pipeline)
    if ex is None:
        ex = _default[pipeline] = PhraseExtractor(pipeline)
    return ex


def extract(text: str, pipeline: str | None = None) -> list[ColorPhrase]:
    """Colour phrases of one caption."""
    return get_extractor(pipeline).extract(text)


def extract_many(
    texts: Sequence[str], pipeline: str | None = None, **kw: Any
) -> list[list[ColorPhrase]]:
    """Colour phrases of many captions (fast path; see :meth:`PhraseExtractor.extract_many`)."""
    return get_extractor(pipeline).extract_many(texts, **kw)


def analyse(text: str, pipeline: str | None = None) -> Analysis:
    """Phrases and object mentions of one caption."""
    return get_extractor(pipeline).analyse(text)
