"""LPIPS (docs/protocol.md#lpips): the ``lpips`` package, v0.1 linear heads, inputs in [-1, 1],
one value per pair (never a batch mean), then averaged. Two metrics: ``lpips`` (AlexNet trunk, the
package default) and ``lpips_vgg`` (VGG-16 trunk, what L-CoDer, L-CoIns and CT2 report).

Weights: the linear heads ship inside the ``lpips`` package; the trunks are torchvision's
ImageNet checkpoints, which ``lpips`` would download through torchvision. We never let it: the
network is built with a random trunk (``pnet_rand=True``), then the trunk's ``features.*`` tensors
are loaded from the verified file in the torch hub cache (``lcad_bench.metrics.weights.locate``) and the
heads from the package file, both with strict key checks. Tests inject a network (``model=``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from lcad_bench.metrics.base import ColumnInfo, MetricBatch, MetricInfo, PerSampleMetric
from lcad_bench.metrics.weights import MANIFEST

TRUNK_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
HEAD_FILES = {"alex": "lpips-v0.1-alex.pth", "vgg": "lpips-v0.1-vgg.pth"}
METRIC_NAMES = {"alex": "lpips", "vgg": "lpips_vgg"}


def _info(net: str) -> MetricInfo:
    name = METRIC_NAMES[net]
    trunk = "AlexNet" if net == "alex" else "VGG-16"
    description = f"Learned perceptual distance to the GT (lpips v0.1, {trunk} trunk), per pair."
    return MetricInfo(
        name=name,
        description=description,
        kind="per_sample",
        backend="lpips",
        columns=(
            ColumnInfo(name, "LPIPS (AlexNet)" if net == "alex" else "LPIPS (VGG)", description,
                       False, 4, (0.0, 1.0), headline=net == "alex"),
        ),
        weights=(MANIFEST[TRUNK_FILES[net]], MANIFEST[HEAD_FILES[net]]),
    )  # fmt: skip


LPIPS_ALEX_INFO = _info("alex")
LPIPS_VGG_INFO = _info("vgg")


def load_lpips_network(
    net: Literal["alex", "vgg"] = "alex",
    trunk_path: str | None = None,
    heads_path: str | None = None,
) -> Any:
    """An ``lpips.LPIPS`` module with verified trunk and head weights, in eval mode, on the CPU.

    Paths default to the manifest files (:func:`lcad_bench.metrics.weights.locate`, which raises
    ``MissingWeightsError`` naming the file and how to import it)."""
    import lpips
    import torch

    from lcad_bench.metrics.weights import locate

    metric = METRIC_NAMES[net]
    trunk_file = trunk_path or str(locate(TRUNK_FILES[net], metric=metric))
    heads_file = heads_path or str(locate(HEAD_FILES[net], metric=metric))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's `pretrained` deprecation inside lpips
        model = lpips.LPIPS(pretrained=False, net=net, version="0.1", pnet_rand=True, verbose=False)
    trunk = torch.load(trunk_file, map_location="cpu", weights_only=True)
    sd = {}
    for name in model.net.state_dict():  # "slice1.0.weight" <- torchvision "features.0.weight"
        _slice, idx, param = name.split(".")
        src = f"features.{idx}.{param}"
        if src not in trunk:
            raise ValueError(
                f"{trunk_file}: no tensor {src!r}; is this the torchvision {net} checkpoint?"
            )
        sd[name] = trunk[src]
    model.net.load_state_dict(sd, strict=True)
    heads = torch.load(heads_file, map_location="cpu", weights_only=True)
    result = model.load_state_dict(heads, strict=False)
    # lin0..lin4 must all load; "lins.*" are aliases of the same tensors, "net.*" is the trunk
    bad_missing = [
        k for k in result.missing_keys if k.split(".")[0][:3] == "lin" and k.split(".")[0] != "lins"
    ]
    if result.unexpected_keys or bad_missing:
        raise ValueError(
            f"{heads_file}: not LPIPS v0.1 {net} heads (unexpected {result.unexpected_keys}, missing {bad_missing})"
        )
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class LPIPS(PerSampleMetric):
    """Per-pair LPIPS with the AlexNet (``net="alex"``, metric ``lpips``) or VGG-16 trunk.

    ``model`` injects a network (a callable ``(x, y) -> N x 1 x 1 x 1`` on tensors in [-1, 1]);
    tests use it with random weights, results from injected networks are not comparable and
    ``describe()`` says so. ``batch_size`` bounds memory; values do not depend on it."""

    def __init__(
        self,
        net: Literal["alex", "vgg"] = "alex",
        *,
        model: Callable[..., Any] | None = None,
        device: str = "cpu",
        batch_size: int = 16,
    ) -> None:
        if net not in TRUNK_FILES:
            raise ValueError(f"unknown LPIPS net {net!r}: use 'alex' or 'vgg'")
        self.net = net
        self.info = LPIPS_ALEX_INFO if net == "alex" else LPIPS_VGG_INFO
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.injected = model is not None
        self._model = model
        super().__init__()

    @property
    def model(self) -> Any:
        """The network, loaded on first use."""
        if self._model is None:
            self._model = load_lpips_network(self.net).to(self.device)
        return self._model

    def distances(self, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
        """LPIPS of each pair of uint8 N x H x W x 3 arrays (float64 array of N)."""
        import torch

        out = []
        for i in range(0, pred.shape[0], self.batch_size):
            p = torch.from_numpy(np.ascontiguousarray(pred[i : i + self.batch_size])).permute(
                0, 3, 1, 2
            )
            g = torch.from_numpy(np.ascontiguousarray(gt[i : i + self.batch_size])).permute(
                0, 3, 1, 2
            )
            p = (p.to(self.device, torch.float32) / 127.5) - 1.0
            g = (g.to(self.device, torch.float32) / 127.5) - 1.0
            with torch.inference_mode():
                d = self.model(p, g)
            out.append(d.reshape(d.shape[0]).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def score(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Per-sample rows with the metric's column (``lpips`` or ``lpips_vgg``)."""
        vals = self.distances(batch.pred, batch.gt)
        col = self.info.value_column
        return [{"key": k, col: float(v)} for k, v in zip(batch.keys, vals)]

    def summarize(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Mean LPIPS and n, with the net recorded."""
        return super().summarize(rows) | {"lpips_net": self.net}

    def describe(self) -> dict[str, Any]:
        """Info plus net, version, dtype and whether the network was injected."""
        import lpips

        return self.info.to_dict() | {
            "lpips_net": self.net, "lpips_version": "0.1", "package_version": getattr(lpips, "__version__", None),
            "dtype": "float32", "injected_network": self.injected,
        }  # fmt: skip
