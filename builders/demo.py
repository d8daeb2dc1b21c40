"""``lcad-bench build demo``: the embedded demo split, built offline from sample photos that
installed packages ship (scikit-image, scikit-learn, matplotlib).

Captions, object nouns and hand-drawn mask shapes live in ``lcad_bench/resources/demo_split.json``.
Masks are rasterised at source geometry (polygons with ``skimage.draw.polygon``, ellipses with
``skimage.draw.ellipse``, ``exclude_*`` shapes cut out), stored as COCO RLE and linked to the colour
phrase whose object lemma is one of the instance's ``nouns``. Images are embedded as PNG bytes by
default, so the split is self-contained.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from lcad_bench.builders.coco import phrase_text  # the one instance-prompt rule
from lcad_bench.builders.common import refuse_existing_out

from lcad_bench.errors import InputFormatError
from lcad_bench.fileio import utc_now
from lcad_bench.protocol import protocol_settings
from lcad_bench.splits import Instance, Manifest, PairRecord, write_split

BUILDER_VERSION = "1"
SPLIT_NAME = "demo"
RESOURCE = "demo_split.json"


# --------------------------------------------------------------------------------------------
# resources


def demo_spec() -> dict[str, Any]:
    """The parsed ``demo_split.json`` resource."""
    return json.loads((files("lcad_bench") / "resources" / RESOURCE).read_text(encoding="utf-8"))


def load_image(loader: str) -> np.ndarray:
    """The uint8 RGB array of a demo image, from its ``loader`` string in the resource."""
    if loader.startswith("skimage.data."):
        import skimage.data

        name = loader.removeprefix("skimage.data.")
        if name == "stereo_motorcycle[0]":
            arr = skimage.data.stereo_motorcycle()[0]
        else:
            arr = getattr(skimage.data, name)()
    elif loader.startswith("sklearn.datasets.load_sample_image("):
        from sklearn.datasets import load_sample_image

        arr = load_sample_image(loader.split("'")[1])
    elif loader.startswith("matplotlib.cbook.get_sample_data("):
        from PIL import Image

        with Image.open(_matplotlib_file(loader.split("'")[1])) as im:
            arr = np.asarray(im.convert("RGB"))
    else:
        raise InputFormatError(f"{RESOURCE}: unknown image loader {loader!r}")
    arr = np.ascontiguousarray(arr)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise InputFormatError(
            f"demo image {loader} is not 8-bit RGB (dtype {arr.dtype}, shape {arr.shape})"
        )
    return arr


def _matplotlib_file(name: str) -> Path:
    import matplotlib.cbook

    return Path(matplotlib.cbook.get_sample_data(name, asfileobj=False))


def rasterise(inst: dict[str, Any], height: int, width: int) -> np.ndarray:
    """Boolean H x W mask of an instance's shapes (polygons/ellipses minus exclude_* shapes)."""
    from skimage.draw import ellipse, polygon

    def draw(
        m: np.ndarray, shapes_p: list[list[float]], shapes_e: list[list[float]], value: bool
    ) -> None:
        for p in shapes_p:
            rr, cc = polygon(
                np.asarray(p[1::2], float), np.asarray(p[0::2], float), (height, width)
            )
            m[rr, cc] = value
        for cx, cy, rx, ry in shapes_e:
            rr, cc = ellipse(cy, cx, ry, rx, (height, width))
            m[rr, cc] = value

    m = np.zeros((height, width), dtype=bool)
    draw(m, inst.get("polygons", []), inst.get("ellipses", []), True)
    draw(m, inst.get("exclude_polygons", []), inst.get("exclude_ellipses", []), False)
    return m


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO RLE of a boolean mask, JSON-friendly (counts as str)."""
    from pycocotools import mask as mask_utils

    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(x) for x in r["size"]], "counts": r["counts"].decode("ascii")}


def mask_bbox(mask: np.ndarray) -> tuple[float, float, float, float]:
    """x, y, w, h of a mask's bounding box."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (
        float(xs.min()),
        float(ys.min()),
        float(xs.max() - xs.min() + 1),
        float(ys.max() - ys.min() + 1),
    )


