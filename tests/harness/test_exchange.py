"""Methods outside Python: export-inputs -> an external script -> evaluate --predictions equals the
same method run as a plug-in model; bad prediction files are failed samples naming the file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from lcad_bench.cli import main
from lcad_bench.evaluation import exchange, rundir
from lcad_bench.evaluation.inputs import prepare
from lcad_bench.models import Colorizer
from lcad_bench.splits import load_split

# the "method": a per-channel gain chosen by the colour words of the description
GAINS = {"red": (1.35, 0.8, 0.8), "green": (0.8, 1.3, 0.85), "blue": (0.8, 0.9, 1.4)}

EXTERNAL = textwrap.dedent(
    """
    # an external method: reads the exchange folder, writes tinted images (numpy + PIL only)
    import json, sys
    from pathlib import Path
    import numpy as np
    from PIL import Image
    GAINS = {gains!r}
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    for line in (src / "manifest.jsonl").read_text().splitlines():
        req = json.loads(line)
        gray = np.asarray(Image.open(src / req["gray"]).convert("RGB")).astype(np.float64)
        gain = np.ones(3)
        for word, g in GAINS.items():
            if word in req["description"].split():
                gain = gain * np.array(g)
        out = np.clip(np.rint(gray * gain), 0, 255).astype(np.uint8)
        assert out.shape == (req["height"], req["width"], 3)
        path = dst / req["output"]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(out).save(path)
    """
).format(gains=GAINS)


class TintPlugin(Colorizer):
    """The same method as a plug-in model."""

    name = "tint-plugin"

    def colorize(self, batch):
        out = []
        for r in batch:
            gain = np.ones(3)
            for word, g in GAINS.items():
                if word in r.description.split():
                    gain = gain * np.array(g)
            out.append(np.clip(np.rint(r.gray.astype(np.float64) * gain), 0, 255).astype(np.uint8))
        return out


METRICS = ["psnr", "ssim", "colourfulness", "cwhr"]


@pytest.fixture(scope="module")
def exported(tiny_split, tmp_path_factory):
    root = tmp_path_factory.mktemp("exchange")
    assert (
        main(["export-inputs", "--split", str(tiny_split), "--out", str(root / "inputs"), "-q"])
        == 0
    )
    script = root / "method.py"
    script.write_text(EXTERNAL)
    p = subprocess.run([sys.executable, str(script), str(root / "inputs"), str(root / "preds")],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stderr
    return root


def test_export_folder(exported, tiny_split):
    inputs = exported / "inputs"
    lines = exchange.read_manifest(inputs)
    header = exchange.read_header(inputs)
    split = load_split(tiny_split)
    assert header.split["content_hash"] == split.manifest.content_hash
    assert len(lines) == header.counts["requests"] == 28 and len({ln.id for ln in lines}) == 28
    assert (
        not (inputs / "gt").exists()
        and "ground truth is not in this folder" in (inputs / "README.md").read_text()
    )
    recs = {r.pair_id: r for r in split.records}
    for ln in lines:
        rec = recs[ln.pair_id]
        assert ln.description == rec.descriptions[ln.level]
        assert ln.output == exchange.output_relpath(ln.level, ln.pair_id, ln.seed)
        prep = prepare(split, rec, exported / "nowhere", lambda fn, *a: None)
        # the gray input is the protocol's (what a plug-in model receives), masks likewise
        assert np.array_equal(np.asarray(Image.open(inputs / ln.gray)), prep.gray)
        assert (ln.width, ln.height) == (256, 256)
        assert len(ln.masks) == (0 if prep.masks is None else len(prep.masks)) == len(ln.phrases)
        for k, m in enumerate(ln.masks):
            assert np.array_equal(np.asarray(Image.open(inputs / m)) > 0, prep.masks[k])
        # a phrase's colours are given only where the description still names them
        for ph in ln.phrases:
            if ln.level == "complete":
                assert ph["described"] and ph["colours"] and "span" in ph["colours"][0]
            elif ln.level == "partial":  # the description is not the caption: no caption offsets
                assert "span" not in json.dumps(ph) and "removal" not in ph
            elif ln.level in ("sparse", "none"):
                assert not ph["described"] and "colours" not in ph
    assert not (exported / "nowhere").exists()
    assert sum(len(ln.masks) for ln in lines) == 4 * 4  # "a red car": linked at 4 levels, 4 images


def test_predictions_equal_the_plugin_run(exported, tiny_split, tmp_path):
    info = tmp_path / "model.yaml"
    info.write_text(
        'version: "2.0"\ncitation: "A. Author. Tint. 2024."\nurl: https://example.org\n'
    )
    code = main(["evaluate", "--predictions", str(exported / "preds"), "--name", "tint-ext", "--model-info", str(info),
                 "--split", str(tiny_split), "--metrics", *METRICS, "--out", str(tmp_path / "ext"), "-q"])  # fmt: skip
    assert code == 0
    code = main(["evaluate", "--model", f"{__name__}:TintPlugin", "--split", str(tiny_split), "--metrics", *METRICS,
                 "--out", str(tmp_path / "plug"), "-q"])  # fmt: skip
    assert code == 0
    ext, plug = (
        rundir.open_run(tmp_path / "ext").results,
        rundir.open_run(tmp_path / "plug").results,
    )
    assert ext.model["name"] == "tint-ext" and ext.model["citation"] == "A. Author. Tint. 2024."
    assert ext.model["version"] == "2.0" and ext.model["source"] == "predictions"
    key = lambda c: (c.level, c.metric)  # noqa: E731
    assert [c.model_dump() for c in sorted(ext.aggregates, key=key)] == [
        c.model_dump() for c in sorted(plug.aggregates, key=key)
    ]
    assert ext.summaries == plug.summaries and ext.counts == plug.counts == {
        "samples": 28,
        "failed": 0,
    }
    drop = ("output_path", "output_sha256")
    a = [
        {k: v for k, v in r.items() if k not in drop} for r in rundir.read_samples(tmp_path / "ext")
    ]
    b = [
        {k: v for k, v in r.items() if k not in drop}
        for r in rundir.read_samples(tmp_path / "plug")
    ]
    assert a == b
    # the outputs themselves are the same pixels
    ra, rb = rundir.read_samples(tmp_path / "ext"), rundir.read_samples(tmp_path / "plug")
    assert [r["output_sha256"] for r in ra] == [r["output_sha256"] for r in rb]
    # a second evaluation reads the cache; a changed prediction file is a new configuration
    import shutil

    preds = tmp_path / "preds"
    shutil.copytree(exported / "preds", preds)
    args = ["evaluate", "--predictions", str(preds), "--name", "tint-ext", "--model-info", str(info), "--split",
            str(tiny_split), "--metrics", *METRICS, "--out", str(tmp_path / "ext"), "-q"]  # fmt: skip
    assert main(args) == 0 and main(args) == 0
    log = [json.loads(x) for x in (tmp_path / "ext" / rundir.RUN_LOG_FILE).read_text().splitlines()]
    assert log[-1]["cached"] == 28 and log[-1]["computed"] == 0
    one = sorted(preds.rglob("*.png"))[0]
    Image.fromarray(255 - np.asarray(Image.open(one))).save(one)
    assert main(args) == 0
    log = [json.loads(x) for x in (tmp_path / "ext" / rundir.RUN_LOG_FILE).read_text().splitlines()]
    assert log[-1]["cached"] == 0 and log[-1]["computed"] == 28
    assert (
        rundir.open_run(tmp_path / "ext").results.model["config_hash"] != ext.model["config_hash"]
    )


def test_bad_prediction_files_are_failed_samples_naming_the_file(exported, tiny_split, tmp_path):
    import shutil

    preds = tmp_path / "preds"
    shutil.copytree(exported / "preds", preds)
    lines = {(ln.pair_id, ln.level): ln for ln in exchange.read_manifest(exported / "inputs")}
    missing = preds / lines[("img000#0", "complete")].output
    small = preds / lines[("img001#0", "sparse")].output
    gray = preds / lines[("img002#1", "none")].output
    junk = preds / lines[("img003#0", "complete")].output
    missing.unlink()
    Image.fromarray(np.zeros((200, 256, 3), np.uint8)).save(small)
    Image.fromarray(np.zeros((256, 256), np.uint8)).save(gray)
    junk.write_bytes(b"not a png")
    out = tmp_path / "run"
    code = main(["evaluate", "--predictions", str(preds), "--name", "tint-ext", "--split", str(tiny_split),
                 "--metrics", "psnr", "--out", str(out), "-q"])  # fmt: skip
    assert code == 5
    errs = {(r["pair_id"], r["level"]): r["error"] for r in rundir.read_samples(out) if r["error"]}
    assert set(errs) == {
        ("img000#0", "complete"),
        ("img001#0", "sparse"),
        ("img002#1", "none"),
        ("img003#0", "complete"),
    }
    assert (
        str(missing) in errs[("img000#0", "complete")]
        and "missing" in errs[("img000#0", "complete")]
    )
    assert (
        str(small) in errs[("img001#0", "sparse")]
        and "256x200 pixels; expected 256x256" in errs[("img001#0", "sparse")]
    )
    assert str(gray) in errs[("img002#1", "none")] and "grayscale" in errs[("img002#1", "none")]
    assert (
        str(junk) in errs[("img003#0", "complete")]
        and "not a readable image" in errs[("img003#0", "complete")]
    )
    assert rundir.open_run(out).results.counts == {"samples": 28, "failed": 4}


def test_predictions_usage_errors(exported, tiny_split, tmp_path, capsys):
    inputs = exported / "inputs"
    base = ["evaluate", "--split", str(tiny_split), "--out", str(tmp_path / "r"), "-q"]
    assert main([*base, "--predictions", str(inputs)]) == 2  # no --name
    assert "needs --name" in capsys.readouterr().err
    assert main([*base, "--predictions", str(inputs), "--name", "m", "--model", "gray"]) == 2
    assert main([*base, "--model", "gray", "--name", "m"]) == 2
    assert (
        main([*base, "--predictions", str(inputs), "--name", "m", "--seed", "3"]) == 2
    )  # exported with seed 0
    assert "evaluate with the same seeds" in capsys.readouterr().err
    assert main([*base, "--predictions", str(tmp_path / "absent"), "--name", "m"]) == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("citaton: x\n")
    assert main([*base, "--predictions", str(inputs), "--name", "m", "--model-info", str(bad)]) == 4
    assert "citaton" in capsys.readouterr().err
    assert (
        main(["export-inputs", "--split", str(tiny_split), "--out", str(inputs), "-q"]) == 2
    )  # not empty
