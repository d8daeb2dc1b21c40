"""``lcad-bench weights``: list every pretrained file the metrics use, with its status, and
``lcad-bench weights import FILE...`` to verify local files and install them where metrics look."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lcad_bench.errors import ExitCode

EPILOG = """examples:
  lcad-bench weights --json
  lcad-bench weights import ~/Downloads/pt_inception-2015-12-05-6726825d.pth vgg16-397923af.pth
"""


def register(subparsers: Any) -> None:
    """Add the ``weights`` command (and its ``import`` action)."""
    parser = subparsers.add_parser(
        "weights",
        help="list metric weight files with status; import local files",
        description=(
            "List every weight file of the metrics manifest (name, sha256, status, place) or, with "
            "`import FILE...`, verify local files against the manifest's sha256 and copy them into "
            "the torch hub cache ($TORCH_HOME/hub/checkpoints, default ~/.cache/torch/hub/checkpoints). "
            "Nothing is ever downloaded."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", nargs="?", choices=["list", "status", "import"], default="list",
                        help="list (default; 'status' is the same) or import")  # fmt: skip
    parser.add_argument("files", nargs="*", metavar="FILE", help="files to import (with `import`)")
    parser.add_argument("--json", action="store_true", help="print one JSON document to stdout")
    parser.set_defaults(func=run)


def _fmt_size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    from lcad_bench.errors import LcadBenchError, UsageError
    from lcad_bench.metrics.weights import import_file, status, torch_home

    if args.action == "import":
        if not args.files:
            raise UsageError("weights import needs at least one FILE")
        results: list[dict[str, Any]] = []
        worst = ExitCode.OK
        for f in args.files:
            try:
                st = import_file(f)
                results.append(
                    {
                        "file": f,
                        "ok": True,
                        "name": st.file.name,
                        "path": str(st.path),
                        "sha256": st.sha256,
                    }
                )
                if not args.json:
                    print(f"installed {st.file.name} -> {st.path} (sha256 verified)")
            except LcadBenchError as exc:
                results.append({"file": f, "ok": False, "error": str(exc)})
                worst = max(worst, exc.exit_code)
                print(f"lcad-bench weights import: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"imported": results}, indent=2))
        return int(worst)
    if args.files:
        raise UsageError(
            f"unexpected arguments {args.files}; did you mean `lcad-bench weights import FILE`?"
        )
    statuses = status()
    if args.json:
        print(
            json.dumps(
                {"torch_home": str(torch_home()), "files": [s.to_dict() for s in statuses]},
                indent=2,
            )
        )
        return int(ExitCode.OK)
    print(f"weight files (torch hub cache: {torch_home() / 'hub' / 'checkpoints'})")
    for s in statuses:
        wf = s.file
        sha = wf.sha256[:16] + ("… (prefix only)" if wf.sha256_prefix_only else "…")
        print(
            f"  {s.state:<9} {wf.name:<40} {_fmt_size(wf.size_bytes):>9}  metrics: {', '.join(wf.metrics)}"
        )
        print(f"            sha256 {sha}  at {s.path or '(package not installed)'}")
        if s.state != "present" and wf.location == "torch_hub":
            print(f"            get it from {wf.url}, then: lcad-bench weights import {wf.name}")
    missing = [s for s in statuses if s.state != "present"]
    if missing:
        print(
            f"{len(missing)} of {len(statuses)} files not ready; metrics that need them are skipped in default runs."
        )
    return int(ExitCode.OK)
