"""Fixtures of the reliability tests (issue 10): every bad input a recorded, named failure."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def cli():
    """``lcad_bench.cli.main`` in-process: the real entry point, its error handling and exit codes."""
    import lcad_bench.cli as cli_mod

    return cli_mod.main
