"""Methods outside Python: the exchange folder of ``lcad-bench export-inputs`` and the
predictions folder that ``lcad-bench evaluate --predictions`` scores. This module owns the format
(file names, manifest lines, header, README text); both commands use it.

::

    EXPORT/
      README.md          what to read and what to write back (:func:`readme_text`)
      export.json        :class:`ExportHeader`: split id and content hash, protocol geometry,
                         levels, seeds, counts, pairs that could not be exported
      manifest.jsonl     one :class:`ManifestLine` per (pair, level, seed), in run order
      gray/<image>.png   the protocol's gray input of each image (8-bit RGB, 256 x 256)
      masks/<pair>/mKK.png   linked instance masks of a pair (8-bit, 0/255), mask k <-> phrase k

    PREDICTIONS/         (any folder; EXPORT itself by default)
      outputs/<level>/<pair|seed>.png   exactly the ``output`` path of each manifest line
                                        (:func:`output_relpath`)

Names come from :func:`~.rundir.file_name` (readable part + hash of the full key), so they are
collision-free and the same on every platform. The predictions are read by
:class:`PredictionsColorizer`, a :class:`~lcad_bench.models.Colorizer`, so ``--predictions`` runs
the same runner as a plug-in model: same protocol, output cache, per-sample errors (a missing,
unreadable, odd-size or non-RGB file is a failed sample naming the file), results.json and board
entry.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError
from lcad_bench.evaluation.rundir import file_name, make_run_dir, write_error, writing
from lcad_bench.models import ColorizationRequest, Colorizer, SampleFailure

FORMAT = "lcad-bench-inputs"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.jsonl"
HEADER_FILE = "export.json"
README_FILE = "README.md"
GRAY_DIR = "gray"
MASKS_DIR = "masks"
OUTPUTS_DIR = "outputs"
# --------------------------------------------------------------------------------------------
# file names


def gray_relpath(image_key: str) -> str:
    """The gray input of an image, relative to the export folder."""
    return f"{GRAY_DIR}/{file_name(image_key)}.png"


def mask_relpath(pair_id: str, k: int) -> str:
    """Mask ``k`` (phrase ``k``) of a pair, relative to the export folder."""
    return f"{MASKS_DIR}/{file_name(pair_id)}/m{k:02d}.png"


def output_relpath(level: str, pair_id: str, seed: int) -> str:
    """Where the method writes its output for (pair, level, seed), relative to the predictions
    folder. The seed *value* is part of the name: outputs made for other seeds never match."""
    return f"{OUTPUTS_DIR}/{level}/{file_name(f'{pair_id}|seed{seed}')}.png"


# --------------------------------------------------------------------------------------------
# manifest and header


class ManifestLine(BaseModel):
    """One request to the external method (a line of manifest.jsonl)."""

    model_config = ConfigDict(extra="forbid")
    id: str  # "<pair_id>|<level>|seed<seed>"
    pair_id: str
    image_key: str
    level: str
    s: int  # seed index 0..n_seeds-1
    seed: int  # the protocol's per-pair seed (docs/protocol.md#seeds)
    description: str  # the text at this level ("" at level none)
    instance_prompt: str | None = None  # multi-instance splits, level complete only
    width: int  # of the gray input and of the expected output
    height: int
    gray: str
    masks: list[str] = []
    phrases: list[dict[str, Any]] = []  # one per mask, same order
    output: str


class ExportHeader(BaseModel):
    """export.json."""

    model_config = ConfigDict(extra="forbid")
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    lcad_bench: str
    created_at: str
    split: dict[str, Any]
    protocol: dict[str, Any]
    seeds: dict[str, Any]
    limit: int | None = None
    shard: list[int] | None = None
    counts: dict[str, int] = {}
    failed: list[dict[str, str]] = []


def read_header(folder: str | Path) -> ExportHeader | None:
    """The export.json of a folder, or None when it has none."""
    p = Path(folder) / HEADER_FILE
    if not p.is_file():
        return None
    try:
        return ExportHeader.model_validate_json(p.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{p}: not an lcad-bench export header ({str(exc)[:200]})") from exc


def read_manifest(folder: str | Path) -> list[ManifestLine]:
    """The lines of an export's manifest.jsonl (errors name the line)."""
    p = Path(folder) / MANIFEST_FILE
    if not p.is_file():
        raise MissingInputError(f"{p}: no {MANIFEST_FILE}; run `lcad-bench export-inputs` first")
    out = []
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(ManifestLine.model_validate_json(line))
            except ValidationError as exc:
                raise InputFormatError(f"{p}, line {n}: {str(exc)[:200]}") from exc
    return out


# --------------------------------------------------------------------------------------------
# export


class _Enumerate(Colorizer):
    """Stands in for the method when the runner's plan enumerates the requests of an export."""

    name = "export-inputs"

    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[np.ndarray]:
        raise NotImplementedError


