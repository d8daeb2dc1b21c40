"""``lcad-bench describe`` and ``demo``: output, files, and clear errors on bad input."""

from __future__ import annotations

import json

import pytest

from lcad_bench.cli import main
from lcad_bench.errors import ExitCode


def test_describe_text_json(capsys):
    assert main(["describe", "a red car and the bus is white", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["natural_level"] == "complete"
    assert rec["descriptions"]["sparse"] == "a car and the bus"
    assert [p["colours"][0]["canonical"] for p in rec["colour_phrases"]] == ["red", "white"]
    assert rec["descriptions"]["none"] == ""


def test_describe_text_table(capsys):
    assert main(["describe", "a boy wearing yellow"]) == 0
    out = capsys.readouterr().out
    assert "a boy wearing clothes" in out and "garment" in out


def test_describe_text_file_and_coco_json(tmp_path, capsys):
    f = tmp_path / "caps.txt"
    f.write_text("# comment\na red car\n\nthe sky is blue\n", encoding="utf-8")
    assert main(["describe", "--file", str(f), "--json", "-q"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in lines] == ["line2", "line4"]
    coco = tmp_path / "captions.json"
    coco.write_text(
        json.dumps({"annotations": [{"id": 7, "image_id": 1, "caption": "a white dog"}]})
    )
    out = tmp_path / "o.jsonl"
    assert main(["describe", "--file", str(coco), "--out", str(out), "-q"]) == 0
    rec = json.loads(out.read_text())
    assert rec["id"] == "1:7" and rec["descriptions"]["sparse"] == "a dog"


@pytest.mark.parametrize(
    "content,needle",
    [
        ('{"annotations": [{"caption": "a red car"}', "malformed JSON"),
        ('{"images": []}', "no 'annotations' list"),
        ('{"annotations": [{"id": 1, "caption": 5}]}', "annotation #0"),
    ],
)
def test_describe_bad_json_names_the_file(tmp_path, capsys, content, needle):
    f = tmp_path / "bad.json"
    f.write_text(content)
    assert main(["describe", "--file", str(f)]) == ExitCode.VERIFY
    err = capsys.readouterr().err
    assert needle in err and "bad.json" in err and "Traceback" not in err


def test_describe_non_utf8_and_missing(tmp_path, capsys):
    f = tmp_path / "latin1.txt"
    f.write_bytes("a r\xe9d car".encode("latin-1"))
    assert main(["describe", "--file", str(f)]) == ExitCode.VERIFY
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["describe", "--file", str(tmp_path / "nope.txt")]) == ExitCode.MISSING
    assert "no such file" in capsys.readouterr().err


def test_describe_usage_errors(capsys):
    assert main(["describe"]) == ExitCode.USAGE
    assert "give either caption text or --file" in capsys.readouterr().err


def test_missing_spacy_pipeline_is_a_clear_error(capsys):
    assert (
        main(["describe", "a red car", "--spacy-model", "en_core_web_nonexistent"])
        == ExitCode.MISSING
    )
    err = capsys.readouterr().err
    assert "en_core_web_nonexistent" in err and "spacy download" in err


def test_pipeline_resolution(monkeypatch):
    from lcad_bench.text import nlp

    assert nlp.resolve_pipeline_name() in nlp.DEFAULT_PIPELINES
    monkeypatch.setattr(nlp, "_installed", lambda name: False)
    with pytest.raises(nlp.SpacyModelMissingError, match="en_core_web_sm"):
        nlp.resolve_pipeline_name()
    monkeypatch.setenv(nlp.ENV_VAR, "my_pipeline")
    with pytest.raises(nlp.SpacyModelMissingError, match="my_pipeline"):
        nlp.resolve_pipeline_name()


def test_demo_prints_every_level(capsys, tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "natural levels:" in out and "sparse" in out and "partial" in out
    assert "Demo split built" in out and (tmp_path / "demo" / "split" / "manifest.json").is_file()
    assert (
        "lcad-bench leaderboard --board" in out
        and (tmp_path / "demo" / "board" / "leaderboard.parquet").is_file()
    )
    # end to end on real photos: the oracle paints the linked masks, so CWHR checks masks, links
    # and the CWHR table; the gray input scores 0 chromatic and 1 achromatic (protocol 6.6)
    res = {
        m: json.loads((tmp_path / "demo" / "runs" / m / "results.json").read_text())
        for m in ("gray", "oracle-palette")
    }
    cell = {
        (m, c["level"], c["metric"]): c["mean"] for m, r in res.items() for c in r["aggregates"]
    }
    assert cell[("oracle-palette", "complete", "cwhr_chromatic")] == 1.0
    assert cell[("oracle-palette", "complete", "cwhr_achromatic")] == 1.0
    assert (
        cell[("gray", "complete", "cwhr_chromatic")] == 0.0
        and cell[("gray", "complete", "cwhr_achromatic")] == 1.0
    )
    assert cell[("gray", "none", "psnr")] == cell[("gray", "complete", "psnr")]


def test_skipping_the_torch_import_leaves_torch_importable():
    """describe imports spaCy without torch (2 s) but never leaves torch unimportable."""
    import subprocess
    import sys

    code = (
        "from lcad_bench.text.nlp import skip_torch_import; import sys; "
        "assert skip_torch_import(); assert 'torch' not in sys.modules; "
        "import thinc.compat; assert not thinc.compat.has_torch; import torch; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