def _png_bytes(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# build


def build_records(
    spec: dict[str, Any], extractor: Any, seed: int = 0, embed_images: bool = True
) -> tuple[list[PairRecord], dict[str, bytes]]:
    """The demo records, and the PNG bytes of every image by image key."""
    from lcad_bench.imaging import mask_kept_fraction
    from lcad_bench.text.levels import controlled_levels, natural_level

    categories = sorted({i["category"] for im in spec["images"] for i in im["instances"]})
    cat_id = {c: n + 1 for n, c in enumerate(categories)}
    records: list[PairRecord] = []
    pngs: dict[str, bytes] = {}
    keys = [im["key"] for im in spec["images"]]
    if len(set(keys)) != len(keys):
        raise InputFormatError(f"{RESOURCE}: duplicate image keys")
    for n_img, im in enumerate(spec["images"]):
        key = im["key"]
        rgb = load_image(im["loader"])
        h, w = rgb.shape[:2]
        png = pngs[key] = _png_bytes(rgb)
        sha = hashlib.sha256(png).hexdigest()
        masks = [rasterise(inst, h, w) for inst in im["instances"]]
        for inst, m in zip(im["instances"], masks):
            if not m.any():
                raise InputFormatError(
                    f"{RESOURCE}: {key}: the mask of {inst['category']!r} is empty"
                )
        kept = {f"{n_img * 100 + j}": round(mask_kept_fraction(m), 4) for j, m in enumerate(masks)}
        analyses = extractor.analyse_many(im["captions"])
        for k, (caption, a) in enumerate(zip(im["captions"], analyses)):
            pair_id = f"{key}#{k}"
            links: dict[int, tuple[int, str]] = {}  # instance index -> (phrase id, mask name)
            linked_phrases = []
            for p in a.hue_phrases:
                if p.object is None:
                    continue
                for j, inst in enumerate(im["instances"]):
                    if j not in links and p.object.lemma in inst["nouns"]:
                        links[j] = (p.phrase_id, f"m{len(links):02d}")
                        linked_phrases.append(p)
                        break
            instances = []
            for j, (inst, m) in enumerate(zip(im["instances"], masks)):
                pid, mname = links.get(j, (None, None))
                instances.append(Instance(
                    instance_id=n_img * 100 + j, category=inst["category"], category_id=cat_id[inst["category"]],
                    bbox=mask_bbox(m), rle=mask_to_rle(m), area=float(m.sum()), iscrowd=False,
                    phrase_id=pid, link=inst.get("link", "unique") if pid is not None else None, mask_name=mname,
                ))  # fmt: skip
            d = controlled_levels(a, pair_id=pair_id, base_seed=seed)
            records.append(PairRecord(
                pair_id=pair_id, source="demo", image_key=key, image_id=key,
                image_path=None if embed_images else f"images/{key}.png",
                image_bytes=png if embed_images else None, image_sha256=sha, width=w, height=h,
                caption=caption, caption_index=k, colour_phrases=a.phrases, natural_level=natural_level(a).level,
                descriptions=d.as_dict(), partial_kept_phrase_ids=d.kept_phrase_ids, instances=tuple(instances),
                instance_prompt=", ".join(phrase_text(p) for p in linked_phrases) if len(linked_phrases) >= 2 else None,
                flags=("bw_photo_mention",) if a.bw_photo_mention else (),
                extra={"credit": im.get("credit", ""), "loader": im["loader"], "mask_kept_fraction": kept},
            ))  # fmt: skip
    return records, pngs


def build_demo(
    out: str | Path,
    embed_images: bool = True,
    overwrite: bool = True,
    *,
    seed: int = 0,
    spacy_model: str | None = None,
    quiet: bool = True,
) -> Manifest:
    """Build the demo split into ``out`` and return its manifest."""
    from lcad_bench.splits import input_file
    from lcad_bench.text.extract import get_extractor
    from lcad_bench.text.lexicon import LEXICON_VERSION
    from lcad_bench.text.rules import RULES_VERSION

    spec = demo_spec()
    refuse_existing_out(out, overwrite)
    ex = get_extractor(spacy_model)
    records, pngs = build_records(spec, ex, seed=seed, embed_images=embed_images)
    inputs = [
        input_file("demo_split.json", Path(str(files("lcad_bench") / "resources" / RESOURCE)))
    ]
    for name in ("grace_hopper.jpg",):
        inputs.append(input_file(name, _matplotlib_file(name)))
    manifest = Manifest(
        split=SPLIT_NAME,
        builder={
            "name": "lcad-bench build demo",
            "version": BUILDER_VERSION,
            **_package_versions(),
        },
        created_at=utc_now(),
        inputs=inputs,
        image_root=None,
        embed_images=embed_images,
        spacy={k: str(v) for k, v in ex.info.items()},
        lexicon_version=LEXICON_VERSION,
        rules_version=RULES_VERSION,
        seed=seed,
        protocol=protocol_settings(level_basis="caption_only", mask_geometry="source"),
        counts={
            "instances": sum(len(im["instances"]) for im in spec["images"]),
            "linked_masks": sum(len(r.linked_instances()) for r in records),
            "multi_instance_prompts": sum(1 for r in records if r.instance_prompt),
        },  # fmt: skip
    )
    m = write_split(
        out, records, manifest, overwrite=overwrite,
        description="The lcad-bench demo split: captions written for the project at every natural level, "
        "with hand-drawn instance masks linked to their colour phrases, over sample photos shipped by "
        "scikit-image, scikit-learn and matplotlib.",
        sources="\n".join(f"- `{im['key']}`: {im.get('credit', im['loader'])}" for im in spec["images"]),
        license="other",
    )  # fmt: skip
    if not embed_images:
        img_dir = Path(out) / "images"
        img_dir.mkdir(exist_ok=True)
        for key, png in pngs.items():
            (img_dir / f"{key}.png").write_bytes(png)
    if not quiet:
        print(
            f"wrote {out}: {m.counts['pairs']} pairs, {m.counts['images']} images", file=sys.stderr
        )
    return m


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("scikit-image", "scikit-learn", "matplotlib", "pillow"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            out[pkg] = "?"
    return out