def export_inputs(
    split_path: str | Path,
    out: str | Path,
    *,
    levels: Sequence[str] | None = None,
    limit: int | None = None,
    base_seed: int = 0,
    n_seeds: int = 1,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> ExportHeader:
    """Write the exchange folder ``out`` for ``split_path``: the requests a plug-in model would
    get (the runner's own plan and input preparation), as files. Never writes a ground truth."""
    import sys

    from tqdm import tqdm

    import lcad_bench
    from lcad_bench.errors import LcadBenchError
    from lcad_bench.evaluation.inputs import prepare, request_for, write_png
    from lcad_bench.evaluation.plan import TEXT_FIELD, plan_run
    from lcad_bench.fileio import atomic_write_bytes, atomic_write_text, utc_now
    from lcad_bench.protocol import EVAL_RESOLUTION, PROTOCOL_VERSION, RESIZE_POLICY, SEED_RULE

    root = Path(out)
    if root.exists() and not root.is_dir():  # with or without --overwrite: exit 3, not a traceback
        raise write_error(root, OSError(errno.ENOTDIR, "it is a file, not a folder"))
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise UsageError(
            f"{root} exists and is not empty; pass --overwrite to rewrite the inputs there "
            "(other files, e.g. predictions, are kept) or choose another --out"
        )
    plan = plan_run(_Enumerate(), split_path, root, levels, limit, base_seed, n_seeds, shard)
    make_run_dir(root)  # a folder in the way, no permission: exit 3 naming it
    lines: list[str] = []
    failed: list[dict[str, str]] = []
    grays: set[str] = set()
    current: tuple[str, Any] | None = None
    bar = tqdm(total=len(plan.items), desc="export inputs", unit="request", file=sys.stderr,
               disable=True if quiet else None)  # fmt: skip
    for it in plan.items:
        bar.update(1)
        rec = it.record
        if current is None or current[0] != rec.pair_id:
            try:
                # the ground truth is computed (the inputs derive from it) but never written here
                prep = prepare(plan.split, rec, root / ".no-ground-truth", lambda fn, *a: None)
            except LcadBenchError as exc:
                prep = None
                failed.append({"pair_id": rec.pair_id, "error": str(exc)})
            current = (rec.pair_id, prep)
            if prep is not None:
                g = gray_relpath(rec.image_key)
                if g not in grays:
                    grays.add(g)
                    write_png(root / g, prep.gray)
                for k in range(0 if prep.masks is None else len(prep.masks)):
                    write_png(
                        root / mask_relpath(rec.pair_id, k), prep.masks[k].astype(np.uint8) * 255
                    )  # type: ignore[index]
        prep = current[1]
        if prep is None:
            continue
        h, w = prep.gray.shape[:2]
        masks = [
            mask_relpath(rec.pair_id, k)
            for k in range(0 if prep.masks is None else len(prep.masks))
        ]
        req = request_for(it, prep, uses_instance_masks=True)  # what a mask-aware plug-in gets
        phrases = [{"k": k, "mask": masks[k], **ph} for k, ph in enumerate(req.phrases)]
        line = ManifestLine(
            id=f"{rec.pair_id}|{it.level}|seed{it.seed}", pair_id=rec.pair_id, image_key=rec.image_key,
            level=it.level, s=it.s, seed=it.seed, description=req.description,
            instance_prompt=req.instance_prompt, width=w, height=h,
            gray=gray_relpath(rec.image_key), masks=masks, phrases=phrases,
            output=output_relpath(it.level, rec.pair_id, it.seed),
        )  # fmt: skip
        lines.append(line.model_dump_json())
    bar.close()
    with writing(root / MANIFEST_FILE):  # disk full, not writable: exit 3 naming the file
        atomic_write_bytes(
            root / MANIFEST_FILE, ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
        )
    m = plan.split.manifest
    header = ExportHeader(
        lcad_bench=lcad_bench.__version__,
        created_at=utc_now(),
        split={"id": m.split, "content_hash": m.content_hash, "path": str(Path(split_path))},
        protocol={"version": PROTOCOL_VERSION, "eval_resolution": EVAL_RESOLUTION, "resize_policy": RESIZE_POLICY,
                  "text_field": TEXT_FIELD, "levels": plan.levels},
        seeds={"base_seed": base_seed, "n_seeds": n_seeds, "seed_rule": SEED_RULE},
        limit=limit,
        shard=list(shard) if shard else None,
        counts={"requests": len(lines), "pairs": len({it.record.pair_id for it in plan.items}) - len(failed),
                "images": len(grays), "failed_pairs": len(failed)},
        failed=failed,
    )  # fmt: skip
    for name, text in ((HEADER_FILE, header.model_dump_json(indent=2) + "\n"),
                       (README_FILE, readme_text(header))):  # fmt: skip
        with writing(root / name):
            atomic_write_text(root / name, text)
    return header


def readme_text(header: ExportHeader) -> str:
    """The README for the external method's author."""
    res = header.protocol["eval_resolution"]
    levels = ", ".join(header.protocol["levels"])
    return f"""# lcad-bench inputs for an external colorization method

Split `{header.split["id"]}` (content hash `{header.split["content_hash"][:16]}…`), levels {levels},
{header.seeds["n_seeds"]} seed(s) per pair from base seed {header.seeds["base_seed"]}:
{header.counts.get("requests", 0)} requests over {header.counts.get("pairs", 0)} pairs and
{header.counts.get("images", 0)} images. Format `{FORMAT}` version {FORMAT_VERSION}.

## What to read

`{MANIFEST_FILE}` has one JSON object per line, one per request:

| field | meaning |
|---|---|
| `id` | `<pair_id>\\|<level>\\|seed<seed>`, unique |
| `level` | complete, partial, sparse or none: how much colour the text still names |
| `description` | the text to condition on at this level (`""` at level none) |
| `instance_prompt` | multi-instance splits, level complete: "the red car, the blue truck" |
| `gray` | the gray input, {res} x {res} 8-bit RGB: the sRGB rendering of the ground truth's CIELab L* (a* = b* = 0) at the protocol geometry (short side {res}, centre crop) |
| `masks` | linked instance masks at the same geometry, 8-bit, 255 inside; mask k belongs to phrase k |
| `phrases` | one entry per mask: `described` tells whether the description still names its colour; only then are its colours given (spans index into the description when it is the caption verbatim, otherwise they are left out) |
| `seed` | the protocol's per-pair seed; use it for your sampler if you can |
| `output` | **the file to write**, relative to your predictions folder |

Never use anything but these inputs: the ground truth is not in this folder on purpose.

## What to write

For every line, an 8-bit **RGB** PNG of exactly `width` x `height` ({res} x {res}) pixels at
`PREDICTIONS/<output>`, where PREDICTIONS is this folder or any other. Then:

    lcad-bench evaluate --predictions PREDICTIONS --name YOUR_METHOD --split {header.split["path"]} \\
        --out runs/YOUR_METHOD [--model-info model.yaml] [--levels ...] [--seed {header.seeds["base_seed"]} --n-seeds {header.seeds["n_seeds"]}]

A missing file, an unreadable one, a grayscale/RGBA/16-bit one or one of another size is a
failed sample whose error names the file (exit code 5); the other samples are scored. Keep the
same `--seed`/`--n-seeds` (and `--limit`/`--shard`, if any) as this export: file names contain the
seed value, so outputs made for other seeds are not found.

`model.yaml` (optional) describes the method for results.json and the leaderboard:

    version: "1.0"
    description: One line about the method.
    citation: "A. Author et al. Title. Venue 2024."
    url: https://example.org/method
    luminance_replaced: false     # true when your output keeps the input L* exactly
    uses_instance_masks: false    # true when you read `masks`
    config: {{steps: 50}}           # settings that change pixels (hashed into the run identity)
"""


# --------------------------------------------------------------------------------------------
# predictions


class ModelInfo(BaseModel):
    """``--model-info model.yaml``: an external method's metadata."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    version: str = "external"
    description: str | None = None
    citation: str | None = None
    url: str | None = None
    license: str | None = None
    luminance_replaced: bool = False
    uses_instance_masks: bool = False
    config: dict[str, Any] = {}


def load_model_info(path: str | Path) -> ModelInfo:
    """Read and check a model.yaml (YAML or JSON); errors name the file and the key."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise MissingInputError(f"{p}: no such file (--model-info)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{p}: not valid YAML ({str(exc)[:200]})") from exc
    if not isinstance(data, dict):
        raise InputFormatError(
            f"{p}: expected a mapping of fields (version, citation, ...), got {type(data).__name__}"
        )
    try:
        return ModelInfo.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e["loc"])
        raise InputFormatError(
            f"{p}: {where}: {e['msg']}; fields are {', '.join(ModelInfo.model_fields)}"
        ) from exc


