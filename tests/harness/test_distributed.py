"""Data-parallel evaluation (accelerate launch / torchrun, gloo on CPU): one run folder equal to a
single-process run's, FID from gathered float64 statistics, resume per rank after a kill."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ranked_model import RankedSlowGray
from simple_suite import SimpleSuite
from tiny_fid import tiny_suite

from lcad_bench.errors import ExitCode, LcadBenchError, UsageError
from lcad_bench.evaluation import distributed, rundir
from lcad_bench.evaluation.plan import in_shard, plan_run, rank_shard
from lcad_bench.evaluation.runner import SamplesFailedError, evaluate

HERE = Path(__file__).parent
N_ITEMS = 28  # the tiny split: 8 pairs x (complete, sparse, none) + 4 partial


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    for k in (
        "RANK",
        "WORLD_SIZE",
        "LOCAL_RANK",
        "MASTER_ADDR",
        "MASTER_PORT",
        "ACCELERATE_USE_CPU",
    ):
        env.pop(k, None)
    return env


def _accelerate() -> list[str]:
    return [sys.executable, "-m", "accelerate.commands.launch"]


def test_rank_shards_partition_the_users_shard():
    ids = [f"img{i}#{k}" for i in range(300) for k in range(2)]
    for shard in (None, (0, 2), (1, 3)):
        mine = [p for p in ids if in_shard(p, shard)]
        for w in (2, 3, 4):
            parts = [[p for p in mine if in_shard(p, rank_shard(shard, r, w))] for r in range(w)]
            assert sorted(sum(parts, [])) == sorted(mine)  # every pair once
            assert all(parts), (shard, w)  # --shard 0/2 on 2 processes: both get work
    with pytest.raises(ValueError):
        rank_shard(None, 2, 2)


def test_launch_detection_without_torch():
    assert distributed.launched_world_size({}) == 1
    assert distributed.launched_world_size({"WORLD_SIZE": "4"}) == 4
    assert distributed.launched_world_size({"OMPI_COMM_WORLD_SIZE": "2"}) == 2
    cpu = {"ACCELERATE_USE_CPU": "True"}
    argv = [
        "python",
        "accelerate",
        "launch",
        "--cpu",
        "--num_processes",
        "2",
        "-m",
        "lcad_bench",
        "evaluate",
    ]
    assert distributed.requested_processes(cpu, argv) == 2
    argv_eq = ["accelerate", "launch", "--cpu", "--num_processes=3", "-m", "lcad_bench"]
    assert distributed.requested_processes(cpu, argv_eq) == 3
    assert distributed.requested_processes(cpu, ["accelerate", "launch", "--cpu", "-m", "x"]) == 1
    assert distributed.requested_processes({}, argv) == 1  # not a child of accelerate's launcher
    gpu_less = [
        "accelerate",
        "launch",
        "--num_processes",
        "2",
        "-m",
        "x",
    ]  # no --multi_gpu, < 2 GPUs
    assert distributed.requested_processes({"ACCELERATE_USE_CPU": "False"}, gpu_less) == 2
    # the launched program's own --num_processes is not accelerate's
    argv_prog = ["accelerate", "launch", "--cpu", "-m", "prog", "--num_processes", "5"]
    assert distributed.requested_processes(cpu, argv_prog) == 1
    argv_mod = [
        "python",
        "-m",
        "accelerate.commands.launch",
        "--cpu",
        "--num_processes",
        "4",
        "-m",
        "x",
    ]
    assert distributed.requested_processes(cpu, argv_mod) == 4


def test_no_launch_imports_neither_torch_nor_accelerate():
    code = (
        "import sys\n"
        "from lcad_bench.evaluation import distributed\n"
        "import lcad_bench.cli.evaluate, lcad_bench.evaluation.exchange\n"
        "assert distributed.detect() is None\n"
        "print(sorted(m for m in ('torch', 'accelerate') if m in sys.modules))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr[-2000:]


def test_accelerate_cpu_with_several_processes_is_refused(tiny_split, tmp_path):
    """`accelerate launch --cpu --num_processes 2` starts ONE process (accelerate's CPU launcher);
    evaluate says so and names the commands that start two, rather than running serially."""
    cmd = [*_accelerate(), "--cpu", "--num_processes", "2", "--main_process_port", str(_free_port()),
           "-m", "lcad_bench", "evaluate", "--model", "gray", "--split", str(tiny_split),
           "--out", str(tmp_path / "run"), "-q"]  # fmt: skip
    p = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    # the child exits 2 (usage); accelerate's launcher turns any child failure into its exit code 1
    assert p.returncode != 0 and "returned non-zero exit status 2" in p.stderr, p.stderr[-2000:]
    assert "started ONE process" in p.stderr and "torchrun --nproc_per_node 2" in p.stderr
    assert not (tmp_path / "run").exists()


def test_suite_without_state_cannot_be_split():
    with pytest.raises(UsageError, match="cannot be combined over processes"):
        distributed.check_suite(SimpleSuite())
    distributed.check_suite(tiny_suite())


class _FakeWorld:
    """Rank 0 of two, the other rank's part given; broadcast hands back what rank 0 sends."""

    size, rank, is_main = 2, 0, True

    def __init__(self, other):
        self.other = other

    def gather(self, obj):
        return [obj, self.other]

    def broadcast(self, obj=None):
        return obj


def test_gather_puts_rows_in_plan_order_and_refuses_gaps(tiny_split, tmp_path):
    full = plan_run(RankedSlowGray(str(tmp_path / "log")), tiny_split, tmp_path / "r")
    rows = [
        {"pair_id": it.record.pair_id, "level": it.level, "seed": it.seed, "k": k}
        for k, it in enumerate(full.items)
    ]
    mine = [r for r in rows if in_shard(r["pair_id"], rank_shard(None, 0, 2))]
    other = [r for r in rows if r not in mine]
    suite = tiny_suite()

    def combine(mine_rows, other_rows, mine_counts=None, other_counts=None):
        parts = [{"rows": mine_rows, "counts": mine_counts or {}, "dist": {}},
                 {"rows": other_rows, "counts": other_counts or {}, "dist": {}}]  # fmt: skip
        return distributed.combine(_FakeWorld(None), full, parts, suite)

    placed, log = combine(mine, other, {"computed": len(mine)}, {"computed": len(other)})
    assert [r["k"] for r in placed] == list(range(len(rows)))
    assert log["computed"] == len(rows) and log["world_size"] == 2
    with pytest.raises(LcadBenchError, match="came back from no process"):
        combine(mine, other[1:])
    with pytest.raises(LcadBenchError, match="came twice"):
        combine(mine, other + mine[:1])


def test_an_error_of_any_process_reaches_every_process():
    """all_or_none: rank 0 learns rank 1's error at the gather and sends it to all (its exit code
    kept); rank 0's own error in ``finish`` likewise; a success returns finish's value."""
    other_failed = {"error": "process 1 of 2: b#0 [complete]: boom", "exit_code": 5, "rank": 1}
    with pytest.raises(distributed.ProcessFailedError, match="process 1 of 2: b#0") as e:
        distributed.all_or_none(_FakeWorld(other_failed), lambda: 1, lambda parts: "never")
    assert e.value.exit_code == ExitCode.SAMPLES_FAILED

    def finish(parts):
        raise rundir.RunWriteError("cannot write results.json")

    with pytest.raises(distributed.ProcessFailedError, match="process 0 of 2: cannot write") as e:
        distributed.all_or_none(_FakeWorld({"ok": 2}), lambda: 1, finish)
    assert e.value.exit_code == ExitCode.MISSING
    assert distributed.all_or_none(_FakeWorld({"ok": 2}), lambda: 1, sum) == 3

    class Other(_FakeWorld):  # rank 1: its work fails; it still joins the gather and broadcast
        rank, is_main = 1, False
        calls: list[str] = []

        def gather(self, obj):
            self.calls.append(f"gather {obj.get('error', '')}")

        def broadcast(self, obj=None):
            self.calls.append("broadcast")
            return other_failed

    def work():
        raise SamplesFailedError("b#0 [complete]: boom")

    with pytest.raises(distributed.ProcessFailedError) as e:
        distributed.all_or_none(Other(None), work, sum)
    assert Other.calls == ["gather process 1 of 2: b#0 [complete]: boom", "broadcast"]
    assert e.value.exit_code == ExitCode.SAMPLES_FAILED


def _index_keys(run: Path) -> set[str]:
    keys = set()
    for idx in run.glob("outputs/*/index.jsonl"):
        for line in idx.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError, KeyError):
                keys.add(json.loads(line)["key"])
    return keys


