"""Markdown injection on the board: texts from run folders, reported-results files and study
ids are untrusted (``![](http://...)`` in a model name fetched a tracking pixel in Chromium).
Every page is rendered with such texts in every field the board shows; wherever Streamlit
renders Markdown the text must come out literal: no image, no link, no HTML, no autolink, no
Streamlit directive. The browser test serves the board in Chromium and checks that no request
reaches the pixel server and that the page holds no such image or link."""

from __future__ import annotations

import http.server
import importlib.util
import json
import re
import threading
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

LB_TESTS = Path(__file__).resolve().parents[1] / "leaderboard"
PIXEL_HOST = "127.0.0.1:9"  # nothing listens there; the browser test uses a live server instead


def _conftest():
    spec = importlib.util.spec_from_file_location("lb_conftest_injection", LB_TESTS / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def hostile(host: str, tag: str) -> str:
    """Markdown, HTML, autolinks and Streamlit directives aimed at ``host``."""
    return (f"{tag} ![px](http://{host}/{tag}.png) [click](http://{host}/{tag}-link) "
            f"<img src='http://{host}/{tag}-html.png'> www.evil.example http://{host}/{tag}-auto "
            f":red[red] $x^2$ :material/warning: **bold**")  # fmt: skip


def build_board(root: Path, host: str) -> tuple[Path, str, dict[str, str]]:
    """Runs whose model name, run id, split name, descriptions, warnings and sample errors are
    hostile, a reported file with hostile citation and notes, and a study with a hostile id."""
    from lcad_bench.leaderboard.summarize import summarize

    c = _conftest()
    runs = root / "runs"
    name = hostile(host, "model")
    descs = {lv: hostile(host, f"desc-{lv}") for lv in c.DESCRIPTIONS}
    evil = c.make_run(runs, "text-tint", model_name=name, folder="evil-run", descriptions=descs,
                      split_name=hostile(host, "split")[:120], warnings=[hostile(host, "warning")],
                      fail={("img000#0", "sparse")}, error=hostile(host, "error"))  # fmt: skip
    good = c.make_run(runs, "gray", split_name=hostile(host, "split")[:120], descriptions=descs)
    rep = json.loads(json.dumps(c.REPORTED))
    rep["citation"]["text"] = hostile(host, "citation")
    rep["citation"]["table"] = hostile(host, "table")
    rep["protocol_notes"] = hostile(host, "notes")
    rep["split"] = hostile(host, "split")[:120]
    rep["entries"][0]["model"] = hostile(host, "paper")[:120]
    (runs / "evil.reported.json").write_text(json.dumps(rep))
    # a file name is untrusted too: summarize's warning about this malformed file quotes it
    (runs / "[warn](www.evil.example) ![w](www.evil.example).json").write_text(
        '{"run_id": 1, "aggregates": []}'
    )
    board = root / "board"
    s = summarize([runs], board)
    assert len(s.warnings) == 1 and "[warn](www.evil.example)" in s.warnings[0], s.warnings
    ids = {e["model"]: e["run_id"] for e in s.runs if not e["reported"]}
    db = f"sqlite:///{root / 'study.db'}"
    from lcad_bench.study.design import StudyConfig, StudyItem
    from lcad_bench.study.store import StudyStore

    store = StudyStore(db)
    sid = hostile(host, "study")[:190]
    runs_ = (ids["gray"], ids[name])
    store.ensure_study(
        StudyConfig(sid, runs_, "correspondence", "2afc", ("complete", "sparse"), 4, 0, 0)
    )
    for i, win in enumerate(runs_ * 2):
        it = StudyItem(f"img00{i % 2}#0|controlled|complete|{runs_[0]}|{runs_[1]}", f"img00{i % 2}#0", "complete",
                       "d", runs_)  # fmt: skip
        store.record(
            study_id=sid, rater_id=f"r{i}", item=it, criterion="correspondence", choice=win
        )
    assert evil.name == "evil-run" and good.exists()
    return board, db, {"evil": ids[name], "good": ids["gray"], "study": sid}


# what Streamlit autolinks once backslash escapes are resolved (it does so even for "http\://")
AUTOLINK = re.compile(r"https?://|www\.|mailto:|[\w.+-]+@[\w-]+\.", re.IGNORECASE)
MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def markdown_problems(text: str) -> list[str]:
    """What rendering ``text`` as GitHub-flavoured Markdown (as Streamlit does) would create."""
    out = []
    html = MD.render(text)
    for bad in (
        "<img",
        "<a ",
        "<strong>bold</strong>",
    ):  # the payload's **bold**, not the page's own labels
        if bad in html:
            out.append(f"{bad} in {html[:200]!r}")
    for tok in MD.parseInline(text):
        for child in tok.children or ():
            if child.type in ("image", "link_open", "html_inline"):
                out.append(f"{child.type} from {text[:120]!r}")
    for tok in MD.parse(text):
        if tok.type == "html_block":
            out.append(f"html_block from {text[:120]!r}")
    if AUTOLINK.search(re.sub(r"\\(.)", r"\1", text)):
        out.append(f"autolink from {text[:120]!r}")
    for directive in (r"(?<!\\):red\[", r"(?<!\\)\$x", r"(?<!\\):material/"):
        if re.search(directive, text):
            out.append(f"directive {directive} from {text[:120]!r}")
    return out


def rendered_markdown(at) -> list[str]:
    """Every string of the page that Streamlit renders as Markdown."""
    texts = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "warning", "info", "error", "success",
                 "exception"):  # fmt: skip
        texts += [str(e.value) for e in getattr(at, kind)]
    for r in at.radio:
        texts += [str(r.label), *map(str, r.options)]
    for m in at.metric:
        texts += [str(m.label), str(m.value)]
    for e in at.expander:
        texts.append(str(e.label))
    for b in at.button:
        texts.append(str(b.label))
    for img in at.get("image"):
        texts += [i.caption for i in img.proto.imgs]
    for p in at.get("progress"):
        texts.append(p.proto.text)
    for d in at.dataframe:  # column help tooltips are Markdown
        cfg = json.loads(d.proto.columns or "{}")
        texts += [str(v.get("help", "")) for v in cfg.values() if isinstance(v, dict)]
    return [t for t in texts if t]


