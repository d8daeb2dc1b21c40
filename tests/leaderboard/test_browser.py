"""The served board in Debian's Chromium via Playwright: every page opens without an exception,
the level and split filters change what is shown, a shared URL reproduces the view, the LaTeX
export downloads, and a rater joins a study by its link. Screenshots go to the test's tmp dir
(and, with LCAD_BENCH_UPDATE_SCREENSHOTS=1, to docs/img/). Marked ``browser``: run with
``pytest -m browser tests/leaderboard``."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
VIEWPORT = {"width": 1400, "height": 1000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(board: Path, db: str, app_path: str, log: Path):
    """Start ``streamlit run`` on a free port; returns (process, url)."""
    port = _free_port()
    env = dict(os.environ, LCAD_BENCH_LEADERBOARD=str(board), LCAD_BENCH_STUDY_DB=db)
    cmd = [sys.executable, "-m", "streamlit", "run", app_path, "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read().strip() == b"ok":
                return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
        time.sleep(0.3)


def stop(proc) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # the server we started, by its process group id
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser_board(tmp_path_factory, make_run_fn_module, runs_root):
    """The fixture runs, a gray run on another build of "tiny" (other content) and a study."""
    from lcad_bench.leaderboard.summarize import summarize

    root = tmp_path_factory.mktemp("browser")
    other = root / "other-runs"
    make_run_fn_module(other, "gray", split="tiny-other-content")
    board = root / "board"
    s = summarize([runs_root, other], board)
    assert not s.warnings, s.warnings
    db = f"sqlite:///{root / 'study.db'}"
    _record_study(db, s.runs)
    return board, db


def _record_study(db: str, runs: list[dict]) -> None:
    from lcad_bench.study.design import StudyConfig, draw_items, hash_rater, rater_order
    from lcad_bench.study.store import StudyStore

    store = StudyStore(db)
    ids = {
        e["model"]: e["run_id"]
        for e in runs
        if not e["reported"] and not e["partial"] and e["split_hash"] == "a" * 64
    }
    cfg = StudyConfig("demo-study", (ids["gray"], ids["text-tint"], ids["oracle"]), "correspondence", "2afc",
                      ("complete", "partial", "sparse", "none"), 14, 0, 0)  # fmt: skip
    salt = store.ensure_study(cfg)
    avail = {r: {(p, lv): "d" for p in ("img000#0", "img000#1", "img001#0", "img002#0") for lv in cfg.levels
                 if lv != "partial" or p in ("img000#0", "img001#0")} for r in cfg.runs}  # fmt: skip
    items = draw_items(cfg, avail)
    strength = {ids["gray"]: 1.0, ids["text-tint"]: 2.5, ids["oracle"]: 5.0}
    for k, rater in enumerate(("ana", "ben", "chen", "dee")):
        h = hash_rater(rater, salt)
        for j, it in enumerate(rater_order(items, h, cfg.seed)):
            a, b = it.shown
            p = strength[a] / (strength[a] + strength[b])
            choice = a if ((j * 7 + k * 3) % 10) / 10 < p else b
            store.record(study_id=cfg.study_id, rater_id=h, item=it, criterion=cfg.criterion, choice=choice,
                         response_time_ms=900 + 10 * j)  # fmt: skip


@pytest.fixture(scope="module")
def make_run_fn_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "lb_conftest_browser", Path(__file__).with_name("conftest.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_run


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install playwright"
    )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser, sync_api
        finally:
            browser.close()


def _ready(page, timeout=60_000) -> None:
    """Wait until the script run is over (no running indicator) and nothing is stale."""
    time.sleep(0.5)  # a rerun starts after the event that caused it
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && document.querySelectorAll('[data-stale="true"]').length === 0""",
        timeout=timeout,
    )
    time.sleep(0.8)  # let grids and charts paint


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()  # fmt: skip