def test_data_parallel_run_equals_one_process_and_resumes_per_rank(tiny_split, tmp_path):
    out, pids = tmp_path / "dp", tmp_path / "pids"
    pids.mkdir()
    log1, log2 = tmp_path / "log1", tmp_path / "log2"
    model_args = lambda log, delay: ["--model", "ranked_model:RankedSlowGray", "--model-arg", f"log={log}",  # noqa: E731
                                     "--model-arg", f"delay={delay}", "--model-arg", f"pids={pids}"]  # fmt: skip
    common = ["--split", str(tiny_split), "--out", str(out), "--batch-size", "2", "-q"]
    # 1) torchrun, 2 CPU processes; rank 1 is SIGKILLed mid-run (the launcher then stops rank 0)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(_free_port()), "-m", "lcad_bench", "evaluate", *model_args(log1, 0.5), *common, "--metrics", "psnr"]  # fmt: skip
    p = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline and p.poll() is None:
            ranks = (
                {line.split()[0] for line in log1.read_text().splitlines()}
                if log1.exists()
                else set()
            )
            if len(_index_keys(out)) >= 6 and ranks == {"0", "1"} and (pids / "pid.1").exists():
                break
            time.sleep(0.05)
        assert p.poll() is None, p.communicate()[1].decode()[-3000:]
        os.kill(int((pids / "pid.1").read_text()), signal.SIGKILL)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode != 0 and not (out / rundir.RESULTS_FILE).exists(), err.decode()[-2000:]
    finished = _index_keys(out)
    assert 6 <= len(finished) < N_ITEMS
    first = [line.split() for line in log1.read_text().splitlines()]
    assert {r for r, _d, _k in first} == {"0", "1"} and {d for _r, d, _k in first} == {"cpu"}

    # 2) accelerate launch, 2 processes (gloo on CPU): resumes; the CLI with a tiny FID network
    cmd = [*_accelerate(), "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "--main_process_port", str(_free_port()), "-m", "tiny_fid", "evaluate",
           *model_args(log2, 0.0), *common]  # fmt: skip
    p2 = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert p2.returncode == 0, p2.stderr[-3000:]
    recomputed = [line.split() for line in log2.read_text().splitlines()]
    assert recomputed and {r for r, _d, _k in recomputed} <= {"0", "1"}
    assert not ({k for *_x, k in recomputed} & finished), "finished samples were recomputed"
    assert len(recomputed) + len(finished) == N_ITEMS

    # 3) the same run in one process
    single = tmp_path / "single"
    evaluate(RankedSlowGray(str(tmp_path / "log3"), 0.0), tiny_split, single, suite=tiny_suite(),
             batch_size=2, quiet=True)  # fmt: skip

    a = json.loads((single / rundir.RESULTS_FILE).read_text())
    b = json.loads((out / rundir.RESULTS_FILE).read_text())
    assert a["environment"].pop("world_size") == 1 and b["environment"].pop("world_size") == 2
    for r in (a, b):
        r.pop("created_at")
        r.pop("samples")  # the table's sha256 (compared row by row below)
        r.pop("distribution_state")  # the statistics file's sha256 (compared to 1e-9 below)
        r["split"].pop("path")
    fa, fb = a.pop("distribution_metrics"), b.pop("distribution_metrics")
    assert a == b  # aggregates, intervals, summaries, counts, run id, model, protocol, warnings
    assert [(d["level"], d["metric"], d["n_real"], d["n_fake"]) for d in fa] == [
        (d["level"], d["metric"], d["n_real"], d["n_fake"]) for d in fb
    ]
    for da, db in zip(fa, fb):
        assert db["value"] == pytest.approx(da["value"], rel=1e-9, abs=1e-9)
    assert rundir.read_samples(out) == rundir.read_samples(single)  # identical rows, same order
    sa, sb = rundir.load_distribution_state(single), rundir.load_distribution_state(out)
    assert sa.keys() == sb.keys() == {"complete", "partial", "sparse", "none"}
    for lv in sa:
        for side in ("real", "fake"):
            x, y = sa[lv]["fid"][side], sb[lv]["fid"][side]
            assert x["n"] == y["n"] > 0
            np.testing.assert_allclose(y["total"], x["total"], rtol=0, atol=1e-9)
            np.testing.assert_allclose(y["outer"], x["outer"], rtol=0, atol=1e-9)
    last = json.loads((out / rundir.RUN_LOG_FILE).read_text().splitlines()[-1])
    assert last["world_size"] == 2 and last["cached"] == len(finished) and len(last["ranks"]) == 2


