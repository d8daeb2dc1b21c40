"""The weights manifest, status, missing-weights messages, import, the CLI and the registry."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lcad_bench.errors import ExitCode, UsageError
from lcad_bench.metrics import (
    DEFAULT_METRICS,
    METRICS,
    get_metric,
    metric_info,
    resolve_metrics,
)
from lcad_bench.metrics.weights import (
    MANIFEST,
    MissingWeightsError,
    WeightFile,
    WeightsChecksumError,
    check,
    digest_matches,
    import_file,
    locate,
    missing_message,
    status,
    target_path,
)


def test_manifest_entries_are_well_formed():
    for name, wf in MANIFEST.items():
        assert wf.name == name and wf.url.startswith("https://") and wf.licence and wf.metrics
        if wf.sha256_prefix_only:
            assert re.fullmatch(r"[0-9a-f]{8,63}", wf.sha256)
        else:
            assert re.fullmatch(r"[0-9a-f]{64}", wf.sha256)
        m = re.search(r"-([0-9a-f]{8})\.pth$", name)
        if m:  # torch hub names embed the first 8 hex digits of the sha256
            assert wf.sha256.startswith(m.group(1))
        for metric in wf.metrics:
            assert wf in metric_info(metric).weights


def test_lpips_heads_shipped_with_the_package_verify():
    for name in ("lpips-v0.1-alex.pth", "lpips-v0.1-vgg.pth"):
        st = check(name)
        assert st.state == "present", st
        assert locate(name).name == name.split("-")[-1]


def test_status_in_an_empty_cache(_empty_torch_home):
    states = {s.file.name: s.state for s in status()}
    assert states["pt_inception-2015-12-05-6726825d.pth"] == "missing"
    assert (
        states["alexnet-owt-7be5be79.pth"] == "missing"
        and states["vgg16-397923af.pth"] == "missing"
    )
    assert (
        target_path(MANIFEST["vgg16-397923af.pth"])
        == _empty_torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
    )


def test_missing_weights_message_names_everything(_empty_torch_home):
    name = "pt_inception-2015-12-05-6726825d.pth"
    with pytest.raises(MissingWeightsError) as ei:
        locate(name, metric="fid")
    err = ei.value
    msg = str(err)
    assert err.exit_code == ExitCode.MISSING == 3
    for part in ("'fid'", name, MANIFEST[name].sha256, str(_empty_torch_home / "hub" / "checkpoints"),
                 "lcad-bench weights import FILE", MANIFEST[name].url):  # fmt: skip
        assert part in msg, part


def _tiny_entry(monkeypatch, tmp_path, name="tiny-weights.pth", content=b"tiny weights"):
    src = tmp_path / "download" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(content)
    wf = WeightFile(name=name, sha256=hashlib.sha256(content).hexdigest(), url="https://example.org/" + name,
                      licence="test", metrics=("psnr",))  # fmt: skip
    monkeypatch.setitem(MANIFEST, name, wf)
    return src, wf


def test_import_success_is_verified_and_atomic(monkeypatch, tmp_path, _empty_torch_home):
    src, wf = _tiny_entry(monkeypatch, tmp_path)
    assert check(wf.name).state == "missing"
    st = import_file(src)
    dst = _empty_torch_home / "hub" / "checkpoints" / wf.name
    assert st.state == "present" and st.path == dst and dst.read_bytes() == src.read_bytes()
    assert check(wf.name).state == "present" and locate(wf.name) == dst
    assert [p.name for p in dst.parent.iterdir()] == [wf.name]  # no temporary left behind
    assert import_file(src).state == "present"  # idempotent


def test_import_by_checksum_under_another_name(monkeypatch, tmp_path, _empty_torch_home):
    src, wf = _tiny_entry(monkeypatch, tmp_path)
    other = tmp_path / "renamed.bin"
    other.write_bytes(src.read_bytes())
    assert import_file(other).path.name == wf.name


def test_import_checksum_mismatch_installs_nothing(monkeypatch, tmp_path, _empty_torch_home):
    src, wf = _tiny_entry(monkeypatch, tmp_path)
    src.write_bytes(b"corrupted download")
    with pytest.raises(WeightsChecksumError) as ei:
        import_file(src)
    assert ei.value.exit_code == ExitCode.VERIFY and wf.sha256 in str(ei.value)
    assert not (_empty_torch_home / "hub" / "checkpoints" / wf.name).exists()
    unknown = tmp_path / "unknown.pth"
    unknown.write_bytes(b"???")
    with pytest.raises(WeightsChecksumError, match="matches no file"):
        import_file(unknown)


def test_locate_reports_checksum_mismatch_in_cache(monkeypatch, tmp_path, _empty_torch_home):
    src, wf = _tiny_entry(monkeypatch, tmp_path)
    dst = _empty_torch_home / "hub" / "checkpoints" / wf.name
    dst.parent.mkdir(parents=True)
    dst.write_bytes(b"something else")
    assert check(wf.name).state == "mismatch"
    with pytest.raises(WeightsChecksumError, match="expects"):
        locate(wf.name, metric="psnr")


def test_prefix_only_entries_compare_the_prefix(monkeypatch, tmp_path):
    content = b"prefix test"
    digest = hashlib.sha256(content).hexdigest()
    wf = WeightFile(
        "p.pth", digest[:8], "https://example.org/p.pth", "test", ("psnr",), sha256_prefix_only=True
    )
    assert digest_matches(wf, digest) and not digest_matches(wf, "0" * 64)
    assert "prefix" in missing_message(wf, "psnr")


def _cli(argv):
    from lcad_bench.cli import weights as cli

    parser = argparse.ArgumentParser(prog="lcad-bench")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_list_json_and_import(monkeypatch, tmp_path, capsys, _empty_torch_home):
    assert _cli(["weights", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {f["name"] for f in doc["files"]} == set(MANIFEST)
    assert all(f["state"] == "missing" for f in doc["files"] if f["location"] == "torch_hub")
    assert _cli(["weights"]) == 0
    out = capsys.readouterr().out
    assert "missing" in out and "lcad-bench weights import vgg16-397923af.pth" in out

    src, wf = _tiny_entry(monkeypatch, tmp_path)
    bad = tmp_path / "bad" / wf.name
    bad.parent.mkdir()
    bad.write_bytes(b"bad")
    assert _cli(["weights", "import", str(bad)]) == ExitCode.VERIFY
    assert _cli(["weights", "import", str(src), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["imported"][0]["ok"] and doc["imported"][0]["name"] == wf.name
    with pytest.raises(UsageError):
        _cli(["weights", "import"])


def test_cli_help_ends_with_examples(capsys):
    with pytest.raises(SystemExit):
        _cli(["weights", "--help"])
    out = capsys.readouterr().out.rstrip().splitlines()
    assert out[-3].strip() == "examples:" and all(
        line.strip().startswith("lcad-bench weights") for line in out[-2:]
    )


def test_registry_run_rule_default_set_skips_missing(_empty_torch_home):
    runnable, skipped = resolve_metrics(None)
    assert runnable == ["psnr", "ssim", "colourfulness", "cwhr"]
    assert set(skipped) == {"lpips", "lpips_vgg", "fid"}
    assert (
        "alexnet-owt-7be5be79.pth" in skipped["lpips"]
        and "lcad-bench weights import" in skipped["fid"]
    )
    assert resolve_metrics(["psnr", "cf"]) == (["psnr", "colourfulness"], {})
    with pytest.raises(MissingWeightsError, match="pt_inception"):
        resolve_metrics(["psnr", "fid"])
    assert set(DEFAULT_METRICS) <= set(METRICS)


def test_unknown_metric_suggests_close_names():
    with pytest.raises(UsageError, match="Did you mean 'lpips'"):
        get_metric("lpip")
    with pytest.raises(UsageError, match="unknown metric"):
        metric_info("nonsense_metric")


def test_metric_infos_are_complete():
    for name in METRICS:
        info = metric_info(name)
        assert info.name == name and info.kind in ("per_sample", "distribution") and info.backend
        assert info.to_dict()["higher_is_better"] == info.higher_is_better


def test_importing_registry_and_cli_does_not_import_torch():
    code = (
        "import sys, lcad_bench.metrics as m, lcad_bench.metrics.weights, lcad_bench.cli.weights\n"
        "[m.metric_info(n) for n in m.METRICS]; m.resolve_metrics(None)\n"
        "bad = [k for k in ('torch', 'lpips', 'pytorch_fid', 'torchmetrics') if k in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_replace_keeps_frozen_weightfile():
    wf = MANIFEST["vgg16-397923af.pth"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.sha256 = "x"  # type: ignore[misc]


def _tiny_split(tmp_path):
    import importlib.util

    path = Path(__file__).parents[1] / "harness" / "harness_tiny_split.py"
    spec = importlib.util.spec_from_file_location("lcad_weights_tiny_split", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_tiny_split(tmp_path / "split", n_images=1)


@pytest.mark.parametrize("explicit", [False, True])
def test_corrupt_weight_file_stops_evaluate_with_exit_4(
    tmp_path, capsys, _empty_torch_home, explicit
):
    """One run rule: a weight file that is present but fails its checksum stops the run with exit
    code 4 (docs/weights.md), whether the metric is in the default set or named explicitly."""
    from lcad_bench.cli import main

    split = _tiny_split(tmp_path)
    bad = target_path(MANIFEST["vgg16-397923af.pth"])
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b"not the VGG weights")
    argv = [
        "evaluate",
        "--model",
        "gray",
        "--split",
        str(split),
        "--out",
        str(tmp_path / "run"),
        "--quiet",
    ]
    code = main(argv + (["--metrics", "psnr", "lpips_vgg"] if explicit else []))
    err = capsys.readouterr().err
    assert code == 4 and "vgg16-397923af.pth" in err and "sha256" in err
    assert not (tmp_path / "run" / "results.json").exists()


def test_missing_weight_file_exit_3_only_when_requested(tmp_path, capsys, _empty_torch_home):
    from lcad_bench.cli import main
    from lcad_bench.evaluation.rundir import load_results

    split = _tiny_split(tmp_path)
    base = ["evaluate", "--model", "gray", "--split", str(split), "--quiet", "--levels", "complete"]
    assert main([*base, "--out", str(tmp_path / "a"), "--metrics", "psnr", "fid"]) == 3
    assert "pt_inception" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "b")]) == 0
    res = load_results(tmp_path / "b")
    assert set(res.skipped_metrics) == {"lpips", "lpips_vgg", "fid"} and "psnr" in res.metrics
