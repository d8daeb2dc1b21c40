"""``lcad-bench summarize``, ``leaderboard`` and ``study`` (export / analyze / import-likert)."""

from __future__ import annotations

import argparse
import json
import sys

SUMMARIZE_EXAMPLES = """examples:
  lcad-bench summarize runs/ --out board/
  lcad-bench summarize runs/gray runs/text-tint reported/example.reported.json --out board/ --json
"""
LEADERBOARD_EXAMPLES = """examples:
  lcad-bench leaderboard --board board/
  lcad-bench leaderboard --board board/ --port 8600 --headless
"""
STUDY_EXAMPLES = """examples:
  lcad-bench study analyze --board board/
  lcad-bench study export --board board/ --out responses.csv
"""
EXPORT_EXAMPLES = """examples:
  lcad-bench study export --board board/ --out responses.csv
  lcad-bench study export --db postgresql://user@host/studies --study study-1 --out study-1.jsonl
"""
ANALYZE_EXAMPLES = """examples:
  lcad-bench study analyze --board board/
  lcad-bench study analyze --board board/ --study study-1 --json
"""
IMPORT_EXAMPLES = """examples:
  lcad-bench study import-likert ratings.csv --study mos-1 --board board/
  lcad-bench study import-likert ratings.csv --study mos-1 --db sqlite:///studies.db
"""


def _fmt() -> type[argparse.RawDescriptionHelpFormatter]:
    return argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("summarize", help="run folders and reported results -> leaderboard tables",
                       description="Read run folders (results.json + samples.parquet) and reported-results JSON files and write "
                                   "the board folder: leaderboard.parquet, pairs.parquet, metrics.json and runs.json. Malformed or partial "
                                   "inputs are reported and left out.",
                       epilog=SUMMARIZE_EXAMPLES, formatter_class=_fmt())  # fmt: skip
    s.add_argument(
        "inputs",
        nargs="+",
        metavar="RESULTS",
        help="run folders, folders of run folders, results.json or *.reported.json files",
    )
    s.add_argument("--out", required=True, help="board folder to write")
    s.add_argument("--json", action="store_true", help="print one JSON summary to stdout")
    s.set_defaults(func=run_summarize)

    lb = sub.add_parser("leaderboard", help="serve the Streamlit leaderboard of a board folder",
                        description="Start the Streamlit app on a board folder written by `lcad-bench summarize`.",
                        epilog=LEADERBOARD_EXAMPLES, formatter_class=_fmt())  # fmt: skip
    lb.add_argument(
        "--board", default=None, help="board folder (default $LCAD_BENCH_LEADERBOARD or ./board)"
    )
    lb.add_argument("--port", type=int, default=8501)
    lb.add_argument("--address", default="localhost", help="address to bind (default localhost)")
    lb.add_argument("--headless", action="store_true", help="do not open a browser")
    lb.set_defaults(func=run_leaderboard)

    st = sub.add_parser("study", help="user-study responses: export, analyze, import Likert ratings",
                        description="User studies (docs/protocol.md#user-studies). Responses live in "
                                    "sqlite:///<board>/study.db unless --db (or $LCAD_BENCH_STUDY_DB) names a SQLAlchemy URL.",
                        epilog=STUDY_EXAMPLES, formatter_class=_fmt())  # fmt: skip
    ssub = st.add_subparsers(dest="study_command", metavar="SUBCOMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--board",
            default=None,
            help="board folder (default $LCAD_BENCH_LEADERBOARD or ./board)",
        )
        p.add_argument(
            "--db", default=None, help="SQLAlchemy URL (default sqlite:///<board>/study.db)"
        )

    ex = ssub.add_parser(
        "export",
        help="write every response to CSV or JSON lines",
        epilog=EXPORT_EXAMPLES,
        formatter_class=_fmt(),
    )
    common(ex)
    ex.add_argument("--study", default=None, help="one study id (default: all)")
    ex.add_argument("--out", required=True, help="*.csv or *.jsonl")
    ex.set_defaults(func=run_export)
    an = ssub.add_parser("analyze", help="preference %% (Wilson), MOS, Bradley-Terry, Krippendorff's alpha",
                         epilog=ANALYZE_EXAMPLES, formatter_class=_fmt())  # fmt: skip
    common(an)
    an.add_argument("--study", default=None)
    an.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        help="bootstrap resamples for MOS and Bradley-Terry intervals",
    )
    an.add_argument("--json", action="store_true")
    an.set_defaults(func=run_analyze)
    im = ssub.add_parser("import-likert", help="import 1-5 ratings from CSV (rater,pair_id,level,method,score)",
                         epilog=IMPORT_EXAMPLES, formatter_class=_fmt())  # fmt: skip
    common(im)
    im.add_argument("csv")
    im.add_argument("--study", required=True, help="study id to store the ratings under")
    im.set_defaults(func=run_import)
    st.set_defaults(func=lambda args: _study_help(st))


