"""Builders (``lcad-bench build``, ``describe``): bad inputs are named skips or clear errors,
never a traceback, an empty split with exit 0, or work thrown away at the end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rel_helpers import bomb_png, png16, rgb

from lcad_bench.errors import ExitCode
from lcad_bench.splits import load_split


def tiny_coco(root: Path, n: int = 3, captions: dict[int, str] | None = None) -> Path:
    """n COCO images (a red box on green) with one instance and one caption each."""
    from PIL import Image

    (root / "images").mkdir(parents=True)
    images, anns, caps = [], [], []
    for i in range(1, n + 1):
        arr = np.zeros((40, 60, 3), np.uint8)
        arr[..., 1] = 90
        arr[5:30, 10:40] = (220, 30, 30)
        Image.fromarray(arr).save(root / "images" / f"{i:012d}.png")
        images.append({"id": i, "file_name": f"{i:012d}.png", "width": 60, "height": 40})
        anns.append({"id": 100 + i, "image_id": i, "category_id": 3, "iscrowd": 0, "area": 750.0,
                     "bbox": [10, 5, 30, 25], "segmentation": [[10, 5, 40, 5, 40, 30, 10, 30]]})  # fmt: skip
        caps.append({"id": 200 + i, "image_id": i,
                     "caption": (captions or {}).get(i, "a red car parked on the grass")})  # fmt: skip
    cats = [{"id": 3, "name": "car", "supercategory": "vehicle"}]
    (root / "captions.json").write_text(json.dumps({"images": images, "annotations": caps}))
    (root / "instances.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats})
    )
    return root


def coco_args(root: Path, out: Path, *extra: str) -> list[str]:
    return ["build", "coco-stuff", "--captions", str(root / "captions.json"), "--instances",
            str(root / "instances.json"), "--images", str(root / "images"), "--out", str(out), "-q", *extra]  # fmt: skip


def test_lone_surrogate_caption_is_skipped_naming_it(tmp_path, cli, capsys):
    root = tiny_coco(tmp_path / "c", captions={2: "a red car \ud800 on grass"})
    # json.dumps writes the lone surrogate as the escape "\ud800", as a bad exporter would
    assert "\\ud800" in (root / "captions.json").read_text()
    assert cli(coco_args(root, tmp_path / "out")) == 0
    m = load_split(tmp_path / "out").manifest
    assert [(e.item, e.reason, e.detail) for e in m.exclusions] == [
        ("captions.json: caption id 202", "invalid caption text",
         "lone surrogate U+D800 at character 10 (not valid Unicode text)"),
    ]  # fmt: skip
    assert len(load_split(tmp_path / "out").records) == 2
    capsys.readouterr()
    assert cli(coco_args(root, tmp_path / "strict", "--strict")) == ExitCode.VERIFY
    assert "caption id 202: invalid caption text" in capsys.readouterr().err


def test_non_utf8_bytes_name_file_and_byte_offset(tmp_path, cli, capsys):
    root = tiny_coco(tmp_path / "c")
    raw = (root / "captions.json").read_bytes()
    at = raw.index(b"parked")
    (root / "captions.json").write_bytes(raw[:at] + b"\xff\xfe" + raw[at:])
    assert cli(coco_args(root, tmp_path / "out")) == ExitCode.VERIFY
    err = capsys.readouterr().err
    assert (
        f"captions.json: not UTF-8 text at byte offset {at} (line 1): bytes ff are not UTF-8" in err
    )
    assert not (tmp_path / "out").exists()


def test_describe_names_the_byte_offset_and_bad_caption(tmp_path, cli, capsys):
    f = tmp_path / "caps.txt"
    f.write_bytes(b"a red car\na blue \xe9 bus\n")
    assert cli(["describe", "--file", str(f)]) == ExitCode.VERIFY
    assert (
        "not UTF-8 text at byte offset 17 (line 2): bytes e9 are not UTF-8"
        in capsys.readouterr().err
    )
    j = tmp_path / "caps.json"
    j.write_text(json.dumps({"annotations": [{"id": 5, "image_id": 1, "caption": "x \udcff y"}]}))
    assert cli(["describe", "--file", str(j)]) == ExitCode.VERIFY
    assert (
        "annotation #0 (id 5) has a caption with a lone surrogate U+DCFF" in capsys.readouterr().err
    )


@pytest.mark.parametrize("case", ["zero_bytes", "bomb"])
def test_builder_image_problems_are_named_without_addresses(tmp_path, cli, capsys, case):
    root = tiny_coco(tmp_path / "c")
    (root / "images" / "000000000002.png").write_bytes(
        b"" if case == "zero_bytes" else bomb_png(30_000)
    )
    assert cli(coco_args(root, tmp_path / "out")) == 0
    err = capsys.readouterr().err
    (excl,) = load_split(tmp_path / "out").manifest.exclusions
    if case == "zero_bytes":
        assert excl.reason == "unreadable image" and "the file is empty (0 bytes)" in excl.detail
    else:
        assert excl.reason == "decompression bomb" and "900,000,000 pixels" in excl.detail
    assert "000000000002.png" in excl.detail and " at 0x" not in err and " at 0x" not in excl.detail


def test_all_images_missing_is_exit_3_not_an_empty_split(tmp_path, cli, capsys):
    root = tiny_coco(tmp_path / "c")
    empty = tmp_path / "wrong-folder"
    empty.mkdir()
    args = coco_args(root, tmp_path / "out")
    args[args.index("--images") + 1] = str(empty)
    assert cli(args) == ExitCode.MISSING
    err = capsys.readouterr().err
    assert "none of the 3 images the annotations name is there (e.g. 000000000001.png)" in err
    assert not (tmp_path / "out").exists()


def test_existing_out_is_refused_before_any_work(tmp_path, cli, capsys, monkeypatch):
    """The --out check comes first: the (slow) inputs are never read."""
    root = tiny_coco(tmp_path / "c")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    import lcad_bench.builders.coco as coco

    def never(*a, **k):
        raise AssertionError("inputs read before the --out check")

    monkeypatch.setattr(coco, "_load_inputs", never)
    assert cli(coco_args(root, out)) == ExitCode.USAGE
    assert "exists and is not empty; pass --overwrite" in capsys.readouterr().err


def test_imagenet_reads_16bit_grayscale_scaled(tmp_path, cli):
    """A 16-bit gray file is decoded by its high byte (as 48-bit RGB is), flagged as a grayscale
    source, and (being gray) excluded as achromatic; a 48-bit RGB file is kept with the right
    pixels. Before, 16-bit values became white (or the file was refused)."""
    from lcad_bench.imaging import decode_image

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    a48 = rgb(3).astype(np.uint16) * 257 + 100
    (imgs / "n01440764_tench.png").write_bytes(png16(a48))
    g16 = (np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16)
    (imgs / "n01443537_goldfish.png").write_bytes(png16(g16))
    assert (
        cli(["build", "imagenet", "--images", str(imgs), "--out", str(tmp_path / "s"), "-q"]) == 0
    )
    s = load_split(tmp_path / "s")
    (rec,) = s.records
    assert rec.class_name == "tench" and np.array_equal(
        s.read_image(rec).rgb, (a48 >> 8).astype(np.uint8)
    )
    (ex,) = s.manifest.exclusions
    assert ex.item == "n01443537_goldfish.png" and ex.reason == "achromatic ground truth"
    d = decode_image((imgs / "n01443537_goldfish.png").read_bytes(), "g")
    assert (
        d.grayscale and d.bits == 16 and np.array_equal(d.rgb[..., 0], (g16 >> 8).astype(np.uint8))
    )


@pytest.mark.parametrize("under", [False, True])
def test_out_that_is_a_file_is_exit_3_before_any_work_even_with_overwrite(tmp_path, under):
    """`build demo --out FILE --overwrite` used to build everything, then fail in write_split
    with a NotADirectoryError traceback (the work lost); a path under a file likewise."""
    from rel_helpers import lcad_bench

    f = tmp_path / "a-file"
    f.write_text("keep me")
    out = f / "split" if under else f
    rc, _out, err = lcad_bench("build", "demo", "--out", str(out), "--overwrite", timeout=120)
    assert rc == ExitCode.MISSING, err
    assert "Traceback" not in err
    assert f"--out {out} is " in err and "not a folder" in err and "choose another --out" in err
    assert f.read_text() == "keep me"


def test_out_file_checked_before_the_inputs_are_read(tmp_path, cli, capsys, monkeypatch):
    root = tiny_coco(tmp_path / "c")
    out = tmp_path / "out"
    out.write_text("x")
    import lcad_bench.builders.coco as coco

    def never(*a, **k):
        raise AssertionError("inputs read before the --out check")

    monkeypatch.setattr(coco, "_load_inputs", never)
    assert cli(coco_args(root, out, "--overwrite")) == ExitCode.MISSING
    assert "not a folder" in capsys.readouterr().err


def test_write_split_refuses_a_file_even_with_overwrite(tmp_path):
    from lcad_bench.splits.writer import SplitOutError, write_split

    f = tmp_path / "f"
    f.write_text("keep me")
    with pytest.raises(SplitOutError, match="not a folder") as ei:
        write_split(f, [], None, overwrite=True)  # type: ignore[arg-type]
    assert ei.value.exit_code == ExitCode.MISSING and f.read_text() == "keep me"


def test_overwrite_replaces_only_a_split_folder(tmp_path):
    """`--overwrite` on a non-empty folder that is not a split (no manifest.json) used to delete
    the whole folder; it is a usage error now, the files untouched, and a split folder is still
    replaced."""
    from rel_helpers import lcad_bench

    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    rc, _out, err = lcad_bench("build", "demo", "--out", str(out), "--overwrite", timeout=120)
    assert rc == ExitCode.USAGE, err
    assert "Traceback" not in err and "is not a split (no manifest.json)" in err
    assert (out / "thesis.tex").read_text() == "keep me"

    split = tmp_path / "split"
    assert lcad_bench("build", "demo", "--out", str(split), timeout=120)[0] == 0
    rc, _out, err = lcad_bench("build", "demo", "--out", str(split), "--overwrite", timeout=120)
    assert rc == 0, err
    assert (split / "manifest.json").is_file()
