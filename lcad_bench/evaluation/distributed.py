"""Data-parallel evaluation: ``accelerate launch`` / ``torchrun`` processes that share one run.

Under a launcher (``WORLD_SIZE`` > 1, or an MPI world) :func:`detect` joins the process group
through accelerate's ``PartialState`` (NCCL on GPUs, gloo on CPUs) and returns a :class:`World`;
without one it returns None and imports neither torch nor accelerate. In a world of ``w``
processes:

* each process runs the pairs of its deterministic shard (:func:`~.plan.rank_shard`, applied
  after ``--limit`` and inside ``--shard i/n``), with its model on its own device
  (:meth:`~lcad_bench.models.Colorizer.use_device`);
* outputs go to the shared run folder's cache exactly as in one process (same file names, one
  append-only index), so a relaunch after a killed process recomputes nothing finished;
* per-sample rows, run counts and the distribution metrics' sufficient statistics (FID: float64
  sums, never per-process scores) are gathered on rank 0 over a gloo group, rows are put back in
  the single-process plan order, and rank 0 writes the ONE run folder, identical to a
  single-process run's apart from ``created_at``, ``environment.world_size`` and the last bits of
  FID (its float64 sums are added in another order: equal to 1e-9; rows, aggregates and
  intervals are identical);
* every process returns the same :class:`~.rundir.Results` (so every process exits alike), and
  an error of any process (``--strict`` and a failed sample, a run folder that cannot be written,
  a bug) reaches every process through the same gather and broadcast (:func:`all_or_none`): all
  raise it with its exit code, none is left waiting in a collective until the timeout.

Processes that share no process group (Slurm arrays, several machines without a rendezvous) use
``--shard i/n`` and ``lcad-bench merge`` instead (docs/evaluating.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lcad_bench.errors import ExitCode, LcadBenchError, UsageError
from lcad_bench.evaluation.plan import RunPlan, in_shard, rank_shard

# Variables a launcher sets to the number of processes (torchrun/accelerate, MPI flavours).
WORLD_SIZE_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
TIMEOUT_VAR = "LCAD_BENCH_DIST_TIMEOUT_S"
# Rank 0 waits at the gather for the slowest process; evaluation shards can differ by hours.
DEFAULT_TIMEOUT_S = 24 * 3600


def launched_world_size(environ: dict[str, str] | None = None) -> int:
    """The number of processes a launcher started (1 without one)."""
    env = os.environ if environ is None else environ
    for var in WORLD_SIZE_VARS:
        try:
            n = int(env.get(var, "") or 1)
        except ValueError:
            continue
        if n > 1:
            return n
    return 1


def parent_argv() -> list[str]:
    """The command line of this process's parent (Linux /proc; [] where unreadable)."""
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


def requested_processes(
    environ: dict[str, str] | None = None, argv: list[str] | None = None
) -> int:
    """How many processes an ``accelerate launch --num_processes N`` parent asked for when it
    started only this one (accelerate's one-process launcher runs ``--cpu`` jobs unless mpirun is
    configured, and jobs without ``--multi_gpu`` on a machine with fewer than 2 GPUs); 1 otherwise
    or when the parent's command line is unknown.
    ``argv``: the parent's command line (default: read from /proc)."""
    env = os.environ if environ is None else environ
    if "ACCELERATE_USE_CPU" not in env:  # set (True or False) by accelerate's one-process launcher
        return 1
    if launched_world_size(env) > 1:
        return 1
    argv = parent_argv() if argv is None else argv
    starts = [
        k
        for k, a in enumerate(argv)
        if a == "launch" or a.endswith(("commands.launch", "commands/launch.py"))
    ]
    if not starts:
        return 1
    first = starts[0] + 1
    for k in range(first, len(argv)):
        a = argv[k]
        if a in ("-m", "--module") or not a.startswith("-") and not argv[k - 1].startswith("--"):
            break  # the launched program and its own arguments start here
        for flag in ("--num_processes", "--num-processes"):
            if a == flag and k + 1 < len(argv):
                return _int(argv[k + 1])
            if a.startswith(flag + "="):
                return _int(a.split("=", 1)[1])
    return 1


def _int(s: str) -> int:
    try:
        return int(s)
    except ValueError:
        return 1


