"""A split reads only files under the roots it names: image paths that climb out (``..``), are
absolute or are symlinks out of the image root fail per sample; shard paths that leave the split
folder and shards that are corrupt though checksummed stop with exit 4 and a message."""

from __future__ import annotations

import hashlib
import os

import pytest
from rel_helpers import lcad_bench, png, psnr_suite, record, rgb, rows, write_split_of

from lcad_bench.errors import ExitCode, InputFormatError
from lcad_bench.evaluation.runner import evaluate
from lcad_bench.models import create_model
from lcad_bench.splits import load_split


@pytest.fixture
def layout(tmp_path):
    """images/ (the root) with good.png; outside/secret.png next to it."""
    root, outside = tmp_path / "images", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    good, secret = png(rgb(0)), png(rgb(1))
    (root / "good.png").write_bytes(good)
    (outside / "secret.png").write_bytes(secret)
    return root, outside, good, secret


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink_out"])
def test_image_path_escaping_the_root_is_refused(tmp_path, layout, case):
    root, outside, good, secret = layout
    if case == "dotdot":
        path = "../outside/secret.png"
    elif case == "absolute":
        path = str(outside / "secret.png")
    else:
        os.symlink(outside / "secret.png", root / "link.png")
        path = "link.png"
    split = write_split_of(tmp_path / "split", [
        record("good", good, path="good.png"), record("esc", secret, path=path),
    ], image_root=root)  # fmt: skip
    res = evaluate(create_model("gray"), split, tmp_path / "run", suite=psnr_suite(), quiet=True)
    bad = [r for r in rows(tmp_path / "run") if r["error"]]
    assert {r["image_key"] for r in bad} == {"esc"} and res.counts["failed"] == 3
    needle = "outside image_root" if case == "symlink_out" else "is not a plain relative path"
    for r in bad:
        assert needle in r["error"] and "rebuild the split" in r["error"], r["error"]


def test_symlink_inside_the_root_is_fine(tmp_path, layout):
    root, _, good, _ = layout
    (root / "sub").mkdir()
    os.symlink(root / "good.png", root / "sub" / "alias.png")
    split = write_split_of(
        tmp_path / "split", [record("alias", good, path="sub/alias.png")], image_root=root
    )
    res = evaluate(create_model("gray"), split, tmp_path / "run", suite=psnr_suite(), quiet=True)
    assert res.counts["failed"] == 0


def test_relative_image_root_is_relative_to_the_split_folder(tmp_path, layout, monkeypatch):
    root, _, good, _ = layout
    split = write_split_of(
        tmp_path / "split", [record("good", good, path="good.png")], image_root=None
    )
    m = load_split(split).manifest.model_copy(update={"image_root": "../images"})
    (split / "manifest.json").write_text(m.model_dump_json())
    s = load_split(split)
    assert s.image_file(s.records[0]) == split / "../images" / "good.png"
    monkeypatch.chdir(tmp_path / "outside")  # never relative to the working folder
    assert s.read_image(s.records[0]).width == 64


def test_shard_path_leaving_the_split_folder_is_refused(tmp_path):
    split = write_split_of(tmp_path / "split", [record("a", png(rgb(0)))])
    m = load_split(split).manifest
    shard = m.shards[0]
    (tmp_path / "elsewhere.parquet").write_bytes((split / shard.path).read_bytes())
    m2 = m.model_copy(
        update={"shards": [shard.model_copy(update={"path": "../elsewhere.parquet"})]}
    )
    (split / "manifest.json").write_text(m2.model_dump_json())
    with pytest.raises(
        InputFormatError, match=r"shard path '../elsewhere.parquet' leaves the split folder"
    ):
        load_split(split)


def test_corrupt_but_checksummed_shard_is_exit_4_naming_it(tmp_path):
    """The shard's sha256 matches the manifest (it was written corrupt), yet pyarrow cannot read
    it: no pair of it is known, so the run stops before anything (exit 4), naming the shard."""
    split = write_split_of(tmp_path / "split", [record("a", png(rgb(0)))])
    m = load_split(split).manifest
    shard = m.shards[0]
    bad = b"PAR1" + b"\x00" * 100 + b"PAR1"
    (split / shard.path).write_bytes(bad)
    m2 = m.model_copy(
        update={"shards": [shard.model_copy(update={"sha256": hashlib.sha256(bad).hexdigest()})]}
    )
    (split / "manifest.json").write_text(m2.model_dump_json())
    rc, _, err = lcad_bench(
        "evaluate", "--model", "gray", "--split", str(split), "--out", str(tmp_path / "run")
    )
    assert rc == ExitCode.VERIFY, err
    assert str(split / shard.path) in err and "matches its checksum but cannot be read" in err
    assert "rebuild the split" in err and "Traceback" not in err
