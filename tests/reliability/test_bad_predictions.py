"""Prediction files of an external method (``evaluate --predictions``) that are not 8-bit RGB are
failed samples naming the file, never truncated and scored: Pillow opens a 48-bit RGB PNG as mode
RGB (the high byte of each sample), so the bit depth is read from the file's raw mode."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from rel_helpers import lcad_bench, path_split, png, png16, rgb, rows

from lcad_bench.errors import ExitCode
from lcad_bench.evaluation import exchange


def _exported(tmp_path, cli):
    split = path_split(tmp_path / "data", {"a": png(rgb(0)), "b": png(rgb(1))})
    exp = tmp_path / "exp"
    assert cli(["export-inputs", "--split", str(split), "--out", str(exp), "-q"]) == 0
    lines = exchange.read_manifest(exp)
    for ln in lines:  # the "method": its gray input as the output, 8-bit RGB
        out = exp / ln.output
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes((exp / ln.gray).read_bytes())
    return split, exp, lines


def test_16bit_predictions_are_failed_samples_naming_the_file(tmp_path, cli):
    split, exp, lines = _exported(tmp_path, cli)
    gray = np.asarray(Image.open(exp / lines[0].gray).convert("RGB"))
    rgb48 = exp / lines[0].output  # the same pixels widened to 16 bits (v * 257): high bytes equal
    rgb48.write_bytes(png16(gray.astype(np.uint16) * 257))
    assert Image.open(rgb48).mode == "RGB"  # what Pillow says: the mode alone does not tell
    gray16 = exp / lines[1].output
    gray16.write_bytes(png16(gray[..., 0].astype(np.uint16) * 257))
    code, _out, err = lcad_bench("evaluate", "--predictions", str(exp), "--name", "m", "--split", str(split),
                                 "--metrics", "psnr", "--out", str(tmp_path / "run"), "-q")  # fmt: skip
    assert code == ExitCode.SAMPLES_FAILED and "Traceback" not in err, err[-2000:]
    errs = {(r["pair_id"], r["level"]): r["error"] for r in rows(tmp_path / "run") if r["error"]}
    assert set(errs) == {(lines[0].pair_id, lines[0].level), (lines[1].pair_id, lines[1].level)}
    e48 = errs[(lines[0].pair_id, lines[0].level)]
    assert str(rgb48) in e48 and "48-bit RGB" in e48 and "write 8-bit RGB" in e48
    e16 = errs[(lines[1].pair_id, lines[1].level)]
    assert str(gray16) in e16 and "16-bit grayscale" in e16


def test_48bit_source_images_are_still_scaled_and_recorded_as_16_bit():
    """Ground truths (source images) of 48 bits stay accepted, scaled by the high byte."""
    from lcad_bench.imaging import decode_image, stored_bits

    a = np.random.default_rng(5).integers(0, 65536, (8, 8, 3)).astype(np.uint16)
    d = decode_image(png16(a), "x.png")
    assert d.bits == 16 and d.mode == "RGB" and np.array_equal(d.rgb, (a >> 8).astype(np.uint8))
    assert stored_bits(Image.open(io.BytesIO(png(rgb(0))))) == 8
