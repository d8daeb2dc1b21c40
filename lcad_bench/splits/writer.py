"""Writing a split folder (docs/protocol.md#split-format)::

    OUT/
      README.md                         dataset card; its YAML ``configs:`` block makes
                                        ``datasets.load_dataset(OUT)`` work without a script
      manifest.json                     see :mod:`lcad_bench.splits.manifest`
      data/test-00000-of-0000N.parquet  one row per (image, caption) pair, sorted by pair id

:func:`write_split` builds the folder in a temporary sibling and renames it into place, so a
failed build never leaves a partial split.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from lcad_bench.errors import ExitCode, InputFormatError, LcadBenchError, UsageError
from lcad_bench.fileio import file_sha256, make_temp_dir
from lcad_bench.protocol import LEVELS
from lcad_bench.splits.manifest import MANIFEST_FILE, Manifest, Shard
from lcad_bench.splits.schema import (
    PairRecord,
    arrow_schema,
    card_fields_table,
    content_hash,
    pair_sort_key,
)

SHARD_ROWS = 50_000

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

{fields}

Load it with `datasets.load_dataset("<this folder>", split="test")` or
`lcad_bench.splits.load_split("<this folder>")` (typed records, manifest checked).

## Sources and licences

{sources}

Nothing here redistributes images unless built with `--embed-images`; the images keep their
original licences.

## Citation

If you use this split, cite the sources above and lcad-bench.
"""


class SplitOutError(LcadBenchError):
    """``--out`` cannot hold a split folder (it, or a folder above it, is a file): exit 3."""

    exit_code = ExitCode.MISSING


def refuse_out(out: str | Path, overwrite: bool) -> None:
    """The ``--out`` rule of every builder, checked before any work and again by
    :func:`write_split`: ``out`` (and every existing folder above it) must be a folder or not
    exist yet, else exit 3 even with ``overwrite`` (a file is never replaced); an existing,
    non-empty folder needs ``overwrite`` (exit 2), and ``overwrite`` replaces only a split (a
    folder with a ``manifest.json``): any other non-empty folder is refused (exit 2), so a
    mistyped ``--out`` never deletes unrelated files."""
    o = Path(out)
    for p in (o, *o.parents):
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                what = "is not a folder" if p == o else f"is under {p}, which is not a folder"
                raise SplitOutError(
                    f"--out {o} {what} (a file); a split is a folder: choose another --out "
                    "(--overwrite replaces only a folder)"
                )
            break
    if o.is_dir() and any(o.iterdir()):
        if not overwrite:
            raise UsageError(
                f"{o} exists and is not empty; pass --overwrite to replace it or choose another "
                "--out"
            )
        if not (o / MANIFEST_FILE).is_file():
            raise UsageError(
                f"{o} is not empty and is not a split (no {MANIFEST_FILE}); --overwrite replaces "
                "only a split folder: choose another --out, or empty or remove the folder yourself"
            )


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

    from lcad_bench import __version__

    out = Path(out)
    refuse_out(out, overwrite)
    ids = [r.pair_id for r in records]
    dup = [k for k, n in Counter(ids).items() if n > 1]
    if dup:
        raise InputFormatError(f"duplicate pair ids in the split: {dup[:5]}")
    records = sorted(records, key=lambda r: pair_sort_key(r.pair_id))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(f".{out.name}.", out.parent)  # umask permissions, not 0700
    try:
        (tmp / "data").mkdir()
        n_shards = max(1, -(-len(records) // SHARD_ROWS))
        shards = []
        schema = arrow_schema()
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
        m = manifest.model_copy(
            update={
                "shards": shards,
                "counts": counts,
                "content_hash": content_hash(records),
                "lcad_bench_version": __version__,
            }
        )
        (tmp / MANIFEST_FILE).write_text(m.model_dump_json(indent=2) + "\n", encoding="utf-8")
        level_rows = "\n".join(
            f"| natural level {lv} | {counts['natural_levels'][lv]} |" for lv in LEVELS
        )
        card = CARD_TEMPLATE.format(
            license=license, split=m.split, builder=m.builder.get("name", "?"), version=__version__,
            created=m.created_at, description=description or "", pairs=counts["pairs"], images=counts["images"],
            level_rows=level_rows, excluded=counts["excluded"], fields=card_fields_table(),
            sources=sources or "See manifest.json `inputs`.",
        )  # fmt: skip
        (tmp / "README.md").write_text(card, encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return m
