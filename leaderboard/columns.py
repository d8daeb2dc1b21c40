"""Metric metadata -> table columns (engineering-patterns.md section 7).

The metadata of a metric comes from the run (``results.metrics[name]``, written by
``lcad_bench.metrics``) when it carries display keys (``higher_is_better``, ``display_name``,
``decimals``, ``description``, ``range``); a small built-in table covers the protocol metrics
otherwise, and an unknown metric gets a neutral entry (no direction arrow, 3 decimals).
Streamlit is imported only inside :func:`column_config`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

LEVELS = ("complete", "partial", "sparse", "none")


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """How a metric is shown."""

    name: str
    display_name: str
    higher_is_better: bool | None  # None: information only (no ranking direction)
    decimals: int = 3
    description: str = ""
    range: tuple[float | None, float | None] | None = None
    info_only: bool = False

    @property
    def arrow(self) -> str:
        """↑ when higher is better, ↓ when lower is better, nothing for information only."""
        if self.higher_is_better is None:
            return ""
        return "↑" if self.higher_is_better else "↓"

    @property
    def label(self) -> str:
        return f"{self.display_name} {self.arrow}".strip()

    @property
    def number_format(self) -> str:
        return f"%.{self.decimals}f"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["range"] = list(self.range) if self.range is not None else None
        return d


# The protocol metrics (benchmark-protocol.md section 6), used when a run records no display keys.
BUILTIN: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo(
            "psnr",
            "PSNR",
            True,
            2,
            "Peak signal-to-noise ratio on RGB [0,255], dB; MSE 0 capped at 100 dB.",
            (0.0, 100.0),
        ),
        MetricInfo(
            "psnr_ab", "PSNR ab", True, 2, "PSNR on the ab channels (diagnostic).", (0.0, 100.0)
        ),
        MetricInfo(
            "ssim",
            "SSIM",
            True,
            4,
            "SSIM, Gaussian 11x11 window, sigma 1.5, data_range 255.",
            (-1.0, 1.0),
        ),
        MetricInfo(
            "ssim_uniform7",
            "SSIM (7x7)",
            True,
            4,
            "SSIM with the uniform 7x7 window of L-CoIns / CT2.",
            (-1.0, 1.0),
        ),
        MetricInfo(
            "lpips", "LPIPS (Alex)", False, 4, "LPIPS v0.1, AlexNet trunk, per pair.", (0.0, 1.0)
        ),
        MetricInfo(
            "lpips_vgg", "LPIPS (VGG)", False, 4, "LPIPS v0.1, VGG-16 trunk, per pair.", (0.0, 1.0)
        ),
        MetricInfo(
            "fid",
            "FID",
            False,
            2,
            "FID (pytorch-fid TF Inception, pool3); compare only at equal N.",
            (0.0, None),
        ),
        MetricInfo(
            "kid",
            "KID",
            False,
            4,
            "Kernel inception distance (ranked instead of FID under 2,000 pairs).",
            (None, None),
        ),
        MetricInfo(
            "colourfulness",
            "CF",
            None,
            2,
            "Mean colourfulness (Hasler & Süsstrunk, CT2 convention); information only.",
            (0.0, None),
            True,
        ),
        MetricInfo(
            "cf",
            "CF",
            None,
            2,
            "Mean colourfulness of the outputs; information only.",
            (0.0, None),
            True,
        ),
        MetricInfo(
            "cf_gt",
            "CF (GT)",
            None,
            2,
            "Mean colourfulness of the ground truths; information only.",
            (0.0, None),
            True,
        ),
        MetricInfo(
            "delta_cf",
            "ΔCF",
            False,
            2,
            "|mean CF(pred) − mean CF(GT)| (DDColor / MultiColor convention).",
            (0.0, None),
        ),
        MetricInfo(
            "mean_abs_delta_cf",
            "mean |ΔCF|",
            False,
            2,
            "Mean of per-pair |CF(pred) − CF(GT)|.",
            (0.0, None),
        ),
        MetricInfo(
            "cf_bias",
            "CF bias",
            None,
            2,
            "Mean of CF(pred) − CF(GT); information only.",
            (None, None),
            True,
        ),
        MetricInfo(
            "cwhr_chromatic",
            "CWHR chromatic",
            True,
            3,
            "Colour-word hit rate on chromatic terms (headline).",
            (0.0, 1.0),
        ),
        MetricInfo(
            "cwhr_achromatic",
            "CWHR achromatic",
            True,
            3,
            "Colour-word hit rate on black/gray/white terms.",
            (0.0, 1.0),
        ),
        MetricInfo(
            "clip_t",
            "CLIP-T",
            True,
            2,
            "100·max(0, cos(image, text)); only with CLIP weights.",
            (0.0, 100.0),
        ),
        MetricInfo("clip_t_gap", "CLIP-T gap", True, 2, "clip_t(pred) − clip_t(GT).", (None, None)),
        MetricInfo("delta_e00", "ΔE00", False, 2, "Mean CIEDE2000 colour difference.", (0.0, None)),
    )
}

# Default sort order of metrics in the table: headline first.
PREFERRED_ORDER = (
    "cwhr_chromatic",
    "psnr",
    "ssim",
    "lpips",
    "lpips_vgg",
    "fid",
    "delta_cf",
    "cf",
    "colourfulness",
    "cwhr_achromatic",
)


def _as_range(v: Any) -> tuple[float | None, float | None] | None:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        out = []
        for x in v:
            out.append(
                float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None
            )
        return (out[0], out[1])
    return None


def metric_info(name: str, meta: Mapping[str, Any] | None = None) -> MetricInfo:
    """Display info of ``name``: the run's metadata keys over the built-in entry (or a neutral one).

    Invalid values in ``meta`` (wrong types) are ignored, never trusted blindly."""
    base = (
        BUILTIN.get(name) or BUILTIN.get(name.lower()) or MetricInfo(name, name, None, 3, "", None)
    )
    if base.name != name:
        base = replace(base, name=name)
    if not isinstance(meta, Mapping):
        return base
    kw: dict[str, Any] = {}
    hib = meta.get("higher_is_better", meta.get("lower_is_better"))
    if isinstance(hib, bool):
        kw["higher_is_better"] = hib if "higher_is_better" in meta else not hib
    if isinstance(meta.get("display_name"), str) and meta["display_name"].strip():
        kw["display_name"] = meta["display_name"].strip()[:60]
    dec = meta.get("decimals")
    if isinstance(dec, int) and not isinstance(dec, bool) and 0 <= dec <= 8:
        kw["decimals"] = dec
    if isinstance(meta.get("description"), str):
        kw["description"] = meta["description"][:500]
    rng = _as_range(meta.get("range"))
    if rng is not None:
        kw["range"] = rng
    if isinstance(meta.get("info_only"), bool):
        kw["info_only"] = meta["info_only"]
    return replace(base, **kw)


def merge_metadata(
    names: Iterable[str], metas: Iterable[Mapping[str, Any]]
) -> dict[str, MetricInfo]:
    """One MetricInfo per metric name; the first run that records display keys wins."""
    metas = [m for m in metas if isinstance(m, Mapping)]
    out: dict[str, MetricInfo] = {}
    for n in names:
        chosen: Mapping[str, Any] | None = None
        for m in metas:
            cand = m.get(n)
            if isinstance(cand, Mapping) and any(
                k in cand
                for k in ("higher_is_better", "lower_is_better", "display_name", "decimals")
            ):
                chosen = cand
                break
        out[n] = metric_info(n, chosen)
    return out


def order_metrics(names: Iterable[str]) -> list[str]:
    """Headline metrics first (PREFERRED_ORDER), then the rest alphabetically."""
    names = list(dict.fromkeys(names))
    pref = [m for m in PREFERRED_ORDER if m in names]
    return pref + sorted(m for m in names if m not in pref)


def column_name(metric: str, level: str) -> str:
    """Wide-table column of a metric at a level."""
    return f"{metric} · {level}"


def ci_column_name(metric: str, level: str) -> str:
    return f"{metric} · {level} · 95% CI"


def column_config(columns: Iterable[str], infos: Mapping[str, MetricInfo]) -> dict[str, Any]:
    """``st.column_config`` for the wide table: label with ↑/↓, ``help`` and number format."""
    import streamlit as st

    cfg: dict[str, Any] = {
        "rank": st.column_config.NumberColumn(
            "#",
            help="Rank among reproduced runs (reported rows are context only)",
            format="%d",
            width="small",
        ),
        "model": st.column_config.TextColumn("model", help="Model name (and version)"),
        "source": st.column_config.TextColumn(
            "source", help="reproduced: a run folder; reported: a published number (not ranked)"
        ),
        "run_id": st.column_config.TextColumn("run id"),
        "n_pairs": st.column_config.NumberColumn("pairs", format="%d"),
        "luminance_replaced": st.column_config.CheckboxColumn(
            "L* replaced",
            help="Output luminance replaced by the input L* (separate rows, protocol section 9)",
        ),
    }
    for col in columns:
        parts = col.split(" · ")
        if len(parts) < 2 or parts[0] not in infos:
            continue
        info, level = infos[parts[0]], parts[1]
        if len(parts) == 3:
            cfg[col] = st.column_config.TextColumn(
                f"{info.display_name} · {level} CI",
                help=f"95% bootstrap interval of {info.display_name} at level {level}",
            )
            continue
        help_text = f"{info.description} " if info.description else ""
        if info.higher_is_better is None:
            help_text += "Information only (no direction)."
        else:
            help_text += "Higher is better." if info.higher_is_better else "Lower is better."
        cfg[col] = st.column_config.NumberColumn(
            f"{info.label} · {level}", help=help_text.strip(), format=info.number_format
        )
    return cfg
