"""The split format: typed pair records, parquet shards, dataset card and manifest.

A split is a folder::

    OUT/
      README.md                         dataset card; its YAML ``configs:`` block makes
                                        ``datasets.load_dataset(OUT)`` work without a script
      manifest.json                     builder, inputs with sha256, spaCy pipeline, seed,
                                        protocol settings, counts, exclusions, content hash
      data/test-00000-of-0000N.parquet  one row per (image, caption) pair, sorted by pair id

``write_split`` builds the folder in a temporary sibling and renames it into place, so a failed
build never leaves a partial split. ``load_split`` returns typed :class:`PairRecord` objects and
checks the manifest (schema, shard checksums, row counts, content hash).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError
from lcad_bench.text.phrases import ColorPhrase

SCHEMA_VERSION = 1
PROTOCOL_VERSION = "1.0"
SHARD_ROWS = 50_000
LEVELS = ("complete", "partial", "sparse", "none")


# --------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance annotation of a pair's image, with the phrase it is linked to."""

    instance_id: int
    category: str
    category_id: int
    bbox: tuple[float, float, float, float]  # x, y, w, h in source pixels
    rle: dict[str, Any]  # COCO RLE {"size": [h, w], "counts": str} at source geometry
    area: float
    iscrowd: bool = False
    phrase_id: int | None = None  # the colour phrase linked to this mask
    link: str | None = None  # unique | largest | group | stuff | None
    mask_name: str | None = None  # m00, m01, ... (instance-prompt order) when linked

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "instance_id": self.instance_id, "category": self.category, "category_id": self.category_id,
            "bbox": list(self.bbox), "rle": self.rle, "area": self.area, "iscrowd": self.iscrowd,
            "phrase_id": self.phrase_id, "link": self.link, "mask_name": self.mask_name,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Instance:
        """Inverse of :meth:`to_dict`."""
        return cls(
            instance_id=int(d["instance_id"]), category=d["category"], category_id=int(d["category_id"]),
            bbox=tuple(float(x) for x in d["bbox"]), rle=d["rle"], area=float(d["area"]),  # type: ignore[arg-type]
            iscrowd=bool(d.get("iscrowd", False)), phrase_id=d.get("phrase_id"), link=d.get("link"),
            mask_name=d.get("mask_name"),
        )  # fmt: skip

    def decode(self) -> Any:
        """The boolean H x W mask (pycocotools)."""
        from pycocotools import mask as mask_utils

        rle = {"size": self.rle["size"], "counts": self.rle["counts"].encode("ascii")}
        return mask_utils.decode(rle).astype(bool)


