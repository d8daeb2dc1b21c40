"""LPIPS code path with random networks, compared to calling the lpips package directly."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from lcad_bench.metrics import MetricBatch, get_metric
from lcad_bench.metrics.weights import (
    MANIFEST,
    MissingWeightsError,
    WeightsChecksumError,
    sha256_file,
    target_path,
)


def _lpips(net: str = "alex", **kw):
    import lpips

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lpips.LPIPS(net=net, version="0.1", verbose=False, **kw).eval()


def _pairs(n: int = 4, size: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    pred = np.clip(
        gt.astype(int)
        + rng.integers(-60, 60, gt.shape) * np.arange(1, n + 1)[:, None, None, None] // n,
        0,
        255,
    )
    return pred.astype(np.uint8), gt


def _reference(net, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    t = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1  # noqa: E731
    with torch.no_grad():
        return np.array([float(net(t(p[None]), t(g[None]))) for p, g in zip(pred, gt)])


def test_injected_random_network_matches_lpips_package_per_pair():
    net = _lpips("alex", pretrained=False, pnet_rand=True)
    pred, gt = _pairs()
    m = get_metric("lpips", model=net, batch_size=3)
    rows = m.update(MetricBatch([f"k{i}" for i in range(4)], pred, gt))
    ours = np.array([r["lpips"] for r in rows])
    np.testing.assert_allclose(ours, _reference(net, pred, gt), rtol=1e-5, atol=1e-7)
    assert len(set(np.round(ours, 6))) == 4  # per pair, never a batch mean
    res = m.compute()
    assert (
        res["lpips"] == pytest.approx(ours.mean()) and res["n"] == 4 and res["lpips_net"] == "alex"
    )
    assert m.describe()["injected_network"] is True


def test_batch_size_one_equals_batch_n():
    net = _lpips("alex", pretrained=False, pnet_rand=True)
    pred, gt = _pairs(5)
    keys = [f"k{i}" for i in range(5)]
    big = get_metric("lpips", model=net, batch_size=5).update(MetricBatch(keys, pred, gt))
    one = get_metric("lpips", model=net, batch_size=1).update(MetricBatch(keys, pred, gt))
    np.testing.assert_allclose(
        [r["lpips"] for r in big], [r["lpips"] for r in one], rtol=1e-5, atol=1e-7
    )


def test_missing_trunk_is_an_error_not_a_fallback():
    m = get_metric("lpips")
    pred, gt = _pairs(1)
    with pytest.raises(MissingWeightsError) as ei:
        m.update(MetricBatch(["a"], pred, gt))
    msg = str(ei.value)
    assert (
        "alexnet-owt-7be5be79.pth" in msg
        and "'lpips'" in msg
        and "lcad-bench weights import" in msg
    )
    with pytest.raises(MissingWeightsError, match="vgg16-397923af.pth"):
        get_metric("lpips_vgg").update(MetricBatch(["a"], pred, gt))


def test_loading_path_from_cache_matches_lpips_pretrained_construction(monkeypatch):
    """A random torchvision AlexNet stands in for the ImageNet trunk: saved (features only) as
    the cache file, loaded by our offline path, and compared with the lpips package building
    LPIPS(pretrained=True, pnet_rand=False) around the same torchvision network."""
    import lpips.pretrained_networks as pn
    import torchvision

    from lcad_bench.metrics.lpips import TRUNK_FILES, load_lpips_network

    torch.manual_seed(1)
    tv_net = torchvision.models.alexnet(weights=None)
    name = TRUNK_FILES["alex"]
    path = target_path(MANIFEST[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v for k, v in tv_net.state_dict().items() if k.startswith("features.")}, path)
    entry = dataclasses.replace(MANIFEST[name], sha256=sha256_file(path), sha256_prefix_only=False)
    monkeypatch.setitem(MANIFEST, name, entry)

    ours = load_lpips_network("alex")
    # what LPIPS(pnet_rand=False) would download through torchvision
    monkeypatch.setattr(pn.tv, "alexnet", lambda *a, **k: tv_net)
    ref = _lpips("alex", pretrained=True, pnet_rand=False)
    pred, gt = _pairs(3, 64, seed=2)
    m = get_metric("lpips", model=ours)
    vals = [r["lpips"] for r in m.update(MetricBatch(["a", "b", "c"], pred, gt))]
    np.testing.assert_allclose(vals, _reference(ref, pred, gt), rtol=1e-5, atol=1e-7)
    # and through the registry with no injection at all
    m2 = get_metric("lpips")
    np.testing.assert_allclose(
        [r["lpips"] for r in m2.update(MetricBatch(["a", "b", "c"], pred, gt))], vals, rtol=1e-6
    )
    assert m2.describe()["injected_network"] is False


def test_wrong_checksum_in_cache_is_a_verification_error(monkeypatch):
    from lcad_bench.metrics.lpips import load_lpips_network

    name = "vgg16-397923af.pth"
    path = target_path(MANIFEST[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsChecksumError) as ei:
        load_lpips_network("vgg")
    assert ei.value.exit_code == 4 and name in str(ei.value)


def test_vgg_variant_with_injected_network():
    net = _lpips("vgg", pretrained=False, pnet_rand=True)
    pred, gt = _pairs(2, 32)
    m = get_metric("lpips_vgg", model=net)
    rows = m.update(MetricBatch(["a", "b"], pred, gt))
    np.testing.assert_allclose(
        [r["lpips_vgg"] for r in rows], _reference(net, pred, gt), rtol=1e-5, atol=1e-7
    )
    assert m.compute()["lpips_net"] == "vgg" and m.info.name == "lpips_vgg"


@pytest.mark.gpu
def test_cpu_equals_gpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    net = _lpips("alex", pretrained=False, pnet_rand=True)
    pred, gt = _pairs(3)
    batch = MetricBatch(["a", "b", "c"], pred, gt)
    cpu = [r["lpips"] for r in get_metric("lpips", model=net).update(batch)]
    gpu_net = _lpips("alex", pretrained=False, pnet_rand=True).to("cuda")
    gpu = [r["lpips"] for r in get_metric("lpips", model=gpu_net, device="cuda").update(batch)]
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-6)