def _launch_two(args: list[str]) -> list[tuple[int, str]]:
    """Two ``lcad-bench evaluate`` processes of one gloo group, started by hand (the variables
    torchrun sets), so each one's exit code and stderr can be checked: [(code, stderr)] by rank.
    The collective timeout is short: a process left waiting fails the test instead of hanging."""
    port = _free_port()
    procs = []
    for r in range(2):
        env = _env() | {"RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
                        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "ACCELERATE_USE_CPU": "true",
                        distributed.TIMEOUT_VAR: "60"}  # fmt: skip
        procs.append(subprocess.Popen([sys.executable, "-m", "lcad_bench", "evaluate", *args], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
    out = []
    try:
        for p in procs:
            _o, err = p.communicate(timeout=240)
            out.append((p.returncode, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return out


@pytest.mark.parametrize(
    "case", ["rank1_strict", "rank0_results_unwritable", "rank0_out_is_a_file"]
)
def test_a_failing_process_stops_every_process_alike(tiny_split, tmp_path, case):
    """A process that fails (--strict and a failed sample in rank 1; rank 0 unable to write
    results.json after the gather; rank 0 unable to create --out) makes every process stop with
    its message and exit code: no gloo traceback, no process waiting in a collective."""
    out = tmp_path / "run"
    args = ["--split", str(tiny_split), "--out", str(out), "--metrics", "psnr", "-q"]
    if case == "rank1_strict":
        args += [
            "--model",
            "ranked_model:FailsOnRank",
            "--model-arg",
            f"log={tmp_path / 'log'}",
            "--strict",
        ]
        code, needle = ExitCode.SAMPLES_FAILED, "process 1 cannot colorize"
    elif case == "rank0_results_unwritable":
        (out / rundir.RESULTS_FILE).mkdir(parents=True)
        args += ["--model", "gray"]
        code, needle = ExitCode.MISSING, f"cannot write {out / rundir.RESULTS_FILE}"
    else:
        out.write_text("a file")
        args += ["--model", "gray"]
        code, needle = ExitCode.MISSING, "--out must be a folder"
    results = _launch_two(args)
    for rank, (rc, err) in enumerate(results):
        assert rc == code and needle in err and "Traceback" not in err, (rank, rc, err[-3000:])
