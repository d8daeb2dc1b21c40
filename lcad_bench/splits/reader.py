"""Reading a split folder: :func:`load_split` returns typed :class:`PairRecord` objects and checks
the manifest (schema version, shard checksums, row counts, content hash); errors name the file
and the fix (docs/protocol.md#split-format)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from pydantic import ValidationError

from lcad_bench.errors import InputFormatError, MissingInputError
from lcad_bench.fileio import file_sha256, inside, safe_join
from lcad_bench.imaging import DecodedImage, decode_image
from lcad_bench.splits.manifest import MANIFEST_FILE, Manifest
from lcad_bench.splits.schema import SCHEMA_VERSION, PairRecord, content_hash


@dataclass
class Split:
    """A loaded split."""

    path: Path
    manifest: Manifest
    records: list[PairRecord]
    _sha_memo: OrderedDict[str, tuple[tuple[int, int, int], str]] = field(
        default_factory=OrderedDict, repr=False
    )
    _resolved: dict[Path, Path] = field(default_factory=dict, repr=False)
    _last_file: tuple[str, Path] | None = field(default=None, repr=False)

    @property
    def image_root(self) -> Path | None:
        """Folder that ``image_path`` is relative to: the manifest's ``image_root`` (the
        builder's explicit ``--images``; a relative one is relative to the split folder), else
        None (paths are relative to the split folder)."""
        if not self.manifest.image_root:
            return None
        root = Path(self.manifest.image_root)
        return root if root.is_absolute() else self.path / root

    def image_file(self, rec: PairRecord) -> Path | None:
        """Absolute path of a record's image (None when embedded). An ``image_path`` that is
        absolute, climbs with ``..`` or resolves (through symlinks) outside its root is refused
        with :class:`~lcad_bench.errors.InputFormatError`: a split only reads images under the
        root it names (docs/evaluating.md#failures)."""
        if rec.image_path is None:
            return None
        root = self.image_root
        base = root if root is not None else self.path
        what = (
            f"image_root {self.manifest.image_root}"
            if root is not None
            else f"the split folder {self.path}"
        )
        if self._last_file is not None and self._last_file[0] == rec.image_path:
            return self._last_file[1]  # checked just now (the pairs of an image are consecutive)
        if base not in self._resolved:
            self._resolved[base] = base.resolve()
        f = base / PurePath(rec.image_path)
        problem = image_path_problem(rec.image_path, base, self._resolved[base])
        if problem == NOT_PLAIN:
            raise InputFormatError(
                f"{rec.pair_id}: image_path {rec.image_path!r} is not a plain relative path under {what}; "
                "rebuild the split with --images pointing at the folder that holds the images"
            )  # fmt: skip
        if problem is not None:
            raise InputFormatError(
                f"{rec.pair_id}: image {f} resolves to {f.resolve()}, outside {what} (a symlink out of the root); "
                "copy the file into the root or rebuild the split with --images pointing at a folder that holds it"
            )  # fmt: skip
        self._last_file = (rec.image_path, f)
        return f

    def verify_image(self, rec: PairRecord) -> str:
        """The sha256 of the record's image bytes, checked against the recorded ``image_sha256``
        (streamed from disk, cached per image while the file is unchanged); a mismatch or a
        missing file raises an error naming the file and both hashes."""
        if rec.image_bytes is not None:
            got = hashlib.sha256(rec.image_bytes).hexdigest()
            where = f"{rec.pair_id}: the embedded image of {rec.image_key}"
        else:
            f = self._existing_file(rec)
            try:
                st = f.stat()
            except OSError as exc:
                raise MissingInputError(
                    f"{rec.pair_id}: image {f} cannot be read ({exc.strerror})"
                ) from exc
            key = (st.st_size, st.st_mtime_ns, st.st_ino)
            memo = self._sha_memo.get(str(f))
            if memo is not None and memo[0] == key:
                got = memo[1]
            else:
                try:
                    got = file_sha256(f)
                except OSError as exc:
                    raise MissingInputError(
                        f"{rec.pair_id}: image {f} cannot be read ({exc.strerror or exc}); fix its "
                        "permissions or restore it"
                    ) from exc
                self._sha_memo[str(f)] = (key, got)
                while len(self._sha_memo) > 64:
                    self._sha_memo.popitem(last=False)
            where = f"{rec.pair_id}: image {f}"
        if got != rec.image_sha256:
            raise InputFormatError(
                f"{where} has sha256 {got}, but the split recorded {rec.image_sha256}: the file was changed or "
                "swapped after the build; restore the original file or rebuild the split"
            )
        return got

    def read_image(self, rec: PairRecord) -> DecodedImage:
        """The record's image, verified (:meth:`verify_image`) and decoded
        (:func:`lcad_bench.imaging.decode_image`), at the size the split recorded."""
        self.verify_image(rec)
        if rec.image_bytes is not None:
            img = decode_image(
                rec.image_bytes, f"{rec.pair_id}: the embedded image of {rec.image_key}"
            )
        else:
            f = self._existing_file(rec)
            img = decode_image(f, f"{rec.pair_id}: image {f}")
        if (img.width, img.height) != (rec.width, rec.height):
            raise InputFormatError(
                f"{rec.pair_id}: image {self.image_file(rec) or rec.image_key} is {img.width}x{img.height}, "
                f"the split recorded {rec.width}x{rec.height}; restore the original file or rebuild the split"
            )
        return img

    def load_image(self, rec: PairRecord) -> Any:
        """The record's image as an RGB PIL image (verified and decoded as :meth:`read_image`)."""
        from PIL import Image

        return Image.fromarray(self.read_image(rec).rgb)

    def _existing_file(self, rec: PairRecord) -> Path:
        f = self.image_file(rec)
        if f is None or not f.is_file():
            raise MissingInputError(
                f"{rec.pair_id}: image {f} not found; the split expects images under image_root="
                f"{self.manifest.image_root} (move them there or rebuild with --images / --embed-images)"
            )
        return f


NOT_PLAIN = "not a plain relative path"


def image_path_problem(rel: str, root: Path, root_resolved: Path | None = None) -> str | None:
    """The containment rule of image paths (None: ``rel`` may be read under ``root``): a path
    that is empty, absolute, climbs with ``..`` or holds a NUL byte is :data:`NOT_PLAIN`; one
    that resolves (through symlinks) outside ``root`` gives where it resolves to.
    :meth:`Split.image_file` applies it at evaluation, the builders before they read an image,
    so a split never names an image its evaluation would refuse. ``root_resolved``: ``root``
    already resolved (saves resolving it per image)."""
    p = PurePath(rel)
    if not rel or p.is_absolute() or ".." in p.parts or "\0" in rel:
        return NOT_PLAIN
    f = root / p
    resolved_root = root_resolved if root_resolved is not None else root.resolve()
    if not inside(f, resolved_root, root_resolved=True):
        try:
            where = str(f.resolve())
        except (OSError, RuntimeError):
            where = "an unresolvable path"
        return f"resolves to {where}, outside {root} (a symlink out of it)"
    return None


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
        manifest = Manifest.model_validate_json(mpath.read_bytes())
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
        rel = PurePath(shard.path)
        f = root / rel
        if safe_join(root, shard.path) is None:
            raise InputFormatError(
                f"{mpath}: shard path {shard.path!r} leaves the split folder {root}; a split reads only "
                "its own data/ files: rebuild the split"
            )
        if not f.is_file():
            raise MissingInputError(
                f"{f}: shard listed in manifest.json is missing; rebuild the split"
            )
        if verify and file_sha256(f) != shard.sha256:
            raise InputFormatError(
                f"{f}: sha256 differs from manifest.json; the shard was modified or corrupted, rebuild the split"
            )
        try:
            rows = pq.read_table(f).to_pylist()
        except Exception as exc:  # noqa: BLE001  (pyarrow raises several types for a bad file)
            raise InputFormatError(
                f"{f}: the shard matches its checksum but cannot be read as parquet ({type(exc).__name__}: "
                f"{str(exc)[:160]}); it was written corrupt: rebuild the split. No pair of it can be "
                "evaluated, and a run without it would silently count fewer pairs"
            ) from exc
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
