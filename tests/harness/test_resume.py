"""Resume after SIGKILL: no finished sample is recomputed and results equal an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from simple_suite import SimpleSuite
from slow_model import SlowGray
from lcad_bench.evaluation.runner import evaluate
evaluate(SlowGray({log!r}, {delay}), {split!r}, {out!r}, suite=SimpleSuite(), batch_size=2, quiet=True)
"""


def _run(split, out, log, delay, wait=True):
    code = SCRIPT.format(here=str(HERE), log=str(log), delay=delay, split=str(split), out=str(out))
    p = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    if wait:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    return p


def _strip(results_path):
    r = json.loads(Path(results_path).read_text())
    r.pop("created_at")
    return r


def test_sigkill_then_resume(tiny_split, tmp_path):
    out, log1, log2 = tmp_path / "run", tmp_path / "log1", tmp_path / "log2"
    p = _run(tiny_split, out, log1, delay=0.3, wait=False)
    index = None
    deadline = time.time() + 120
    while time.time() < deadline:
        idx = list(out.glob("outputs/*/index.jsonl"))
        if idx and len(idx[0].read_text().splitlines()) >= 6:
            index = idx[0]
            break
        time.sleep(0.05)
    assert index is not None, "the run produced no outputs in time"
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    finished = {json.loads(line)["key"] for line in index.read_text().splitlines() if line.strip()}
    assert 6 <= len(finished) < 28 and not (out / "results.json").exists()
    _run(tiny_split, out, log2, delay=0.0)
    recomputed = set(log2.read_text().split())
    assert not (recomputed & finished), "finished samples were recomputed"
    assert len(recomputed) + len(finished) >= 28
    # an uninterrupted run in another folder gives the same results.json (apart from created_at)
    ref = tmp_path / "ref"
    _run(tiny_split, ref, tmp_path / "log3", delay=0.0)
    assert _strip(out / "results.json") == _strip(ref / "results.json")
