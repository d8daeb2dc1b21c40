"""Exports: Markdown, paper-ready LaTeX (best in bold, ± CI, per-level columns), tidy CSV, BibTeX;
``lcad-bench show --format``; untrusted labels are escaped in every format."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from lcad_bench.leaderboard import export
from lcad_bench.leaderboard.board import load_board
from lcad_bench.leaderboard.tables import comparison_groups, group_table, split_choices, split_rows


@pytest.fixture(scope="module")
def table(board_dir):
    b = load_board(board_dir)
    repro, _ = split_rows(b.frame, split_choices(b.frame)[0])
    g = comparison_groups(repro)[0]
    t = group_table(repro, b.pairs, b.infos, g.run_ids, metrics=["psnr", "lpips"], levels=["complete", "sparse"],
                    labels=b.labels, sort_by="psnr · complete")  # fmt: skip
    return t, b.infos


def test_latex_table_is_paper_ready(table):
    t, infos = table
    tex = export.to_latex(t.frame, t.value_columns, infos, ci=True, caption="Tiny split")
    assert (
        r"\multicolumn{2}{c}{PSNR $\uparrow$}" in tex
        and r"\multicolumn{2}{c}{LPIPS (AlexNet) $\downarrow$}" in tex
    )
    assert (
        r"\# & Method & complete & $\Delta$ sparse $-$ complete & complete & $\Delta$ sparse $-$ complete \\"
        in tex
    )
    rows = [line for line in tex.splitlines() if r"$\cdot$" in line]
    assert len(rows) == 3 and rows[0].startswith("1 & text-tint $\\cdot$ ")
    # best among ranked rows in bold (the unranked oracle's 30.00 is not): PSNR 25 > 20, LPIPS 0.2 < 0.3;
    # a Δ column is never bold (gray's 0.00 drop is what ignoring the text gives)
    assert r"\textbf{25.00\,{\scriptsize$\pm$3.00}}" in rows[0] and r"\textbf{0.2000" in rows[0]
    assert (
        r"$-$3.50\,{\scriptsize$\pm$1.50}" in rows[0]
        and r"& 0.00\,{\scriptsize$\pm$0.00}" in rows[1]
    )
    assert r"\textbf" not in rows[1]
    assert r"\textbf" not in rows[2] and "30.00" in rows[2]
    assert "half the width of the 95\\% bootstrap interval" in tex
    # rr + 4 value columns: every body line has 6 cells; the top line spans two per metric
    assert tex.count(r"\begin{tabular}{rlrrrr}") == 1 and all(r.count(" & ") == 5 for r in rows)
    assert tex.count(r"\multicolumn{2}") == 2
    plain = export.to_latex(t.frame, t.value_columns, infos, ci=False)
    assert r"\pm" not in plain and r"\textbf{25.00}" in plain


def test_markdown_and_csv(table):
    t, infos = table
    md = export.to_markdown(t.frame, t.value_columns, infos, ci=True)
    lines = md.splitlines()
    assert (
        lines[0]
        == "| \\# | run | avg rank | PSNR ↑ complete | PSNR ↑ Δ sparse − complete | LPIPS \\(AlexNet\\) ↓ complete | LPIPS \\(AlexNet\\) ↓ Δ sparse − complete |"
    )
    assert lines[2].startswith("| 1 | text\\-tint · ") and "**25.00 ± 3.00**" in lines[2]
    rows = list(csv.DictReader(io.StringIO(export.to_csv(t.frame, t.value_columns, infos))))
    assert len(rows) == 3 * 4
    r = next(
        x
        for x in rows
        if x["run"].startswith("text-tint") and x["column"] == "psnr · sparse − complete"
    )
    assert (r["metric"], r["level"], r["difference_to"], float(r["value"]), r["rank"]) == (
        "psnr",
        "sparse",
        "complete",
        -3.5,
        "1",
    )
    assert float(r["ci_low"]) <= -3.5 <= float(r["ci_high"])


def test_bibtex_block_for_splits_and_protocol():
    bib = export.bibtex([{"id": "coco_val", "content_hash": "ab" * 32, "builder": {"name": "coco", "version": "1"},
                          "n_pairs": 5000, "n_images": 1000, "created_at": "2025-03-01T00:00:00Z"},
                         {"id": "coco_val", "content_hash": "ab" * 32}])  # fmt: skip
    assert bib.count("@misc{") == 2  # the protocol and one split (the repeat is dropped)
    assert (
        "@misc{lcadbench_protocol_1_0," in bib and "@misc{lcadbench_split_coco_val_abababab," in bib
    )
    assert (
        "content sha256 abababababababab" in bib
        and "5000 pairs, 1000 images" in bib
        and "year = {2025}" in bib
    )
    assert bib.count("{") == bib.count("}")


def test_untrusted_labels_are_escaped():
    evil = (
        "![x](http://127.0.0.1:9/p.png) [y](http://evil.example) <b>hi</b> $\\alpha$ 100% & #1 =cmd"
    )
    f = pd.DataFrame(
        {"rank": [1], "run": [evil], "run_id": ["=HYPERLINK(1)"], "psnr · complete": [20.0]}
    )
    md = export.to_markdown(f, ["psnr · complete"], {})
    assert "](" not in md and "<b>" not in md and "http\\:\u200b//" in md
    tex = export.to_latex(f, ["psnr · complete"], {})
    assert r"100\% \& \#1" in tex and r"\$\textbackslash{}alpha\$" in tex
    out = export.to_csv(f, ["psnr · complete"], {})
    assert "\n1,'![x]" not in out and ",'=HYPERLINK(1)," in out  # no spreadsheet formula


def test_show_format_cli(board_dir, runs_root, capsys, run_ids):
    import argparse

    from lcad_bench.cli.evaluate import register

    p = argparse.ArgumentParser(prog="lcad-bench")
    register(p.add_subparsers(dest="command"))
    run = runs_root / run_ids["text-tint"]
    for fmt in ("latex", "markdown", "csv", "text"):
        args = p.parse_args(["show", str(run), "--format", fmt])
        assert args.func(args) == 0
        out = capsys.readouterr().out
        if fmt == "latex":
            assert r"\begin{tabular}" in out and "@misc{lcadbench_split_tiny_aaaaaaaa" in out
            assert "pairs per level: complete 4, partial 2, sparse 4, none 4" in out.replace(
                "\\", ""
            )
            assert re.search(r"& 25\.00\\,\{\\scriptsize\$\\pm\$3\.00\}", out)
        elif fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(out)))
            assert {(r["column"], float(r["value"])) for r in rows} >= {
                ("psnr · partial", 21.0),
                ("fid · none", 15.0),
            }
        elif fmt == "markdown":
            assert out.splitlines()[2].startswith("| \\# | run |")
        else:
            assert "text-tint on tiny (4 pairs)" in out


def test_latex_export_compiles(table, tmp_path):
    """The board's LaTeX export (with ± CI and the BibTeX block) compiles with pdflatex + booktabs."""
    import shutil
    import subprocess

    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-recommended)")
    t, infos = table
    tex = export.to_latex(
        t.frame, t.value_columns, infos, ci=True, caption="Tiny split, 100% synthetic & #1"
    )
    tex += export.bibtex_comment([{"id": "tiny_split", "content_hash": "a" * 64}])
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{booktabs}\n"
                   "\\usepackage[margin=1cm,landscape]{geometry}\\begin{document}\n" + tex + "\\end{document}\n")  # fmt: skip
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


