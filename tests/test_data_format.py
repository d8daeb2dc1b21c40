"""The split format: write, load typed records, load with `datasets`, verify the manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError
from lcad_bench.fileio import utc_now
from lcad_bench.splits import Instance, Manifest, PairRecord, content_hash, load_split, write_split


def _rle(mask):
    from pycocotools import mask as mask_utils

    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(x) for x in r["size"]], "counts": r["counts"].decode("ascii")}


def make_records(extractor, n=3):
    from lcad_bench.text.levels import controlled_levels, natural_level

    recs = []
    caps = ["a red car next to a blue truck", "the sky is blue", "a dog on a beach"]
    for i in range(n):
        cap = caps[i % 3]
        a = extractor.analyse(cap)
        m = np.zeros((8, 10), bool)
        m[2:5, 3:7] = True
        d = controlled_levels(a, pair_id=f"img{i}#0")
        recs.append(PairRecord(
            pair_id=f"img{i}#0", source="test", image_key=f"img{i}", image_id=str(i), image_path=f"img{i}.png",
            image_bytes=None, image_sha256="0" * 64, width=10, height=8, caption=cap, caption_index=0,
            colour_phrases=a.phrases, natural_level=natural_level(a).level, descriptions=d.as_dict(),
            partial_kept_phrase_ids=d.kept_phrase_ids,
            instances=(Instance(1, "car", 3, (3.0, 2.0, 4.0, 3.0), _rle(m), 12.0, False, 0, "unique", "m00"),),
        ))  # fmt: skip
    return recs


def manifest():
    return Manifest(split="test", builder={"name": "test", "version": "1"}, created_at=utc_now())


def test_round_trip_and_datasets(tmp_path, extractor):
    recs = make_records(extractor)
    out = tmp_path / "split"
    m = write_split(out, list(reversed(recs)), manifest())
    assert m.counts["pairs"] == 3 and m.counts["natural_levels"] == {
        "complete": 2,
        "partial": 0,
        "sparse": 1,
        "none": 0,
    }
    s = load_split(out)
    assert [r.pair_id for r in s.records] == ["img0#0", "img1#0", "img2#0"]
    assert s.records == recs
    assert s.records[0].instances[0].decode().sum() == 12
    assert m.content_hash == content_hash(recs)

    import datasets

    ds = datasets.load_dataset(str(out), split="test")
    assert ds.num_rows == 3 and ds[0]["pair_id"] == "img0#0"
    assert ds[0]["desc_sparse"] == "a car next to a truck"
    assert json.loads(ds[0]["colour_phrases"])[0]["colours"][0]["text"] == "red"
    assert "configs:" in (out / "README.md").read_text()


def test_rebuild_is_byte_identical(tmp_path, extractor):
    a = write_split(tmp_path / "a", make_records(extractor), manifest())
    b = write_split(tmp_path / "b", make_records(extractor), manifest())
    assert a.content_hash == b.content_hash
    assert (tmp_path / "a/data/test-00000-of-00001.parquet").read_bytes() == (
        tmp_path / "b/data/test-00000-of-00001.parquet"
    ).read_bytes()


def test_verification_errors(tmp_path, extractor):
    out = tmp_path / "s"
    write_split(out, make_records(extractor), manifest())
    with pytest.raises(UsageError, match="--overwrite"):
        write_split(out, make_records(extractor), manifest())
    shard = out / "data/test-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(InputFormatError, match="sha256 differs"):
        load_split(out)
    with pytest.raises(MissingInputError, match="no manifest.json"):
        load_split(tmp_path)
    (out / "manifest.json").write_text('{"split": 1}')
    with pytest.raises(InputFormatError, match="invalid manifest"):
        load_split(out)


def test_duplicate_pair_ids_refused(tmp_path, extractor):
    recs = make_records(extractor, 1) * 2
    with pytest.raises(InputFormatError, match="duplicate pair ids"):
        write_split(tmp_path / "d", recs, manifest())
    assert not (tmp_path / "d").exists()
