"""Models: the :class:`Colorizer` contract every method implements, its request type, and the
registry that finds a model by name (:mod:`.base`). Adapters of real models live beside it
(:mod:`.lcad` for the reference L-CAD model); the simple baselines are in
``lcad_bench.baselines``."""

from lcad_bench.models.base import (
    ColorizationRequest,
    Colorizer,
    SampleFailure,
    create_model,
    models,
    parse_model_args,
)

__all__ = [
    "ColorizationRequest",
    "Colorizer",
    "SampleFailure",
    "create_model",
    "models",
    "parse_model_args",
]