def test_csv_of_several_groups_names_each_row_s_group(board_dir):
    """Review finding 11: the board's CSV concatenated every group's rows without saying which
    group a row (and its rank) belongs to; each row now has a ``group`` column."""
    b = load_board(board_dir)
    repro, _ = split_rows(b.frame, split_choices(b.frame)[0])
    parts = []
    for g in comparison_groups(repro):
        t = group_table(
            repro,
            b.pairs,
            b.infos,
            g.run_ids,
            metrics=["psnr"],
            levels=["complete"],
            labels=b.labels,
        )
        parts.append((g.title, t.frame, t.value_columns))
    text = export.groups_to_csv(parts, b.infos)
    assert text.count("group,rank,run,run_id,column") == 1
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["group"], r["rank"], r["run"].split(" · ")[0]) for r in rows] == [
        ("Full runs · model's own L*", "1", "text-tint"), ("Full runs · model's own L*", "2", "gray"),
        ("Full runs · model's own L*", "", "oracle"), ("Full runs · output L* replaced by the input's", "1", "l-paste"),
        ("Partial runs (limit 2) · model's own L*", "1", "text-tint")]  # fmt: skip


def test_bibtex_escapes_the_content_hash():
    """A content hash comes from an untrusted split record: escaped like every other text, so a
    brace or a backslash in it cannot unbalance or inject into the .bib entry."""
    bib = export.bibtex([{"id": "s", "content_hash": "ab}\\input{/etc/passwd}{"}])
    assert "\\input" not in bib and "\\textbackslash{}input" in bib
    entry = "{" + bib.split("@misc{lcadbench_split_", 1)[1]
    depth = 0
    for ch in entry.replace("\\{", "").replace("\\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