@dataclass(frozen=True, slots=True)
class PairRecord:
    """One (image, caption) pair of a split."""

    pair_id: str  # "<image_key>#<k>"
    source: str
    image_key: str
    image_id: str
    image_path: str | None  # relative to the manifest's image_root
    image_bytes: bytes | None  # with --embed-images
    image_sha256: str
    width: int
    height: int
    caption: str
    caption_index: int
    colour_phrases: tuple[ColorPhrase, ...]
    natural_level: str
    descriptions: dict[str, str | None]  # complete / partial / sparse / none
    partial_kept_phrase_ids: tuple[int, ...] | None = None
    instances: tuple[Instance, ...] = ()
    instance_prompt: str | None = None  # multi-instance: "the red car, the blue truck"
    class_name: str | None = None  # ImageNet
    flags: tuple[str, ...] = ()  # e.g. tinted_review, bw_photo_mention, clip_truncated
    extra: dict[str, Any] = field(default_factory=dict)

    def description(self, level: str) -> str | None:
        """Text at ``level``."""
        return self.descriptions.get(level)

    def linked_instances(self) -> list[Instance]:
        """Instances linked to a phrase, in mask order."""
        return sorted((i for i in self.instances if i.mask_name), key=lambda i: i.mask_name or "")

    def to_row(self) -> dict[str, Any]:
        """Parquet row: flat typed columns; nested data as canonical JSON strings."""
        return {
            "pair_id": self.pair_id,
            "source": self.source,
            "image_key": self.image_key,
            "image_id": self.image_id,
            "image_path": self.image_path,
            "image_bytes": self.image_bytes,
            "image_sha256": self.image_sha256,
            "width": self.width,
            "height": self.height,
            "caption": self.caption,
            "caption_index": self.caption_index,
            "natural_level": self.natural_level,
            "desc_complete": self.descriptions.get("complete"),
            "desc_partial": self.descriptions.get("partial"),
            "desc_sparse": self.descriptions.get("sparse"),
            "desc_none": self.descriptions.get("none"),
            "partial_kept_phrase_ids": _canon(list(self.partial_kept_phrase_ids))
            if self.partial_kept_phrase_ids is not None
            else None,
            "colour_phrases": _canon([p.to_dict() for p in self.colour_phrases]),
            "instances": _canon([i.to_dict() for i in self.instances]),
            "instance_prompt": self.instance_prompt,
            "class_name": self.class_name,
            "flags": _canon(list(self.flags)),
            "extra": _canon(self.extra),
        }

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> PairRecord:
        """Inverse of :meth:`to_row`."""
        kept = r.get("partial_kept_phrase_ids")
        return cls(
            pair_id=r["pair_id"],
            source=r["source"],
            image_key=r["image_key"],
            image_id=r["image_id"],
            image_path=r.get("image_path"),
            image_bytes=r.get("image_bytes"),
            image_sha256=r["image_sha256"],
            width=int(r["width"]),
            height=int(r["height"]),
            caption=r["caption"],
            caption_index=int(r["caption_index"]),
            colour_phrases=tuple(ColorPhrase.from_dict(d) for d in json.loads(r["colour_phrases"])),
            natural_level=r["natural_level"],
            descriptions={lv: r.get(f"desc_{lv}") for lv in LEVELS},
            partial_kept_phrase_ids=tuple(json.loads(kept)) if kept else None,
            instances=tuple(Instance.from_dict(d) for d in json.loads(r["instances"])),
            instance_prompt=r.get("instance_prompt"),
            class_name=r.get("class_name"),
            flags=tuple(json.loads(r.get("flags") or "[]")),
            extra=json.loads(r.get("extra") or "{}"),
        )

    def record_hash(self) -> str:
        """sha256 of the canonical JSON of the row (image bytes by their sha256)."""
        row = self.to_row()
        if row["image_bytes"] is not None:
            row["image_bytes"] = hashlib.sha256(row["image_bytes"]).hexdigest()
        return hashlib.sha256(_canon(row).encode("utf-8")).hexdigest()


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(records: Iterable[PairRecord]) -> str:
    """sha256 of the sorted per-record hashes (protocol section 2)."""
    h = hashlib.sha256()
    for rh in sorted(r.record_hash() for r in records):
        h.update(rh.encode("ascii"))
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# manifest


class InputFile(BaseModel):
    """An input the builder read, with its checksum."""

    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    size: int
    sha256: str


class Exclusion(BaseModel):
    """An item left out, and why."""

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


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def input_file(name: str, path: str | Path) -> InputFile:
    """Record an input with its size and sha256."""
    p = Path(path)
    return InputFile(name=name, path=str(p), size=p.stat().st_size, sha256=file_sha256(p))


def default_protocol(**overrides: Any) -> dict[str, Any]:
    """Protocol settings recorded in every manifest."""
    from lcad_bench.imaging import ACHROMATIC_P99, EVAL_RESOLUTION, TINT_P99, TINT_RESULTANT
    from lcad_bench.text.levels import COVERAGE_THRESHOLD, LARGE_CATEGORY_AREA

    p = {
        "protocol_version": PROTOCOL_VERSION,
        "eval_resolution": EVAL_RESOLUTION,
        "resize_policy": "short_side_center_crop",
        "resample": "bicubic",
        "level_coverage_threshold": COVERAGE_THRESHOLD,
        "large_category_area": LARGE_CATEGORY_AREA,
        "achromatic_chroma_p99": ACHROMATIC_P99,
        "tinted_hue_resultant": TINT_RESULTANT,
        "tinted_chroma_p99": TINT_P99,
        "partial_seed_rule": "sha256('partial|{base_seed}|{pair_id}')[:8] -> random.Random",
    }
    p.update(overrides)
    return p


# --------------------------------------------------------------------------------------------
# writing


