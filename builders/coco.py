"""Extended COCO-Stuff and multi-instance splits from COCO captions + instances (docs/protocol.md#extended-coco-stuff, #multi-instance).

Steps (``build_coco``):

1. Read captions and instances JSON (a malformed or truncated file, or a missing top-level key,
   stops with the file and position). Per-item problems are skipped and counted (``--strict``
   stops before writing): annotations without a string caption, duplicate caption/image ids,
   captions of images not listed or whose file is missing, unreadable or non-RGB images.
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
4. Saturation test at evaluation geometry (256, short side + centre crop): chroma p99 < 6 is
   achromatic and dropped; a hue resultant >= 0.98 with p99 < 25 is kept and queued for review.
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
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from lcad_bench.builders.coco_images import (
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
    progress,
    read_json,
    refuse_existing_out,
    require_found_images,
    require_keys,
    text_problem,
)

from lcad_bench.errors import InputFormatError, MissingInputError
from lcad_bench.fileio import utc_now
from lcad_bench.protocol import choose_partial, protocol_settings
from lcad_bench.splits import Instance, Manifest, PairRecord, input_file, write_split
from lcad_bench.text.levels import controlled_levels, natural_level
from lcad_bench.text.records import Analysis, ColorPhrase
from lcad_bench.text.rules import may_contain_colour

BUILDER_VERSION = "1"
MIN_INSTANCE_AREA = 0.01
MAX_PROMPT_TOKENS = 75


# --------------------------------------------------------------------------------------------
# noun -> category


@cache
def synonym_table() -> dict[str, str]:
    """noun (lower-cased, singular or listed plural) -> COCO category name."""
    text = (files("lcad_bench") / "resources" / "coco_synonyms.tsv").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cat, nouns = line.split("\t")
        for n in [cat, *nouns.split(",")]:
            n = n.strip().lower()
            if n and n not in table:
                table[n] = cat
    return table


def category_of_object(text: str, lemma: str, head: str | None = None) -> str | None:
    """COCO category of an object: its full text (multi-word nouns first), last two words, lemma,
    head, then a naive singular."""
    table = synonym_table()
    t = text.lower().strip()
    words = t.split()
    for cand in (t, " ".join(words[-2:]), lemma.lower(), (head or "").lower()):
        if cand and cand in table:
            return table[cand]
    h = (head or lemma).lower()
    for sing in (h[:-1] if h.endswith("s") else None, h[:-2] if h.endswith("es") else None):
        if sing and sing in table:
            return table[sing]
    return None


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


def _load_inputs(captions: Path, instances: Path, stuff: Path | None, problems: Problems):
    cap_data = read_json(captions, "COCO captions file, e.g. annotations/captions_val2017.json")
    require_keys(
        cap_data,
        ("annotations",),
        str(captions),
        "Expected a COCO captions file (captions_*.json).",
    )
    # read once, annotations one at a time, polygons as float64 arrays (low peak memory)
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
    for k, im in enumerate([*inst_data["images"], *cap_data.get("images", [])]):
        src = instances if k < len(inst_data["images"]) else captions
        if not problems.require(
            im,
            ("id", "file_name", "width", "height"),
            f"{src.name}: images[{k}]",
            "malformed image entry",
        ):
            continue
        iid = int(im["id"])
        if iid in images:
            if k < len(inst_data["images"]):  # a true duplicate inside the instances file
                problems.skip(
                    f"{src.name}: image id {iid}",
                    "duplicate id",
                    f"listed twice ({im['file_name']})",
                )
            continue
        images[iid] = ImageInfo(iid, str(im["file_name"]), int(im["width"]), int(im["height"]))
    cats = {}
    for c in inst_data["categories"]:
        cats[int(c["id"])] = str(c["name"])
    anns: dict[int, list[AnnInfo]] = defaultdict(list)
    seen_ann: set[int] = set()
    sources = [(inst_data, False, instances)]
    if stuff is not None:
        stuff_data = read_instances(stuff, "COCO-Stuff file, e.g. stuff_val2017.json")
        require_keys(
            stuff_data,
            ("annotations", "categories"),
            str(stuff),
            "Expected a COCO-Stuff JSON (stuff_*.json).",
        )
        for c in stuff_data["categories"]:
            cats.setdefault(int(c["id"]), str(c["name"]))
        sources.append((stuff_data, True, stuff))
    for data, is_stuff, src in sources:
        data_anns = data["annotations"]
        for k, a in enumerate(data_anns):
            if isinstance(data_anns, list):
                data_anns[k] = None  # each decoded annotation is dropped once it is an AnnInfo
            if not isinstance(a, RawAnnotation):  # read_instances left it as decoded
                keys = ("id", "image_id", "category_id", "segmentation")
                if not problems.require(
                    a, keys, f"{src.name}: annotations[{k}]", "malformed instance annotation"
                ):
                    continue
                a = raw_annotation(a)
            aid = a.id
            if (aid, is_stuff) in seen_ann:
                problems.skip(f"{src.name}: annotation id {aid}", "duplicate id")
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
    caps: dict[int, list[tuple[int, str]]] = defaultdict(list)
    seen_cap: set[int] = set()
    for k, a in enumerate(cap_data["annotations"]):
        if not isinstance(a, dict) or not isinstance(a.get("caption"), str) or "image_id" not in a:
            problems.skip(
                f"{captions.name}: annotations[{k}]",
                "malformed caption annotation",
                "needs image_id and a string caption",
            )
            continue
        cid = int(a.get("id", k))
        if cid in seen_cap:
            problems.skip(
                f"{captions.name}: caption id {cid}", "duplicate id", "caption listed twice"
            )
            continue
        seen_cap.add(cid)
        if bad_text := text_problem(a["caption"]):
            problems.skip(f"{captions.name}: caption id {cid}", "invalid caption text", bad_text)
            continue
        caps[int(a["image_id"])].append((cid, a["caption"]))
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
    ex = get_extractor(spacy_model)
    kept, review_images, n_cand = caption_stage(items, ex, problems, quiet)
    caption_stage_s = time.perf_counter() - t0

    # image stage ------------------------------------------------------------------------------
    # decode + checks, saturation test and mask encoding run in worker processes
    # (builders/coco_images.py); results come back in image order, so any --workers gives the
    # same split
    order = sorted(kept)
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
                    f"chroma p99 {res.chroma_p99:.2f} < 6",
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
            link_rule="plural->group (all eligible); singular->unique if one eligible, else largest",
            masks="COCO RLE at source geometry; the evaluation applies the resize policy (nearest)",
            max_prompt_tokens=MAX_PROMPT_TOKENS if kind == "multi-instance" else None,
            prompt_token_count="clip_tokenizer"
            if tokenizer
            else ("estimate" if kind == "multi-instance" else None),
        ),
        counts={
            "captions_read": n_captions,
            "captions_with_lexicon_word": n_cand,
            "captions_with_hue_phrase": sum(len(v) for v in kept.values()),
            "achromatic_images_dropped": n_achromatic,
            "caption_stage_seconds": round(caption_stage_s, 3),
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


def _excl(item: str, reason: str, detail: str):
    from lcad_bench.splits import Exclusion

    return Exclusion(item=item, reason=reason, detail=detail)


def link_phrases(
    phrases: Sequence[ColorPhrase],
    eligible: dict[str, list[AnnInfo]],
    stuff_by_base: dict[str, list[AnnInfo]] | None = None,
) -> dict[int, tuple[str, list[AnnInfo]]]:
    """phrase_id -> (link kind, instances) by the documented rule: a plural object links to every
    eligible instance of its category (``group``); a singular one to the only one (``unique``) or
    the largest (``largest``); otherwise a stuff segment of the object's name (``stuff``)."""
    links: dict[int, tuple[str, list[AnnInfo]]] = {}
    for p in phrases:
        if p.object is None:
            continue
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
    # masks: (RLEs, failures) encoded by the image stage's workers (coco_images.encode_masks)
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
    eligible = eligible_instances([a for a in image_anns if a.id in rles], h, w)
    large = large_categories(image_anns, rles, h, w)
    table = synonym_table()

    def cat_of_lemma(lemma: str) -> str | None:
        return table.get(lemma.lower())

    out = []
    image_key = Path(info.file_name).stem
    rel = str(img_path.relative_to(images_dir)) if image_bytes is None else None
    for k, text, a in captions:
        links = link_phrases(a.hue_phrases, eligible, stuff_by_base)
        nl = natural_level(a, category_of=cat_of_lemma, large_categories=large)
        rec_flags = list(flags)
        prompt = None
        phrase_order = [p for p in a.hue_phrases if p.phrase_id in links]
        if kind == "multi-instance":
            used: set[int] = set()
            chosen = []
            for p in phrase_order:
                kind_l, insts = links[p.phrase_id]
                if kind_l not in ("unique", "largest") or insts[0].id in used:
                    continue
                used.add(insts[0].id)
                chosen.append(p)
            while (
                len(chosen) >= 2
                and count_tokens(", ".join(phrase_text(p) for p in chosen)) > MAX_PROMPT_TOKENS
            ):
                chosen.pop()
                rec_flags.append("prompt_truncated")
            if len(chosen) < 2:
                continue
            phrase_order = chosen
            prompt = ", ".join(phrase_text(p) for p in chosen)
            if any(not phrase_text(p) or "," in phrase_text(p) for p in chosen) or prompt.endswith(
                ","
            ):
                problems.skip(f"{image_key}#{k}", "invalid instance prompt", prompt)
                continue
        mask_name = {p.phrase_id: f"m{j:02d}" for j, p in enumerate(phrase_order)}
        instances = []
        for an in image_anns:
            if an.id not in rles:
                continue
            pid = link = mname = None
            for ph_id, (lk, insts) in links.items():
                if ph_id in mask_name and any(i.id == an.id for i in insts):
                    pid, link, mname = ph_id, lk, mask_name[ph_id]
                    break
            instances.append(
                Instance(
                    an.id,
                    an.category,
                    an.category_id,
                    an.bbox,
                    rles[an.id],
                    an.area,
                    an.iscrowd,
                    pid,
                    link,
                    mname,
                )
            )
        pair_id = f"{image_key}#{k}"
        if kind == "multi-instance":
            m = len(phrase_order)
            sub = choose_partial(m, pair_id, seed)
            descriptions = {
                "complete": prompt,
                "partial": ", ".join(
                    phrase_text(p) if j in sub else bare_phrase_text(p)
                    for j, p in enumerate(phrase_order)
                ),
                "sparse": ", ".join(bare_phrase_text(p) for p in phrase_order),
                "none": "",
            }
            kept_ids = tuple(phrase_order[j].phrase_id for j in sub)
            extra = {"caption_descriptions": controlled_levels(a, pair_id, seed).as_dict()}
        else:
            d = controlled_levels(a, pair_id, seed)
            descriptions, kept_ids, extra = d.as_dict(), d.kept_phrase_ids, {}
        extra["level_coverage"] = nl.coverage
        out.append(PairRecord(
            pair_id=pair_id, source="coco", image_key=image_key, image_id=str(info.id), image_path=rel,
            image_bytes=image_bytes, image_sha256=checked.sha256, width=w, height=h, caption=text, caption_index=k,
            colour_phrases=a.phrases, natural_level=nl.level, descriptions=descriptions,
            partial_kept_phrase_ids=kept_ids, instances=tuple(instances), instance_prompt=prompt,
            flags=tuple(rec_flags), extra=extra,
        ))  # fmt: skip
    return out


__all__ = ["InputFormatError", "ann_to_rle", "build_coco", "category_of_object", "synonym_table"]
