"""CWHR on synthetic images painted with known colours, and the HSV port/bin table."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from lcad_bench.metrics import LinkedPhrase, MetricBatch, get_metric
from lcad_bench.metrics.cwhr import (
    BINS,
    colour_classes,
    phrases_from_records,
    rgb_bins,
    rgb_to_hsv_opencv,
    score_units,
)

# reference colours and the bin the protocol table puts them in (OpenCV HSV in comments)
PAINT = {
    "red": (220, 20, 20),  # H 0, S 232, V 220
    "blue": (30, 60, 200),  # H 112
    "navy": (0, 0, 128),  # H 120, V 128 -> blue
    "green": (40, 160, 40),  # H 60
    "yellow": (230, 220, 40),  # H 28
    "orange": (250, 140, 10),  # H 16, V 250 > 170 so not brown
    "purple": (130, 40, 190),  # H 138
    "pink": (240, 120, 200),  # H 160
    "brown": (139, 69, 19),  # H 12, S 220, V 139 -> brown override
    "white": (245, 245, 245),
    "gray": (128, 128, 128),
    "black": (10, 10, 10),
}


def _bin_of(rgb: tuple[int, int, int]) -> str:
    lab, _ = rgb_bins(np.array([[rgb]], np.uint8))
    return BINS[int(lab[0, 0])]


@pytest.mark.parametrize("name", sorted(PAINT))
def test_reference_colours_land_in_their_bin(name):
    expected = "blue" if name == "navy" else name
    assert _bin_of(PAINT[name]) == expected


def test_hsv_port_against_colorsys_and_known_values():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (4000, 3), dtype=np.uint8)
    h, s, v = rgb_to_hsv_opencv(rgb)
    ref = np.array([colorsys.rgb_to_hsv(*(c / 255.0)) for c in rgb.astype(float)])
    hd = np.abs(h.astype(float) - ref[:, 0] * 180.0)
    hd = np.minimum(hd, 180 - hd)
    assert hd.max() <= 1.0 and np.abs(s - ref[:, 1] * 255).max() <= 1.0 and (v == rgb.max(1)).all()
    px = np.array(
        [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 0, 0], [255, 255, 255]], np.uint8
    )
    h, s, v = rgb_to_hsv_opencv(px)
    assert (
        h.tolist() == [0, 60, 120, 30, 0, 0]
        and s.tolist() == [255] * 4 + [0, 0]
        and v.tolist() == [255] * 4 + [0, 255]
    )


def test_hsv_port_is_bit_exact_with_opencv_when_available():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    ref = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    ours = np.stack(rgb_to_hsv_opencv(img), -1)
    assert (ours == ref).all()


def test_bin_table_rows_on_hsv_grid():
    """Every HSV triple gets exactly one bin, consistent with the table's boxes."""
    from lcad_bench.metrics.cwhr import bin_labels

    h, s, v = np.meshgrid(np.arange(180), np.arange(0, 256, 3), np.arange(0, 256, 3), indexing="ij")
    lab = np.vectorize(BINS.__getitem__)(bin_labels(h, s, v))
    assert (lab[v < 40] == "black").all()
    brown = (h >= 5) & (h <= 22) & (s >= 51) & (v >= 40) & (v <= 170)
    assert (lab[brown] == "brown").all()
    assert (lab[(s <= 12) & (v >= 210)] == "white").all()
    assert (lab[(s >= 13) & (s <= 26) & (v >= 40)] == "gray").all()
    rest = (v >= 40) & (s >= 27) & ~brown
    assert (lab[rest & (h >= 86) & (h <= 123)] == "blue").all()
    assert (lab[rest & (h >= 31) & (h <= 78)] == "green").all()
    assert (lab[rest & (h >= 144) & (h <= 169)] == "pink").all()
    # the table's one overlap (H 170, S >= 164: red and pink) goes to red
    assert (lab[rest & (h >= 170) & (s >= 164)] == "red").all()
    assert (lab[rest & (h >= 124) & (h <= 131) & (s >= 201)] == "blue").all()


def test_extended_names_use_lexicon_classes():
    assert colour_classes("red") == ("red",)
    assert set(colour_classes("silver")) == {"gray", "white"}
    assert colour_classes("navy") == ("blue",)
    assert set(colour_classes("teal")) == {"blue", "green"}
    assert colour_classes("colorful") == ()


def _paint(canvas: np.ndarray, box: tuple[int, int, int, int], rgb) -> np.ndarray:
    y0, x0, y1, x1 = box
    canvas[y0:y1, x0:x1] = rgb
    m = np.zeros(canvas.shape[:2], bool)
    m[y0:y1, x0:x1] = True
    return m


