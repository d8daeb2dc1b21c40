"""Reading a split folder: :func:`load_split` returns typed :class:`PairRecord` objects and checks
the manifest (schema version, shard checksums, row counts, content hash); errors name the file
and the fix (docs/protocol.md#split-format)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lcad_bench.errors import InputFormatError, MissingInputError
from lcad_bench.fileio import file_sha256
from lcad_bench.splits.manifest import MANIFEST_FILE, Manifest
from lcad_bench.splits.schema import SCHEMA_VERSION, PairRecord, content_hash


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
    mpath = root / MANIFEST_FILE
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
