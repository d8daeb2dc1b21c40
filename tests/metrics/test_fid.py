"""FID: Fréchet distance golden values, streaming statistics, and the code path with injected
random feature extractors (including pytorch-fid's Inception with random weights)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import linalg

from lcad_bench.metrics import MetricBatch, get_metric
from lcad_bench.metrics.fid import FID_WEIGHTS, FrechetStats, frechet_distance
from lcad_bench.metrics.weights import MANIFEST, MissingWeightsError, sha256_file, target_path


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_diagonal_closed_form():
    rng = np.random.default_rng(1)
    d = 16
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    v1, v2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, abs=1e-6)


def test_frechet_commuting_closed_form():
    rng = np.random.default_rng(2)
    d = 12
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    v1, v2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    s1, s2 = q @ np.diag(v1) @ q.T, q @ np.diag(v2) @ q.T
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, abs=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6)


def test_frechet_general_vs_scipy_and_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(3)
    d = 20
    s1, s2 = _spd(rng, d), _spd(rng, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    # independent direct form: tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), symmetric square roots
    r1 = linalg.sqrtm(s1).real
    direct = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(r1 @ s2 @ r1).real)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(direct, abs=1e-6)
    assert ours == pytest.approx(calculate_frechet_distance(mu1, s1, mu2, s2), abs=1e-9)


def test_frechet_singular_covariances_get_a_ridge():
    d = 6
    s = np.zeros((d, d))
    s[0, 0] = 1.0
    assert np.isfinite(frechet_distance(np.zeros(d), s, np.ones(d), s))


def test_streaming_stats_equal_numpy_one_vs_seven_updates_and_merge():
    rng = np.random.default_rng(4)
    feats = rng.normal(size=(70, 9)) * rng.uniform(0.5, 4, 9) + rng.normal(size=9) * 10
    one = FrechetStats(9)
    one.update(feats)
    seven = FrechetStats(9)
    for chunk in np.array_split(feats, 7):
        seven.update(chunk)
    for s in (one, seven):
        np.testing.assert_allclose(s.mean(), feats.mean(axis=0), rtol=0, atol=1e-10)
        np.testing.assert_allclose(s.cov(), np.cov(feats, rowvar=False), rtol=0, atol=1e-9)
    a, b = FrechetStats(9), FrechetStats(9)
    a.update(feats[:23])
    b.update(feats[23:])
    merged = FrechetStats.from_state_dict(a.state_dict()).merge(
        FrechetStats.from_state_dict(b.state_dict())
    )
    assert merged.n == 70
    np.testing.assert_allclose(merged.cov(), one.cov(), atol=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        FrechetStats(3).cov()
    with pytest.raises(ValueError, match="N x 3"):
        FrechetStats(3).update(np.zeros((2, 4)))


class RandomProjection:
    """A fixed random feature extractor: 8x8 average pooling, random projection, tanh."""

    def __init__(self, dims: int = 16, seed: int = 0) -> None:
        self.w = np.random.default_rng(seed).normal(size=(8 * 8 * 3, dims)) / 8.0
        self.calls = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.calls += 1
        n, h, w, _ = images.shape
        x = images.astype(np.float64).reshape(n, 8, h // 8, 8, w // 8, 3).mean(axis=(2, 4)) / 255.0
        return np.tanh(x.reshape(n, -1) @ self.w)


def _images(n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(128 + shift, 40, (n, 32, 32, 3))
    return np.clip(x, 0, 255).astype(np.uint8)


def test_fid_metric_with_injected_extractor_equals_direct_computation():
    ext = RandomProjection()
    preds, gts = _images(40, 0, shift=30), _images(40, 1)
    m = get_metric("fid", extractor=ext, dims=16)
    for i in range(0, 40, 7):  # uneven batches
        rows = m.update(
            MetricBatch(
                [f"k{j}" for j in range(i, min(i + 7, 40))], preds[i : i + 7], gts[i : i + 7]
            )
        )
        assert rows == []
    res = m.compute()
    fp, fr = ext(preds), ext(gts)
    direct = frechet_distance(
        fp.mean(0), np.cov(fp, rowvar=False), fr.mean(0), np.cov(fr, rowvar=False)
    )
    assert res["fid"] == pytest.approx(direct, abs=1e-8)
    assert res["n_real"] == res["n_fake"] == 40
    assert res["fid_small_n"] and "fid_small_n" in res["warnings"]
    assert m.describe()["injected_extractor"] is True

    # shards gathered through state_dict give the same value
    a, b = get_metric("fid", extractor=ext, dims=16), get_metric("fid", extractor=ext, dims=16)
    a.update(MetricBatch([str(i) for i in range(15)], preds[:15], gts[:15]))
    b.update(MetricBatch([str(i) for i in range(25)], preds[15:], gts[15:]))
    c = get_metric("fid", extractor=ext, dims=16)
    c.load_state_dict(a.state_dict())
    c.merge(b)
    assert c.compute()["fid"] == pytest.approx(res["fid"], abs=1e-8)
    # same images give ~0
    same = get_metric("fid", extractor=ext, dims=16)
    same.update(MetricBatch([str(i) for i in range(40)], gts, gts))
    assert same.compute()["fid"] == pytest.approx(0.0, abs=1e-6)


def test_fid_without_weights_is_a_missing_weights_error():
    m = get_metric("fid")
    with pytest.raises(MissingWeightsError) as ei:
        m.update(MetricBatch(["a", "b"], _images(2, 0), _images(2, 1)))
    assert FID_WEIGHTS in str(ei.value) and ei.value.exit_code == 3


def _random_fid_inception_file(monkeypatch):
    """Save a random network built as pytorch-fid's fid_inception_v3() builds it (minus the
    download) where the manifest says, and point the manifest's checksum at it."""
    import pytorch_fid.inception as pfi
    import torch

    torch.manual_seed(0)
    inception = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    for name, block in [
        ("Mixed_5b", pfi.FIDInceptionA(192, pool_features=32)), ("Mixed_5c", pfi.FIDInceptionA(256, pool_features=64)),
        ("Mixed_5d", pfi.FIDInceptionA(288, pool_features=64)), ("Mixed_6b", pfi.FIDInceptionC(768, channels_7x7=128)),
        ("Mixed_6c", pfi.FIDInceptionC(768, channels_7x7=160)), ("Mixed_6d", pfi.FIDInceptionC(768, channels_7x7=160)),
        ("Mixed_6e", pfi.FIDInceptionC(768, channels_7x7=192)), ("Mixed_7b", pfi.FIDInceptionE_1(1280)),
        ("Mixed_7c", pfi.FIDInceptionE_2(2048)),
    ]:  # fmt: skip
        setattr(inception, name, block)
    path = target_path(MANIFEST[FID_WEIGHTS])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(inception.state_dict(), path)
    entry = dataclasses.replace(MANIFEST[FID_WEIGHTS], sha256=sha256_file(path), size_bytes=None)
    monkeypatch.setitem(MANIFEST, FID_WEIGHTS, entry)
    return path


