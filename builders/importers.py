"""``lcad-bench build import``: importers for published caption manifests (docs/protocol.md#importers).

Formats:

==================  ====================================================  =====================
``--format``        key format                                            pair id
==================  ====================================================  =====================
coco-lc-extended    ``{"<12-digit id>.jpg_<k>": caption}``                ``<id>#<k>``
coco-lc-multi       ``{"<source>_<file>.jpg_<k>": caption}``              ``<source>_<stem>#<k>``
coco-lc-imagenet    ``{"ILSVRC2012_val_<8 digits>.JPEG": caption}``       ``<stem>#0`` (blip_gt)
lcad-captions       ``{"<id>.jpg": [caption, ...]}`` (L-CAD / L-CoDe)     ``<id>#<list index>``
==================  ====================================================  =====================

Text is kept verbatim. Images resolve under ``--images ROOT``: ``ROOT/<file>``; for coco-lc-multi
``coco_<id>.jpg`` -> ``ROOT/<id>.jpg`` and other sources ``ROOT/<source>/<file>``. Missing or bad
images, images outside ROOT (the split's containment rule) and keys naming a second file under
one image key are skipped and counted (``--strict`` stops before writing). ``--instances`` is
read, masked and linked by the coco builder's functions (:class:`CocoInstances`). The manifest file's sha256 is
recorded and compared with the published prefixes; a mismatch only warns (edited copies are allowed).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcad_bench.builders.common import (
    CheckedImage,
    Problems,
    check_image,
    printable,
    progress,
    refuse_existing_out,
    require_found_images,
    text_problem,
)

from lcad_bench.errors import InputFormatError, MissingInputError
from lcad_bench.fileio import utc_now
from lcad_bench.protocol import protocol_settings
from lcad_bench.splits import (
    Instance,
    Manifest,
    PairRecord,
    image_path_problem,
    input_file,
    write_split,
)

BUILDER_VERSION = "1"
CLIP_WORD_LIMIT = 75


@dataclass(frozen=True)
class Format:
    """One importable manifest format."""

    name: str
    key_re: re.Pattern[str]
    expected: str  # the key format, for error messages
    list_values: bool  # {"<id>.jpg": [caption, ...]} rather than {key: caption}
    split: str
    published: dict[str, str]  # sha256 prefix -> published file
    license: str
    sources: str


FORMATS: dict[str, Format] = {
    "coco-lc-extended": Format(
        "coco-lc-extended",
        re.compile(r"^(\d{12})\.jpg_(\d+)$"),
        "'<12-digit id>.jpg_<k>' (e.g. '000000414340.jpg_0')",
        False,
        "coco_lc_extended",
        {"b3827abdffc5c614": "Extended_COCO_Stuff.json (COCO-LC)"},
        "other",
        "COCO-LC `Extended_COCO_Stuff.json` (no licence; not redistributed) over COCO 2017 val images (CC BY 4.0).",
    ),
    "coco-lc-multi": Format(
        "coco-lc-multi",
        re.compile(r"^([A-Za-z0-9]+)_(.+\.(?:jpe?g|png))_(\d+)$", re.IGNORECASE),
        "'<source>_<file>.jpg_<k>' (e.g. 'coco_000000317935.jpg_0')",
        False,
        "coco_lc_multi",
        {"1193499246450e56": "Multi-instances.json (COCO-LC)"},
        "other",
        "COCO-LC `Multi-instances.json` (no licence; not redistributed) over COCO, Visual Genome, GQA, Open Images, "
        "Flickr30k and ADE20K images under their own licences.",
    ),
    "coco-lc-imagenet": Format(
        "coco-lc-imagenet",
        re.compile(r"^(ILSVRC2012_val_\d{8})\.JPEG$"),
        "'ILSVRC2012_val_<8 digits>.JPEG' (e.g. 'ILSVRC2012_val_00000001.JPEG')",
        False,
        "coco_lc_imagenet_blip_gt",
        {"53d18fde65b130a3": "ImageNetVal5k.json (COCO-LC)"},
        "other",
        "COCO-LC `ImageNetVal5k.json`: BLIP captions of the colour ground truth (leaks_gt), over ILSVRC2012 val images.",
    ),
    "lcad-captions": Format(
        "lcad-captions",
        re.compile(r"^(.+)\.(?:jpe?g|png)$", re.IGNORECASE),
        "'<id>.jpg' mapping to a list of captions (e.g. '000000414340.jpg': ['a red bus ...'])",
        True,
        "lcad_captions",
        {
            "7ff925745a7f1a33": "resources/coco/caption_val.json (L-CAD)",
            "7eb5078137bffa67": "resources/selected_val.json (L-CoDe)",
        },  # fmt: skip
        "cc-by-nc-4.0",
        "L-CAD / L-CoDe caption file (CC BY-NC 4.0; not redistributed) over COCO images (CC BY 4.0).",
    ),
}


@dataclass(frozen=True)
class Entry:
    """One (image, caption) pair of an imported manifest."""

    key: str  # the manifest key
    image_key: str
    source: str
    rel_path: str  # image path relative to --images
    k: int
    caption: str
    coco_id: int | None


# --------------------------------------------------------------------------------------------
# parsing


def read_json_pairs(path: Path, what: str, problems: Problems) -> Any:
    """Parse JSON like ``common.read_json``, reporting duplicate object keys (which ``json.loads``
    silently collapses) as skipped items; the first occurrence is kept."""
    from lcad_bench.builders.common import read_json

    p = Path(path)
    dups: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for k, v in pairs:
            if k in d:
                dups.append(k)
                continue
            d[k] = v
        return d

    data = read_json(p, what, object_pairs_hook=hook)
    for k in dups:
        problems.skip(
            k, "duplicate id", f"key {k!r} occurs more than once in {p.name}; the first is kept"
        )
    return data


def parse_entries(data: Any, fmt: Format, path: Path) -> list[Entry]:
    """The pairs of a parsed manifest; a wrong key format or caption type is an error naming the key."""
    if not isinstance(data, dict):
        raise InputFormatError(
            f"{path}: expected a JSON object {{key: caption}} for --format {fmt.name}, got a {type(data).__name__}"
        )
    out: list[Entry] = []
    for key, value in data.items():
        m = fmt.key_re.match(key)
        if not m:
            raise InputFormatError(
                f"{path}: key {key!r} does not match the {fmt.name} key format {fmt.expected}; is --format right?"
            )
        if fmt.list_values:
            if not isinstance(value, list):
                raise InputFormatError(
                    f"{path}: key {key!r}: expected a list of caption strings, got {type(value).__name__}"
                )
            caps = list(enumerate(value))
        else:
            caps = [(0, value)]
        for i, cap in caps:
            if not isinstance(cap, str):
                where = f"key {key!r}" + (f", caption {i}" if fmt.list_values else "")
                raise InputFormatError(
                    f"{path}: {where}: captions must be strings, got {type(cap).__name__} ({json.dumps(cap)[:60]})"
                )
        out.extend(_entries(key, m, caps, fmt))
    return out


def _entries(key: str, m: re.Match[str], caps: list[tuple[int, str]], fmt: Format) -> list[Entry]:
    if fmt.name == "coco-lc-extended":
        cid = m.group(1)
        return [Entry(key, cid, "coco", f"{cid}.jpg", int(m.group(2)), caps[0][1], int(cid))]
    if fmt.name == "coco-lc-multi":
        src, fname, k = m.group(1), m.group(2), int(m.group(3))
        stem = fname.rsplit(".", 1)[0]
        if src.lower() == "coco":
            coco_id = int(stem) if stem.isdigit() else None
            return [Entry(key, f"{src}_{stem}", src, fname, k, caps[0][1], coco_id)]
        return [Entry(key, f"{src}_{stem}", src, f"{src}/{fname}", k, caps[0][1], None)]
    if fmt.name == "coco-lc-imagenet":
        return [Entry(key, m.group(1), "blip_gt", key, 0, caps[0][1], None)]
    stem = m.group(1)
    return [
        Entry(key, stem, "coco", key, i, c, int(stem) if stem.isdigit() else None) for i, c in caps
    ]


# --------------------------------------------------------------------------------------------
# optional COCO instances: link phrases to instance masks (docs/protocol.md#extended-coco-stuff)


class CocoInstances:
    """COCO ``instances_*.json`` annotations, read, checked and linked by the coco-stuff
    builder's functions (one owner: :func:`lcad_bench.builders.coco.load_instances`,
    :func:`~lcad_bench.builders.coco.image_masks`, :func:`~lcad_bench.builders.coco.caption_instances`);
    bad items are skipped and counted in ``problems`` like the coco builders'."""

    def __init__(self, path: Path, problems: Problems) -> None:
        from lcad_bench.builders.coco import load_instances

        self.problems = problems
        self.images, self.anns = load_instances(Path(path), problems)
        self._masks: dict[int, Any] = {}

    def category_of(self, text: str) -> str | None:
        """Category of an object lemma or text ("fire hydrant", "man" -> "person"), from the
        coco-stuff builder's synonym table."""
        from lcad_bench.builders.coco import synonym_table

        return synonym_table().get(text.lower())

    def instances(self, coco_id: int, analysis: Any) -> tuple[tuple[Instance, ...], set[str]]:
        """The image's instances linked to ``analysis``'s hue phrases (the coco-stuff rule and
        code: group / unique / largest, the first phrase owns a shared instance), and its large
        categories. Masks are encoded once per image (a malformed one is reported once)."""
        from lcad_bench.builders.coco import caption_instances, image_masks

        if coco_id not in self._masks:
            self._masks[coco_id] = image_masks(
                self.images[coco_id], self.anns.get(coco_id, []), self.problems
            )
        im = self._masks[coco_id]
        return caption_instances(analysis.hue_phrases, im), im.large