def _scene() -> tuple[np.ndarray, list[LinkedPhrase], dict[str, tuple[str, str | None]]]:
    """A 96 x 128 canvas with painted objects; returns image, phrases and expected (verdict, reason) by term id."""
    img = np.full((96, 128, 3), (90, 160, 90), np.uint8)  # green background
    P = []

    def add(colours, box, rgb, **kw):
        m = _paint(img, box, rgb)
        P.append(LinkedPhrase(colours=tuple(colours), mask=m, phrase_id=len(P), **kw))

    add(["red"], (0, 0, 12, 12), PAINT["red"])  # 0 hit
    add(["blue"], (0, 14, 12, 26), PAINT["blue"])  # 1 hit
    add(["brown"], (0, 28, 12, 40), PAINT["brown"])  # 2 hit
    add(["white"], (0, 42, 12, 54), PAINT["white"])  # 3 achromatic hit
    add(["gray"], (0, 56, 12, 68), PAINT["gray"])  # 4 achromatic hit
    add(["red"], (0, 70, 12, 82), (30, 8, 8))  # 5 dark object: V 30 < 40 -> skip dark
    add(["red"], (0, 84, 5, 89), PAINT["red"])  # 6 tiny: 25 px, 9 after erosion -> skip small
    # 7: two-colour object, top half red, bottom half blue: k = 2, shares 0.5 >= 0.15 -> both hit
    m = _paint(img, (20, 0, 26, 12), PAINT["red"]) | _paint(img, (26, 0, 32, 12), PAINT["blue"])
    P.append(LinkedPhrase(("red", "blue"), m, phrase_id=7))
    add(["green"], (20, 14, 32, 26), PAINT["red"])  # 8 wrong colour -> miss
    add(["navy"], (20, 28, 32, 40), PAINT["navy"])  # 9 extended name -> blue -> hit
    add(["silver"], (20, 42, 32, 54), (200, 200, 205))  # 10 achromatic via lexicon -> hit
    add(["white"], (20, 56, 32, 68), PAINT["purple"])  # 11 achromatic miss
    add(["red"], (20, 70, 32, 82), PAINT["red"], link="gt_colour")  # 12 skip link
    add(["colorful"], (20, 84, 32, 96), PAINT["pink"], nonhue=True)  # 13 skip nonhue
    add(["red"], (40, 0, 52, 12), PAINT["red"], kept_fraction=0.4)  # 14 skip cropped
    # 15: "black and red": black is achromatic (share of black|gray|white over the mask), red chromatic k=1
    m = _paint(img, (40, 14, 46, 26), PAINT["black"]) | _paint(img, (46, 14, 52, 26), PAINT["red"])
    P.append(LinkedPhrase(("black", "red"), m, phrase_id=15))
    add(["red"], (40, 28, 52, 40), PAINT["red"], link="largest")  # 16 skip link
    expected = {
        (0, "red"): ("hit", None), (1, "blue"): ("hit", None), (2, "brown"): ("hit", None),
        (3, "white"): ("hit", None), (4, "gray"): ("hit", None), (5, "red"): ("skip", "dark"),
        (6, "red"): ("skip", "small"), (7, "red"): ("hit", None), (7, "blue"): ("hit", None),
        (8, "green"): ("miss", None), (9, "navy"): ("hit", None), (10, "silver"): ("hit", None),
        (11, "white"): ("miss", None), (12, "red"): ("skip", "link:gt_colour"),
        (13, "colorful"): ("skip", "nonhue"), (14, "red"): ("skip", "cropped"),
        (15, "black"): ("hit", None), (15, "red"): ("hit", None), (16, "red"): ("skip", "link:largest"),
    }  # fmt: skip
    return img, P, expected


def test_painted_scene_verdicts_and_reasons():
    img, phrases, expected = _scene()
    units = score_units(img, phrases)
    got = {(u["phrase_id"], u["term"]): (u["verdict"], u["reason"]) for u in units}
    assert got == expected
    by = {(u["phrase_id"], u["term"]): u for u in units}
    assert by[(7, "red")]["k"] == 2 and by[(7, "red")]["threshold"] == pytest.approx(0.15)
    assert by[(7, "red")]["share"] == pytest.approx(0.5) and by[(0, "red")]["share"] == 1.0
    assert by[(15, "black")]["kind"] == "achromatic" and by[(15, "black")][
        "share"
    ] == pytest.approx(0.5)
    # the black half is dark (V < 40), so it leaves the chromatic denominator
    assert by[(15, "red")]["k"] == 1 and by[(15, "red")]["share"] == pytest.approx(1.0)
    assert by[(6, "red")]["n_px"] == 25 and by[(6, "red")]["n_px_eroded"] == 9
    assert by[(5, "red")]["n_bright"] == 0


