"""``python -m lcad_bench`` = ``lcad-bench``."""

from lcad_bench.cli import main

raise SystemExit(main())
