"""Tiny training runs: stage 2 lowers the loss and resumes bit-for-bit; stage 1 runs; split parsing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from lcad_bench.errors import InputFormatError, MissingInputError
from lcad_bench.lcad import train as tr


@pytest.fixture()
def tiny_split(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    colours = {
        "red": (200, 30, 30),
        "green": (30, 180, 40),
        "blue": (30, 40, 200),
        "yellow": (220, 210, 30),
    }
    for i, (name, rgb) in enumerate(colours.items()):
        arr = np.clip(np.array(rgb)[None, None] + rng.normal(0, 20, (40, 48, 3)), 0, 255).astype(
            np.uint8
        )
        Image.fromarray(arr).save(tmp_path / f"img{i}.png")
        rows.append({"image": f"img{i}.png", "captions": [f"a {name} wall", f"the {name} thing"]})
    split = tmp_path / "split.jsonl"
    split.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return split


@pytest.fixture()
def fresh_pipe(converted_tiny, tmp_path):
    from lcad_bench.lcad.pipeline import LCADPipeline

    folder = tmp_path / "init"
    if not folder.exists():
        converted_tiny[3].save_pretrained(folder)
    return folder, lambda: LCADPipeline.from_pretrained(folder)


def test_stage2_lowers_loss_and_resumes(tiny_split, fresh_pipe, tmp_path):
    folder, load = fresh_pipe
    cfg = tr.TrainConfig(
        stage=2,
        split=tiny_split,
        pipeline=folder,
        out=tmp_path / "run",
        steps=20,
        batch_size=2,
        lr=1e-3,
        resolution=32,
        save_every=10,
        log_every=0,
        caption_dropout=0.2,
    )
    pipe = load()
    records = tr.read_split(tiny_split)
    eval_rgb, eval_caps = tr.make_batch(
        records, tr.TrainConfig(**{**cfg.__dict__, "batch_size": 4, "augment": False}), 0
    )
    before = tr.evaluation_loss(pipe, eval_rgb, eval_caps, stage=2)
    frozen_before = pipe.unet.down_blocks[0].resnets[0].conv1.weight.clone()
    result = tr.train(cfg, pipe=pipe, log=lambda s: None)
    after = tr.evaluation_loss(pipe, eval_rgb, eval_caps, stage=2)
    assert after < before * 0.9, (before, after)
    assert torch.equal(
        pipe.unet.down_blocks[0].resnets[0].conv1.weight, frozen_before
    )  # frozen per the official optimiser
    assert sorted(result["losses"]) == list(range(1, 21))
    assert (tmp_path / "run" / "checkpoints" / "step-10" / "trainable.safetensors").is_file()
    assert (tmp_path / "run" / "final" / "model_index.json").is_file()
    log_lines = (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()
    assert len(log_lines) == 20 and json.loads(log_lines[-1])["step"] == 20

    # resume from step 10 in a fresh process state: the next losses are identical
    cfg2 = tr.TrainConfig(
        **{
            **cfg.__dict__,
            "out": tmp_path / "run",
            "resume": tmp_path / "run" / "checkpoints" / "step-10",
            "steps": 12,
        }
    )
    resumed = tr.train(cfg2, pipe=load(), log=lambda s: None)
    assert sorted(resumed["losses"]) == [11, 12]
    assert resumed["losses"][11] == result["losses"][11]
    assert resumed["losses"][12] == result["losses"][12]


def test_stage1_trains_only_the_luminance_encoder(tiny_split, fresh_pipe, tmp_path):
    folder, load = fresh_pipe
    pipe = load()
    vae_before = {k: v.clone() for k, v in pipe.vae.state_dict().items()}
    cfg = tr.TrainConfig(
        stage=1,
        split=tiny_split,
        pipeline=folder,
        out=tmp_path / "s1",
        steps=3,
        batch_size=2,
        resolution=32,
        log_every=0,
        save_every=0,
    )
    result = tr.train(cfg, pipe=pipe, log=lambda s: None)
    assert all(np.isfinite(v) for v in result["losses"].values())
    assert all(torch.equal(v, pipe.vae.state_dict()[k]) for k, v in vae_before.items())
    assert any(float(c.weight.abs().max()) > 0 for c in pipe.luminance_encoder.down_zero_convs)


def test_artifact_map_matches_hand_computation():
    g = torch.Generator().manual_seed(0)
    x, rec = torch.rand(1, 3, 9, 9, generator=g), torch.rand(1, 3, 9, 9, generator=g)
    w = tr.artifact_map(x, rec)
    r = (x - rec).abs().sum(1)[0]
    glob = r.var() ** 0.2
    padded = torch.nn.functional.pad(r[None, None], (3, 3, 3, 3), mode="reflect")[0, 0]
    assert torch.allclose(w[0, 0, 4, 4], glob * padded[4:11, 4:11].var(), atol=1e-6)


def test_split_formats_and_errors(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    (tmp_path / "caps.json").write_text(json.dumps({"a.jpg": ["one", "two"]}))
    recs = tr.read_split(tmp_path / "caps.json")
    assert recs[0].captions == ["one", "two"] and recs[0].image == tmp_path / "a.jpg"
    (tmp_path / "bad.jsonl").write_text('{"image": "a.jpg"}\n')
    with pytest.raises(InputFormatError, match="line 1"):
        tr.read_split(tmp_path / "bad.jsonl")
    (tmp_path / "miss.jsonl").write_text('{"image": "nope.jpg", "caption": "x"}\n')
    with pytest.raises(MissingInputError, match="nope.jpg"):
        tr.read_split(tmp_path / "miss.jsonl")
    first_epoch = [i for s in range(3) for i in tr.batch_indices(4, 2, s, 0)][:4]
    assert sorted(first_epoch) == [0, 1, 2, 3]  # each epoch is a permutation


def test_read_split_from_a_built_split_folder(tmp_path):
    from lcad_bench.builders.demo import build_demo

    from lcad_bench.lcad.train import read_split

    build_demo(tmp_path / "demo", embed_images=True, overwrite=True)
    recs = read_split(tmp_path / "demo")
    assert len(recs) == 8 and all(r.image.is_file() and r.captions for r in recs)
    assert sum(len(r.captions) for r in recs) == 21
