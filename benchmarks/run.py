"""``make bench``: run every benchmark (or those named) and write benchmarks/results/<name>.json.

python -m benchmarks.run            # all
python -m benchmarks.run extract    # one
"""

from __future__ import annotations

import importlib
import json
import sys

from benchmarks.common import write_result

BENCHMARKS = ["extract", "build", "eval", "board", "scale"]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    failed = []
    for name in names:
        mod = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== benchmark {name}", flush=True)
        try:
            result = mod.run()
        except AssertionError as exc:
            print(f"   FAILED: {exc}", flush=True)
            failed.append(name)
            result = {"failed": str(exc)}
        path = write_result(name, result)
        summary = {k: v for k, v in result.items() if not isinstance(v, (list, dict))}
        print(f"   {json.dumps(summary)}\n   -> {path}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