def test_metric_rates_and_skips():
    img, phrases, expected = _scene()
    m = get_metric("cwhr")
    rows = m.update(
        MetricBatch(["scene", "empty"], np.stack([img, img]), np.stack([img, img]), [phrases, []])
    )
    chroma = [
        v
        for (pid, t), v in expected.items()
        if t in ("red", "blue", "brown", "green", "navy") and v[0] != "skip"
    ]
    achro = [
        v
        for (pid, t), v in expected.items()
        if t in ("white", "gray", "silver", "black") and v[0] != "skip"
    ]
    rate_c = sum(v[0] == "hit" for v in chroma) / len(chroma)  # 7 of 8
    rate_a = sum(v[0] == "hit" for v in achro) / len(achro)  # 4 of 5
    assert rows[0]["cwhr_chromatic"] == pytest.approx(rate_c) and rows[0][
        "cwhr_achromatic"
    ] == pytest.approx(rate_a)
    assert rows[1]["cwhr_chromatic"] is None and rows[1]["cwhr_units"] == []
    res = m.compute()
    assert res["cwhr_chromatic"] == pytest.approx(7 / 8) and res[
        "cwhr_achromatic"
    ] == pytest.approx(4 / 5)
    assert res["n_cwhr_units"] == len(expected)
    assert res["n_skipped"] == {
        "cropped": 1,
        "dark": 1,
        "link:gt_colour": 1,
        "link:largest": 1,
        "nonhue": 1,
        "small": 1,
    }


def test_threshold_boundaries():
    img = np.zeros((10, 20, 3), np.uint8)
    img[:] = PAINT["green"]
    img[:, :6] = PAINT["red"]  # 60 of 200 px = 0.30 exactly
    mask = np.ones((10, 20), bool)
    u = score_units(img, [LinkedPhrase(("red",), mask)])[0]
    assert u["share"] == pytest.approx(0.30) and u["verdict"] == "hit"
    img[0, 5] = PAINT["green"]  # 59 px: 0.295 < 0.30
    assert score_units(img, [LinkedPhrase(("red",), mask)])[0]["verdict"] == "miss"
    # with two chromatic terms the bar is 0.15 each
    two = score_units(img, [LinkedPhrase(("red", "green"), mask)])
    assert [x["verdict"] for x in two] == ["hit", "hit"] and two[0]["threshold"] == pytest.approx(
        0.15
    )


def test_gray_input_scores_zero_chromatic_and_full_achromatic():
    img, phrases, _ = _scene()
    gray = np.repeat(img.mean(-1, keepdims=True).round().astype(np.uint8), 3, -1)
    units = score_units(gray, phrases)
    assert all(u["verdict"] != "hit" for u in units if u["kind"] == "chromatic")
    assert all(
        u["verdict"] == "hit" for u in units if u["kind"] == "achromatic" and u["verdict"] != "skip"
    )


def test_phrases_from_runner_records_and_batch_invariance():
    img, phrases, _ = _scene()
    recs = [{"phrase_id": p.phrase_id, "nonhue": p.nonhue, "link": p.link, "category": "thing",
             "colours": [{"text": c.upper(), "canonical": c} for c in p.colours]} for p in phrases]  # fmt: skip
    masks = np.stack([p.mask for p in phrases])
    kept = [p.kept_fraction for p in phrases]
    back = phrases_from_records(recs, masks, kept)
    assert [b.colours for b in back] == [p.colours for p in phrases]
    assert score_units(img, back) == [u | {"category": "thing"} for u in score_units(img, phrases)]
    imgs = np.stack([img, img[::-1].copy()])
    flipped = [
        LinkedPhrase(
            p.colours,
            p.mask[::-1].copy(),
            p.link,
            p.category,
            p.phrase_id,
            p.nonhue,
            p.kept_fraction,
        )
        for p in phrases
    ]
    both = get_metric("cwhr").update(MetricBatch(["a", "b"], imgs, imgs, [phrases, flipped]))
    single = get_metric("cwhr")
    ones = single.update(MetricBatch(["a"], imgs[:1], imgs[:1], [phrases])) + single.update(
        MetricBatch(["b"], imgs[1:], imgs[1:], [flipped])
    )
    assert both == ones


def test_mask_shape_mismatch_is_an_error():
    img = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="does not match"):
        score_units(img, [LinkedPhrase(("red",), np.ones((5, 5), bool))])
