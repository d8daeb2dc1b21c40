"""FID (docs/protocol.md#fid) with streaming float64 sufficient statistics.

Features: pytorch-fid's TF-ported Inception (``pt_inception-2015-12-05``), pool3, 2048-d, with the
backend's own bilinear resize to 299 and [-1, 1] scaling; inputs are the uint8 RGB images / 255,
as pytorch-fid's own loader feeds them. The fake set is every evaluated output; the real set is
the GT of each pair with a successful output, once (the runner adds it at the pair's first
successful seed).

Statistics: per set ``n``, the feature sum and the sum of outer products, in float64 (about 32 MB
at 2048-d whatever N is). ``mean = s / n`` and ``cov = (S - n mean mean^T) / (n - 1)`` equal
numpy's ``mean`` and ``cov`` (ddof 1, as pytorch-fid). Shards combine with :meth:`FrechetStats.merge`
or through ``state_dict()`` / ``load_state_dict()``. The distance uses scipy's ``sqrtm`` exactly as
pytorch-fid's ``calculate_frechet_distance`` does. Runs under 5,000 pairs are flagged
``fid_small_n``.

Weights come from the torch hub cache through the manifest; pytorch-fid's download hook is
replaced, for the duration of the construction only, by a loader of the verified local file.
Tests inject a feature extractor (``extractor=``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lcad_bench.metrics.base import ColumnInfo, DistributionMetric, MetricBatch, MetricInfo
from lcad_bench.metrics.weights import MANIFEST

FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
FID_DIMS = 2048
FID_SMALL_N = 5000
KID_BELOW_N = 2000

FID_INFO = MetricInfo(
    name="fid",
    description="Fréchet Inception distance between outputs and the GTs of the same pairs (pytorch-fid Inception, pool3).",
    kind="distribution",
    backend="pytorch-fid",
    columns=(
        ColumnInfo("fid", "FID", "FID (pytorch-fid TF Inception, pool3) to the GTs of the same pairs; compare only at equal N.",
                   False, 2, (0.0, None), headline=True),
    ),
    weights=(MANIFEST[FID_WEIGHTS],),
)  # fmt: skip


@dataclass
class FrechetStats:
    """Streaming sufficient statistics of a feature set: count, sum, sum of outer products."""

    dims: int
    n: int = 0
    total: np.ndarray = field(default=None)  # type: ignore[assignment]
    outer: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.total is None:
            self.total = np.zeros(self.dims, dtype=np.float64)
        if self.outer is None:
            self.outer = np.zeros((self.dims, self.dims), dtype=np.float64)

    def update(self, features: np.ndarray) -> None:
        """Add an N x D batch of features."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.dims:
            raise ValueError(f"expected N x {self.dims} features, got shape {f.shape}")
        if not np.isfinite(f).all():
            raise ValueError("features contain NaN or inf")
        self.n += f.shape[0]
        self.total += f.sum(axis=0)
        self.outer += f.T @ f

    def merge(self, other: FrechetStats) -> FrechetStats:
        """Add another shard's statistics in place (returns self)."""
        if other.dims != self.dims:
            raise ValueError(f"cannot merge {other.dims}-d statistics into {self.dims}-d ones")
        self.n += other.n
        self.total += other.total
        self.outer += other.outer
        return self

    def mean(self) -> np.ndarray:
        """Feature mean."""
        if self.n < 1:
            raise ValueError("no features seen")
        return self.total / self.n

    def cov(self) -> np.ndarray:
        """Unbiased covariance (ddof 1), as ``np.cov(features, rowvar=False)``."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.n}")
        mu = self.mean()
        c = (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return (c + c.T) / 2.0

    def state_dict(self) -> dict[str, Any]:
        """Arrays and counts (for ``np.savez`` or gathering shards)."""
        return {
            "dims": self.dims,
            "n": self.n,
            "total": self.total.copy(),
            "outer": self.outer.copy(),
        }

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> FrechetStats:
        """Inverse of :meth:`state_dict`."""
        return cls(
            int(d["dims"]),
            int(d["n"]),
            np.asarray(d["total"], np.float64).copy(),
            np.asarray(d["outer"], np.float64).copy(),
        )


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2):
    |mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)), as pytorch-fid computes it
    (scipy ``sqrtm``; an ``eps`` ridge when the product is singular; a negligible imaginary part
    is dropped, a large one is an error)."""
    from scipy import linalg

    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("mean vectors and covariances must have matching shapes")
    diff = mu1 - mu2
    # pytorch-fid passes disp=False: a singular product is handled below, not warned about
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"sqrtm has a large imaginary component {np.max(np.abs(covmean.imag))}"
            )
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


