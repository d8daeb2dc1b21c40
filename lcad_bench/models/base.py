"""The model interface: one batched method, metadata, and a registry.

A colorizer receives :class:`ColorizationRequest` batches (luminance at the protocol resolution,
a gray rendering, the description, optional instance prompt and masks, a seed) and returns one
uint8 H x W x 3 RGB image per request. Requests never carry the ground truth.

Plug in a model by decorator (``@models.register("mine")``), by a ``module:Class`` path
(``--model my_pkg.colorizers:Mine``), or from another distribution through the entry-point group
``lcad_bench.models``::

    [project.entry-points."lcad_bench.models"]
    mine = "my_pkg.colorizers:Mine"
"""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from lcad_bench.errors import ExitCode, LcadBenchError, UsageError
from lcad_bench.registry import Registry


@dataclass(frozen=True, slots=True)
class ColorizationRequest:
    """One (pair, level, seed) to colorize."""

    key: str  # output-cache key of this request
    pair_id: str
    level: str
    luminance: np.ndarray  # float32 L* in [0, 100], H x W
    gray: np.ndarray  # uint8 H x W x 3 rendering of (L*, 0, 0)
    description: str  # "" at level none
    instance_prompt: str | None = None
    masks: np.ndarray | None = None  # bool K x H x W; mask k belongs to phrase k
    phrases: tuple[dict[str, Any], ...] = ()  # colour phrases linked to the masks (k order)
    seed: int = 0


@dataclass(frozen=True, slots=True)
class SampleFailure:
    """What :meth:`Colorizer.colorize` returns in place of an image for a request it could not
    serve (e.g. a prediction file that is missing): that sample is recorded as failed with
    ``message``; the other requests of the batch stand."""

    message: str


class Colorizer(ABC):
    """Base class of every model. Subclasses set ``name``/``version`` and implement
    :meth:`colorize`; constructor keyword arguments are the model's ``--model-arg`` options."""

    name: ClassVar[str] = "colorizer"
    version: ClassVar[str] = "0"
    uses_instance_masks: ClassVar[bool] = False
    luminance_replaced: ClassVar[bool] = False
    empty_prompt_substitute: ClassVar[str | None] = None
    # a diagnostic or upper bound that sees more than a colorizer may (e.g. the described colours
    # painted into the instance masks): labelled on the board and not ranked first by default
    oracle: ClassVar[bool] = False

    @abstractmethod
    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[np.ndarray]:
        """One uint8 H x W x 3 RGB image per request, same order (or a :class:`SampleFailure`
        for a request that failed on its own)."""

    def config(self) -> dict[str, Any]:
        """Everything that can change pixels (hashed into the output-cache key)."""
        return {}

    def use_device(self, device: str) -> None:
        """Device hint of a data-parallel launch: the device of this process (``"cuda:1"``,
        ``"cpu"``), given before the first :meth:`colorize`. Models that place weights on a device
        follow it through :func:`placed_device`; the default ignores it."""
        return None

    def describe(self) -> dict[str, Any]:
        """Metadata for results.json."""
        return {
            "name": self.name,
            "version": self.version,
            "config": self.config(),
            "uses_instance_masks": self.uses_instance_masks,
            "luminance_replaced": self.luminance_replaced,
            "empty_prompt_substitute": self.empty_prompt_substitute,
            "oracle": self.oracle,
        }


def placed_device(requested: str | None, hint: str | None) -> str:
    """The device a model uses: the launcher's ``hint`` when the user named none, or named only
    its kind (``cuda`` under a launch that gives this process ``cuda:1``); an explicit device
    (``cpu``, ``cuda:0``) is kept; without a hint, ``cpu`` unless the user named one."""
    if hint is None:
        return requested or "cpu"
    if requested is None or requested == hint.split(":")[0]:
        return hint
    return requested


models: Registry[Colorizer] = Registry("model", base=Colorizer, group="lcad_bench.models")
models.register("gray", "lcad_bench.baselines.gray:GrayColorizer")
models.register("text-tint", "lcad_bench.baselines.text_tint:TextTintColorizer")
models.register("oracle-palette", "lcad_bench.baselines.oracle_palette:OraclePaletteColorizer")
models.register("sd-img2img", "lcad_bench.baselines.sd_img2img:SDImg2ImgColorizer")
models.register("lcad", "lcad_bench.models.lcad:LCADColorizer")


def parse_model_args(items: Sequence[str]) -> dict[str, Any]:
    """``["steps=50", "fp16=true", "name=x"]`` -> {"steps": 50, "fp16": True, "name": "x"}:
    values that parse as JSON scalars are converted, the rest stay strings."""
    out: dict[str, Any] = {}
    for it in items:
        key, sep, value = it.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--model-arg {it!r}: expected key=value (e.g. --model-arg steps=50)")
        try:
            v = json.loads(value)
            out[key] = v if isinstance(v, (int, float, bool)) or v is None else value
        except json.JSONDecodeError:
            out[key] = value
    return out


def create_model(name: str, args: dict[str, Any] | None = None) -> Colorizer:
    """Instantiate a registered model with keyword arguments; unknown arguments are a usage
    error naming the accepted ones (checked before any weights load)."""
    cls = models.get(name)
    args = dict(args or {})
    sig = inspect.signature(cls.__init__)
    params = {k: p for k, p in sig.parameters.items() if k != "self"}
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(args) - set(params))
        if unknown:
            accepted = ", ".join(params) or "none"
            raise UsageError(
                f"model {name!r} does not take {', '.join(unknown)}; accepted --model-arg keys: {accepted}"
            )
    try:
        return cls(**args)
    except LcadBenchError:
        raise  # the model's own message (missing weights, bad option) with its exit code
    except (TypeError, ValueError, KeyError, AssertionError) as exc:
        # a constructor that cannot use its arguments (e.g. --model-arg strength=abc): usage
        given = ", ".join(f"{k}={v!r}" for k, v in args.items()) or "no --model-arg"
        raise UsageError(
            f"model {name!r} cannot be built with {given}: {type(exc).__name__}: {exc}; "
            "check the --model-arg values"
        ) from exc
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001  (SystemExit from a plug-in's constructor)
        if isinstance(exc, SystemExit):
            raise LcadBenchError(
                f"model {name!r} called exit ({exc.code!r}) while being built; a model must raise an error, never exit",
                ExitCode.BUG,
            ) from exc
        raise