# --------------------------------------------------------------------------------------------
# build


def build_import(
    fmt_name: str,
    manifest_path: str | Path,
    images: str | Path,
    out: str | Path,
    *,
    instances: str | Path | None = None,
    seed: int = 0,
    embed_images: bool = False,
    overwrite: bool = False,
    strict: bool = False,
    quiet: bool = False,
    spacy_model: str | None = None,
) -> Manifest:
    """Import a published manifest as a split; returns the written manifest."""
    from lcad_bench.text.extract import get_extractor
    from lcad_bench.text.levels import controlled_levels, natural_level
    from lcad_bench.text.lexicon import LEXICON_VERSION
    from lcad_bench.text.rules import RULES_VERSION

    fmt = FORMATS[fmt_name]
    refuse_existing_out(out, overwrite)
    mpath = Path(manifest_path)
    root = Path(images).resolve()
    if not root.is_dir():
        raise MissingInputError(f"{root}: no such folder (--images).")
    problems = Problems(strict=strict, quiet=quiet)
    data = read_json_pairs(mpath, f"{fmt.name} manifest", problems)
    entries = []
    for e in parse_entries(data, fmt, mpath):
        bad = text_problem(e.key) or text_problem(e.caption)
        if bad:
            problems.skip(printable(e.key), "invalid caption text", bad)
            continue
        entries.append(e)
    inputs = [input_file("manifest", mpath)]
    sha = inputs[0].sha256
    published = next((name for pre, name in fmt.published.items() if sha.startswith(pre)), None)
    if published is None:
        print(
            f"warning: {mpath.name}: sha256 {sha[:16]}... matches no published {fmt.name} file "
            f"({', '.join(fmt.published)}); importing it as an edited copy (recorded as matches_published=false)",
            file=sys.stderr,
        )
    coco = None
    if instances is not None:
        coco = CocoInstances(Path(instances), problems)
        inputs.append(input_file("instances", instances))

    # images: resolve and check once each
    # an image key names one file: a later entry naming another file under the same key
    # ("1.jpg" and "1.png") is skipped, so every pair of a key carries that file's checksum
    by_image: dict[str, list[Entry]] = defaultdict(list)
    one_file: list[Entry] = []
    for e in entries:
        first = by_image[e.image_key][:1]
        if first and first[0].rel_path != e.rel_path:
            problems.skip(printable(e.key), "duplicate id",
                          f"image key {e.image_key!r} already names {first[0].rel_path}, this key names "
                          f"{e.rel_path}; the first is kept")  # fmt: skip
            continue
        by_image[e.image_key].append(e)
        one_file.append(e)
    checked: dict[str, CheckedImage] = {}
    missing_by_source: Counter[str] = Counter()
    missing_pairs = 0
    bar = progress(len(by_image), "images", quiet)
    try:
        for key in sorted(by_image):
            bar.update(1)
            e0 = by_image[key][0]
            outside = image_path_problem(e0.rel_path, root, root)  # the split's containment rule
            if outside is not None:
                problems.skip(printable(e0.rel_path), "image outside --images", outside)
                continue
            res = check_image(root / e0.rel_path)
            if isinstance(res, CheckedImage):
                checked[key] = res
                continue
            if res[0] == "missing image":
                missing_by_source[e0.source] += 1
                missing_pairs += len(by_image[key])
            problems.skip(e0.rel_path, *res)
    finally:
        bar.close()
    require_found_images(
        sum(missing_by_source.values()), len(by_image), root,
        by_image[min(by_image)][0].rel_path if by_image else "",
    )  # fmt: skip
    if missing_by_source and not quiet:
        print(
            f"missing images: {sum(missing_by_source.values())} ({missing_pairs} pairs), by source: {dict(missing_by_source)}",
            file=sys.stderr,
        )
    kept = sorted((e for e in one_file if e.image_key in checked), key=lambda e: (e.image_key, e.k))

    ex = get_extractor(spacy_model)
    bar = progress(len(kept), "captions", quiet)
    try:
        analyses = ex.analyse_many([e.caption for e in kept], progress=bar)
    finally:
        bar.close()
    records: list[PairRecord] = []
    no_annotation = 0
    wrong_size: set[str] = set()
    for e, a in zip(kept, analyses):
        img = checked[e.image_key]
        pair_id = f"{e.image_key}#{e.k}"
        insts: tuple[Instance, ...] = ()
        info = coco.images.get(e.coco_id) if coco is not None and e.coco_id is not None else None
        if info is not None and (info.width, info.height) != (img.width, img.height):
            # the annotations describe another picture: their masks would not fit this one
            if e.image_key not in wrong_size:
                wrong_size.add(e.image_key)
                problems.skip(printable(e.rel_path), "size mismatch",
                              f"file is {img.width}x{img.height}, the instances file says "
                              f"{info.width}x{info.height} for image id {info.id}")  # fmt: skip
            continue
        if coco is not None and info is not None:
            insts, large = coco.instances(e.coco_id, a)
            nl = natural_level(a, coco.category_of, large)
        else:
            if coco is not None and e.source == "coco":
                no_annotation += 1
            nl = natural_level(a)
        d = controlled_levels(a, pair_id=pair_id, base_seed=seed)
        flags = []
        if d.problems:
            # published lists are kept whole: the failing text is null and the pair is reviewed
            flags.append("controlled_text_review")
            problems.flag(pair_id, "controlled text failed validation", "; ".join(d.problems))
        if fmt.name == "coco-lc-imagenet":
            flags.append("leaks_gt")
        if a.bw_photo_mention:
            flags.append("bw_photo_mention")
        if nl.nonhue_only:
            flags.append("nonhue_only")
        n_words = len(e.caption.split())
        if n_words > CLIP_WORD_LIMIT:
            flags.append("clip_truncated")
        records.append(PairRecord(
            pair_id=pair_id, source=e.source, image_key=e.image_key, image_id=e.image_key,
            image_path=None if embed_images else e.rel_path,
            image_bytes=(root / e.rel_path).read_bytes() if embed_images else None, image_sha256=img.sha256,
            width=img.width, height=img.height, caption=e.caption, caption_index=e.k, colour_phrases=a.phrases,
            natural_level=nl.level, descriptions=d.as_dict(), partial_kept_phrase_ids=d.kept_phrase_ids,
            instances=insts, flags=tuple(flags),
            extra={"manifest_key": e.key, "level_basis": nl.basis, "n_words": n_words},
        ))  # fmt: skip

    manifest = Manifest(
        split=fmt.split,
        builder={
            "name": f"lcad-bench build import --format {fmt.name}",
            "version": BUILDER_VERSION,
        },
        created_at=utc_now(),
        inputs=inputs,
        image_root=None if embed_images else str(root),
        embed_images=embed_images,
        spacy={k: str(v) for k, v in ex.info.items()},
        lexicon_version=LEXICON_VERSION,
        rules_version=RULES_VERSION,
        seed=seed,
        protocol=protocol_settings(
            import_format=fmt.name,
            text="verbatim",
            leaks_gt=fmt.name == "coco-lc-imagenet",
            level_basis="annotations" if coco is not None else "caption_only",
            clip_word_limit=CLIP_WORD_LIMIT,
        ),  # fmt: skip
        counts={
            "manifest_sha256": sha,
            "matches_published": published is not None,
            "published_file": published,
            "manifest_keys": len(data),
            "manifest_pairs": len(entries),
            "manifest_images": len(by_image),
            "missing_images": sum(missing_by_source.values()),
            "missing_pairs": missing_pairs,
            "missing_images_by_source": dict(sorted(missing_by_source.items())),
            "pairs_by_source": dict(sorted(Counter(r.source for r in records).items())),
            "coco_images_without_annotations": no_annotation,
            "clip_truncated": sum(1 for r in records if "clip_truncated" in r.flags),
        },  # fmt: skip
        exclusions=problems.items,
        review=problems.review,
    )
    return write_split(
        out, records, manifest, overwrite=overwrite,
        description=f"Imported from `{mpath.name}` (--format {fmt.name}; sha256 {sha[:16]}..., "
        + (f"matches the published {published})." if published else "an edited copy: matches no published file).")
        + " Captions are kept verbatim; levels follow docs/protocol.md#description-levels of lcad-bench."
        + (" `blip_gt`: BLIP captions of the colour ground truth (`leaks_gt`), reported in its own table." if fmt.name == "coco-lc-imagenet" else ""),
        sources=fmt.sources, license=fmt.license,
    )  # fmt: skip