class InceptionFeatures:
    """pytorch-fid's ``InceptionV3([pool3])`` on verified local weights: uint8 N x H x W x 3 ->
    float N x 2048. Batches of ``batch_size`` images; the values do not depend on it beyond float
    rounding."""

    def __init__(
        self, weights_path: str | None = None, device: str = "cpu", batch_size: int = 50
    ) -> None:
        import pytorch_fid.inception as pfi
        import torch

        from lcad_bench.metrics.weights import locate

        path = weights_path or str(locate(FID_WEIGHTS, metric="fid"))

        def _local(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.endswith(FID_WEIGHTS):
                raise RuntimeError(
                    f"pytorch-fid asked for {url}; only {FID_WEIGHTS} is provided offline"
                )
            return torch.load(path, map_location="cpu", weights_only=True)

        original = pfi.load_state_dict_from_url
        pfi.load_state_dict_from_url = _local
        try:
            model = pfi.InceptionV3(
                [pfi.InceptionV3.BLOCK_INDEX_BY_DIM[FID_DIMS]],
                resize_input=True,
                normalize_input=True,
            )
        finally:
            pfi.load_state_dict_from_url = original
        self.model = model.eval().to(device)
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.weights_path = path

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Pool3 features of uint8 RGB images."""
        import torch

        out = []
        for i in range(0, images.shape[0], self.batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[i : i + self.batch_size])).permute(
                0, 3, 1, 2
            )
            x = x.to(self.device, torch.float32) / 255.0
            with torch.inference_mode():
                f = self.model(x)[0]
            out.append(f.reshape(f.shape[0], -1).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, FID_DIMS))


class FID(DistributionMetric):
    """Streaming FID of outputs against the GTs of the same pairs.

    ``extractor`` injects a feature function ``uint8 N x H x W x 3 -> N x dims``; tests use it with
    random networks, such values are not comparable and ``describe()`` says so."""

    info = FID_INFO

    def __init__(
        self,
        *,
        extractor: Callable[[np.ndarray], np.ndarray] | None = None,
        dims: int = FID_DIMS,
        device: str = "cpu",
        batch_size: int = 50,
    ) -> None:
        self.dims = dims
        self.device = device
        self.batch_size = batch_size
        self.injected = extractor is not None
        self._extractor = extractor
        super().__init__()

    @property
    def extractor(self) -> Callable[[np.ndarray], np.ndarray]:
        """The feature function, loaded on first use."""
        if self._extractor is None:
            self._extractor = InceptionFeatures(device=self.device, batch_size=self.batch_size)
        return self._extractor

    def reset(self) -> None:
        """Forget everything."""
        self.real = FrechetStats(self.dims)
        self.fake = FrechetStats(self.dims)

    def update(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Add the batch's outputs (fake) and GTs (real); no per-sample rows."""
        self.update_features(self.extractor(batch.pred), self.extractor(batch.gt))
        return []

    def update_sets(self, fake: np.ndarray | None, real: np.ndarray | None) -> None:
        """Add outputs (fake) and ground truths (real) as uint8 N x H x W x 3 arrays; the two
        sets may differ in size (several seeds: every output, each ground truth once)."""
        if fake is not None and len(fake):
            self.fake.update(self.extractor(fake))
        if real is not None and len(real):
            self.real.update(self.extractor(real))

    def update_features(self, fake: np.ndarray, real: np.ndarray) -> None:
        """Add precomputed features (shared-feature pipelines)."""
        self.fake.update(fake)
        self.real.update(real)

    def merge(self, other: FID) -> FID:
        """Add another shard's statistics (returns self)."""
        self.real.merge(other.real)
        self.fake.merge(other.fake)
        return self

    def state_dict(self) -> dict[str, Any]:
        """Both sets' statistics."""
        return {"real": self.real.state_dict(), "fake": self.fake.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the statistics by gathered ones."""
        self.real = FrechetStats.from_state_dict(state["real"])
        self.fake = FrechetStats.from_state_dict(state["fake"])

    def compute(self) -> dict[str, Any]:
        """FID with n_real, n_fake and warnings (``fid_small_n`` under 5,000 pairs)."""
        value = frechet_distance(
            self.fake.mean(), self.fake.cov(), self.real.mean(), self.real.cov()
        )
        flags = []
        if min(self.real.n, self.fake.n) < FID_SMALL_N:
            flags.append("fid_small_n")
        return {
            "fid": value, "n_real": self.real.n, "n_fake": self.fake.n, "fid_backend": self.info.backend,
            "fid_small_n": "fid_small_n" in flags, "kid_preferred": min(self.real.n, self.fake.n) < KID_BELOW_N,
            "warnings": flags,
        }  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """Info plus dims and whether the extractor was injected."""
        import pytorch_fid

        return self.info.to_dict() | {
            "dims": self.dims, "fid_real_set": "gt_of_same_pairs", "injected_extractor": self.injected,
            "package_version": getattr(pytorch_fid, "__version__", None),
        }  # fmt: skip
