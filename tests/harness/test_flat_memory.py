"""What keeps ``evaluate``'s memory flat in the number of samples gives the same outputs: the
on-disk row spool, the streamed samples table and the block-wise bootstrap."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from lcad_bench.evaluation import aggregate as agg
from lcad_bench.evaluation import rundir
from lcad_bench.metrics.base import ColumnInfo

COLS = [ColumnInfo("psnr", "PSNR", "", True), ColumnInfo("units", "u", "", None, dtype="json")]


def _rows(n: int) -> list[dict]:
    out = []
    for k in range(n):
        r = {"pair_id": f"p{k // 2:05d}", "image_key": f"i{k // 4}", "level": ["complete", "none"][k % 2],
             "seed": k, "description": "a red box", "output_path": None, "output_sha256": None,
             "error": "boom" if k % 11 == 0 else None}  # fmt: skip
        if not r["error"]:
            r |= {
                "psnr": float("nan") if k % 13 == 0 else 10.0 + k / 7,
                "units": [{"k": k}],
                "extra": k % 3,
            }
        out.append(r)
    return out


def same(a, b) -> bool:  # equal rows, NaN included, with the same value types
    return [repr(r) for r in a] == [repr(r) for r in b]


def test_spool_gives_back_the_rows_in_order_with_lazy_views(tmp_path):
    rows = _rows(50)
    spool = rundir.RowSpool(tmp_path)
    for r in rows:
        spool.append(r)
    assert list(tmp_path.iterdir()) == []  # the spool's file is unlinked from the start
    assert len(spool) == 50 and same(spool, rows) and same([spool[-1]], [rows[-1]])
    assert same(rundir.level_rows(spool, "none"), [r for r in rows if r["level"] == "none"])
    ok = rundir.select_rows(spool, lambda r: not r.get("error"))
    assert same(ok, [r for r in rows if not r.get("error")]) and len(ok) == len(list(ok))
    spool.fixup = lambda k, r: r.update(output_sha256=f"s{k}")
    assert [r["output_sha256"] for r in spool] == [f"s{k}" for k in range(50)]
    spool.fixup = None
    assert agg.aggregate(spool, COLS, ["complete", "none"]) == agg.aggregate(
        rows, COLS, ["complete", "none"]
    )
    spool.close()


def test_samples_table_streams_in_row_groups_and_equals_the_rows(tmp_path):
    for n in (0, 7, rundir.SAMPLES_ROW_GROUP, 2 * rundir.SAMPLES_ROW_GROUP + 5):
        rows = _rows(n)
        spool = rundir.RowSpool(tmp_path)
        for r in rows:
            spool.append(r)
        (tmp_path / "a").mkdir(exist_ok=True)
        (tmp_path / "b").mkdir(exist_ok=True)
        ra = rundir.write_samples(tmp_path / "a", rows, COLS)
        rb = rundir.write_samples(tmp_path / "b", spool, COLS)
        spool.close()
        assert ra == rb and ra["rows"] == n  # a list and a spool give the same bytes
        assert (tmp_path / "a" / rundir.SAMPLES_FILE).read_bytes() == (
            tmp_path / "b" / rundir.SAMPLES_FILE
        ).read_bytes()
        meta = pq.read_metadata(tmp_path / "a" / rundir.SAMPLES_FILE)
        assert meta.num_rows == n and meta.num_row_groups == max(
            1, -(-n // rundir.SAMPLES_ROW_GROUP)
        )
        back = rundir.read_samples(tmp_path / "a")
        assert [r["seed"] for r in back] == [r["seed"] for r in rows]
        assert [r["units"] for r in back] == [r.get("units") for r in rows]
        assert not [p for p in (tmp_path / "a").iterdir() if p.name.endswith(".tmp")]


def test_bootstrap_in_blocks_is_the_one_draw(monkeypatch):
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 300, 900).astype(str)
    cols = [rng.normal(size=900), rng.uniform(size=900)]
    whole = agg.bootstrap_stat(cols, groups, lambda m: abs(m[0] - m[1]))
    for block in (1, 299, 301, 4096):
        monkeypatch.setattr(agg, "BOOTSTRAP_BLOCK", block)
        assert agg.bootstrap_stat(cols, groups, lambda m: abs(m[0] - m[1])) == whole
