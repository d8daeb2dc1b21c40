"""One owner per fact: level names, split columns, metric display facts, the timestamp format and
the protocol's citations each have exactly one definition."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("lcad_bench", "builders", "baselines", "leaderboard", "benchmarks")


def _code_files():
    for d in CODE_DIRS:
        yield from (p for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def _grep(pattern: str) -> list[str]:
    rx = re.compile(pattern)
    return sorted(
        str(p.relative_to(ROOT)) for p in _code_files() if rx.search(p.read_text(encoding="utf-8"))
    )


def test_level_names_are_defined_once():
    assert _grep(r"""["']complete["'],\s*["']partial["'],\s*["']sparse["'],\s*["']none["']""") == [
        "lcad_bench/protocol.py"
    ]


def test_split_columns_are_declared_once():
    from lcad_bench.splits.schema import COLUMNS, arrow_schema, card_fields_table, datasets_features

    names = [c.name for c in COLUMNS]
    assert arrow_schema().names == names and list(datasets_features()) == names
    assert all(f"`{n}`" in card_fields_table() for n in names)
    # no other module spells out a description column
    assert _grep(r"desc_(complete|partial|sparse|none)") == []


def test_metric_display_facts_have_one_source():
    """The leaderboard and ``show`` read the metric catalogue; nothing else declares display names."""
    from lcad_bench.leaderboard.columns import merge_metadata, metric_info

    from lcad_bench.metrics import catalogue

    cat = catalogue()
    for name, info in cat.items():
        assert metric_info(name) is info
    # a run claiming other display facts for a known column does not override the catalogue
    assert (
        merge_metadata(
            ["psnr"],
            [
                {
                    "psnr": {
                        "columns": [
                            {"name": "psnr", "display_name": "X", "higher_is_better": False}
                        ]
                    }
                }
            ],
        )["psnr"]
        is cat["psnr"]
    )
    assert (
        _grep(r"display_name\s*=") == []
    )  # ColumnInfo is built positionally in the metric modules only
    assert set(_grep(r"\bColumnInfo\(\s*\"")) <= {
        f"lcad_bench/metrics/{m}.py"
        for m in ("psnr", "ssim", "lpips", "colourfulness", "cwhr", "fid")
    }


def test_timestamp_format_is_written_once():
    assert _grep(r"strftime\(") == ["lcad_bench/fileio.py"]


def test_code_cites_only_the_protocol_in_the_repository():
    assert (
        _grep(r"shared/design|benchmark-protocol\.md|lcad-model\.md|engineering-patterns\.md") == []
    )
    headings = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#{1,4} (.+)$", headings, re.M)
    }
    cited = set()
    for p in _code_files():
        cited |= set(re.findall(r"docs/protocol\.md#([\w-]+)", p.read_text(encoding="utf-8")))
    assert cited and cited <= anchors, sorted(cited - anchors)


def test_docs_metric_table_is_the_catalogue():
    from lcad_bench.metrics import markdown_table

    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    block = page.split("<!-- metric-table:start -->\n", 1)[1].split(
        "\n<!-- metric-table:end -->", 1
    )[0]
    assert block == markdown_table(), (
        "docs/metrics.md is stale: regenerate its table from lcad_bench.metrics.markdown_table()"
    )


def test_package_map_names_every_module():
    """docs/architecture.md's package map names each module (by file name) or the folder row
    that covers it: cli/, lcad/, baselines/, one metric per metrics/<name>.py, study/, app_pages/."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    mapped = page[page.index("## Package map") :]
    covered = ("lcad_bench/cli/", "lcad_bench/lcad/", "baselines/", "lcad_bench/study/",
               "leaderboard/app_pages/", "lcad_bench/metrics/")  # folder rows  # fmt: skip
    missing = []
    for d in ("lcad_bench", "builders", "leaderboard"):
        for p in sorted((ROOT / d).rglob("*.py")):
            rel = str(p.relative_to(ROOT))
            if p.name in ("__init__.py", "__main__.py") or "__pycache__" in p.parts:
                continue
            if rel.startswith(covered) and rel != "lcad_bench/metrics/weights.py":
                continue
            if f"`{rel}`" not in mapped and f"`{p.name}`" not in mapped:
                missing.append(rel)
    assert missing == [], f"docs/architecture.md's package map lacks {missing}"


def test_architecture_doc_names_every_board_module_and_file():
    """docs/architecture.md's package map names every module of leaderboard/ and the pages'
    folder app_pages/ (never a pages/ folder: Streamlit's old discovery); the board folder line
    and the summarize help list every file summarize writes."""
    import argparse

    from lcad_bench.leaderboard.summarize import BOARD_FILE, METRICS_FILE, PAIRS_FILE, RUNS_FILE

    from lcad_bench.cli.leaderboard import register

    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    row = next(line for line in doc.splitlines() if line.startswith("| `leaderboard/` |"))
    modules = sorted(p.name for p in (ROOT / "leaderboard").glob("*.py") if p.name != "__init__.py")
    assert [m for m in modules if f"`{m}`" not in row] == []
    assert "`app_pages/`" in row and "leaderboard/pages/" not in doc and "`pages/`" not in row
    assert (ROOT / "leaderboard" / "app_pages").is_dir() and not (
        ROOT / "leaderboard" / "pages"
    ).exists()
    board_line = next(line for line in doc.splitlines() if line.lstrip().startswith("board folder"))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    help_text = " ".join(
        parser._subparsers._group_actions[0].choices["summarize"].description.split()
    )  # noqa: SLF001
    for f in (BOARD_FILE, PAIRS_FILE, METRICS_FILE, RUNS_FILE):
        assert f in board_line and f in help_text, f


def test_study_column_prefix_is_written_once():
    """The board tells study columns apart by one constant (stats.STUDY_COLUMN_PREFIX)."""
    assert _grep(r"""["']study:""") == ["lcad_bench/study/stats.py"]