def _study_help(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


def run_summarize(args: argparse.Namespace) -> int:
    from lcad_bench.errors import MissingInputError
    from lcad_bench.leaderboard.summarize import summarize

    s = summarize(args.inputs, args.out)
    runs = len(s.runs)
    for w in s.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {"board": args.out, "runs": runs, "rows": len(s.rows), "warnings": s.warnings}
            )
        )
    else:
        print(
            f"{runs} runs ({sum(1 for r in s.runs if r['reported'])} reported), {len(s.rows)} rows -> {args.out}"
        )
        print(f"open it with: lcad-bench leaderboard --board {args.out}")
    if runs == 0:
        raise MissingInputError(
            f"no valid results among {args.inputs}; run `lcad-bench evaluate` first (the board was written empty)"
        )
    return 0


def app_path() -> str:
    from importlib.resources import files

    return str(files("lcad_bench.leaderboard") / "app.py")


def streamlit_command(
    board: str, port: int, address: str = "localhost", headless: bool = False
) -> list[str]:
    """The ``python -m streamlit run`` command line that serves ``board``."""
    return [sys.executable, "-m", "streamlit", "run", app_path(), "--server.port", str(port), "--server.address", address,
            "--server.headless", "true" if headless else "false", "--browser.gatherUsageStats", "false"]  # fmt: skip


def port_in_use(address: str, port: int) -> str | None:
    """Why ``address:port`` cannot be served (another process listens there), or None. Binds
    every address ``address`` resolves to, with SO_REUSEADDR as the server does."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve --address {address!r}: {exc}"
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    continue  # e.g. no IPv6 on this machine: the server skips it too
                return f"{sockaddr[0]}:{port} is taken ({exc.strerror})"
    return None


def run_leaderboard(args: argparse.Namespace) -> int:
    import os
    import subprocess
    from pathlib import Path

    from lcad_bench.errors import MissingInputError
    from lcad_bench.leaderboard.board import board_path

    board = board_path(args.board)
    if not (board / "leaderboard.parquet").is_file():
        raise MissingInputError(
            f"{board}: no leaderboard.parquet; run `lcad-bench summarize runs/ --out {board}` first"
        )
    busy = port_in_use(args.address, args.port)
    if busy:
        raise MissingInputError(
            f"cannot serve the board on port {args.port}: {busy}; stop the other server or choose another "
            f"port, e.g. `lcad-bench leaderboard --board {board} --port {args.port + 1}`"
        )
    env = dict(os.environ, LCAD_BENCH_LEADERBOARD=str(Path(board).resolve()))
    cmd = streamlit_command(str(board), args.port, args.address, args.headless)
    print(f"serving {board} at http://{args.address}:{args.port}  (Ctrl+C stops)", file=sys.stderr)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0


def _store(args: argparse.Namespace):  # noqa: ANN202
    from lcad_bench.leaderboard.board import board_path
    from lcad_bench.study.store import StudyStore, default_url

    return StudyStore(args.db or default_url(board_path(args.board)))


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lcad_bench.errors import UsageError

    df = _store(args).frame(args.study)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        df.to_csv(out, index=False)
    elif out.suffix in (".jsonl", ".json"):
        df.to_json(out, orient="records", lines=True)
    else:
        raise UsageError(f"--out {out}: use a .csv or .jsonl file name")
    print(f"{len(df)} responses -> {out}")
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    from lcad_bench.errors import MissingInputError
    from lcad_bench.study.stats import analyze

    df = _store(args).frame(args.study)
    if df.empty:
        raise MissingInputError(
            "no responses recorded; run a study on the app's 'Run a study' page or import Likert ratings"
        )
    res = analyze(df, b=args.bootstrap)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    from lcad_bench.cli.table import render_table

    for sid, r in res.items():
        print(f"study {sid}: {r['n_raters']} raters, {r['n_items']} items, {r['n_judgements']} judgements; "
              f"excluded raters: {len(r['excluded_raters'])}; Krippendorff alpha (choice): {_f(r['krippendorff_alpha_choice'])}")  # fmt: skip
        if r["preference"]:
            print(render_table(["criterion", "method", "chosen/shown", "preference", "Wilson 95%"],
                               [[p["criterion"], p["method"], f"{p['chosen']}/{p['shown']}", f"{100 * p['preference']:.1f}%",
                                 f"[{100 * p['ci_low']:.1f}, {100 * p['ci_high']:.1f}]"] for p in r["preference"]]))  # fmt: skip
        if r["bradley_terry"]:
            print(render_table(["criterion", "method", "BT log-strength", "95% CI", "note"],
                               [[b["criterion"], b["method"], _f(b["strength"]), f"[{_f(b['ci_low'])}, {_f(b['ci_high'])}]", b["note"]]
                                for b in r["bradley_terry"]]))  # fmt: skip
        if r["mos"]:
            print(render_table(["criterion", "method", "MOS", "95% CI", "n"],
                               [[m["criterion"], m["method"], _f(m["mos"]), f"[{_f(m['ci_low'])}, {_f(m['ci_high'])}]", m["n"]] for m in r["mos"]]))  # fmt: skip
    return 0


def _f(x: object) -> str:
    return "—" if x is None or (isinstance(x, float) and x != x) else f"{x:.3f}"


def run_import(args: argparse.Namespace) -> int:
    from lcad_bench.study.store import import_likert

    n = import_likert(_store(args), args.csv, args.study)
    print(f"{n} ratings imported into study {args.study}")
    return 0
