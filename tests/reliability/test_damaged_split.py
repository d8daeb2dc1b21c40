"""The damaged-split scenario: images of a built split are damaged after the build (truncated,
0 bytes, 16-bit, a decompression bomb, a swapped file). ``evaluate`` finishes with exit 5, every
damaged image's pairs are failures naming the file, all other pairs are scored; after the files
are restored, rerunning recomputes only the failed pairs and exits 0."""

from __future__ import annotations

import shutil

import numpy as np
from rel_helpers import bomb_png, jpeg, lcad_bench, png, png16, rgb, rows, run_log

from lcad_bench.errors import ExitCode

CLASSES = ["tench", "goldfish", "shark", "ray", "cock", "hen", "ostrich", "finch"]


def test_damaged_split_fails_only_damaged_pairs_and_resumes(tmp_path, cli):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i, name in enumerate(CLASSES):
        a = rgb(10 + i)
        data = jpeg(a) if i % 2 == 0 else png(a)
        (imgs / f"n014407{60 + i:02d}_{name}.{'jpg' if i % 2 == 0 else 'png'}").write_bytes(data)
    split = tmp_path / "split"
    assert cli(["build", "imagenet", "--images", str(imgs), "--out", str(split), "-q"]) == 0
    files = sorted(imgs.iterdir())
    backup = tmp_path / "backup"
    shutil.copytree(imgs, backup)

    # damage five of the eight images after the build
    jpg0, png1, jpg2, png3, jpg4 = files[0], files[1], files[2], files[3], files[4]
    jpg0.write_bytes(jpg0.read_bytes()[:500])  # truncated
    png1.write_bytes(b"")  # 0 bytes
    from PIL import Image

    with Image.open(png3) as im:  # the same picture as 16-bit (each value widened to v * 257)
        png3_16 = png16(np.asarray(im.convert("RGB")).astype(np.uint16) * 257)
    png3.write_bytes(png3_16)
    jpg2.write_bytes(bomb_png(30_000))  # a decompression bomb
    jpg4.write_bytes(files[5].read_bytes())  # swapped: another image of the split
    damaged = {f.name for f in (jpg0, png1, jpg2, png3, jpg4)}

    out = tmp_path / "run"
    rc, stdout, stderr = lcad_bench(
        "evaluate", "--model", "gray", "--split", str(split), "--out", str(out),
        "--metrics", "psnr", "ssim", "-q",
    )  # fmt: skip
    assert rc == ExitCode.SAMPLES_FAILED, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "samples failed" in stdout  # the table's warning line
    rs = rows(out)
    assert len(rs) == 2 * len(CLASSES)  # sparse and none for every image
    failed = [r for r in rs if r["error"]]
    by_key = {f.stem: f for f in files}
    assert {by_key[r["image_key"]].name for r in failed} == damaged
    for r in failed:
        assert str(by_key[r["image_key"]]) in r["error"], r["error"]  # names the file
        assert "sha256" in r["error"] and "restore the original file" in r["error"]
    ok = [r for r in rs if not r["error"]]
    assert len(ok) == 2 * 3 and all(r["psnr"] is not None and r["ssim"] is not None for r in ok)

    # restore; the rerun computes exactly the failed pairs and reuses the rest
    for f in files:
        shutil.copy2(backup / f.name, f)
    assert cli(["evaluate", "--model", "gray", "--split", str(split), "--out", str(out),
                "--metrics", "psnr", "ssim", "-q"]) == 0  # fmt: skip
    log = run_log(out)[-1]
    assert log["computed"] == len(failed) and log["cached"] == len(ok) and log["failed"] == 0
    assert all(r["error"] is None and r["psnr"] is not None for r in rows(out))