def test_fid_inception_code_path_with_random_weights(monkeypatch):
    """pytorch-fid's real InceptionV3 loaded through the manifest from a random-weights file:
    locate -> checksum -> offline load -> resize to 299 -> pool3 features (one image per set)."""
    _random_fid_inception_file(monkeypatch)
    m = get_metric("fid")
    m.update(MetricBatch(["a"], _images(1, 0, 20), _images(1, 1)))
    assert m.fake.n == 1 and m.real.n == 1 and m.fake.dims == 2048
    assert np.isfinite(m.fake.total).all() and np.abs(m.fake.total - m.real.total).sum() > 0
    # (compute() is not run here: sqrtm of a 2048 x 2048 matrix takes tens of seconds on a CPU)


@pytest.mark.slow
def test_fid_inception_features_equal_pytorch_fid_reference(monkeypatch):
    """Our features equal pytorch-fid's InceptionV3 fed [0, 1] tensors, as its own loader does."""
    import pytorch_fid.inception as pfi
    import torch

    path = _random_fid_inception_file(monkeypatch)
    m = get_metric("fid", batch_size=2)
    preds, gts = _images(3, 0, 20), _images(3, 1)
    m.update(MetricBatch(["a", "b", "c"], preds, gts))
    monkeypatch.setattr(
        pfi, "load_state_dict_from_url", lambda *a, **k: torch.load(path, weights_only=True)
    )
    ref_model = pfi.InceptionV3([3]).eval()
    with torch.inference_mode():
        ref = (
            ref_model(torch.from_numpy(preds).permute(0, 3, 1, 2).float() / 255.0)[0]
            .reshape(3, -1)
            .double()
            .numpy()
        )
    np.testing.assert_allclose(m.fake.total, ref.sum(0), rtol=1e-5, atol=1e-5)
    assert np.isfinite(m.compute()["fid"])
