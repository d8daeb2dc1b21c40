"""``manifest.json`` of a split: builder, inputs with sha256, spaCy pipeline, seed, protocol
settings, counts, exclusions, review list, shard checksums and the content hash
(docs/protocol.md#split-format)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from lcad_bench.fileio import file_sha256
from lcad_bench.splits.schema import SCHEMA_VERSION

MANIFEST_FILE = "manifest.json"


class InputFile(BaseModel):
    """An input the builder read, with its checksum."""

    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    size: int
    sha256: str


class Exclusion(BaseModel):
    """An item left out (or queued for review), and why."""

    model_config = ConfigDict(extra="forbid")
    item: str
    reason: str
    detail: str = ""


class Shard(BaseModel):
    """One parquet file of the split."""

    model_config = ConfigDict(extra="forbid")
    path: str
    rows: int
    sha256: str


class Manifest(BaseModel):
    """manifest.json of a split."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    split: str
    builder: dict[str, str]
    created_at: str
    inputs: list[InputFile] = []
    image_root: str | None = None
    embed_images: bool = False
    spacy: dict[str, str] = {}
    lexicon_version: str = ""
    rules_version: str = ""
    seed: int = 0
    protocol: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    exclusions: list[Exclusion] = []
    review: list[Exclusion] = []
    shards: list[Shard] = []
    content_hash: str = ""
    lcad_bench_version: str = ""


def input_file(name: str, path: str | Path) -> InputFile:
    """Record an input with its size and sha256."""
    p = Path(path)
    return InputFile(name=name, path=str(p), size=p.stat().st_size, sha256=file_sha256(p))
