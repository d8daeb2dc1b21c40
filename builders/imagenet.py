"""``lcad-bench build imagenet``: the ImageNet sparse split (docs/protocol.md#imagenet-sparse).

Labels come from one of three layouts:

* synset-prefixed file names, ``n01440764_tench.JPEG`` -> synset ``n01440764``, class "tench"
  (the name follows the first ``_``; further ``_`` read as spaces);
* folder per synset, ``DIR/n01440764/*.JPEG``; names from ``--synsets`` (the first entry of a
  ``LOC_synset_mapping.txt`` line), else the synset id with a warning;
* ``--labels LOC_val_solution.csv`` (``ImageId,PredictionString``; the first wnid of
  ``PredictionString``) for a flat folder of ``ILSVRC2012_val_*.JPEG``, names from ``--synsets``.

One record per image: pair ``<image_key>#0``, natural level sparse, descriptions sparse = the class
phrase (bare name or ``--class-template``) and none = "". Images are sorted by file name;
``--first-n`` keeps the first N. The saturation test runs at evaluation geometry (short side 256,
centre crop): achromatic ground truths are dropped as exclusions, or with ``--val5k`` kept with the
flag ``achromatic``. Grayscale files (8-bit JPEGs: ILSVRC2012 val has some; 16-bit ones scaled
by their high byte) are read as RGB and flagged ``grayscale_source``; CMYK, palette, alpha and
unreadable files are skipped.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from lcad_bench.builders.common import (
    CheckedImage,
    Problems,
    check_image,
    printable,
    progress,
    read_text,
    refuse_existing_out,
    text_problem,
)

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError
from lcad_bench.fileio import utc_now
from lcad_bench.protocol import protocol_settings
from lcad_bench.splits import (
    Exclusion,
    Manifest,
    PairRecord,
    image_path_problem,
    input_file,
    write_split,
)

BUILDER_VERSION = "1"
SPLIT_NAME = "imagenet_sparse"
IMAGE_EXTS = (".jpeg", ".jpg", ".png")
SYNSET_RE = re.compile(r"^n\d{8}$")
PREFIXED_RE = re.compile(r"^(n\d{8})_(.+)$")
VAL5K_N = 5000
VAL_NAME_RE = re.compile(r"^ILSVRC2012_val_\d{8}$")


# --------------------------------------------------------------------------------------------
# labels


def class_name_from_file(stem: str) -> tuple[str, str] | None:
    """(synset, class name) of a synset-prefixed name, or None: ``n02089078_black-and-tan_coonhound``
    -> ("n02089078", "black-and-tan coonhound")."""
    m = PREFIXED_RE.match(stem)
    if not m:
        return None
    return m.group(1), m.group(2).replace("_", " ").strip()


def read_synset_mapping(path: Path) -> dict[str, str]:
    """``LOC_synset_mapping.txt``: ``n01440764 tench, Tinca tinca`` -> {"n01440764": "tench"}."""
    text = read_text(path, "--synsets, a LOC_synset_mapping.txt-style file")
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        wnid, _, names = line.strip().partition(" ")
        name = names.split(",")[0].strip()
        if not SYNSET_RE.match(wnid) or not name:
            raise InputFormatError(
                f"{path}: line {n} is not '<wnid> <name>[, <name>...]' (e.g. 'n01440764 tench, Tinca tinca'): {line[:80]!r}"
            )
        out[wnid] = name
    return out


def read_val_solution(path: Path) -> dict[str, str]:
    """``LOC_val_solution.csv``: ImageId -> the first wnid of PredictionString."""
    import io

    text = read_text(path, "--labels, a LOC_val_solution.csv-style file")
    with io.StringIO(text, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"ImageId", "PredictionString"} <= set(
            reader.fieldnames
        ):
            raise InputFormatError(
                f"{path}: expected the header 'ImageId,PredictionString' (LOC_val_solution.csv), got {reader.fieldnames}"
            )
        out: dict[str, str] = {}
        for n, row in enumerate(reader, 2):
            words = (row.get("PredictionString") or "").split()
            if not row.get("ImageId") or not words or not SYNSET_RE.match(words[0]):
                raise InputFormatError(
                    f"{path}: line {n}: PredictionString must start with a wnid such as 'n01751748 ...', got {row.get('PredictionString')!r}"
                )
            out[row["ImageId"].strip()] = words[0]
    return out


def list_images(root: Path) -> tuple[str, list[tuple[Path, str | None]]]:
    """The layout ("flat" or "folders") and (file, synset-from-folder) pairs, unsorted."""
    if not root.is_dir():
        raise MissingInputError(f"{root}: no such folder (--images).")
    subdirs = [d for d in root.iterdir() if d.is_dir() and SYNSET_RE.match(d.name)]
    if subdirs:
        files = [
            (f, d.name)
            for d in subdirs
            for f in d.iterdir()
            if f.is_file() and f.suffix.lower() in IMAGE_EXTS
        ]
        return "folders", files
    files = [(f, None) for f in root.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTS]
    return "flat", files


# --------------------------------------------------------------------------------------------
# build


def build_imagenet(
    images: str | Path,
    out: str | Path,
    *,
    labels: str | Path | None = None,
    synsets: str | Path | None = None,
    first_n: int | None = None,
    val5k: bool = False,
    class_template: str | None = None,
    seed: int = 0,
    embed_images: bool = False,
    overwrite: bool = False,
    strict: bool = False,
    quiet: bool = False,
    spacy_model: str | None = None,
) -> Manifest:
    """Build the ImageNet sparse split; returns the written manifest."""
    from PIL import Image

    from lcad_bench.imaging import saturation_test, to_eval_geometry
    from lcad_bench.text.extract import get_extractor
    from lcad_bench.text.lexicon import LEXICON_VERSION
    from lcad_bench.text.rules import RULES_VERSION

    root = Path(images).resolve()
    refuse_existing_out(out, overwrite)
    if class_template is not None and class_template.count("{}") != 1:
        raise UsageError(
            f"--class-template must contain '{{}}' exactly once (e.g. 'a photo of a {{}}'), got {class_template!r}"
        )
    if first_n is not None and first_n < 1:
        raise UsageError(f"--first-n must be >= 1, got {first_n}")
    if val5k and first_n is None:
        first_n = VAL5K_N
    problems = Problems(strict=strict, quiet=quiet)
    inputs = []
    mapping: dict[str, str] | None = None
    if synsets is not None:
        mapping = read_synset_mapping(Path(synsets))
        inputs.append(input_file("synset_mapping", synsets))
    solution: dict[str, str] | None = None
    if labels is not None:
        solution = read_val_solution(Path(labels))
        inputs.append(input_file("val_labels", labels))
    layout, files = list_images(root)
    files.sort(key=lambda fs: (fs[0].name, str(fs[0])))
    n_found = len(files)
    if first_n is not None:
        files = files[:first_n]
    if not files:
        raise MissingInputError(f"{root}: no .JPEG/.jpg/.png images found (--images)")
    label_source = (
        "csv" if solution is not None else ("folder" if layout == "folders" else "file_name")
    )
    if label_source in ("csv", "folder") and mapping is None:
        print(
            f"warning: no --synsets mapping: class names are synset ids (e.g. {files[0][1] or 'n01440764'}); "
            "pass --synsets LOC_synset_mapping.txt for names",
            file=sys.stderr,
        )
    if val5k and not all(VAL_NAME_RE.match(f.stem) for f, _ in files):
        print(
            "warning: --val5k on files not named ILSVRC2012_val_<8 digits>: kept the first N by file name",
            file=sys.stderr,
        )

    # labels per file
    todo: list[tuple[Path, str, str, str]] = []  # file, key, synset, class name
    seen: dict[str, Path] = {}
    for f, folder_syn in files:
        key = f.stem
        item = str(f.relative_to(root))
        if bad_name := text_problem(item):  # a non-UTF-8 file name (surrogate-escaped by the OS)
            problems.skip(printable(item), "invalid file name", f"{bad_name}; rename the file")
            continue
        if key in seen:
            problems.skip(
                item,
                "duplicate image id",
                f"image key {key!r} also used by {seen[key].relative_to(root)}",
            )
            continue
        seen[key] = f
        name: str | None
        if solution is not None:
            syn = solution.get(key)
            if syn is None:
                problems.skip(item, "missing label", f"{key} is not in {labels}")
                continue
            name = None
        elif folder_syn is not None:
            syn, name = folder_syn, None
        else:
            parsed = class_name_from_file(key)
            if parsed is None:
                problems.skip(
                    item,
                    "missing label",
                    "file name is not '<wnid>_<class>' (e.g. n01440764_tench.JPEG); pass --labels or use a folder per synset",
                )
                continue
            syn, name = parsed
        if mapping is not None and syn not in mapping:
            problems.skip(item, "unknown synset", f"{syn} is not in {synsets}")
            continue
        if name is None:
            name = mapping[syn] if mapping is not None else syn
        todo.append((f, key, syn, name))

    phrases = sorted({_phrase(n, class_template) for *_, n in todo})
    ex = get_extractor(spacy_model)
    coloured = {t for t, a in zip(phrases, ex.analyse_many(phrases)) if a.hue_phrases}

    records: list[PairRecord] = []
    verdicts: Counter[str] = Counter()
    bar = progress(len(todo), "imagenet", quiet)
    try:
        for f, key, syn, name in todo:
            bar.update(1)
            item = str(f.relative_to(root))
            outside = image_path_problem(item, root, root)  # a symlink out of --images
            if outside is not None:
                problems.skip(item, "image outside --images", outside)
                continue
            checked = check_image(f, allow_gray=True)
            if not isinstance(checked, CheckedImage):
                problems.skip(item, *checked)
                continue
            ev = np.asarray(to_eval_geometry(Image.fromarray(checked.rgb)))
            sat = saturation_test(ev)
            verdicts[sat.verdict] += 1
            detail = f"C*ab p99 {sat.chroma_p99:.2f}, hue resultant {sat.hue_resultant:.3f}"
            flags: list[str] = ["grayscale_source"] if checked.grayscale else []
            if sat.verdict == "achromatic":
                if not val5k:
                    # a protocol exclusion, not a bad input: never stops --strict
                    problems.items.append(
                        Exclusion(item=item, reason="achromatic ground truth", detail=detail)
                    )
                    continue
                flags.append("achromatic")
                problems.flag(item, "achromatic ground truth (kept: val5k)", detail)
            elif sat.verdict == "tinted_review":
                flags.append("tinted_review")
                problems.flag(item, "tinted monochrome candidate", detail)
            text = _phrase(name, class_template)
            if text in coloured:
                flags.append("class_name_colour_word")
            records.append(PairRecord(
                pair_id=f"{key}#0", source="imagenet", image_key=key, image_id=key,
                image_path=None if embed_images else f.relative_to(root).as_posix(),
                image_bytes=f.read_bytes() if embed_images else None, image_sha256=checked.sha256,
                width=checked.width, height=checked.height, caption=text, caption_index=0, colour_phrases=(),
                natural_level="sparse", descriptions={"complete": None, "partial": None, "sparse": text, "none": ""},
                class_name=name, flags=tuple(flags),
                extra={"synset": syn, "label_source": label_source, "chroma_p99": round(sat.chroma_p99, 4),
                       "hue_resultant": round(sat.hue_resultant, 4), "saturation_verdict": sat.verdict},
            ))  # fmt: skip
    finally:
        bar.close()

    manifest = Manifest(
        split=SPLIT_NAME,
        builder={"name": "lcad-bench build imagenet", "version": BUILDER_VERSION},
        created_at=utc_now(),
        inputs=inputs,
        image_root=None if embed_images else str(root),
        embed_images=embed_images,
        spacy={k: str(v) for k, v in ex.info.items()},
        lexicon_version=LEXICON_VERSION,
        rules_version=RULES_VERSION,
        seed=seed,
        protocol=protocol_settings(
            resize_policy="short_side_center_crop",
            imagenet_center_crop=True,
            class_template=class_template,
            val5k=val5k,
            first_n=first_n,
            achromatic_policy="flag" if val5k else "drop",
            level_basis="fixed_sparse",
        ),  # fmt: skip
        counts={
            "images_found": n_found,
            "images_considered": len(files),
            "layout": layout,
            "label_source": label_source,
            "saturation_verdicts": dict(sorted(verdicts.items())),
            "achromatic_flagged": sum(1 for r in records if "achromatic" in r.flags),
            "grayscale_source": sum(1 for r in records if "grayscale_source" in r.flags),
            "classes": len({r.class_name for r in records}),
        },  # fmt: skip
        exclusions=problems.items,
        review=problems.review,
    )
    tmpl = f' with the template "{class_template}"' if class_template else ""
    return write_split(
        out, records, manifest, overwrite=overwrite,
        description=f"ImageNet sparse split (lcad-bench docs/protocol.md#imagenet-sparse): each image with its class name{tmpl} "
        "(natural level sparse) and with the empty description (none). Evaluation geometry: short side 256 "
        + ("and centre crop; val5k: achromatic ground truths kept with the flag `achromatic`." if val5k
           else "and centre crop; achromatic ground truths are excluded (see manifest.json `exclusions`)."),
        sources="ILSVRC2012 (ImageNet) images and labels, under the ImageNet terms of access.",
        license="other",
    )  # fmt: skip


def _phrase(name: str, template: str | None) -> str:
    return template.format(name) if template else name