def predictions_sha256(root: Path) -> str:
    """sha256 over (relative path, file sha256) of every PNG under ``root/outputs``: part of the
    method's config, so a changed prediction is never scored from an older cached copy."""
    import hashlib

    from lcad_bench.fileio import file_sha256

    h = hashlib.sha256()
    base = root / OUTPUTS_DIR
    for p in sorted(base.rglob("*.png")) if base.is_dir() else ():
        h.update(f"{p.relative_to(root).as_posix()}\0{file_sha256(p)}\n".encode())
    return h.hexdigest()


class PredictionsColorizer(Colorizer):
    """An external method's outputs, read from a predictions folder by :func:`output_relpath`."""

    version = "external"

    def __init__(self, predictions: str | Path, name: str, info: ModelInfo | None = None) -> None:
        root = Path(predictions)
        if not root.is_dir():
            raise MissingInputError(
                f"{root}: no such predictions folder; write the outputs named in {MANIFEST_FILE} there "
                "(see the README of `lcad-bench export-inputs`)"
            )
        info = info or ModelInfo()
        if info.name is not None and info.name != name:
            raise UsageError(f"--name {name!r} differs from the name {info.name!r} in --model-info")
        if not name or "/" in name or name.startswith("."):
            raise UsageError(
                f"--name {name!r}: give the method a plain name, e.g. --name my-method"
            )
        self.root = root
        self.name = name  # type: ignore[misc]
        self.version = info.version  # type: ignore[misc]
        self.info = info
        self.uses_instance_masks = info.uses_instance_masks  # type: ignore[misc]
        self.luminance_replaced = info.luminance_replaced  # type: ignore[misc]
        self.header = read_header(root)
        self._sha = predictions_sha256(root)
        self._listing: dict[Path, list[str]] = {}

    def check_run(self, split_path: str | Path, base_seed: int, n_seeds: int) -> None:
        """When the predictions folder is an export, it must be the export of this split and
        seeds (else every file would be 'missing')."""
        from lcad_bench.splits.manifest import MANIFEST_FILE as SPLIT_MANIFEST
        from lcad_bench.splits.manifest import Manifest

        h = self.header
        if h is None:
            return
        try:
            split_content_hash = Manifest.model_validate_json(
                (Path(split_path) / SPLIT_MANIFEST).read_text(encoding="utf-8")
            ).content_hash
        except (OSError, ValidationError, UnicodeDecodeError):
            return  # loading the split reports this with its own message
        if h.split.get("content_hash") != split_content_hash:
            raise UsageError(
                f"{self.root / HEADER_FILE}: these inputs were exported from split {h.split.get('id')} "
                f"(content hash {str(h.split.get('content_hash'))[:12]}…), not from --split (content hash "
                f"{split_content_hash[:12]}…); evaluate with the split that was exported"
            )
        if h.seeds.get("base_seed") != base_seed or int(h.seeds.get("n_seeds", 1)) < n_seeds:
            raise UsageError(
                f"{self.root / HEADER_FILE}: exported with --seed {h.seeds.get('base_seed')} --n-seeds "
                f"{h.seeds.get('n_seeds')}; evaluate with the same seeds (got --seed {base_seed} --n-seeds {n_seeds})"
            )

    def config(self) -> dict[str, Any]:
        return {"predictions_sha256": self._sha, "method_config": self.info.config}

    def describe(self) -> dict[str, Any]:
        extra = {k: v for k, v in self.info.model_dump().items()
                 if k in ("description", "citation", "url", "license") and v is not None}  # fmt: skip
        return super().describe() | extra | {"source": "predictions", "predictions": str(self.root)}

    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[Any]:
        return [self._read(r) for r in batch]

    def _read(self, r: ColorizationRequest) -> np.ndarray | SampleFailure:
        from PIL import Image, UnidentifiedImageError

        from lcad_bench.imaging import describe_mode, stored_bits

        rel = output_relpath(r.level, r.pair_id, r.seed)
        path = self.root / rel
        h, w = r.luminance.shape
        if not path.is_file():
            return SampleFailure(
                f"prediction file {path} is missing: the method wrote no output for {r.pair_id} at level "
                f"{r.level}, seed {r.seed} (the `output` of that line of {MANIFEST_FILE}){self._hint(path.parent)}"
            )
        try:
            with Image.open(path) as im:
                # the bit depth before load: Pillow shows a 48-bit PNG as mode RGB (high bytes)
                mode, size, bits = im.mode, im.size, stored_bits(im)
                im.load()
                arr = np.asarray(im) if mode == "RGB" and bits == 8 else None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            return SampleFailure(f"prediction file {path} is not a readable image ({exc})")
        if arr is None:
            return SampleFailure(
                f"prediction file {path} is a {describe_mode(mode, bits)} (mode {mode}); "
                "write 8-bit RGB (no alpha, no 16-bit)"
            )
        if size != (w, h):
            return SampleFailure(
                f"prediction file {path} is {size[0]}x{size[1]} pixels; expected {w}x{h}, the size of "
                "the gray input (the protocol's evaluation geometry)"
            )
        return np.ascontiguousarray(arr, dtype=np.uint8)

    def _hint(self, folder: Path) -> str:
        if folder not in self._listing:
            self._listing[folder] = (
                sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []
            )
        names = self._listing[folder]
        if not names:
            return ""
        return (f"; {folder} holds {len(names)} other PNG file(s), e.g. {names[0]}: are they named "
                f"as {MANIFEST_FILE} says?")  # fmt: skip
