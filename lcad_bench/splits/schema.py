"""The split's record types and its column schema, declared once (docs/protocol.md#split-format).

:data:`COLUMNS` is the only declaration of the parquet columns. The arrow schema, the
``datasets`` features, the dataset card's field table and :meth:`PairRecord.to_row` /
:meth:`PairRecord.from_row` are all generated from it. Nested data (colour phrases, instances,
flags, extra) is stored as canonical JSON strings in columns declared ``json``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from lcad_bench.fileio import canonical_json
from lcad_bench.protocol import LEVELS
from lcad_bench.text.records import ColorPhrase

SCHEMA_VERSION = 1


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

    def decode(self, shape: tuple[int, int] | None = None) -> Any:
        """The boolean H x W mask (pycocotools), after checking the RLE (:func:`rle_counts`):
        pycocotools decodes a malformed counts string into garbage without an error. With
        ``shape``, the RLE's size must equal it. Raises ``ValueError`` naming the problem."""
        from pycocotools import mask as mask_utils

        size = self.rle.get("size") if isinstance(self.rle, dict) else None
        counts = self.rle.get("counts") if isinstance(self.rle, dict) else None
        if (
            not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in size)
        ):  # fmt: skip
            raise ValueError(f"RLE size {size!r} is not [height, width] with positive integers")
        h, w = size
        if shape is not None and (h, w) != tuple(shape):
            raise ValueError(
                f"RLE size {h}x{w} (h x w) differs from the image's {shape[0]}x{shape[1]}"
            )
        if not isinstance(counts, str):
            raise ValueError(
                f"RLE counts is a {type(counts).__name__}, expected a COCO compressed string"
            )
        total = sum(rle_counts(counts))
        if total != h * w:
            raise ValueError(f"RLE counts cover {total} pixels, the size {h}x{w} has {h * w}")
        m = mask_utils.decode({"size": [h, w], "counts": counts.encode("ascii")})
        if m.shape != (h, w) or m.max(initial=0) > 1:
            raise ValueError("RLE decodes to a malformed mask")
        return m.astype(bool)


def rle_counts(counts: str) -> list[int]:
    """The run lengths of a COCO compressed RLE string (pycocotools' ``rleFrString``, with the
    checks it lacks: every character in ``0``..``o``, no value cut off at the end, no negative
    run). Raises ``ValueError``."""
    out: list[int] = []
    p, n = 0, len(counts)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                raise ValueError("RLE counts string ends inside a value")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(
                    f"RLE counts has the character {counts[p]!r} at {p} (allowed: '0'..'o')"
                )
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        if x < 0:
            raise ValueError(f"RLE counts has a negative run ({x}) at value {len(out)}")
        out.append(x)
    return out


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
    descriptions: dict[str, str | None]  # one text per level of protocol.LEVELS
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
        """Parquet row: one value per column of :data:`COLUMNS`."""
        return {c.name: c.encode(c.get(self)) for c in COLUMNS}

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> PairRecord:
        """Inverse of :meth:`to_row`."""
        kw: dict[str, Any] = {"descriptions": {}}
        for c in COLUMNS:
            value = c.decode(r.get(c.name))
            if c.level is not None:
                kw["descriptions"][c.level] = value
            else:
                kw[c.name] = value
        return cls(**kw)

    def record_hash(self) -> str:
        """sha256 of the canonical JSON of the row (image bytes by their sha256)."""
        row = self.to_row()
        if row["image_bytes"] is not None:
            row["image_bytes"] = hashlib.sha256(row["image_bytes"]).hexdigest()
        return hashlib.sha256(canonical_json(row).encode("utf-8")).hexdigest()


def content_hash(records: Iterable[PairRecord]) -> str:
    """sha256 of the sorted per-record hashes (docs/protocol.md#split-format)."""
    h = hashlib.sha256()
    for rh in sorted(r.record_hash() for r in records):
        h.update(rh.encode("ascii"))
    return h.hexdigest()


def pair_sort_key(pair_id: str) -> tuple[str, int, str]:
    """Rows are sorted by image key, then caption index k (numerically)."""
    key, _, k = pair_id.rpartition("#")
    return (key, int(k), pair_id) if k.isdigit() else (pair_id, 0, pair_id)


# --------------------------------------------------------------------------------------------
# the column schema

Kind = Literal["string", "binary", "int32", "json"]