CARD_TEMPLATE = """---
configs:
- config_name: default
  data_files:
  - split: test
    path: data/test-*.parquet
license: {license}
task_categories:
- image-to-image
language:
- en
pretty_name: "lcad-bench {split}"
tags:
- colorization
- language-based-colorization
---

# lcad-bench split: {split}

Built by `{builder}` (lcad-bench {version}) on {created}. One row per (image, caption) pair,
sorted by `pair_id` (`<image_key>#<k>`, k = 0-based caption index).

{description}

## Counts

| | n |
|---|---|
| pairs | {pairs} |
| images | {images} |
{level_rows}
| excluded items | {excluded} |

## Fields

| field | content |
|---|---|
| `pair_id`, `image_key`, `image_id`, `source` | identity of the pair |
| `image_path` / `image_bytes` | image relative to the manifest's `image_root`, or embedded bytes (`--embed-images`) |
| `image_sha256`, `width`, `height` | the source image |
| `caption`, `caption_index` | the caption verbatim and its index |
| `natural_level` | complete / partial / sparse / none (benchmark protocol section 5) |
| `desc_complete`, `desc_partial`, `desc_sparse`, `desc_none` | controlled descriptions (`desc_partial` null with < 2 hue phrases) |
| `colour_phrases` | JSON list of colour-phrase records (terms, modifiers, object, character spans) |
| `instances` | JSON list of instance annotations: category, bbox, COCO RLE mask at source geometry, linked phrase, link kind, mask name |
| `instance_prompt` | multi-instance prompt, one comma-separated phrase per mask in mask order |
| `class_name` | ImageNet class name |
| `flags`, `extra` | JSON: review flags and builder-specific data |

Load it with `datasets.load_dataset("<this folder>", split="test")` or
`lcad_bench.splits.format.load_split("<this folder>")` (typed records, manifest checked).

## Sources and licences

{sources}

Nothing here redistributes images unless built with `--embed-images`; the images keep their
original licences.

## Citation

If you use this split, cite the sources above and lcad-bench.
"""


def write_split(
    out: str | Path,
    records: Sequence[PairRecord],
    manifest: Manifest,
    *,
    description: str = "",
    sources: str = "",
    license: str = "other",
    overwrite: bool = False,
) -> Manifest:
    """Write a split folder atomically and return the completed manifest.

    ``manifest`` supplies builder, inputs, exclusions, ...; shards, counts of pairs/images/levels
    and the content hash are filled in here."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UsageError(
            f"{out} exists and is not empty; pass --overwrite to replace it or choose another --out"
        )
    ids = [r.pair_id for r in records]
    dup = [k for k, n in Counter(ids).items() if n > 1]
    if dup:
        raise InputFormatError(f"duplicate pair ids in the split: {dup[:5]}")
    records = sorted(records, key=lambda r: _pair_sort_key(r.pair_id))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "data").mkdir()
        n_shards = max(1, -(-len(records) // SHARD_ROWS))
        shards = []
        schema = _arrow_schema()
        for s in range(n_shards):
            chunk = records[s * SHARD_ROWS : (s + 1) * SHARD_ROWS]
            rel = f"data/test-{s:05d}-of-{n_shards:05d}.parquet"
            table = pa.Table.from_pylist([r.to_row() for r in chunk], schema=schema)
            pq.write_table(table, tmp / rel, compression="zstd")
            shards.append(Shard(path=rel, rows=len(chunk), sha256=file_sha256(tmp / rel)))
        counts = dict(manifest.counts)
        counts.update(
            pairs=len(records),
            images=len({r.image_key for r in records}),
            natural_levels={lv: sum(1 for r in records if r.natural_level == lv) for lv in LEVELS},
            controlled_partial_defined=sum(
                1 for r in records if r.descriptions.get("partial") is not None
            ),
            excluded=len(manifest.exclusions),
            excluded_by_reason=dict(Counter(e.reason for e in manifest.exclusions)),
            review=len(manifest.review),
        )
        from lcad_bench import __version__

        m = manifest.model_copy(
            update={
                "shards": shards,
                "counts": counts,
                "content_hash": content_hash(records),
                "lcad_bench_version": __version__,
            }
        )
        (tmp / "manifest.json").write_text(m.model_dump_json(indent=2) + "\n", encoding="utf-8")
        level_rows = "\n".join(
            f"| natural level {lv} | {counts['natural_levels'][lv]} |" for lv in LEVELS
        )
        card = CARD_TEMPLATE.format(
            license=license, split=m.split, builder=m.builder.get("name", "?"), version=__version__,
            created=m.created_at, description=description or "", pairs=counts["pairs"], images=counts["images"],
            level_rows=level_rows, excluded=counts["excluded"], sources=sources or "See manifest.json `inputs`.",
        )  # fmt: skip
        (tmp / "README.md").write_text(card, encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return m


def _pair_sort_key(pair_id: str) -> tuple[str, int, str]:
    key, _, k = pair_id.rpartition("#")
    return (key, int(k), pair_id) if k.isdigit() else (pair_id, 0, pair_id)


def _arrow_schema() -> Any:
    import pyarrow as pa

    s = pa.string()
    return pa.schema(
        [
            ("pair_id", s), ("source", s), ("image_key", s), ("image_id", s), ("image_path", s),
            ("image_bytes", pa.binary()), ("image_sha256", s), ("width", pa.int32()), ("height", pa.int32()),
            ("caption", s), ("caption_index", pa.int32()), ("natural_level", s),
            ("desc_complete", s), ("desc_partial", s), ("desc_sparse", s), ("desc_none", s),
            ("partial_kept_phrase_ids", s), ("colour_phrases", s), ("instances", s),
            ("instance_prompt", s), ("class_name", s), ("flags", s), ("extra", s),
        ]
    )  # fmt: skip


def now_iso() -> str:
    """UTC timestamp for manifests."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------------------------
