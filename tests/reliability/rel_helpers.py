"""Helpers of the reliability tests: image bytes of every kind (good, damaged, 16-bit, bombs),
hand-made splits whose records say exactly what the test wants, small suites and the CLI."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

H, W = 48, 64


def rgb(seed: int = 0, h: int = H, w: int = W) -> np.ndarray:
    """A colourful uint8 image: a smooth field with a box, plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    c = rng.uniform(0.2, 1.0, (3, 2))
    a = np.stack([c[k, 0] * xx + c[k, 1] * yy for k in range(3)], -1)
    a = (np.clip(a, 0, 1) * 200 + 20).astype(np.uint8)
    a[h // 4 : h // 2, w // 4 : w // 2] = (200, 30, 30)
    return np.clip(a.astype(int) + rng.integers(-8, 8, a.shape), 0, 255).astype(np.uint8)


def png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def jpeg(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png16(arr: np.ndarray) -> bytes:
    """A 16-bit PNG written by hand (the PNG spec, no image library): H x W (gray) or
    H x W x 3 (48-bit RGB) uint16."""
    a = np.asarray(arr, dtype=np.uint16)
    colour_type = 0 if a.ndim == 2 else 2
    h, w = a.shape[:2]
    raw = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def bomb_png(side: int = 20_000) -> bytes:
    """A PNG whose header claims side x side RGB pixels (400 M at 20,000: over Pillow's limit)
    with almost no data: what a decompression bomb looks like before decoding."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def record(key: str, data: bytes | None, *, path: str | None = None, w: int = W, h: int = H,
           sha: str | None = None, caption: str = "a red box on a field", k: int = 0, instances=()):  # fmt: skip
    """A PairRecord without spaCy: descriptions at complete, sparse and none."""
    from lcad_bench.splits import PairRecord

    return PairRecord(
        pair_id=f"{key}#{k}", source="test", image_key=key, image_id=key, image_path=path,
        image_bytes=None if path else data,
        image_sha256=sha or hashlib.sha256(data or b"").hexdigest(), width=w, height=h,
        caption=caption, caption_index=k, colour_phrases=(), natural_level="complete",
        descriptions={"complete": caption, "partial": None, "sparse": "a box on a field", "none": ""},
        instances=tuple(instances),
    )  # fmt: skip


def write_split_of(out: Path, records, image_root: Path | None = None) -> Path:
    from lcad_bench.fileio import utc_now
    from lcad_bench.splits import Manifest, write_split

    m = Manifest(split="reliability", builder={"name": "tests", "version": "1"}, created_at=utc_now(),
                 image_root=str(image_root) if image_root else None)  # fmt: skip
    write_split(out, records, m)
    return out


def path_split(
    tmp: Path, files: dict[str, bytes], *, sizes: dict[str, tuple[int, int]] | None = None
) -> Path:
    """A split whose images are files ``tmp/images/<key>.img`` (one pair each), recorded with the
    sha256 of the bytes given."""
    img = tmp / "images"
    img.mkdir(parents=True, exist_ok=True)
    recs = []
    for key, data in files.items():
        (img / f"{key}.img").write_bytes(data)
        w, h = (sizes or {}).get(key, (W, H))
        recs.append(record(key, data, path=f"{key}.img", w=w, h=h))
    return write_split_of(tmp / "split", recs, image_root=img)


def psnr_suite():
    from lcad_bench.evaluation.suite import ProtocolSuite
    from lcad_bench.metrics import get_metric

    return ProtocolSuite({"psnr": get_metric("psnr")}, {})


def rows(run: Path) -> list[dict]:
    from lcad_bench.evaluation.rundir import read_samples

    return read_samples(run)


def run_log(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "run_log.jsonl").read_text().splitlines()]


def lcad_bench(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 240):
    """The CLI in a subprocess: (exit code, stdout, stderr)."""
    e = {**os.environ, **(env or {})}
    p = subprocess.run([sys.executable, "-m", "lcad_bench", *args], capture_output=True, text=True,
                       cwd=cwd, env=e, timeout=timeout, check=False)  # fmt: skip
    return p.returncode, p.stdout, p.stderr