@dataclass
class World:
    """This process's place in a data-parallel run."""

    rank: int
    size: int
    local_rank: int
    device: str
    backend: str
    _state: Any = None
    _group: Any = None

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run folder."""
        return self.rank == 0

    def shard(self, shard: tuple[int, int] | None) -> tuple[int, int]:
        """This process's shard of the pairs of ``shard`` (:func:`~.plan.rank_shard`)."""
        return rank_shard(shard, self.rank, self.size)

    def rank_plan(self, plan: RunPlan) -> RunPlan:
        """The items of ``plan`` this process runs (the plan's order kept)."""
        mine = self.shard(plan.shard)
        return replace(plan, items=[it for it in plan.items if in_shard(it.record.pair_id, mine)])

    # collectives over a gloo group (CPU objects whatever the device backend) ------------------

    def gather(self, obj: Any) -> list[Any] | None:
        """Every process's ``obj`` on rank 0 in rank order (None elsewhere)."""
        import torch.distributed as dist

        out: list[Any] | None = [None] * self.size if self.is_main else None
        dist.gather_object(obj, out, dst=0, group=self._group)
        return out

    def broadcast(self, obj: Any = None) -> Any:
        """Rank 0's ``obj`` on every process."""
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, group=self._group)
        return box[0]

    def close(self) -> None:
        """Leave the process group."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def detect() -> World | None:
    """The :class:`World` of a data-parallel launch, or None when this is the only process.

    ``accelerate launch --cpu --num_processes N`` with N > 1 starts one process (accelerate
    launches CPU jobs with several processes only through mpirun): that is a usage error naming the
    launch commands that do start N processes, not a silently serial run."""
    n = launched_world_size()
    if n <= 1:
        asked = requested_processes()
        if asked > 1:
            raise UsageError(
                f"`accelerate launch --num_processes {asked}` started ONE process: accelerate's one-process launcher "
                "ran it (with --cpu, accelerate starts several processes only through mpirun; without --multi_gpu, "
                "only on a machine with 2+ GPUs). Start "
                f"{asked} processes with `torchrun --nproc_per_node {asked} -m lcad_bench evaluate ...` or "
                f"`accelerate launch --multi_gpu --num_processes {asked} -m lcad_bench evaluate ...` (gloo on a "
                "machine without GPUs); or drop --num_processes for one process"
            )
        return None
    from datetime import timedelta

    import torch
    import torch.distributed as dist
    from accelerate import PartialState

    timeout = timedelta(seconds=int(os.environ.get(TIMEOUT_VAR) or DEFAULT_TIMEOUT_S))
    cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("true", "1", "yes") or not (
        torch.cuda.is_available()
    )
    try:
        state = PartialState(cpu=cpu, timeout=timeout)
    except (RuntimeError, ValueError) as exc:
        raise LcadBenchError(
            f"could not join the process group of this {n}-process launch ({type(exc).__name__}: {exc}); "
            "check MASTER_ADDR/MASTER_PORT, or run without a launcher"
        ) from exc
    if state.num_processes != n:
        raise LcadBenchError(
            f"the launcher says {n} processes but the process group has {state.num_processes} "
            f"(distributed type {state.distributed_type}); nothing was evaluated"
        )
    group = dist.new_group(backend="gloo", timeout=timeout) if state.backend != "gloo" else None
    return World(
        rank=state.process_index,
        size=state.num_processes,
        local_rank=state.local_process_index,
        device="cpu" if state.device.type == "cpu" else str(state.device),  # accelerate says cpu:0
        backend=str(state.backend),
        _state=state,
        _group=group,
    )


# --------------------------------------------------------------------------------------------
# what the runner calls


def check_suite(suite: Any) -> None:
    """A suite whose distribution metrics cannot hand over their statistics cannot be split over
    processes: each process would score a part and the run would report rank 0's part alone."""
    from lcad_bench.evaluation.suite import MetricSuite

    cls = type(suite)
    if suite.distribution_names and (
        cls.distribution_state is MetricSuite.distribution_state
        or cls.merge_distribution_state is MetricSuite.merge_distribution_state
    ):
        raise UsageError(
            f"the metric suite {cls.__name__} has distribution metrics ({', '.join(suite.distribution_names)}) "
            "without distribution_state/merge_distribution_state, so they cannot be combined over "
            "processes; run it in one process or implement both methods"
        )


