"""The served board in Debian's Chromium via Playwright: switch the level filter, see a value
change, save a screenshot under the test's tmp dir (and into docs/img/ with
LCAD_BENCH_UPDATE_SCREENSHOTS=1). Marked ``browser``: run with ``pytest -m browser``."""

from __future__ import annotations

import os
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(board_dir, app_path, tmp_path):
    port = _free_port()
    env = dict(
        os.environ,
        LCAD_BENCH_LEADERBOARD=str(board_dir),
        LCAD_BENCH_STUDY_DB=f"sqlite:///{tmp_path / 's.db'}",
    )
    cmd = [sys.executable, "-m", "streamlit", "run", app_path, "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115  (closed in the finally block)
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read().strip()
                    == b"ok"
                ):
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not start: {(tmp_path / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server we started, by its process group id
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_board_in_chromium(server, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install playwright"
    )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server)
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
            top = page.get_by_text("Top at level", exact=False).first
            sync_api.expect(top).to_have_text(
                "Top at level complete by CWHR chromatic ↑: oracle = 0.900", timeout=30_000
            )
            before = top.inner_text()
            page.locator('[data-testid="stSidebar"] label').filter(has_text="sparse").first.click()
            sync_api.expect(
                page.get_by_text("Top at level sparse", exact=False).first
            ).to_be_visible(timeout=30_000)
            after = page.get_by_text("Top at level", exact=False).first.inner_text()
            assert before != after and after.endswith("oracle = 0.800")
            page.wait_for_selector('[data-testid="stDataFrame"]')
            assert page.locator('[data-testid="stException"]').count() == 0
            time.sleep(1.0)  # let the grid canvas paint
            shot = tmp_path / "leaderboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            if os.environ.get("LCAD_BENCH_UPDATE_SCREENSHOTS") == "1":
                dest = Path(__file__).resolve().parents[2] / "docs" / "img" / "leaderboard.png"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, dest)
        finally:
            browser.close()
