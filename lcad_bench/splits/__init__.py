"""Splits: the on-disk format of a benchmark split (one owner per file: :mod:`.schema` for the
records and columns, :mod:`.manifest` for manifest.json, :mod:`.writer` and :mod:`.reader`)."""

from lcad_bench.splits.manifest import Exclusion, InputFile, Manifest, Shard, input_file
from lcad_bench.splits.reader import Split, image_path_problem, load_split
from lcad_bench.splits.schema import COLUMNS, Instance, PairRecord, content_hash
from lcad_bench.splits.writer import write_split

__all__ = [
    "COLUMNS", "Exclusion", "InputFile", "Instance", "Manifest", "PairRecord", "Shard", "Split",
    "content_hash", "image_path_problem", "input_file", "load_split", "write_split",
]  # fmt: skip
