"""Colour-word hit rate (docs/protocol.md#colour-word-hit-rate).

A unit is one colour term of a phrase linked ``unique``, ``group`` or ``stuff`` to an object mask.
Pixels are converted to 8-bit OpenCV HSV (H 0-180, S and V 0-255; :func:`rgb_to_hsv_opencv` is an
exact numpy port of OpenCV's integer ``COLOR_RGB2HSV``, so OpenCV is not a dependency) and binned
with L-CoDe's ``DIVISION`` table plus a brown row (``cwhr_table_version`` 1):

==========  ==============================================================================
black       V 0-39 (any H, S)
gray        S 13-26, V 40-255; or S 0-12, V 40-209
white       S 0-12, V 210-255
red         H 0-7 or 170-180, S 164-255
orange      H 8-20, S 27-255
yellow      H 21-30, S 27-255
green       H 31-78, S 27-255; or H 79-85, S 154-255
blue        H 79-85, S 27-153; or H 86-123, S 27-255; or H 124-131, S 201-255
purple      H 124-131, S 27-200; or H 132-143, S 27-255
pink        H 0-7, S 27-163; or H 144-170, S 27-255; or H 170-180, S 27-163
brown       H 5-22, S 51-255, V 40-170; overrides red, orange, yellow and pink
==========  ==============================================================================

Chromatic rows also need V >= 40. The table is applied as a partition (one bin per pixel): brown
first, then black, white, gray, then the chromatic rows; the one overlap of the table (H 170,
S >= 164: red and pink) goes to red.

Verdicts. A chromatic term c on an object with k chromatic terms hits if
|bin(c) & mask| / |mask & {V >= 40}| >= 0.30 / k; extended names use the union of their classes
(the lexicon's ``cwhr_classes``: navy -> blue, teal -> blue|green). Achromatic names (all classes
in black/gray/white: black, gray, white, silver) share one class, black | gray | white, over the
whole mask, and hit at >= 0.50. Names mixing achromatic and chromatic classes (cream ->
white|yellow) count as chromatic with the union of their bins.

Skips (with a reason): ``nonhue`` terms, links other than unique/group/stuff (``link:gt_colour``,
``link:largest``, ``link:none``), ``small`` masks (under 64 px after a 3 x 3 erosion with the
image outside counted as background), ``cropped`` masks (less than half kept by the crop),
``dark`` masks (no pixel with V >= 40, chromatic terms only) and ``unknown_colour`` names.
Shares are measured on the (uneroded) mask; the erosion only decides the size skip.

Per sample the metric returns the sample's chromatic and achromatic hit rates and its unit rows
(term, classes, share, threshold, verdict, reason), so thresholds can change without re-running.
A cell's ``cwhr_chromatic`` is the mean over pairs of the per-pair rates (pairs weigh equally,
and the image bootstrap applies); the summary adds the rate pooled over units, the unit counts
and the skips by reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import numpy as np

from lcad_bench.metrics.base import (
    LINK_KINDS_SCORED,
    ColumnInfo,
    LinkedPhrase,
    MetricBatch,
    MetricInfo,
    PerSampleMetric,
)

CWHR_TABLE_VERSION = 1
CHROMA_THRESHOLD = 0.30
ACHROMATIC_THRESHOLD = 0.50
MIN_MASK_PX = 64
MIN_KEPT_FRACTION = 0.5
V_MIN_CHROMATIC = 40

BINS = (
    "black",
    "gray",
    "white",
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
)
BIN_CODE = {name: i for i, name in enumerate(BINS)}
ACHROMATIC_BINS = frozenset({"black", "gray", "white"})

CWHR_INFO = MetricInfo(
    name="cwhr",
    description="Colour-word hit rate: share of the description's colour terms whose colour covers their linked object mask.",
    kind="per_sample",
    backend="numpy (OpenCV 8-bit HSV convention)",
    columns=(
        ColumnInfo("cwhr_chromatic", "CWHR chromatic", "Colour-word hit rate on chromatic terms (mean over pairs with scored units).",
                   True, 3, (0.0, 1.0), headline=True),
        ColumnInfo("cwhr_achromatic", "CWHR achromatic", "Colour-word hit rate on black / gray / white / silver terms.",
                   True, 3, (0.0, 1.0)),
        ColumnInfo("cwhr_units", "CWHR units", "Per unit: term, classes, share, threshold, verdict, reason.",
                   None, 0, dtype="json", aggregate=False),
    ),
)  # fmt: skip


# ------------------------------------------------------------------------------------------
# colour conversion and binning

_HSV_SHIFT = 12


@cache
def _hsv_tables() -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's ``sdiv_table`` and ``hdiv_table180`` (``saturate_cast<int>`` rounds half to even)."""
    i = np.arange(256, dtype=np.float64)
    with np.errstate(divide="ignore"):
        sdiv = np.where(i > 0, np.rint((255 << _HSV_SHIFT) / i), 0).astype(np.int64)
        hdiv = np.where(i > 0, np.rint((180 << _HSV_SHIFT) / (6.0 * i)), 0).astype(np.int64)
    return sdiv, hdiv


