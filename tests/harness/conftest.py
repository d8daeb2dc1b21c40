"""Fixtures of the harness tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness_tiny_split import make_tiny_split  # noqa: E402


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory) -> Path:
    return make_tiny_split(tmp_path_factory.mktemp("tiny") / "split")