def _json_list(v: Any) -> list[Any]:
    return [x.to_dict() if hasattr(x, "to_dict") else x for x in v]


@dataclass(frozen=True)
class Column:
    """One parquet column: its name, storage kind, what it holds, and how a record maps to it."""

    name: str
    kind: Kind
    doc: str
    required: bool = True
    level: str | None = None  # a description column: the level it holds
    to_json: Callable[[Any], Any] | None = None  # record value -> JSON value (json columns)
    from_json: Callable[[Any], Any] | None = None  # JSON value -> record value (json columns)

    def get(self, rec: PairRecord) -> Any:
        """The record's value for this column."""
        return rec.descriptions.get(self.level) if self.level else getattr(rec, self.name)

    def encode(self, value: Any) -> Any:
        """Record value -> stored value."""
        if self.kind != "json" or value is None:
            return value
        return canonical_json(self.to_json(value) if self.to_json else value)

    def decode(self, stored: Any) -> Any:
        """Stored value -> record value (raises KeyError for a missing required value)."""
        if stored is None:
            if self.required:
                raise KeyError(self.name)
            return self.from_json(None) if self.from_json else None
        if self.kind == "int32":
            return int(stored)
        if self.kind == "json":
            value = json.loads(stored)
            return self.from_json(value) if self.from_json else value
        return stored


def _desc_column(level: str) -> Column:
    note = " (null with fewer than 2 hue phrases)" if level == "partial" else ""
    return Column(f"desc_{level}", "string", f"controlled description at level `{level}`{note}",
                  required=False, level=level)  # fmt: skip


COLUMNS: tuple[Column, ...] = (
    Column("pair_id", "string", "`<image_key>#<k>`, k = 0-based caption index"),
    Column("source", "string", "source collection (coco, imagenet, demo, ...)"),
    Column("image_key", "string", "the image's key (file stem)"),
    Column("image_id", "string", "the image's id in its source"),
    Column("image_path", "string", "image relative to the manifest's `image_root` (null when embedded)", required=False),
    Column("image_bytes", "binary", "embedded image bytes (`--embed-images`)", required=False),
    Column("image_sha256", "string", "sha256 of the source image file"),
    Column("width", "int32", "source image width (px)"),
    Column("height", "int32", "source image height (px)"),
    Column("caption", "string", "the caption verbatim"),
    Column("caption_index", "int32", "k, the caption's index in its source list"),
    Column("natural_level", "string", f"natural level: {' / '.join(LEVELS)}"),
    *(_desc_column(lv) for lv in LEVELS),
    Column("partial_kept_phrase_ids", "json", "JSON list of the phrase ids kept at partial", required=False,
           to_json=list, from_json=lambda v: None if v is None else tuple(v)),
    Column("colour_phrases", "json", "JSON list of colour-phrase records (terms, modifiers, object, character spans)",
           to_json=_json_list, from_json=lambda v: tuple(ColorPhrase.from_dict(d) for d in v)),
    Column("instances", "json", "JSON list of instance annotations: category, bbox, COCO RLE at source geometry, linked phrase, link kind, mask name",
           to_json=_json_list, from_json=lambda v: tuple(Instance.from_dict(d) for d in v)),
    Column("instance_prompt", "string", "multi-instance prompt, one comma-separated phrase per mask in mask order", required=False),
    Column("class_name", "string", "ImageNet class name", required=False),
    Column("flags", "json", "JSON list of review flags", required=False,
           to_json=list, from_json=lambda v: tuple(v or ())),
    Column("extra", "json", "JSON object of builder-specific data", required=False,
           from_json=lambda v: v or {}),
)  # fmt: skip


def arrow_schema() -> Any:
    """The pyarrow schema of a split shard (json columns are strings)."""
    import pyarrow as pa

    types = {"string": pa.string(), "json": pa.string(), "binary": pa.binary(), "int32": pa.int32()}
    return pa.schema([(c.name, types[c.kind]) for c in COLUMNS])


def datasets_features() -> Any:
    """The ``datasets.Features`` of a split (what ``load_dataset`` reads)."""
    from datasets import Features, Value

    types = {"string": "string", "json": "string", "binary": "binary", "int32": "int32"}
    return Features({c.name: Value(types[c.kind]) for c in COLUMNS})


def card_fields_table() -> str:
    """The dataset card's field table (Markdown)."""
    lines = ["| field | type | content |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.kind} | {c.doc} |" for c in COLUMNS]
    return "\n".join(lines)
