"""Extended COCO-Stuff and multi-instance splits from COCO captions + instances (docs/protocol.md#extended-coco-stuff, #multi-instance).

Steps (``build_coco``):

1. Read captions and instances JSON (a malformed or truncated file, or a missing top-level key,
   stops with the file and position). Per-item problems are skipped and counted (``--strict``
   stops before writing): malformed image, category or annotation entries (ids and sizes that
   are not integers), annotations without a string caption, duplicate caption/image ids,
   captions of images not listed, image files outside ``--images`` (the split's containment
   rule) or missing, unreadable or non-RGB images.
2. Caption stage: ``k`` is the 0-based index of a caption among its image's captions (sorted by
   annotation id), so pair ids ``<image_key>#<k>`` are stable. Captions without a lexicon word
   are dropped without parsing; the others are parsed once (forked workers for large inputs) and
   kept when they hold at least one hue colour phrase. "black and white photo/picture/..."
   captions are dropped and their image is queued for review.
3. Objects map to COCO categories through ``resources/coco_synonyms.tsv`` (multi-word nouns
   first, then the object text, its lemma, its head). Linking, over the image's *eligible*
   instances of that category (not crowd, area >= 1% of the image): a plural object links to all
   of them (``group``); a singular object links to the only one (``unique``) or, when there are
   several, to the largest (``largest``). Stuff segments (``--stuff``) link by their base name
   (``wall-brick`` -> wall) as ``stuff``.
4. Saturation test at evaluation geometry (256, short side + centre crop): chroma p99 <
   ``ACHROMATIC_P99`` (6) is achromatic and dropped; a hue resultant >= 0.98 with p99 < 25 is
   kept and queued for review.
5. Natural level with annotations: mentions that map to a category; coverage over categories
   whose union mask covers >= 5% of the image.

Multi-instance keeps captions with >= 2 hue phrases linked ``unique``/``largest`` to distinct
instances (a later phrase reusing an instance is dropped) and writes the instance prompt
"the red car, the blue truck" (phrase k <-> mask ``m0k``), dropping tail phrases until the prompt
fits 75 CLIP tokens (exact with ``--tokenizer DIR``, else a conservative estimate); a record left
with one phrase is dropped.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lcad_bench.builders.coco_images import (
    ANNOTATION_KEYS,
    ImageTask,
    RawAnnotation,
    ann_to_rle,
    encode_masks,
    raw_annotation,
    read_instances,
    run_image_stage,
)
from lcad_bench.builders.common import (
    Problems,
    as_int,
    progress,
    read_json,
    refuse_existing_out,
    require_found_images,
    require_keys,
    text_problem,
)

from lcad_bench.errors import InputFormatError, MissingInputError
from lcad_bench.fileio import utc_now
from lcad_bench.protocol import ACHROMATIC_P99, choose_partial, protocol_settings
from lcad_bench.splits import (
    Instance,
    Manifest,
    PairRecord,
    image_path_problem,
    input_file,
    write_split,
)
from lcad_bench.text import nouns as _nouns
from lcad_bench.text.levels import controlled_levels, natural_level
from lcad_bench.text.records import Analysis, ColorPhrase
from lcad_bench.text.rules import may_contain_colour
from lcad_bench.text.wordlists import GARMENT_NOUNS, HAIR_COLOURS, PART_NOUNS, PERSON_NOUNS

BUILDER_VERSION = "1"
MIN_INSTANCE_AREA = 0.01
MAX_PROMPT_TOKENS = 75


# --------------------------------------------------------------------------------------------
# noun -> category


# the noun -> category table lives with the other noun lists (lcad_bench.text.nouns)
synonym_table = _nouns.synonym_table
category_of_object = _nouns.category_of_object


# --------------------------------------------------------------------------------------------
# instances


def _rle_area(rles: list[dict[str, Any]]) -> float:
    from pycocotools import mask as mask_utils

    objs = [{"size": r["size"], "counts": r["counts"].encode("ascii")} for r in rles]
    merged = mask_utils.merge(objs) if len(objs) > 1 else objs[0]
    return float(mask_utils.area(merged))


@dataclass
class ImageInfo:
    """An image of the instances/captions files."""

    id: int
    file_name: str
    width: int
    height: int


@dataclass(slots=True)
class AnnInfo:
    """An instance annotation, decoded lazily."""

    id: int
    category_id: int
    category: str
    bbox: tuple[float, float, float, float]
    area: float
    iscrowd: bool
    segmentation: Any
    is_stuff: bool = False


# --------------------------------------------------------------------------------------------
# prompt tokens


def estimate_clip_tokens(text: str) -> int:
    """Conservative CLIP token estimate without a tokenizer: punctuation marks count 1, a word
    counts ceil(len/4) (CLIP BPE averages ~4.5 characters per token on caption words)."""
    n = 0
    for piece in re.findall(r"[A-Za-z]+|\d|[^\sA-Za-z\d]", text):
        n += max(1, math.ceil(len(piece) / 4)) if piece[0].isalpha() else 1
    return n


def token_counter(tokenizer_dir: str | None) -> Any:
    """A function text -> number of CLIP tokens (without BOS/EOS)."""
    if not tokenizer_dir:
        return estimate_clip_tokens
    p = Path(tokenizer_dir)
    if not (p / "vocab.json").is_file():
        raise MissingInputError(
            f"{p}: no vocab.json; --tokenizer takes a local CLIP tokenizer folder (e.g. openai/clip-vit-large-patch14/tokenizer)"
        )
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(str(p), local_files_only=True)
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def phrase_text(p: ColorPhrase) -> str:
    """ "the <modifiers> <colours joined by ' and '> <object>" (docs/protocol.md#multi-instance)."""
    mods = [m for m in p.modifiers if m != "ish"]
    cols = " and ".join(c.canonical for c in p.colours)
    obj = p.object.text.lower() if p.object else ""
    return " ".join(["the", *mods, cols, obj]).replace(",", " ").strip()


def bare_phrase_text(p: ColorPhrase) -> str:
    """The phrase without its colour words ("the car")."""
    return ("the " + (p.object.text.lower() if p.object else "")).replace(",", " ").strip()


# --------------------------------------------------------------------------------------------
# the build


def _list_of(data: dict[str, Any], key: str, src: Path) -> list[Any]:
    """A top-level array of a COCO file; anything else makes the file unusable as a whole."""
    v = data.get(key, [])
    if not isinstance(v, list):
        raise InputFormatError(
            f"{src}: {key!r} is a {type(v).__name__}, expected a JSON array; is this a COCO file?"
        )
    return v


def image_info(im: Any, item: str, problems: Problems) -> ImageInfo | None:
    """An ``images`` entry as an :class:`ImageInfo`, or None when it is malformed (skipped and
    counted as ``malformed image entry``, named by ``item``): it needs an integer ``id``, a
    string ``file_name`` that is Unicode text, and positive integer ``width`` and ``height``."""
    if not problems.require(
        im, ("id", "file_name", "width", "height"), item, "malformed image entry"
    ):
        return None
    try:
        iid, w, h = as_int(im["id"]), as_int(im["width"]), as_int(im["height"])
        if not isinstance(im["file_name"], str) or not im["file_name"]:
            raise ValueError(f"file_name {str(im['file_name'])[:40]!r} is not a file name")
        if w < 1 or h < 1:
            raise ValueError(f"size {w}x{h} is not positive")
    except ValueError as exc:
        problems.skip(item, "malformed image entry", str(exc))
        return None
    if bad := text_problem(im["file_name"]):
        problems.skip(item, "invalid file name", bad)
        return None
    return ImageInfo(iid, im["file_name"], w, h)


def load_instances(
    instances: Path, problems: Problems, stuff: Path | None = None
) -> tuple[dict[int, ImageInfo], dict[int, list[AnnInfo]]]:
    """The images and the instance (and ``stuff``) annotations of COCO files, per image id, in
    file order: the one reader of instances files (the coco builders and ``build import
    --instances``). A file that is not JSON, lacks a top-level key or whose top-level value is
    not an array stops with the file named; a bad item (malformed image, category or
    annotation entry, unknown category, duplicate id) is skipped and counted, named by file and
    index or id."""
    inst_data = read_instances(
        instances, "COCO instances file, e.g. annotations/instances_val2017.json"
    )
    require_keys(
        inst_data,
        ("images", "annotations", "categories"),
        str(instances),
        "Expected a COCO instances file (instances_*.json).",
    )
    images: dict[int, ImageInfo] = {}
    for k, im in enumerate(_list_of(inst_data, "images", instances)):
        info = image_info(im, f"{instances.name}: images[{k}]", problems)
        if info is None:
            continue
        if info.id in images:
            problems.skip(
                f"{instances.name}: image id {info.id}",
                "duplicate id",
                f"listed twice ({info.file_name})",
            )
            continue
        images[info.id] = info
    cats: dict[int, str] = {}
    _categories(_list_of(inst_data, "categories", instances), instances, cats, problems)
    sources = [(inst_data, False, instances)]
    if stuff is not None:
        stuff_data = read_instances(stuff, "COCO-Stuff file, e.g. stuff_val2017.json")
        require_keys(
            stuff_data,
            ("annotations", "categories"),
            str(stuff),
            "Expected a COCO-Stuff JSON (stuff_*.json).",
        )
        _categories(_list_of(stuff_data, "categories", stuff), stuff, cats, problems, stuff=True)
        sources.append((stuff_data, True, stuff))
    anns: dict[int, list[AnnInfo]] = defaultdict(list)
    seen_ann: set[tuple[int, bool]] = set()
    thing_memo: dict[int, set[int]] = {}

    def thing_ids(image_id: int) -> set[int]:  # only asked once the instances are all read
        if image_id not in thing_memo:
            thing_memo[image_id] = {x.id for x in anns.get(image_id, ()) if not x.is_stuff}
        return thing_memo[image_id]

    for data, is_stuff, src in sources:
        data_anns = _list_of(data, "annotations", src)
        for k, a in enumerate(data_anns):
            data_anns[k] = None  # each decoded annotation is dropped once it is an AnnInfo
            if not isinstance(a, RawAnnotation):  # read_instances left it as decoded
                item = f"{src.name}: annotations[{k}]"
                if not problems.require(a, ANNOTATION_KEYS, item, "malformed instance annotation"):
                    continue
                try:
                    a = raw_annotation(a)
                except (TypeError, ValueError) as exc:
                    problems.skip(item, "malformed instance annotation", str(exc)[:120])
                    continue
            aid = a.id
            if (aid, is_stuff) in seen_ann:
                problems.skip(f"{src.name}: annotation id {aid}", "duplicate id")
                continue
            if is_stuff and aid in thing_ids(a.image_id):
                # masks are keyed by annotation id per image: a shared id would give one
                # segment the other's mask
                problems.skip(
                    f"{src.name}: annotation id {aid}",
                    "duplicate id",
                    f"also an instance annotation id of image {a.image_id}",
                )
                continue
            seen_ann.add((aid, is_stuff))
            name = cats.get(a.category_id)
            if name is None:
                problems.skip(
                    f"{src.name}: annotation id {aid}",
                    "unknown category",
                    f"category_id {a.category_id}",
                )
                continue
            if is_stuff and name == "other":
                continue
            anns[a.image_id].append(AnnInfo(aid, a.category_id, name, a.bbox, a.area, a.iscrowd,
                                            a.segmentation, is_stuff))  # fmt: skip
    return images, anns


def _categories(
    entries: list[Any], src: Path, cats: dict[int, str], problems: Problems, stuff: bool = False
) -> None:
    """Add a file's ``categories`` (integer id -> string name) to ``cats``; a malformed entry
    is skipped as ``malformed category``. An id listed twice in one file is a ``duplicate id``
    (the first is kept); a stuff category never replaces an instance category of its id."""
    own: set[int] = set()
    for k, c in enumerate(entries):
        item = f"{src.name}: categories[{k}]"
        if not problems.require(c, ("id", "name"), item, "malformed category"):
            continue
        try:
            cid = as_int(c["id"])
            if not isinstance(c["name"], str) or not c["name"]:
                raise ValueError(f"name {str(c['name'])[:40]!r} is not a category name")
        except ValueError as exc:
            problems.skip(item, "malformed category", str(exc))
            continue
        if cid in own:
            problems.skip(
                f"{src.name}: category id {cid}", "duplicate id", "listed twice; the first is kept"
            )
            continue
        own.add(cid)
        if stuff:
            cats.setdefault(cid, c["name"])
        else:
            cats[cid] = c["name"]


def _load_inputs(captions: Path, instances: Path, stuff: Path | None, problems: Problems):
    cap_data = read_json(captions, "COCO captions file, e.g. annotations/captions_val2017.json")
    require_keys(
        cap_data,
        ("annotations",),
        str(captions),
        "Expected a COCO captions file (captions_*.json).",
    )
    cap_anns = _list_of(cap_data, "annotations", captions)
    cap_images = _list_of(cap_data, "images", captions)
    # read once, annotations one at a time, polygons as float64 arrays (low peak memory)
    images, anns = load_instances(instances, problems, stuff)
    for k, im in enumerate(cap_images):  # images only the captions file lists
        info = image_info(im, f"{captions.name}: images[{k}]", problems)
        if info is not None and info.id not in images:
            images[info.id] = info
    caps: dict[int, list[tuple[int, str]]] = defaultdict(list)
    seen_cap: set[int] = set()
    for k, a in enumerate(cap_anns):
        item = f"{captions.name}: annotations[{k}]"
        if not isinstance(a, dict) or not isinstance(a.get("caption"), str) or "image_id" not in a:
            problems.skip(
                item, "malformed caption annotation", "needs image_id and a string caption"
            )
            continue
        try:
            cid, image_id = as_int(a.get("id", k)), as_int(a["image_id"])
        except ValueError as exc:
            problems.skip(item, "malformed caption annotation", f"id or image_id: {exc}")
            continue
        if cid in seen_cap:
            problems.skip(
                f"{captions.name}: caption id {cid}", "duplicate id", "caption listed twice"
            )
            continue
        seen_cap.add(cid)
        if bad_text := text_problem(a["caption"]):
            problems.skip(f"{captions.name}: caption id {cid}", "invalid caption text", bad_text)
            continue
        caps[image_id].append((cid, a["caption"]))
    return images, anns, caps


def caption_stage(
    items: list[tuple[int, int, str]], ex: Any, problems: Problems, quiet: bool = True
) -> tuple[dict[int, list[tuple[int, str, Analysis]]], set[int], int]:
    """Keep the (image_id, k, caption) items with a hue colour phrase; captions without a
    lexicon word are never parsed. Returns kept captions per image, images whose captions say
    "black and white photo" (queued for review), and the number of captions parsed."""
    cand = [it for it in items if may_contain_colour(it[2])]
    bar = progress(len(cand), "parse captions", quiet)
    analyses = ex.analyse_many([c[2] for c in cand], progress=bar)
    bar.close()
    kept: dict[int, list[tuple[int, str, Analysis]]] = defaultdict(list)
    review_images: set[int] = set()
    for (iid, k, text), a in zip(cand, analyses):
        if a.bw_photo_mention:
            review_images.add(iid)
            problems.flag(f"image {iid}", "caption says black and white", text)
            continue
        if a.hue_phrases:
            kept[iid].append((k, text, a))
    return kept, review_images, len(cand)


def build_coco(
    kind: str,
    captions: str | Path,
    instances: str | Path,
    images_dir: str | Path,
    out: str | Path,
    *,
    stuff: str | Path | None = None,
    seed: int = 0,
    strict: bool = False,
    embed_images: bool = False,
    spacy_model: str | None = None,
    tokenizer: str | None = None,
    overwrite: bool = False,
    quiet: bool = False,
    workers: int | None = None,
) -> Manifest:
    """Build ``coco-stuff`` (Extended COCO-Stuff) or ``multi-instance`` (see module doc).
    ``workers``: processes of the image stage (None: every CPU; the split is the same for any)."""
    from lcad_bench.text.extract import get_extractor
    from lcad_bench.text.lexicon import LEXICON_VERSION
    from lcad_bench.text.rules import RULES_VERSION

    if kind not in ("coco-stuff", "multi-instance"):
        raise ValueError(kind)
    if workers is not None and workers < 1:
        from lcad_bench.errors import UsageError

        raise UsageError(f"--workers {workers}: give at least 1 process (default: every CPU)")
    refuse_existing_out(out, overwrite)  # before any work
    captions, instances, images_dir = Path(captions), Path(instances), Path(images_dir)
    stuff_p = Path(stuff) if stuff else None
    if not images_dir.is_dir():
        raise MissingInputError(
            f"{images_dir}: image folder not found (--images, e.g. coco/val2017/)"
        )
    problems = Problems(strict=strict, quiet=quiet)
    t0 = time.perf_counter()
    images, anns, caps = _load_inputs(captions, instances, stuff_p, problems)
    count_tokens = token_counter(tokenizer) if kind == "multi-instance" else None

    # caption stage ----------------------------------------------------------------------------
    items: list[tuple[int, int, str]] = []  # (image_id, k, caption)
    for iid in sorted(caps):
        if iid not in images:
            for cid, _ in caps[iid]:
                problems.skip(
                    f"caption id {cid}",
                    "caption for unknown image",
                    f"image_id {iid} is not in the images list",
                )
            continue
        for k, (_cid, text) in enumerate(sorted(caps[iid])):
            items.append((iid, k, text))
    n_captions = len(items)
    n_images = len({iid for iid, _, _ in items})
    ex = get_extractor(spacy_model)
    kept, review_images, n_cand = caption_stage(items, ex, problems, quiet)
    caption_stage_s = time.perf_counter() - t0

    # image stage ------------------------------------------------------------------------------
    # decode + checks, saturation test and mask encoding run in worker processes
    # (builders/coco_images.py); results come back in image order, so any --workers gives the
    # same split
    order = _inside_images(sorted(kept), images, images_dir, problems)
    tasks = (
        ImageTask(iid, str(images_dir / images[iid].file_name), images[iid].width, images[iid].height,
                  tuple((a.id, a.segmentation) for a in anns.get(iid, ())))
        for iid in order
    )  # fmt: skip
    records: list[PairRecord] = []
    bar = progress(len(order), f"images {kind}", quiet)
    n_achromatic = n_missing = 0
    for iid, res in zip(order, run_image_stage(tasks, workers)):
        bar.update(1)
        info = images[iid]
        img_path = images_dir / info.file_name
        if res.problem is not None:
            reason, detail = res.problem
            n_missing += reason == "missing image"
            problems.skip(f"image {iid} ({info.file_name})", reason, detail)
            continue
        if res.verdict == "achromatic":
            n_achromatic += 1
            problems.items.append(
                _excl(
                    f"image {iid} ({info.file_name})",
                    "achromatic ground truth",
                    f"chroma p99 {res.chroma_p99:.2f} < {ACHROMATIC_P99:g}",
                )
            )
            continue
        flags = ["tinted_review"] if res.verdict == "tinted_review" else []
        if res.verdict == "tinted_review":
            problems.flag(
                f"image {iid} ({info.file_name})",
                "tinted monochrome candidate",
                f"hue resultant {res.hue_resultant:.3f}, p99 {res.chroma_p99:.2f}",
            )
        if iid in review_images:
            flags.append("bw_caption_review")
        image_bytes = img_path.read_bytes() if embed_images else None
        records.extend(
            _image_records(
                kind,
                info,
                anns.get(iid, []),
                kept[iid],
                res,
                flags,
                image_bytes,
                images_dir,
                img_path,
                seed,
                problems,
                count_tokens,
                masks=(res.rles or {}, res.bad_segs or {}),
            )
        )
    bar.close()
    require_found_images(
        n_missing, len(kept), images_dir, next((images[i].file_name for i in sorted(kept)), "")
    )

    from lcad_bench.text.nlp import pipeline_info

    inputs = [input_file("captions", captions), input_file("instances", instances)]
    if stuff_p:
        inputs.append(input_file("stuff", stuff_p))
    manifest = Manifest(
        split="extended_coco_stuff" if kind == "coco-stuff" else "multi_instance",
        builder={"name": f"lcad_bench.builders.coco:{kind}", "version": BUILDER_VERSION},
        created_at=utc_now(),
        inputs=inputs,
        image_root=str(images_dir.resolve()) if not embed_images else None,
        embed_images=embed_images,
        spacy=pipeline_info(ex.nlp),
        lexicon_version=LEXICON_VERSION,
        rules_version=RULES_VERSION,
        seed=seed,
        protocol=protocol_settings(
            text_field="caption" if kind == "coco-stuff" else "instance_prompt",
            min_instance_area=MIN_INSTANCE_AREA,
            link_rule="plural->group (all eligible); singular->unique if one eligible, else "
            "largest; garments->COCO-Stuff clothes or none; parts and hair colours->none",
            multi_instance_rule=(
                "phrases of all the image's captions, anchor caption first; unique/largest/group/"
                "stuff links with disjoint instances; conflicting colours on one mask dropped"
            )
            if kind == "multi-instance"
            else None,
            masks="COCO RLE at source geometry; the evaluation applies the resize policy (nearest)",
            max_prompt_tokens=MAX_PROMPT_TOKENS if kind == "multi-instance" else None,
            prompt_token_count="clip_tokenizer"
            if tokenizer
            else ("estimate" if kind == "multi-instance" else None),
        ),
        counts={
            "captions_read": n_captions,
            "images_with_captions": n_images,
            "captions_with_lexicon_word": n_cand,
            "captions_with_hue_phrase": sum(len(v) for v in kept.values()),
            "captions_for_review": sum(
                1 for r in problems.review if r.reason == "controlled text failed validation"
            ),
            "achromatic_images_dropped": n_achromatic,
            "caption_stage_seconds": round(caption_stage_s, 3),
            **(multi_instance_counts(records, n_images) if kind == "multi-instance" else {}),
        },
        exclusions=problems.items,
        review=problems.review,
    )
    if not quiet:
        print(
            f"{kind}: {len(records)} pairs from {len({r.image_key for r in records})} images; "
            f"skipped {len(problems.items)} items {problems.counts()}; review {len(problems.review)}",
            flush=True,
        )
    sources = "COCO 2017 captions and instances (CC BY 4.0; images under their Flickr licences)" + (
        "; COCO-Stuff stuff annotations" if stuff_p else ""
    )
    return write_split(out, records, manifest, description=__doc__.split("\n\n")[0], sources=sources,
                       license="cc-by-4.0", overwrite=overwrite)  # fmt: skip


def _inside_images(
    ids: list[int], images: dict[int, ImageInfo], images_dir: Path, problems: Problems
) -> list[int]:
    """The ``ids`` whose ``file_name`` lies under ``--images`` by the split's containment rule
    (:func:`lcad_bench.splits.image_path_problem`: no absolute path, no ``..``, no symlink out
    of the folder); the others are skipped as ``image outside --images`` before they are read,
    so the split never names an image its evaluation would refuse."""
    root = images_dir.resolve()
    out = []
    for iid in ids:
        name = images[iid].file_name
        problem = image_path_problem(name, images_dir, root)
        if problem is not None:
            problems.skip(f"image {iid} ({name})", "image outside --images", problem)
            continue
        out.append(iid)
    return out


def multi_instance_counts(records: Sequence[PairRecord], n_images: int) -> dict[str, Any]:
    """Yield of a multi-instance build (docs/protocol.md#combining-captions): records per
    1,000 images with captions, how many combine captions, conflicts, phrases per record."""
    n = len(records)
    single = sum(1 for r in records if r.extra.get("captions_combined", 1) == 1)
    return {
        "multi_instance_records": n,
        "multi_instance_records_from_one_caption": single,
        "multi_instance_records_combining_captions": n - single,
        "multi_instance_yield_per_1000_images": round(1000 * n / n_images, 1) if n_images else 0.0,
        "multi_instance_yield_per_1000_images_one_caption": (
            round(1000 * single / n_images, 1) if n_images else 0.0
        ),
        "multi_instance_records_with_conflict": sum(
            1 for r in records if "cross_caption_conflict" in r.flags
        ),
        "multi_instance_phrases": sum(len(r.colour_phrases) for r in records),
        "multi_instance_group_links": sum(
            1 for r in records for i in r.linked_instances() if i.link == "group"
        ),
    }


def _excl(item: str, reason: str, detail: str):
    from lcad_bench.splits import Exclusion

    return Exclusion(item=item, reason=reason, detail=detail)


GARMENT_STUFF = "clothes"  # the COCO-Stuff category of garments


def link_phrases(
    phrases: Sequence[ColorPhrase],
    eligible: dict[str, list[AnnInfo]],
    stuff_by_base: dict[str, list[AnnInfo]] | None = None,
) -> dict[int, tuple[str, list[AnnInfo]]]:
    """phrase_id -> (link kind, instances) by the documented rule
    (docs/protocol.md#extended-coco-stuff): a plural object links to every eligible instance
    of its category (``group``); a singular one to the only one (``unique``) or the largest
    (``largest``); otherwise a stuff segment of the object's name (``stuff``). A colour that
    covers only part of an object never links the whole object: garment colours ("a man in
    green", "a red shirt") link the COCO-Stuff ``clothes`` segments when there are some, else
    nothing; part nouns ("its roof", "the first part") and hair colours on a person ("a blonde
    girl") link nothing."""
    links: dict[int, tuple[str, list[AnnInfo]]] = {}
    for p in phrases:
        kind = link_kind_of(p)
        if kind is None:
            continue
        if kind == "garment":
            if stuff_by_base and stuff_by_base.get(GARMENT_STUFF):
                links[p.phrase_id] = ("stuff", stuff_by_base[GARMENT_STUFF])
            continue
        assert p.object is not None
        cat = category_of_object(p.object.text, p.object.lemma, p.object.head)
        if cat is not None and eligible.get(cat):
            insts = eligible[cat]
            if p.object.plural:
                links[p.phrase_id] = ("group", list(insts))
            else:
                links[p.phrase_id] = (
                    "unique" if len(insts) == 1 else "largest",
                    [max(insts, key=lambda x: (x.area, -x.id))],
                )
        elif stuff_by_base and p.object.lemma in stuff_by_base:
            links[p.phrase_id] = ("stuff", stuff_by_base[p.object.lemma])
    return links


def link_kind_of(p: ColorPhrase) -> str | None:
    """How a phrase may link: "object" (by its category), "garment" (to clothes only) or None
    (no object, a part noun, a hair colour on a person)."""
    obj = p.object
    if obj is None:
        return None
    head, lemma = obj.head.lower(), obj.lemma.lower()
    if head in PART_NOUNS or lemma in PART_NOUNS:
        return None
    person = head in PERSON_NOUNS or lemma in PERSON_NOUNS
    if p.garment:
        return "garment"
    if person and set(p.canonical) and {t.text.lower() for t in p.colours} <= HAIR_COLOURS:
        return None
    if (head in GARMENT_NOUNS or lemma in GARMENT_NOUNS) and category_of_object(
        obj.text, obj.lemma, obj.head
    ) is None:
        return "garment"  # "a red shirt": the shirt, not the wearer
    return "object"


def eligible_instances(anns: Sequence[AnnInfo], h: int, w: int) -> dict[str, list[AnnInfo]]:
    """Instances a phrase may link to, per category: not crowd, area >= 1% of the image."""
    out: dict[str, list[AnnInfo]] = defaultdict(list)
    for a in anns:
        if not a.is_stuff and not a.iscrowd and a.area >= MIN_INSTANCE_AREA * h * w:
            out[a.category].append(a)
    return out


def large_categories(
    anns: Sequence[AnnInfo], rles: dict[int, dict[str, Any]], h: int, w: int
) -> set[str]:
    """Categories whose union mask covers >= 5% of the image (natural-level coverage)."""
    from lcad_bench.protocol import LARGE_CATEGORY_AREA

    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in anns:
        if a.id in rles and not a.is_stuff:
            by_cat[a.category].append(rles[a.id])
    return {c for c, rs in by_cat.items() if _rle_area(rs) >= LARGE_CATEGORY_AREA * h * w}


def _image_records(
    kind,
    info,
    image_anns,
    captions,
    checked,
    flags,
    image_bytes,
    images_dir,
    img_path,
    seed,
    problems,
    count_tokens,
    masks=None,
):
    h, w = info.height, info.width
    im = image_masks(info, image_anns, problems, masks)
    table = synonym_table()

    def cat_of_lemma(lemma: str) -> str | None:
        return table.get(lemma.lower())

    image_key = Path(info.file_name).stem
    rel = str(img_path.relative_to(images_dir)) if image_bytes is None else None
    base = {
        "source": "coco", "image_key": image_key, "image_id": str(info.id), "image_path": rel,
        "image_bytes": image_bytes, "image_sha256": checked.sha256, "width": w, "height": h,
    }  # fmt: skip
    if kind == "multi-instance":
        rec = _multi_instance_record(
            base, image_anns, im.rles, captions, im.eligible, im.stuff_by_base, cat_of_lemma,
            im.large, flags, seed, problems, count_tokens,
        )  # fmt: skip
        return [] if rec is None else [rec]
    out = []
    for k, text, a in captions:
        pair_id = f"{image_key}#{k}"
        d = controlled_levels(a, pair_id, seed)
        if d.problems:
            # a generated text failed validation: the pair goes to review, not into the split
            problems.flag(pair_id, "controlled text failed validation", "; ".join(d.problems))
            continue
        nl = natural_level(a, category_of=cat_of_lemma, large_categories=im.large)
        out.append(PairRecord(
            pair_id=pair_id, caption=text, caption_index=k, colour_phrases=a.phrases,
            natural_level=nl.level, descriptions=d.as_dict(), partial_kept_phrase_ids=d.kept_phrase_ids,
            instances=caption_instances(a.hue_phrases, im), instance_prompt=None, flags=tuple(flags),
            extra={"level_coverage": nl.coverage}, **base,
        ))  # fmt: skip
    return out


@dataclass
class ImageMasks:
    """An image's annotations ready for linking: the RLEs of those whose segmentation encodes
    (by annotation id), eligible instances per category, stuff segments per base name and the
    large categories (natural-level coverage)."""

    anns: Sequence[AnnInfo]
    rles: dict[int, dict[str, Any]]
    eligible: dict[str, list[AnnInfo]]
    stuff_by_base: dict[str, list[AnnInfo]]
    large: set[str]


def image_masks(
    info: ImageInfo,
    image_anns: Sequence[AnnInfo],
    problems: Problems,
    masks: tuple[dict[int, dict[str, Any]], dict[int, str]] | None = None,
) -> ImageMasks:
    """Encode an image's masks at its annotated size (``masks``: the (RLEs, failures) the image
    stage's workers already encoded with :func:`encode_masks`); an annotation whose segmentation
    does not encode is skipped and counted (``malformed segmentation``) and links nothing."""
    h, w = info.height, info.width
    rles, bad = (
        masks
        if masks is not None
        else encode_masks([(a.id, a.segmentation) for a in image_anns], h, w)
    )
    stuff_by_base: dict[str, list[AnnInfo]] = defaultdict(list)
    for a in image_anns:
        if a.id in bad:
            problems.skip(
                f"annotation id {a.id} (image {info.id})", "malformed segmentation", bad[a.id]
            )
            continue
        if a.is_stuff:
            stuff_by_base[a.category.split("-")[0]].append(a)
    return ImageMasks(
        image_anns,
        rles,
        eligible_instances([a for a in image_anns if a.id in rles], h, w),
        stuff_by_base,
        large_categories(image_anns, rles, h, w),
    )


def caption_instances(phrases: Sequence[ColorPhrase], im: ImageMasks) -> tuple[Instance, ...]:
    """The instances of a caption's record: its hue ``phrases`` linked by :func:`link_phrases`,
    masks named in phrase order and each instance owned by the first phrase that links it
    (:func:`instances_of`). The one rule of ``build coco-stuff`` and ``build import
    --instances`` (docs/protocol.md#extended-coco-stuff)."""
    links = link_phrases(phrases, im.eligible, im.stuff_by_base)
    chosen = [(p.phrase_id, *links[p.phrase_id]) for p in phrases if p.phrase_id in links]
    return instances_of(im.anns, im.rles, chosen)


def instances_of(
    image_anns: Sequence[AnnInfo],
    rles: dict[int, dict[str, Any]],
    chosen: Sequence[tuple[int, str, list[AnnInfo]]],
) -> tuple[Instance, ...]:
    """Every instance of the image (those whose mask encoded, in annotation order), each linked
    phrase's instances carrying its phrase id, link kind and mask name (``m00``, ``m01``, ... in
    ``chosen`` order). When two phrases link the same instance ("a red car ... a blue car" with
    one car), the **first** in ``chosen`` owns it; the later phrase's mask name is carried by
    no instance, so the phrase is not scored (docs/protocol.md#extended-coco-stuff)."""
    owner: dict[tuple[bool, int], tuple[int, str, str]] = {}
    for j, (pid, kind, insts) in enumerate(chosen):
        for inst in insts:
            owner.setdefault((inst.is_stuff, inst.id), (pid, kind, f"m{j:02d}"))
    out = []
    for an in image_anns:
        if an.id not in rles:
            continue
        pid, link, mname = owner.get((an.is_stuff, an.id), (None, None, None))
        out.append(Instance(
            an.id, an.category, an.category_id, an.bbox, rles[an.id], an.area, an.iscrowd,
            pid, link, mname,
        ))  # fmt: skip
    return tuple(out)


MULTI_LINKS = ("unique", "largest", "group", "stuff")


@dataclass
class _Cand:
    """A phrase of one of the image's captions, linked to instances."""

    k: int
    phrase: ColorPhrase
    link: str
    insts: list[AnnInfo]

    @property
    def ids(self) -> frozenset[tuple[bool, int]]:
        return frozenset((i.is_stuff, i.id) for i in self.insts)


def select_instance_phrases(
    captions: Sequence[tuple[int, str, Analysis]],
    eligible: dict[str, list[AnnInfo]],
    stuff_by_base: dict[str, list[AnnInfo]] | None = None,
) -> tuple[list[_Cand], int]:
    """The phrases of a multi-instance record (docs/protocol.md#combining-captions): hue
    phrases of all the image's captions linked ``unique``/``largest``/``group``/``stuff``, the anchor
    caption (most such phrases with pairwise disjoint instances; ties: lowest k) first, then
    the other captions in k order; a phrase whose instances overlap a chosen phrase's is left
    out; two phrases on the same instances whose colour categories differ are a conflict and
    both leave. Returns the chosen phrases in prompt order and the number of conflicts."""
    per: dict[int, list[_Cand]] = {}
    for k, _text, a in captions:
        links = link_phrases(a.hue_phrases, eligible, stuff_by_base)
        per[k] = [
            _Cand(k, p, *links[p.phrase_id])
            for p in a.hue_phrases
            if p.phrase_id in links and links[p.phrase_id][0] in MULTI_LINKS
        ]

    def disjoint(cands: list[_Cand]) -> list[_Cand]:
        used: set[tuple[bool, int]] = set()
        out = []
        for c in cands:
            if c.ids & used:
                continue
            used |= c.ids
            out.append(c)
        return out

    if not per:
        return [], 0
    anchor = max(sorted(per), key=lambda k: (len(disjoint(per[k])), -k))
    order = [anchor] + [k for k in sorted(per) if k != anchor]
    chosen: list[_Cand] = []
    dropped: set[frozenset[tuple[bool, int]]] = set()
    conflicts = 0
    for k in order:
        for c in per[k] if k != anchor else disjoint(per[k]):
            if c.ids in dropped:
                continue
            same = next((x for x in chosen if x.ids == c.ids), None)
            if same is not None:
                if set(same.phrase.categories) != set(c.phrase.categories):
                    conflicts += 1  # "a red car" / "a blue car" on one mask: neither is sure
                    chosen.remove(same)
                    dropped.add(c.ids)
                continue  # agreement: keep the first
            if any(c.ids & x.ids for x in chosen):
                continue
            chosen.append(c)
    return chosen, conflicts


def _multi_instance_record(
    base, image_anns, rles, captions, eligible, stuff_by_base, cat_of_lemma, large, flags, seed,
    problems, count_tokens,
):  # fmt: skip
    chosen, conflicts = select_instance_phrases(captions, eligible, stuff_by_base)
    rec_flags = list(flags)
    if conflicts:
        rec_flags.append("cross_caption_conflict")
    while (
        len(chosen) >= 2
        and count_tokens(", ".join(phrase_text(c.phrase) for c in chosen)) > MAX_PROMPT_TOKENS
    ):
        chosen.pop()
        if "prompt_truncated" not in rec_flags:
            rec_flags.append("prompt_truncated")
    if len(chosen) < 2:
        return None
    texts = [phrase_text(c.phrase) for c in chosen]
    prompt = ", ".join(texts)
    image_key = base["image_key"]
    anchor_k = chosen[0].k
    pair_id = f"{image_key}#{anchor_k}"
    if any(not t or "," in t for t in texts):
        problems.skip(pair_id, "invalid instance prompt", prompt)
        return None
    anchor = next((k, t, a) for k, t, a in captions if k == anchor_k)
    # the record's phrases are the prompt's, renumbered in prompt order; each one's spans index
    # its own caption (extra.phrase_sources)
    phrases = tuple(replace(c.phrase, phrase_id=j) for j, c in enumerate(chosen))
    m = len(chosen)
    sub = choose_partial(m, pair_id, seed)
    descriptions = {
        "complete": prompt,
        "partial": ", ".join(
            texts[j] if j in sub else bare_phrase_text(c.phrase) for j, c in enumerate(chosen)
        ),
        "sparse": ", ".join(bare_phrase_text(c.phrase) for c in chosen),
        "none": "",
    }
    nl = natural_level(anchor[2], category_of=cat_of_lemma, large_categories=large)
    sources = [
        {"caption_index": c.k, "phrase_id": c.phrase.phrase_id, "caption": t}
        for c in chosen
        for k, t, _a in captions
        if k == c.k
    ]
    extra = {
        "caption_descriptions": controlled_levels(anchor[2], pair_id, seed).as_dict(),
        "level_coverage": nl.coverage,
        "phrase_sources": sources,
        "captions_combined": len({c.k for c in chosen}),
    }
    return PairRecord(
        pair_id=pair_id, caption=anchor[1], caption_index=anchor_k, colour_phrases=phrases,
        natural_level=nl.level, descriptions=descriptions, partial_kept_phrase_ids=tuple(sub),
        instances=instances_of(image_anns, rles, [(j, c.link, c.insts) for j, c in enumerate(chosen)]),
        instance_prompt=prompt, flags=tuple(rec_flags), extra=extra, **base,
    )  # fmt: skip


__all__ = ["InputFormatError", "ann_to_rle", "build_coco", "category_of_object", "synonym_table"]
