"""The output-cache key covers every field of the request a model reads: a split rebuilt with
another instance prompt or other phrase records (a new prompt rule, a new lexicon) but the same
images and captions never reuses the old outputs (docs/evaluating.md, step 2)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from simple_suite import SimpleSuite

from lcad_bench.evaluation import rundir
from lcad_bench.evaluation.cache import request_key
from lcad_bench.evaluation.runner import evaluate
from lcad_bench.fileio import utc_now
from lcad_bench.models import ColorizationRequest, Colorizer, create_model
from lcad_bench.splits import Manifest, load_split, write_split


class PromptTint(Colorizer):
    """Tints the gray input by the colour words of the instance prompt (as lcad's
    official_instance preset reads the prompt, not the description)."""

    name = "prompt-tint"

    def colorize(self, batch):
        out = []
        for r in batch:
            img = r.gray.astype(np.int16)
            words = (r.instance_prompt or "").split()
            img[..., 0] += 60 * ("red" in words)
            img[..., 2] += 60 * ("blue" in words)
            out.append(np.clip(img, 0, 255).astype(np.uint8))
        return out


def _rebuilt(src, out, change):
    """``src`` rewritten with every record passed through ``change`` (same images, captions and
    descriptions)."""
    recs = [change(r) for r in load_split(src).records]
    m = Manifest(split="tiny", builder={"name": "test", "version": "1"}, created_at=utc_now(),
                 embed_images=True)  # fmt: skip
    write_split(out, recs, m, overwrite=True)
    return out


def _prompt(colour):
    def change(r):
        return dataclasses.replace(r, instance_prompt=f"the {colour} car")

    return change


def _lexicon(colour):
    """The car's colour term read as another colour (a changed lexicon): same caption text."""

    def change(r):
        phrases = tuple(
            dataclasses.replace(p, colours=tuple(dataclasses.replace(c, canonical=colour, category=colour)
                                                 for c in p.colours))
            if p.object is not None and p.object.head == "car" else p
            for p in r.colour_phrases
        )  # fmt: skip
        return dataclasses.replace(r, colour_phrases=phrases)

    return change


def _run(model, split, out):
    evaluate(model, split, out, suite=SimpleSuite(), quiet=True)
    return {(r["pair_id"], r["level"]): r for r in rundir.read_samples(out)}


@pytest.mark.parametrize(
    "model, change",
    [(PromptTint, _prompt), (lambda: create_model("oracle-palette"), _lexicon)],
    ids=["instance-prompt", "phrase-records"],
)
def test_rebuilt_split_with_other_prompts_or_phrases_is_recomputed(
    tiny_split, tmp_path, model, change
):
    a = _rebuilt(tiny_split, tmp_path / "a", change("red"))
    b = _rebuilt(tiny_split, tmp_path / "b", change("blue"))
    run = tmp_path / "run"
    _run(model(), a, run)
    reused = _run(model(), b, run)  # the same --out: the cache of split a is there
    fresh = _run(model(), b, tmp_path / "fresh")
    assert reused.keys() == fresh.keys()
    changed = [k for k in fresh if k[1] == "complete" and k[0].endswith("#0")]
    assert changed and all(reused[k]["output_sha256"] == fresh[k]["output_sha256"] for k in fresh)
    assert all(reused[k]["psnr_np"] == fresh[k]["psnr_np"] for k in fresh)
    assert _last_log(run)["computed"] >= len(changed)  # the changed requests were computed again
    _run(model(), b, run)  # nothing changed: everything is reused
    assert _last_log(run)["computed"] == 0 and _last_log(run)["cached"] == len(fresh)


def _last_log(run):
    return json.loads((run / rundir.RUN_LOG_FILE).read_text().splitlines()[-1])


def test_request_key_covers_every_request_field():
    """Each field of ColorizationRequest but ``key`` changes the key (a new field is covered by
    construction: the key iterates over the dataclass's fields)."""
    lum = np.zeros((4, 4), np.float32)
    base = ColorizationRequest(key="", pair_id="p#0", level="complete", luminance=lum,
                               gray=np.zeros((4, 4, 3), np.uint8), description="a red car",
                               instance_prompt="the red car", masks=np.zeros((1, 4, 4), bool),
                               phrases=({"phrase_id": 0, "colours": [{"canonical": "red"}]},), seed=1)  # fmt: skip
    other = {"pair_id": "p#1", "level": "partial", "luminance": lum + 1,
             "gray": np.ones((4, 4, 3), np.uint8), "description": "a car", "instance_prompt": None,
             "masks": np.ones((1, 4, 4), bool), "phrases": ({"phrase_id": 0, "colours": [{"canonical": "blue"}]},),
             "seed": 2}  # fmt: skip
    fields = {f.name for f in dataclasses.fields(ColorizationRequest)} - {"key"}
    assert fields == set(other), "a new request field: add a changed value here"
    k0 = request_key("cfg", base)
    assert request_key("cfg", dataclasses.replace(base, key="anything")) == k0
    assert request_key("cfg2", base) != k0
    for name, value in other.items():
        assert request_key("cfg", dataclasses.replace(base, **{name: value})) != k0, name
    memo: dict = {}
    assert request_key("cfg", base, memo) == request_key("cfg", base, memo) == k0
