"""A protocol suite whose FID runs on a tiny deterministic feature network (no Inception weights
on test machines), and a ``python -m``-able ``lcad-bench`` entry that uses it: the CLI exactly,
with :func:`lcad_bench.evaluation.suite.build_suite` answering with this suite."""

from __future__ import annotations

import numpy as np

W = np.random.default_rng(0).normal(size=(12, 8))


def features(images):
    """8-d features from per-channel moments through a fixed random projection."""
    x = images.astype(np.float64) / 255.0
    f = np.concatenate(
        [
            x.mean((1, 2)),
            x.std((1, 2)),
            (x**2).mean((1, 2)),
            np.abs(np.diff(x, axis=1)).mean((1, 2)),
        ],
        1,
    )
    return np.tanh(f @ W)


def tiny_suite(names=None, **_kw):
    from lcad_bench.evaluation.suite import ProtocolSuite
    from lcad_bench.metrics import get_metric
    from lcad_bench.metrics.fid import FID

    per = {n: get_metric(n) for n in ("psnr", "ssim", "colourfulness", "cwhr")}
    return ProtocolSuite({**per, "fid": FID(extractor=features, dims=8)}, {},
                         {"fid": lambda: FID(extractor=features, dims=8)})  # fmt: skip


if __name__ == "__main__":
    import sys

    from lcad_bench.evaluation import suite

    suite.build_suite = tiny_suite
    from lcad_bench.cli import main

    raise SystemExit(main(sys.argv[1:]))