class ProcessFailedError(LcadBenchError):
    """A process of a data-parallel run stopped with an error: every process raises this, with
    that error's message and exit code (so every process exits alike, none waits for the others
    until the timeout)."""


def all_or_none(world: World, work: Callable[[], Any], finish: Callable[[list[Any]], Any]) -> Any:
    """Run this process's ``work()``, gather every process's result on rank 0, run
    ``finish(results)`` there (results in rank order) and return its value on every process.

    Every process takes part in exactly one gather and one broadcast whatever fails, so a process
    that raises never leaves another blocked in a collective. An error of ``work`` on any process,
    or of ``finish`` on rank 0, is sent to all: each raises :class:`ProcessFailedError` with its
    message and exit code (the lowest failing rank's, when several fail). The process whose code
    failed raises its own error unchanged when it is not an :class:`LcadBenchError` (a bug: its
    traceback is printed there; the others exit 1 too)."""
    own: BaseException | None = None
    try:
        payload: dict[str, Any] = {"ok": work()}
    except Exception as exc:  # noqa: BLE001  (sent to every process, raised below)
        own, payload = exc, _error_record(world, exc)
    parts = world.gather(payload)
    outcome: dict[str, Any] | None = None
    if parts is not None:  # rank 0
        failed = [p for p in parts if "error" in p]
        if failed:
            outcome = failed[0]
        else:
            try:
                outcome = {"ok": finish([p["ok"] for p in parts])}
            except Exception as exc:  # noqa: BLE001  (sent to every process, raised below)
                own, outcome = exc, _error_record(world, exc)
    outcome = world.broadcast(outcome)
    assert outcome is not None
    if "error" not in outcome:
        return outcome["ok"]
    if own is not None and outcome["rank"] == world.rank and not isinstance(own, LcadBenchError):
        raise own
    raise ProcessFailedError(outcome["error"], ExitCode(outcome["exit_code"])) from own


def _error_record(world: World, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, LcadBenchError):
        text, code = str(exc), int(exc.exit_code)
    else:
        text = f"unexpected error (a bug; its traceback is in that process's output): {type(exc).__name__}: {exc}"
        code = int(ExitCode.BUG)
    return {"error": f"process {world.rank} of {world.size}: {text}", "exit_code": code,
            "rank": world.rank}  # fmt: skip


def combine(
    world: World, full: RunPlan, parts: list[dict[str, Any]], suite: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """On rank 0, the per-process ``{"rows", "counts", "dist"}`` of :func:`all_or_none` (rank
    order; part 0 is rank 0's own, whose statistics ``suite`` already holds) as one run: the rows
    in ``full``'s item order (the order of a single-process run), the summed counts, and every
    process's statistics merged into ``suite``. Every item of ``full`` must come back exactly
    once."""
    for part in parts[1:]:
        suite.merge_distribution_state(part["dist"])
    order: dict[tuple[str, str, int], int] = {}
    for k, it in enumerate(full.items):
        order[(it.record.pair_id, it.level, it.seed)] = k
    if len(order) != len(full.items):
        raise LcadBenchError(
            "two items of the run share (pair, level, seed); cannot order the rows"
        )
    placed: list[dict[str, Any] | None] = [None] * len(full.items)
    for part in parts:
        for r in part["rows"]:
            k = order.get((r["pair_id"], r["level"], int(r["seed"])))
            if k is None or placed[k] is not None:
                raise LcadBenchError(
                    f"process rows do not partition the run: {r['pair_id']} [{r['level']}] seed {r['seed']} "
                    f"{'is not in the plan' if k is None else 'came twice'} (a bug; nothing was written)"
                )
            placed[k] = r
    missing = [full.items[k] for k, r in enumerate(placed) if r is None]
    if missing:
        it = missing[0]
        raise LcadBenchError(
            f"{len(missing)} items came back from no process, e.g. {it.record.pair_id} [{it.level}] "
            "(a bug; nothing was written)"
        )
    keys = sorted({k for p in parts for k in p["counts"]})
    total = {k: sum(int(p["counts"].get(k, 0)) for p in parts) for k in keys}
    log = {**total, "world_size": world.size, "ranks": [p["counts"] for p in parts]}
    return placed, log  # type: ignore[return-value]
