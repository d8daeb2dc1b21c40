"""Reported (published) results: a JSON format for numbers copied from papers, issue threads or
other sources, shown as context rows with a "reported" badge and never ranked.

A file holds one source (one table of one paper, or one thread) and its rows::

    {
      "format": "lcad-bench-reported",
      "format_version": 1,
      "id": "example-2024-tab3",
      "citation": {"text": "A. Author et al. Title. Venue 2024.", "url": "https://...", "table": "Table 3"},
      "status": "second-hand",
      "provenance": {"transcribed_by": "name", "transcribed_at": "2025-01-31",
                     "checked_against": "the paper PDF, page 7"},
      "protocol_notes": "ImageNet val first 5k, centre crop 256, FID with torchvision Inception",
      "split": "imagenet-val-5k",
      "entries": [
        {"model": "Method", "level": "complete", "luminance_replaced": null,
         "metrics": {"fid": 4.1, "psnr": 24.5}, "ci": {"psnr": [24.1, 24.9]}}
      ]
    }

Every file must cite its source exactly (``citation.text`` and at least one of ``url``/``doi``,
plus where in the source: ``table``/``figure``/``page``/``comment``) and say how the numbers
were obtained (``status``). Each (model, model_version, scheme, level) appears once; a method is
one board run per model, version and scheme (:func:`reported_run_id`). The loader only parses
JSON; nothing is executed.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lcad_bench.protocol import LEVELS

FORMAT = "lcad-bench-reported"
FORMAT_VERSION = 1


class Citation(BaseModel):
    """Where the numbers come from, precisely enough to find them again."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=10, description="full reference: authors, title, venue, year")
    url: str | None = None
    doi: str | None = None
    table: str | None = None
    figure: str | None = None
    page: str | None = None
    comment: str | None = Field(default=None, description="issue/comment anchor for a thread")

    @model_validator(mode="after")
    def _exact(self) -> Citation:
        if not (self.url or self.doi):
            raise ValueError("citation needs a url or a doi")
        if not (self.table or self.figure or self.page or self.comment):
            raise ValueError(
                "citation needs the place in the source: table, figure, page or comment"
            )
        return self


class Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transcribed_by: str = Field(min_length=1)
    transcribed_at: str = Field(min_length=4)
    checked_against: str | None = None
    notes: str | None = None


class Entry(BaseModel):
    """One method's numbers at one level."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=120)
    model_version: str | None = None
    level: Literal[LEVELS]  # type: ignore[valid-type]
    scheme: Literal["natural", "controlled"] = "natural"
    luminance_replaced: bool | None = None
    n_pairs: int | None = None
    metrics: dict[str, float] = Field(min_length=1)
    ci: dict[str, tuple[float, float]] = {}

    @field_validator("metrics")
    @classmethod
    def _finite(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not math.isfinite(x):
                raise ValueError(f"metric {k!r} is not a finite number")
        return v

    @model_validator(mode="after")
    def _ci_known(self) -> Entry:
        unknown = sorted(set(self.ci) - set(self.metrics))
        if unknown:
            raise ValueError(f"ci given for metrics without a value: {unknown}")
        return self


class ReportedFile(BaseModel):
    """A reported-results file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["lcad-bench-reported"]
    format_version: Literal[1] = 1
    id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._-]+$")
    citation: Citation
    status: Literal["verified", "second-hand", "user re-run"]
    provenance: Provenance
    protocol_notes: str = Field(min_length=1)
    split: str = Field(min_length=1, max_length=120)
    split_content_hash: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$",
        description="the split's content hash, when the numbers were computed on an lcad-bench split",
    )  # fmt: skip
    date: str | None = None
    entries: list[Entry] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> ReportedFile:
        seen: dict[tuple[Any, ...], int] = {}
        ids: dict[str, tuple[str, str | None, str]] = {}
        for i, e in enumerate(self.entries):
            key = (e.model, e.model_version, e.scheme, e.level)
            if key in seen:
                raise ValueError(
                    f"entries {seen[key]} and {i} repeat model {e.model!r}, version {e.model_version!r}, scheme "
                    f"{e.scheme!r}, level {e.level!r}: give one entry per model, version, scheme and level "
                    "(put all its metrics in that entry)"
                )
            seen[key] = i
            rid = reported_run_id(self.id, e)
            if ids.setdefault(rid, key[:3]) != key[:3]:
                raise ValueError(f"entry {i}: model {e.model!r} and version {e.model_version!r} read like another "
                                 f"entry's ({ids[rid][0]!r}, {ids[rid][1]!r}); rename one")  # fmt: skip
        return self


def reported_run_id(file_id: str, e: Entry) -> str:
    """The board's run id of a reported method: the file's id, the model, its version and the
    scheme (``reported:<id>:<model>[@<version>]:<scheme>``); its levels are rows of that run."""
    version = f"@{e.model_version}" if e.model_version else ""
    return f"reported:{file_id}:{e.model}{version}:{e.scheme}"


def looks_reported(obj: Any) -> bool:
    """True for a parsed JSON object that claims the reported format."""
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def tidy_rows(rep: ReportedFile, source: str) -> list[dict[str, Any]]:
    """Rows of the tidy leaderboard table for a reported file."""
    rows = []
    for e in rep.entries:
        run_id = reported_run_id(rep.id, e)
        for metric, value in e.metrics.items():
            lo, hi = e.ci.get(metric, (None, None))
            rows.append(
                {
                    "run_id": run_id,
                    "model": e.model,
                    "model_version": e.model_version,
                    "split": rep.split,
                    "split_hash": rep.split_content_hash,
                    "scheme": e.scheme,
                    "level": e.level,
                    "metric": metric,
                    "value": float(value),
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": e.n_pairs,
                    "n_images": None,
                    "n_failed": None,
                    "reported": True,
                    "luminance_replaced": e.luminance_replaced,
                    "oracle": False,
                    "partial": "",
                    "date": rep.date or rep.provenance.transcribed_at,
                    "source": source,
                    "protocol_version": None,
                    "protocol_fp": None,
                    "rankable": False,
                    "kind": "reported",
                }
            )
    return rows


def run_entries(rep: ReportedFile, source: str) -> list[dict[str, Any]]:
    """runs.json entries (one per method of the file; ``summarize`` adds the split label)."""
    out = []
    seen: set[str] = set()
    for e in rep.entries:
        run_id = reported_run_id(rep.id, e)
        if run_id in seen:
            continue
        seen.add(run_id)
        out.append(
            {
                "run_id": run_id,
                "label": f"{e.model}{' ' + e.model_version if e.model_version else ''} · {e.scheme} (reported)",
                "model": e.model,
                "model_version": e.model_version,
                "scheme": e.scheme,
                "split": rep.split,
                "split_hash": rep.split_content_hash,
                "n_pairs": e.n_pairs,
                "reported": True,
                "rankable": False,
                "partial": [],
                "oracle": False,
                "luminance_replaced": e.luminance_replaced,
                "failures": {"count": 0, "listed": []},
                "not_rankable_reason": "reported number (context only)",
                "source": source,
                "run_dir": None,
                "samples": None,
                "date": rep.date or rep.provenance.transcribed_at,
                "details": {
                    "citation": rep.citation.model_dump(exclude_none=True),
                    "status": rep.status,
                    "provenance": rep.provenance.model_dump(exclude_none=True),
                    "protocol_notes": rep.protocol_notes,
                    "model": {
                        "name": e.model,
                        "version": e.model_version,
                        "luminance_replaced": e.luminance_replaced,
                    },
                },
            }
        )
    return out
