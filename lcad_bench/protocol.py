"""The benchmark protocol's facts, each stated once (docs/protocol.md).

Everything a manifest or a results file records about the protocol comes from the objects
here: the version, the level names, the geometry, the seed rules (the recorded rule strings are
built from the same templates the functions use), the saturation and level thresholds and the
bootstrap settings. Code elsewhere imports these names; nothing writes them out again.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Final

# docs/protocol.md#version
PROTOCOL_VERSION: Final = "1.0"

# docs/protocol.md#description-levels: the four levels, in the order tables show them.
LEVELS: Final = ("complete", "partial", "sparse", "none")

# docs/protocol.md#geometry
EVAL_RESOLUTION: Final = 256
RESIZE_POLICIES: Final = ("short_side_center_crop", "square_resize")
RESIZE_POLICY: Final = RESIZE_POLICIES[0]
RESAMPLE: Final = "bicubic"

# docs/protocol.md#extended-coco-stuff: saturation test at evaluation geometry
ACHROMATIC_P99: Final = 6.0  # C*ab 99th percentile below this: achromatic, dropped
TINT_MIN_CHROMA: Final = 6.0  # pixels at or above this chroma vote for the hue resultant
TINT_RESULTANT: Final = 0.98  # hue resultant length at or above this ...
TINT_P99: Final = 25.0  # ... with p99 below this: tinted monochrome, queued for review

# docs/protocol.md#natural-level
COVERAGE_THRESHOLD: Final = 0.5  # complete needs cov >= this where annotations exist
LARGE_CATEGORY_AREA: Final = 0.05  # share of the image a category must cover to count in cov

# docs/protocol.md#aggregation-and-results
BOOTSTRAP_B: Final = 1000
BOOTSTRAP_SEED: Final = 12345

# docs/protocol.md#seeds: the per-pair seed and the partial-subset seed. The rule strings that
# manifests and results record are derived from these templates.
SEED_TEMPLATE: Final = "{base_seed}|{pair_id}|{s}"
SEED_BYTES: Final = 4
SEED_RULE: Final = f"sha256('{SEED_TEMPLATE}')[:{SEED_BYTES}] big-endian"
PARTIAL_SEED_TEMPLATE: Final = "partial|{base_seed}|{pair_id}"
PARTIAL_SEED_BYTES: Final = 8
PARTIAL_SEED_RULE: Final = (
    f"sha256('{PARTIAL_SEED_TEMPLATE}')[:{PARTIAL_SEED_BYTES}] big-endian -> random.Random; "
    "k = randint(1, m-1); kept = sorted(sample(range(m), k))"
)


def _digest(template: str, **fields: Any) -> bytes:
    return hashlib.sha256(template.format(**fields).encode("utf-8")).digest()


def pair_seed(base_seed: int, pair_id: str, s: int) -> int:
    """The seed of seed index ``s`` of a pair (docs/protocol.md#seeds); the level is not in it,
    so all levels of a pair start from the same noise."""
    digest = _digest(SEED_TEMPLATE, base_seed=base_seed, pair_id=pair_id, s=s)
    return int.from_bytes(digest[:SEED_BYTES], "big")


def partial_rng(pair_id: str, base_seed: int = 0) -> random.Random:
    """The RNG that draws the partial subset of one pair."""
    digest = _digest(PARTIAL_SEED_TEMPLATE, base_seed=base_seed, pair_id=pair_id)
    return random.Random(int.from_bytes(digest[:PARTIAL_SEED_BYTES], "big"))


def choose_partial(m: int, pair_id: str, base_seed: int = 0) -> tuple[int, ...] | None:
    """Indices (0..m-1) of the hue phrases kept at the partial level; None when m < 2 (no proper
    non-empty subset exists)."""
    if m < 2:
        return None
    rng = partial_rng(pair_id, base_seed)
    k = rng.randint(1, m - 1)
    return tuple(sorted(rng.sample(range(m), k)))


def protocol_settings(**overrides: Any) -> dict[str, Any]:
    """The protocol block recorded in every split manifest (and copied into results)."""
    settings: dict[str, Any] = {
        "protocol_version": PROTOCOL_VERSION,
        "eval_resolution": EVAL_RESOLUTION,
        "resize_policy": RESIZE_POLICY,
        "resample": RESAMPLE,
        "level_coverage_threshold": COVERAGE_THRESHOLD,
        "large_category_area": LARGE_CATEGORY_AREA,
        "achromatic_chroma_p99": ACHROMATIC_P99,
        "tinted_hue_resultant": TINT_RESULTANT,
        "tinted_chroma_p99": TINT_P99,
        "partial_seed_rule": PARTIAL_SEED_RULE,
    }
    settings.update(overrides)
    return settings
