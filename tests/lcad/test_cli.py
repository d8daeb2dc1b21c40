"""Checkpoint files → pipeline folder, and the convert-checkpoint / train subcommands."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from lcad_bench.errors import ExitCode, MissingInputError


def _parser(module):
    parser = argparse.ArgumentParser(prog="lcad-bench")
    sub = parser.add_subparsers(dest="command")
    module.register(sub)
    return parser


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory, converted_tiny, tiny_tokenizer):
    d = tmp_path_factory.mktemp("clip")
    converted_tiny[4].config.save_pretrained(d)
    tiny_tokenizer.save_pretrained(d)
    return d


def _tiny_cfgs():
    from lcad_tiny_config import TINY_UNET, TINY_VAE

    from lcad_bench.lcad.components import luminance_config, unet_config, vae_config

    return {
        "unet_cfg": unet_config(**TINY_UNET),
        "vae_cfg": vae_config(**TINY_VAE),
        "luminance_cfg": luminance_config(block_out_channels=(32, 64)),
    }


@pytest.mark.parametrize("fmt", ["ckpt", "safetensors"])
def test_convert_checkpoint_files_end_to_end(fmt, converted_tiny, clip_dir, tmp_path):
    from lcad_bench.lcad.convert import convert_checkpoint
    from lcad_bench.lcad.pipeline import LCADPipeline

    _ref, official, _res, pipe, _text = converted_tiny
    path = tmp_path / f"lcad.{fmt}"
    if fmt == "ckpt":
        torch.save({"state_dict": official, "epoch": 3, "global_step": 100}, path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in official.items()}, str(path))
    out = convert_checkpoint(
        path, text_encoder=clip_dir, out=tmp_path / "out", log=lambda s: None, **_tiny_cfgs()
    )
    report = json.loads((out / "conversion_report.json").read_text())
    assert report["n_keys"] == len(official) and len(report["ignored"]) == 18
    loaded = LCADPipeline.from_pretrained(out)
    for name in ("unet", "vae", "luminance_encoder", "text_encoder"):
        a, b = getattr(loaded, name).state_dict(), getattr(pipe, name).state_dict()
        assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a), name


def test_pickled_checkpoint_needs_the_flag(converted_tiny, clip_dir, tmp_path):
    from lcad_bench.lcad.convert import ConversionError, load_official_checkpoint

    path = tmp_path / "pl.ckpt"
    torch.save(
        {"state_dict": {"betas": torch.zeros(3)}, "hyper_parameters": argparse.Namespace(lr=1)},
        path,
    )
    with pytest.raises(ConversionError, match="--allow-pickle"):
        load_official_checkpoint(path)
    assert set(load_official_checkpoint(path, allow_pickle=True)) == {"betas"}


def test_convert_cli_parses_and_reports_missing_files(tmp_path, clip_dir):
    from lcad_bench.cli import convert_checkpoint as mod

    parser = _parser(mod)
    args = parser.parse_args(
        [
            "convert-checkpoint",
            str(tmp_path / "none.ckpt"),
            "--text-encoder",
            str(clip_dir),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert args.func is mod.run and args.dtype == "float32" and not args.allow_pickle
    with pytest.raises(MissingInputError, match="none.ckpt") as err:
        args.func(args)
    assert err.value.exit_code == ExitCode.MISSING
    args = parser.parse_args(
        [
            "convert-checkpoint",
            "x.ckpt",
            "--text-encoder",
            str(tmp_path / "noclip"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    with pytest.raises(MissingInputError, match="noclip"):
        args.func(args)
    help_text = parser._subparsers._group_actions[0].choices["convert-checkpoint"].format_help()
    assert help_text.rstrip().splitlines()[-1].strip().startswith("lcad-bench convert-checkpoint")


def test_train_cli_runs_a_tiny_stage2(tmp_path, converted_tiny):
    from PIL import Image

    from lcad_bench.cli import train as mod

    converted_tiny[3].save_pretrained(tmp_path / "pipe")
    Image.new("RGB", (40, 40), (200, 20, 20)).save(tmp_path / "a.png")
    (tmp_path / "s.jsonl").write_text('{"image": "a.png", "caption": "a red wall"}\n')
    parser = _parser(mod)
    argv = [
        "train",
        "--stage",
        "2",
        "--split",
        str(tmp_path / "s.jsonl"),
        "--pipeline",
        str(tmp_path / "pipe"),
        "--out",
        str(tmp_path / "run"),
        "--steps",
        "2",
        "--batch-size",
        "1",
        "--resolution",
        "32",
        "--log-every",
        "1",
    ]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    assert (tmp_path / "run" / "checkpoints" / "step-2" / "state.json").is_file()
    args = parser.parse_args([*argv[:-4], "--steps", "3", "--resume", "latest"])
    assert args.func(args) == 0
    lines = (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3]
    help_text = parser._subparsers._group_actions[0].choices["train"].format_help()
    assert help_text.rstrip().splitlines()[-1].strip().startswith("lcad-bench train")