@pytest.fixture(scope="module")
def hostile_board(tmp_path_factory):
    return build_board(tmp_path_factory.mktemp("injection"), PIXEL_HOST)


def _pages(at, ids):
    """Visit every page, choosing the hostile run, split and study wherever there is a choice."""
    yield "leaderboard"
    at.sidebar.multiselect(key="lb_levels").set_value(["complete", "sparse"]).run()
    yield "leaderboard (two levels)"
    at.switch_page("app_pages/levels.py").run()
    yield "levels"
    at.switch_page("app_pages/samples.py").run()
    yield "samples (complete: the hostile run's output and its label)"
    at.sidebar.radio(key="sv_level").set_value("sparse").run()
    yield "samples (sparse: the hostile run's sample failed with a hostile error)"
    at.switch_page("app_pages/run_details.py").run()
    for rid in (
        ids["evil"],
        "reported:example-2099-tab1:" + hostile(PIXEL_HOST, "paper")[:120] + ":natural",
    ):
        at.sidebar.selectbox(key="rd_run").set_value(rid).run()
        yield f"run {rid[:20]}"
    at.switch_page("app_pages/study_results.py").run()
    yield "study results"
    at.switch_page("app_pages/study.py")
    at.query_params["study"] = ids["study"]
    at.run()
    at.text_input(key="st_rater").input("mallory").run()
    yield "study"


