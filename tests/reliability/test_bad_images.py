"""Images that cannot be used are per-sample failures naming the file and the fix; 16-bit images
are scaled, never clipped; a source that is not what the split recorded is never scored."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from rel_helpers import (
    bomb_png,
    jpeg,
    path_split,
    png,
    png16,
    psnr_suite,
    record,
    rgb,
    rows,
    write_split_of,
)

from lcad_bench.errors import ExitCode
from lcad_bench.evaluation.runner import evaluate
from lcad_bench.models import create_model

DAMAGED = {
    "truncated_jpeg": (lambda: jpeg(rgb(1))[:400], "cannot be decoded"),
    "truncated_png": (lambda: png(rgb(1))[:300], "cannot be decoded"),
    "zero_bytes": (lambda: b"", "empty (0 bytes)"),
    "not_an_image": (lambda: b"this is not an image\n" * 4, "not an image Pillow can identify"),
    "bomb": (lambda: bomb_png(20_000), "decompression-bomb limit"),
}


@pytest.mark.parametrize("embedded", [False, True], ids=["by_path", "embedded"])
@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_undecodable_image_is_a_named_failure(tmp_path, case, embedded):
    """Each damaged kind, by path and embedded: its pairs fail with a message naming the file and
    the fix (no traceback, no exit 1), every other pair is scored, and nothing is lost."""
    make, needle = DAMAGED[case]
    bad = make()
    if embedded:
        split = write_split_of(
            tmp_path / "split", [record("good", png(rgb(0))), record("bad", bad)]
        )
    else:
        split = path_split(tmp_path, {"good": png(rgb(0)), "bad": bad})
    res = evaluate(create_model("gray"), split, tmp_path / "run", suite=psnr_suite(), quiet=True)
    rs = rows(tmp_path / "run")
    failed = [r for r in rs if r["error"]]
    assert {r["image_key"] for r in failed} == {"bad"}
    assert len(failed) == 3  # complete, sparse, none
    where = "the embedded image of bad" if embedded else str(tmp_path / "images" / "bad.img")
    for r in failed:
        assert needle in r["error"] and where in r["error"], r["error"]
        assert "restore" in r["error"] or "downscale" in r["error"]  # the fix
        assert " at 0x" not in r["error"]  # no object reprs with memory addresses
    assert all(r["psnr"] is not None for r in rs if r["image_key"] == "good")
    assert res.counts == {"samples": 6, "failed": 3}


def test_strict_stops_with_exit_5_and_keeps_finished_outputs(tmp_path, cli, capsys):
    split = path_split(tmp_path, {"a": png(rgb(0)), "b": png(rgb(1)), "c": b""})
    rc = cli(["evaluate", "--model", "gray", "--split", str(split), "--out", str(tmp_path / "run"),
              "--metrics", "psnr", "--strict", "--batch-size", "1", "-q"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == ExitCode.SAMPLES_FAILED and "c#0" in err and "empty (0 bytes)" in err
    assert "Traceback" not in err
    index = next((tmp_path / "run" / "outputs").glob("*/index.jsonl")).read_text().splitlines()
    assert len(index) == 6  # a and b at three levels each, all written before the stop


def _gt(run):
    from PIL import Image

    (gt,) = sorted((run / "gt").glob("*.png"))
    return np.asarray(Image.open(gt).convert("RGB"))


def test_16bit_grayscale_is_scaled_not_clipped(tmp_path):
    """A 16-bit gray PNG becomes v >> 8 (Pillow's convert('RGB') made every value above 255
    white); an 8-bit image stored as v * 257 (the usual 8 -> 16 widening) comes back exactly."""
    v16 = np.random.default_rng(4).integers(0, 65536, (256, 256)).astype(np.uint16)
    v8 = np.random.default_rng(3).integers(0, 256, (256, 256)).astype(np.uint16)
    for name, arr, want in (("rand", v16, v16 >> 8), ("widened", v8 * 257, v8)):
        split = write_split_of(tmp_path / f"s-{name}", [record(name, png16(arr), w=256, h=256)])
        res = evaluate(create_model("gray"), split, tmp_path / name, suite=psnr_suite(), quiet=True)
        assert res.counts["failed"] == 0
        gt = _gt(tmp_path / name)
        assert np.array_equal(gt, np.repeat(want.astype(np.uint8)[..., None], 3, -1)), name
        assert (gt < 255).mean() > 0.9  # clipping would make almost everything white


def test_48bit_rgb_is_scaled(tmp_path):
    a = np.random.default_rng(5).integers(0, 65536, (256, 256, 3)).astype(np.uint16)
    split = write_split_of(tmp_path / "s", [record("c48", png16(a), w=256, h=256)])
    evaluate(create_model("gray"), split, tmp_path / "run", suite=psnr_suite(), quiet=True)
    assert np.array_equal(_gt(tmp_path / "run"), (a >> 8).astype(np.uint8))


def test_swapped_image_fails_naming_both_hashes(tmp_path):
    good, other = png(rgb(0)), png(rgb(9))
    split = path_split(tmp_path, {"a": good, "b": png(rgb(1))})
    (tmp_path / "images" / "a.img").write_bytes(other)  # a valid image, but not the recorded one
    evaluate(create_model("gray"), split, tmp_path / "run", suite=psnr_suite(), quiet=True)
    errs = {r["error"] for r in rows(tmp_path / "run") if r["image_key"] == "a"}
    (msg,) = errs
    assert hashlib.sha256(other).hexdigest() in msg and hashlib.sha256(good).hexdigest() in msg
    assert str(tmp_path / "images" / "a.img") in msg and "restore the original file" in msg
    assert all(r["error"] is None for r in rows(tmp_path / "run") if r["image_key"] == "b")


def test_recorded_size_is_verified(tmp_path):
    split = path_split(tmp_path, {"a": png(rgb(0))}, sizes={"a": (80, 60)})
    evaluate(create_model("gray"), split, tmp_path / "run", suite=psnr_suite(), quiet=True)
    msgs = {r["error"] for r in rows(tmp_path / "run")}
    assert msgs == {f"a#0: image {tmp_path / 'images' / 'a.img'} is 64x48, the split recorded 80x60; "
                    "restore the original file or rebuild the split"}  # fmt: skip


def test_malformed_instance_rle_is_a_named_failure(tmp_path):
    """pycocotools decodes a malformed counts string into garbage without complaint: the RLE is
    checked first, and the pair fails naming the instance; the other pair is scored."""
    from lcad_bench.splits import Instance

    def inst(counts):
        return Instance(7, "box", 1, (0.0, 0.0, 8.0, 8.0), {"size": [48, 64], "counts": counts}, 64.0,
                        phrase_id=0, link="unique", mask_name="m00")  # fmt: skip

    from pycocotools import mask as mu

    m = np.zeros((48, 64), np.uint8)
    m[10:20, 10:30] = 1
    ok = mu.encode(np.asfortranarray(m))["counts"].decode()
    split = write_split_of(tmp_path / "s", [
        record("good", png(rgb(0)), instances=[inst(ok)]),
        record("bad", png(rgb(1)), instances=[inst("zzzz")]),
    ])  # fmt: skip
    res = evaluate(
        create_model("oracle-palette"), split, tmp_path / "run", suite=psnr_suite(), quiet=True
    )
    bad = [r for r in rows(tmp_path / "run") if r["error"]]
    assert {r["image_key"] for r in bad} == {"bad"} and res.counts["failed"] == 3
    assert all("instance 7 (box) has a malformed RLE mask" in r["error"] and "rebuild the split" in r["error"]
               for r in bad)  # fmt: skip


def test_decode_image_refuses_modes_that_need_a_guess():
    from PIL import Image

    from lcad_bench.imaging import ImageDecodeError, decode_image

    for mode, value in (("CMYK", (0, 255, 255, 0)), ("RGBA", (1, 2, 3, 4)), ("P", 3), ("F", 0.5)):
        import io

        buf = io.BytesIO()
        Image.new(mode, (8, 8), value).save(buf, format="TIFF")
        with pytest.raises(ImageDecodeError, match=rf"\(mode {mode}\); convert it to 8-bit RGB"):
            decode_image(buf.getvalue(), "x.tif")