def rgb_to_hsv_opencv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H (0-179), S, V (0-255) of a uint8 ... x 3 RGB array, bit-exact with
    ``cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)`` (OpenCV's fixed-point ``RGB2HSV_b``)."""
    a = np.asarray(rgb)
    if a.dtype != np.uint8 or a.shape[-1] != 3:
        raise ValueError(f"expected a uint8 ... x 3 RGB array, got {a.dtype} {a.shape}")
    r, g, b = (a[..., i].astype(np.int64) for i in range(3))
    v = np.maximum(np.maximum(r, g), b)
    vmin = np.minimum(np.minimum(r, g), b)
    diff = v - vmin
    sdiv, hdiv = _hsv_tables()
    half = 1 << (_HSV_SHIFT - 1)
    s = (diff * sdiv[v] + half) >> _HSV_SHIFT
    h = np.where(v == r, g - b, np.where(v == g, b - r + 2 * diff, r - g + 4 * diff))
    h = (h * hdiv[diff] + half) >> _HSV_SHIFT
    h = np.where(h < 0, h + 180, h)
    return h.astype(np.uint8), s.astype(np.uint8), v.astype(np.uint8)


def bin_labels(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One bin code per pixel (index into :data:`BINS`) from OpenCV HSV."""
    h, s, v = (np.asarray(x, dtype=np.int64) for x in (h, s, v))
    lab = np.full(h.shape, -1, dtype=np.int8)
    bright = v >= V_MIN_CHROMATIC
    chrom = bright & (s >= 27)

    def put(name: str, cond: np.ndarray) -> None:
        free = lab < 0
        lab[free & cond] = BIN_CODE[name]

    put("brown", (h >= 5) & (h <= 22) & (s >= 51) & bright & (v <= 170))
    put("black", ~bright)
    put("white", (s <= 12) & (v >= 210))
    put("gray", bright & (s <= 26))  # S 13-26 any bright V, or S 0-12 with V 40-209 (white taken)
    put("red", ((h <= 7) | (h >= 170)) & (s >= 164) & bright)
    put("orange", (h >= 8) & (h <= 20) & chrom)
    put("yellow", (h >= 21) & (h <= 30) & chrom)
    put("green", (((h >= 31) & (h <= 78)) | ((h >= 79) & (h <= 85) & (s >= 154))) & chrom)
    put(
        "blue",
        (
            ((h >= 79) & (h <= 85) & (s <= 153))
            | ((h >= 86) & (h <= 123))
            | ((h >= 124) & (h <= 131) & (s >= 201))
        )
        & chrom,
    )
    put("purple", (((h >= 124) & (h <= 131) & (s <= 200)) | ((h >= 132) & (h <= 143))) & chrom)
    put(
        "pink",
        (((h <= 7) & (s <= 163)) | ((h >= 144) & (h <= 170)) | ((h >= 170) & (s <= 163))) & chrom,
    )
    if (lab < 0).any():  # the table is a partition of HSV space; a gap would be a bug here
        raise AssertionError("CWHR bin table left pixels unlabelled")
    return lab


def rgb_bins(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin codes and V of a uint8 H x W x 3 RGB image."""
    h, s, v = rgb_to_hsv_opencv(rgb)
    return bin_labels(h, s, v), v


# ------------------------------------------------------------------------------------------
# colour names -> classes


@cache
def colour_classes(name: str) -> tuple[str, ...]:
    """CWHR classes of a canonical colour name: basic names map to themselves, extended names
    to their lexicon classes (silver -> gray, white). Empty for non-hue or unknown words."""
    if name in BIN_CODE:
        return (name,)
    from lcad_bench.text.lexicon import load_lexicon

    entry = load_lexicon().colours.get(name)
    if entry is None or not entry.is_hue:
        return ()
    return tuple(c for c in entry.cwhr_classes if c in BIN_CODE)


def is_nonhue(name: str) -> bool:
    """True for colour-bearing words without a hue (colorful, striped ...)."""
    from lcad_bench.text.lexicon import load_lexicon

    lex = load_lexicon()
    return name in lex.nonhue and name not in lex.colours


def erode3(mask: np.ndarray) -> np.ndarray:
    """3 x 3 binary erosion; pixels outside the image count as background."""
    from scipy.ndimage import binary_erosion

    return binary_erosion(np.asarray(mask, bool), structure=np.ones((3, 3), bool), border_value=0)


# ------------------------------------------------------------------------------------------
# scoring


def score_units(rgb: np.ndarray, phrases: Iterable[LinkedPhrase]) -> list[dict[str, Any]]:
    """Unit rows of one image: per colour term, its share, threshold, verdict and reason."""
    labels: np.ndarray | None = None
    value: np.ndarray | None = None
    rows: list[dict[str, Any]] = []
    for ph in phrases:
        mask = np.asarray(ph.mask, bool)
        if mask.shape != rgb.shape[:2]:
            raise ValueError(
                f"CWHR mask {mask.shape} does not match image {rgb.shape[:2]} (phrase {ph.phrase_id})"
            )
        classes = [colour_classes(c) for c in ph.colours]
        chromatic = [bool(cl) and not set(cl) <= ACHROMATIC_BINS for cl in classes]
        k = sum(chromatic)
        n_px = int(mask.sum())
        n_eroded: int | None = None
        phrase_skip = None
        link = ph.link or "none"
        if link not in LINK_KINDS_SCORED:
            phrase_skip = f"link:{link}"
        elif ph.kept_fraction < MIN_KEPT_FRACTION:
            phrase_skip = "cropped"
        else:
            n_eroded = int(erode3(mask).sum())
            if n_eroded < MIN_MASK_PX:
                phrase_skip = "small"
        n_bright = 0
        in_mask: np.ndarray | None = None
        if phrase_skip is None:
            if labels is None:
                labels, value = rgb_bins(rgb)
            assert value is not None
            in_mask = labels[mask]
            n_bright = int((value[mask] >= V_MIN_CHROMATIC).sum())
        for term, cl, is_chroma in zip(ph.colours, classes, chromatic):
            row: dict[str, Any] = {
                "phrase_id": ph.phrase_id, "term": term, "classes": list(cl), "category": ph.category,
                "link": ph.link, "kind": "chromatic" if is_chroma else "achromatic", "k": k,
                "n_px": n_px, "n_px_eroded": n_eroded, "n_bright": n_bright,
                "share": None, "threshold": None, "verdict": "skip", "reason": phrase_skip,
            }  # fmt: skip
            if ph.nonhue or (not cl and is_nonhue(term)):
                row.update(kind="nonhue", reason="nonhue")
            elif not cl:
                row.update(kind="unknown", reason="unknown_colour")
            elif phrase_skip is None:
                assert in_mask is not None
                if is_chroma:
                    codes = [BIN_CODE[c] for c in cl]
                    if n_bright == 0:
                        row["reason"] = "dark"
                    else:
                        share = float(np.isin(in_mask, codes).sum()) / n_bright
                        thr = CHROMA_THRESHOLD / k
                        row.update(
                            share=share, threshold=thr, verdict="hit" if share >= thr else "miss"
                        )
                else:
                    codes = [BIN_CODE[c] for c in sorted(ACHROMATIC_BINS)]
                    share = float(np.isin(in_mask, codes).sum()) / n_px
                    thr = ACHROMATIC_THRESHOLD
                    row.update(
                        share=share, threshold=thr, verdict="hit" if share >= thr else "miss"
                    )
            rows.append(row)
    return rows


def _rate(rows: Sequence[dict[str, Any]], kind: str) -> float | None:
    scored = [r for r in rows if r["kind"] == kind and r["verdict"] != "skip"]
    if not scored:
        return None
    return sum(r["verdict"] == "hit" for r in scored) / len(scored)


def phrases_from_records(
    phrases: Sequence[dict[str, Any]], masks: np.ndarray | None, kept: Sequence[float] = ()
) -> list[LinkedPhrase]:
    """Linked phrases from the runner's prepared inputs: phrase dicts (docs/protocol.md#colour-phrase-extraction records
    with a ``link``) aligned with a K x H x W mask stack and their kept fractions."""
    if masks is None or not len(phrases):
        return []
    out = []
    for i, rec in enumerate(phrases):
        if not rec:
            continue
        out.append(
            LinkedPhrase(
                colours=tuple(
                    c.get("canonical") or c.get("text", "") for c in rec.get("colours", [])
                ),
                mask=np.asarray(masks[i], bool),
                link=rec.get("link"),
                category=rec.get("category") or "",
                phrase_id=rec.get("phrase_id"),
                nonhue=bool(rec.get("nonhue", False)),
                kept_fraction=float(kept[i]) if i < len(kept) else 1.0,
            )
        )
    return out


class CWHR(PerSampleMetric):
    """Colour-word hit rate over the batch's linked phrases (samples without phrases give no units)."""

    info = CWHR_INFO

    def score(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Per-sample ``cwhr_chromatic``, ``cwhr_achromatic`` (None without scored units) and ``cwhr_units``."""
        out = []
        for i, key in enumerate(batch.keys):
            phrases = batch.phrases[i] if batch.phrases is not None else ()
            units = score_units(batch.pred[i], phrases)
            out.append({
                "key": key, "cwhr_chromatic": _rate(units, "chromatic"), "cwhr_achromatic": _rate(units, "achromatic"),
                "cwhr_units": units,
            })  # fmt: skip
        return out

    def summarize(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Rates pooled over units, unit counts and skips by reason."""
        hits: Counter[str] = Counter()
        scored: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        n_units = 0
        for r in rows:
            for u in r.get("cwhr_units") or ():
                n_units += 1
                if u["verdict"] == "skip":
                    skipped[u["reason"]] += 1
                else:
                    scored[u["kind"]] += 1
                    hits[u["kind"]] += u["verdict"] == "hit"

        def rate(kind: str) -> float | None:
            return hits[kind] / scored[kind] if scored[kind] else None

        return {
            "cwhr_chromatic": rate("chromatic"), "cwhr_achromatic": rate("achromatic"),
            "n_cwhr_units": n_units, "n_chromatic": scored["chromatic"],
            "n_achromatic": scored["achromatic"], "n_skipped": dict(sorted(skipped.items())),
        }  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """Info plus the table version and thresholds."""
        return self.info.to_dict() | {
            "cwhr_table_version": CWHR_TABLE_VERSION, "chromatic_threshold": f"{CHROMA_THRESHOLD}/k",
            "achromatic_threshold": ACHROMATIC_THRESHOLD, "min_mask_px_after_erosion": MIN_MASK_PX,
            "min_kept_fraction": MIN_KEPT_FRACTION, "v_min_chromatic": V_MIN_CHROMATIC,
        }  # fmt: skip