# reading


@dataclass
class Split:
    """A loaded split."""

    path: Path
    manifest: Manifest
    records: list[PairRecord]

    @property
    def image_root(self) -> Path | None:
        """Folder that ``image_path`` is relative to."""
        return Path(self.manifest.image_root) if self.manifest.image_root else None

    def image_file(self, rec: PairRecord) -> Path | None:
        """Absolute path of a record's image (None when embedded)."""
        if rec.image_path is None:
            return None
        root = self.image_root
        return (root / rec.image_path) if root is not None else (self.path / rec.image_path)

    def load_image(self, rec: PairRecord) -> Any:
        """The record's image as an RGB PIL image (clear error when missing)."""
        import io

        from PIL import Image

        if rec.image_bytes is not None:
            return Image.open(io.BytesIO(rec.image_bytes)).convert("RGB")
        f = self.image_file(rec)
        if f is None or not f.is_file():
            raise MissingInputError(
                f"{rec.pair_id}: image {f} not found; the split expects images under image_root="
                f"{self.manifest.image_root} (move them there or rebuild with --images / --embed-images)"
            )
        with Image.open(f) as im:
            return im.convert("RGB")


def load_split(path: str | Path, verify: bool = True) -> Split:
    """Load a split folder as typed records; with ``verify`` check shard checksums, row counts and
    the content hash against the manifest. Errors name the file and the fix."""
    import pyarrow.parquet as pq

    root = Path(path)
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise MissingInputError(
            f"{root}: no manifest.json; is this a split folder built by `lcad-bench build`?"
        )
    try:
        manifest = Manifest.model_validate_json(mpath.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise InputFormatError(
            f"{mpath}: invalid manifest ({exc.error_count()} problems): {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}"
        ) from exc
    if manifest.schema_version > SCHEMA_VERSION:
        raise InputFormatError(
            f"{mpath}: schema_version {manifest.schema_version} is newer than this lcad-bench ({SCHEMA_VERSION}); upgrade lcad-bench"
        )
    records: list[PairRecord] = []
    for shard in manifest.shards:
        f = root / shard.path
        if not f.is_file():
            raise MissingInputError(
                f"{f}: shard listed in manifest.json is missing; rebuild the split"
            )
        if verify and file_sha256(f) != shard.sha256:
            raise InputFormatError(
                f"{f}: sha256 differs from manifest.json; the shard was modified or corrupted, rebuild the split"
            )
        rows = pq.read_table(f).to_pylist()
        if len(rows) != shard.rows:
            raise InputFormatError(f"{f}: {len(rows)} rows, manifest.json says {shard.rows}")
        for i, r in enumerate(rows):
            try:
                records.append(PairRecord.from_row(r))
            except (KeyError, ValueError, TypeError) as exc:
                raise InputFormatError(
                    f"{f}: row {i} ({r.get('pair_id')}) is malformed: {exc}"
                ) from exc
    if verify and content_hash(records) != manifest.content_hash:
        raise InputFormatError(
            f"{root}: content hash of the records differs from manifest.json; rebuild the split"
        )
    return Split(root, manifest, records)