def test_untrusted_text_renders_literally_on_every_page(hostile_board, monkeypatch):
    board, db, ids = hostile_board
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(board))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", db)
    from importlib.resources import files

    at = AppTest.from_file(
        str(files("lcad_bench.leaderboard") / "app.py"), default_timeout=60
    ).run()
    seen_tags = set()
    for page in _pages(at, ids):
        assert not at.exception, (page, at.exception)
        texts = rendered_markdown(at)
        problems = [p for t in texts for p in markdown_problems(t)]
        assert problems == [], (page, problems[:5])
        seen_tags |= {tag for t in texts for tag in re.findall(r"\b(model|desc-sparse|split|warning|error|citation|notes|study|paper)\b", t.replace("\\", ""))}  # fmt: skip
    # the hostile texts were really on the pages (escaped), not left out
    assert {"model", "desc-sparse", "split", "warning", "error", "study"} <= seen_tags, seen_tags


def test_markdown_problems_detects_raw_payloads():
    """The checker itself: it flags the raw payload and accepts the escaped one."""
    from lcad_bench.leaderboard.safe import md_escape

    raw = hostile(PIXEL_HOST, "x")
    kinds = {p.split(" ")[0] for p in markdown_problems(raw)}
    assert {"image", "link_open", "html_inline", "autolink", "directive"} <= kinds
    assert markdown_problems(md_escape(raw)) == []
    import html

    shown = html.unescape(re.sub(r"</?p>", "", MD.render(md_escape(raw))).strip())
    assert shown.replace("\u200b", "") == raw  # the escaped text reads exactly as the original


class _Pixel(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802  (http.server's name)
        _Pixel.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.browser
def test_no_request_reaches_the_pixel_server_in_chromium(tmp_path):
    """Every page in Chromium with hostile texts pointing at a live local server: it receives
    nothing, and the DOM holds no image or link to it."""
    import importlib.util as iu

    spec = iu.spec_from_file_location("lb_browser", LB_TESTS / "test_browser.py")
    b = iu.module_from_spec(spec)
    spec.loader.exec_module(b)
    if not Path(b.CHROMIUM).exists():
        pytest.skip(f"{b.CHROMIUM} is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    pixel = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pixel)
    host = f"127.0.0.1:{pixel.server_address[1]}"
    threading.Thread(target=pixel.serve_forever, daemon=True).start()
    _Pixel.hits = []
    board, db, ids = build_board(tmp_path, host)
    from importlib.resources import files

    proc, url = b.serve(
        board, db, str(files("lcad_bench.leaderboard") / "app.py"), tmp_path / "server.log"
    )
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=b.CHROMIUM, args=b.ARGS)
            page = browser.new_page(viewport=b.VIEWPORT)
            from urllib.parse import quote

            for path in ("", "levels", "samples", "run?run=" + quote(ids["evil"]), "study-results",
                         "study?study=" + quote(ids["study"])):  # fmt: skip
                page.goto(f"{url}/{path}")
                b._ready(page)
                b._no_exception(page)
                if path.startswith("study?"):
                    page.get_by_label("Your rater id (stored only as a salted hash)").fill(
                        "mallory"
                    )
                    page.keyboard.press("Enter")
                    b._ready(page)
                html = page.content()
                assert not re.search(rf"<img[^>]+{re.escape(host)}", html), path
                # a link to the pixel host or evil.example (the board's own relative links, such as a
                # study's join link whose query holds the study id, stay on the board)
                assert not re.search(
                    rf"<a[^>]+href=\"(https?:)?//({re.escape(host)}|[^\"/]*evil\.example)", html
                ), path
                if path == "":  # the hostile texts are on the page, shown literally
                    assert "![px](http://" in page.locator(
                        '[data-testid="stMain"]'
                    ).inner_text().replace("\u200b", "")
            page.screenshot(path=str(tmp_path / "study.png"), full_page=True)
            browser.close()
    finally:
        b.stop(proc)
        pixel.shutdown()
    assert _Pixel.hits == []