def _shot(page, tmp_path: Path, name: str, docs: str | None = None) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    if docs and os.environ.get("LCAD_BENCH_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMG / docs)
    return path


def _texts(page, testid: str) -> list[str]:
    return [vis(t).strip() for t in page.locator(f'[data-testid="{testid}"]').all_inner_texts()]


def vis(text: str) -> str:
    """Visible text (the board puts zero-width spaces after ":" in untrusted text)."""
    return text.replace("\u200b", "")


def _pick(page, widget_label: str, option: str, multi: bool = False) -> None:
    """Choose ``option`` in the sidebar selectbox / multiselect labelled ``widget_label``."""
    kind = "stMultiSelect" if multi else "stSelectbox"
    box = (
        page.locator(f'[data-testid="stSidebar"] [data-testid="{kind}"]')
        .filter(has_text=widget_label)
        .first
    )
    box.get_by_role("combobox").first.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    _ready(page)


def test_board_pages_filters_shared_url_and_export(browser_board, app_path, tmp_path, chromium):
    board, db = browser_board
    browser, sync_api = chromium
    proc, url = serve(board, db, app_path, tmp_path / "server.log")
    try:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        _ready(page)
        _no_exception(page)
        heads = _texts(page, "stHeading")
        assert heads[:4] == ["Leaderboard", "Full runs · model's own L*", "Full runs · output L* replaced by the input's",
                             "Partial runs (limit 2) · model's own L*"]  # fmt: skip
        best = vis(page.get_by_text("Best average rank:", exact=False).first.inner_text())
        assert re.fullmatch(r"Best average rank: text-tint · [0-9a-f]{7} \(1\.00\)", best)
        assert "None" not in vis(page.locator('[data-testid="stMain"]').inner_text())
        _shot(page, tmp_path, "leaderboard", docs="leaderboard.png")

        # switch level: add sparse -> paired difference columns, n stated in the note
        _pick(page, "Levels", "sparse", multi=True)
        _no_exception(page)
        assert "level=complete&level=sparse" in page.url
        notes = " ".join(_texts(page, "stCaptionContainer"))
        assert "sparse − complete: 4 pairs (3 images)" in notes
        _shot(page, tmp_path, "leaderboard-sparse")

        # switch split: the other build of "tiny" holds only its own run
        _pick(page, "Split", "tiny · bbbbbbbb (1 runs)")
        _no_exception(page)
        assert "split=" + "b" * 64 in page.url
        assert re.fullmatch(r"Best average rank: gray · [0-9a-f]{7} \(1\.00\)",
                            vis(page.get_by_text("Best average rank:", exact=False).first.inner_text()))  # fmt: skip
        _pick(page, "Split", "tiny · aaaaaaaa (5 runs)")
        shared = page.url
        view = (_texts(page, "stHeading"), _texts(page, "stCaptionContainer"))

        # a shared link in a fresh browser context gives the same view
        other = browser.new_context(viewport=VIEWPORT).new_page()
        other.goto(shared)
        _ready(other)
        _no_exception(other)
        assert (_texts(other, "stHeading"), _texts(other, "stCaptionContainer")) == view
        assert other.url == shared

        # the LaTeX export downloads: one table per comparison group and the BibTeX block
        with page.expect_download() as dl:
            page.get_by_text("LaTeX table", exact=True).click()
        tex = tmp_path / "leaderboard.tex"
        dl.value.save_as(tex)
        text = tex.read_text()
        assert (
            text.count(r"\begin{tabular}") == 3
            and r"\textbf{" in text
            and "@misc{lcadbench_split_tiny_aaaaaaaa" in text
        )
        assert r"$\Delta$ sparse $-$ complete" in text

        # every page opens; the per-level chart and the sample viewer react to their filters
        for path, name, docs in (("levels", "levels", "levels.png"), ("samples", "samples", "samples.png"),
                                 ("run", "run", None), ("study-results", "study-results", "study-results.png"),
                                 ("leaderboard", "alias", None)):  # fmt: skip
            page.goto(f"{url}/{path}")
            _ready(page)
            _no_exception(page)
            assert "Page not found" not in page.locator("body").inner_text()
            if name == "levels":
                assert "PSNR ↑: paired difference to complete" in _texts(page, "stHeading")
                sync_api.expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(
                    1, timeout=30_000
                )
            if name == "samples":
                # gray input, ground truth and the split's four full runs
                sync_api.expect(page.locator('[data-testid="stImage"]')).to_have_count(
                    6, timeout=30_000
                )
                page.locator('[data-testid="stSidebar"] label').filter(
                    has_text="sparse"
                ).first.click()
                _ready(page)
                assert "Description (sparse): a red car" in vis(
                    page.locator('[data-testid="stMain"]').inner_text()
                )
            if name == "study-results":
                sync_api.expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(
                    1, timeout=30_000
                )
                box = page.locator('[data-testid="stVegaLiteChart"]').first.bounding_box()
                assert (
                    box["height"] > 200 and box["width"] > 600
                )  # a readable chart, not a squashed strip
            _shot(page, tmp_path, name, docs=docs)
    finally:
        stop(proc)


def test_rater_joins_by_link(browser_board, app_path, tmp_path, chromium):
    board, db = browser_board
    browser, _ = chromium
    proc, url = serve(board, db, app_path, tmp_path / "server.log")
    try:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{url}/study?study=demo-study")
        _ready(page)
        _no_exception(page)
        assert "Study demo-study" in _texts(page, "stHeading")
        page.get_by_label("Your rater id (stored only as a salted hash)").fill("eve@example.org")
        page.keyboard.press("Enter")
        _ready(page)
        main = vis(page.locator('[data-testid="stMain"]').inner_text())
        assert "0 of 14 answered" in main and "Choose left" in main
        runs = json.loads((board / "runs.json").read_text())["runs"]
        for e in (
            runs
        ):  # blind: no run label, run id or model name on the page ("gray input" is the input)
            assert e["run_id"] not in main and e["label"] not in main
            assert e["model"] == "gray" or e["model"] not in main
        _shot(page, tmp_path, "study", docs="study.png")
        page.get_by_text("Choose right", exact=True).click()
        _ready(page)
        assert "1 of 14 answered" in vis(page.locator('[data-testid="stMain"]').inner_text())
    finally:
        stop(proc)
